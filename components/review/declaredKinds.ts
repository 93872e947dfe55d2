import * as pulumi from "@pulumi/pulumi";
import { kindKey, kubernetesKind, PolicyRule, reviewerRules, secretRule } from "../../src/review/access";

/**
 * Records what a component and everything beneath it declares: the type of every resource, the
 * names of the Secrets it declares or reads, and the plural of every kind its
 * CustomResourceDefinitions define. Give `transformation` to the component; `rules` turns the record
 * into the reviewer's read rules once `after` (the outputs of whatever declares objects late, such
 * as a ConfigFile's `resources`) has resolved.
 */
export class DeclaredKinds {
  private readonly types = new Set<string>();
  private readonly secretNames: pulumi.Input<string>[] = [];
  private readonly crdPlurals = new Map<string, string>();

  readonly transformation: pulumi.ResourceTransformation = (args) => {
    this.record(args.type, args.props, args.opts);
    return undefined;
  };

  private record(type: string, props: pulumi.Inputs | undefined, opts: pulumi.ResourceOptions): void {
    const kind = kubernetesKind(type);
    if (!kind) return;
    this.types.add(type);
    const metadata = props?.metadata as { name?: pulumi.Input<string> } | undefined;
    if (kind.group === "" && kind.kind === "Secret") {
      // A `.get()` names its object only by id: "<namespace>/<name>".
      const name = metadata?.name ?? pulumi.output(opts.id).apply((id) => String(id ?? "").split("/").pop() ?? "");
      this.secretNames.push(name);
    }
    if (kind.group === "apiextensions.k8s.io" && kind.kind === "CustomResourceDefinition") {
      const spec = props?.spec as { group?: unknown; names?: { kind?: unknown; plural?: unknown } } | undefined;
      if (typeof spec?.group === "string" && typeof spec.names?.kind === "string" && typeof spec.names.plural === "string") {
        this.crdPlurals.set(kindKey(spec.group, spec.names.kind), spec.names.plural);
      }
    }
  }

  /** The read rules for everything recorded, once `after` has resolved. */
  rules(after: pulumi.Input<unknown>[]): pulumi.Output<PolicyRule[]> {
    return pulumi.all(after).apply(() =>
      pulumi.all(this.secretNames).apply((names) => {
        const secrets = secretRule(names);
        return [...reviewerRules(this.types, this.crdPlurals), ...(secrets ? [secrets] : [])];
      }));
  }
}
