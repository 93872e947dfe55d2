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
 * A transformation for a component: every object beneath it that lives in one of `namespaces`
 * (by name) also waits for that Namespace. Each object waits only for its own namespace, so the
 * dependency graph grows linearly with the number of tenants.
 */
export function waitForNamespace(namespaces: ReadonlyMap<string, pulumi.Resource>): pulumi.ResourceTransformation {
  return (args) => {
    const namespace = (args.props as { metadata?: { namespace?: unknown } } | undefined)?.metadata?.namespace;
    const target = typeof namespace === "string" ? namespaces.get(namespace) : undefined;
    return target ? { props: args.props, opts: pulumi.mergeOptions(args.opts, { dependsOn: [target] }) } : undefined;
  };
}
