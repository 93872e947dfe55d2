import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { standardLabels } from "../../src/labels";
import { PolicyRule } from "../../src/review/access";
import { serviceAccountKubeconfig } from "../tenancy/serviceAccountKubeconfig";

/** Name of the reviewer's ServiceAccount, ClusterRole and ClusterRoleBinding. */
export const REVIEWER = "stx-reviewer";

export interface ReviewerArgs {
  /** Namespace of the ServiceAccount and its token (the shared namespace). */
  readonly namespace: string;
  /** Read rules on what the stack declares (DeclaredKinds.rules). */
  readonly rules: pulumi.Input<PolicyRule[]>;
  /** API server URL written into the kubeconfig. */
  readonly apiServer: string;
  /**
   * Context name in the kubeconfig: the stack's `kubeContext`, so that `KUBECONFIG=<this file>
   * pulumi preview` needs no config change.
   */
  readonly context: string;
}

/**
 * The identity code review runs `pulumi preview` with: a ServiceAccount bound cluster-wide to a
 * ClusterRole that can only read what the stack manages, and its kubeconfig (secret). `pulumi up`
 * with it is refused by the API server.
 */
export class Reviewer extends pulumi.ComponentResource {
  /** A kubeconfig for the reviewer ServiceAccount; secret. */
  public readonly kubeconfig: pulumi.Output<string>;

  constructor(name: string, args: ReviewerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stx:review:Reviewer", name, {}, opts);
    const labels = standardLabels("review");
    const child = { parent: this };
    const account = new k8s.core.v1.ServiceAccount(`${name}-account`, {
      metadata: { name: REVIEWER, namespace: args.namespace, labels },
    }, child);
    const role = new k8s.rbac.v1.ClusterRole(`${name}-role`, {
      metadata: { name: REVIEWER, labels, annotations: { "stx.starlingx.io/derived-from": "the kinds the stack declares" } },
      rules: args.rules,
    }, child);
    new k8s.rbac.v1.ClusterRoleBinding(`${name}-binding`, {
      metadata: { name: REVIEWER, labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role.metadata.name },
      subjects: [{ kind: "ServiceAccount", name: REVIEWER, namespace: args.namespace }],
    }, child);
    this.kubeconfig = serviceAccountKubeconfig(`${name}-token`, {
      namespace: args.namespace,
      serviceAccount: REVIEWER,
      labels,
      apiServer: args.apiServer,
      context: args.context,
      user: REVIEWER,
    }, { ...child, dependsOn: [account] });
    this.registerOutputs({ kubeconfig: this.kubeconfig });
  }
}
