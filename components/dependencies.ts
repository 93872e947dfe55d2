import * as pulumi from "@pulumi/pulumi";

/**
 * The `dependsOn` a component was given, as a list its children can extend. Pulumi does not pass
 * a component's dependsOn on to its children, so without this a RoleBinding could be sent before
 * the namespace it lives in exists.
 */
export function inheritedDependencies(opts?: pulumi.ComponentResourceOptions): pulumi.Input<pulumi.Resource>[] {
  const given = opts?.dependsOn;
  if (given === undefined) return [];
  return Array.isArray(given) ? [...given] : [given as pulumi.Input<pulumi.Resource>];
}

/**
 * A transformation for a component: every resource beneath it also waits for `resource`. Used for
 * the shared namespace, which every shared service, job and tenant RoleBinding is created in.
 */
export function alsoDependOn(resource: pulumi.Resource): pulumi.ResourceTransformation {
  return (args) => ({ props: args.props, opts: pulumi.mergeOptions(args.opts, { dependsOn: [resource] }) });
}
