import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { standardLabels } from "../../src/labels";

/**
 * The roles every tenant namespace binds. Defined once for the cluster as ClusterRoles, but only
 * ever bound with RoleBindings, so each grant stays inside one namespace. Tenants can neither
 * change their own quota and limits nor grant themselves more rights.
 */
export interface TenantRolesArgs {
  /** Namespace of the shared services, where the shared Tasks and Pipelines live. */
  readonly sharedNamespace: pulumi.Input<string>;
}

const ALL_VERBS = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"];
const READ_VERBS = ["get", "list", "watch"];

export class TenantRoles extends pulumi.ComponentResource {
  /** ClusterRole for the people who own a namespace (bound per namespace). */
  public readonly ownerRole: pulumi.Output<string>;
  /** ClusterRole for the ServiceAccount that pipeline runs use. */
  public readonly pipelineRole: pulumi.Output<string>;
  /** Role in the shared namespace that lets tenants read the shared Tasks and Pipelines. */
  public readonly sharedPipelineReaderRole: pulumi.Output<string>;

  constructor(name: string, args: TenantRolesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stx:tenancy:TenantRoles", name, {}, opts);
    const child = { parent: this };
    const labels = standardLabels("tenancy");

    const owner = new k8s.rbac.v1.ClusterRole(`${name}-owner`, {
      metadata: { name: "stx-tenant-owner", labels },
      rules: [
        {
          apiGroups: [""],
          resources: ["pods", "services", "configmaps", "secrets", "persistentvolumeclaims"],
          verbs: ALL_VERBS,
        },
        { apiGroups: [""], resources: ["pods/log", "pods/exec", "pods/portforward"], verbs: ["get", "create"] },
        { apiGroups: [""], resources: ["events", "resourcequotas", "limitranges", "serviceaccounts"], verbs: READ_VERBS },
        { apiGroups: ["batch"], resources: ["jobs", "cronjobs"], verbs: ALL_VERBS },
        {
          apiGroups: ["tekton.dev"],
          resources: ["pipelineruns", "taskruns", "pipelines", "tasks", "customruns", "stepactions"],
          verbs: ALL_VERBS,
        },
      ],
    }, child);

    const pipeline = new k8s.rbac.v1.ClusterRole(`${name}-pipeline`, {
      metadata: { name: "stx-tenant-pipeline", labels },
      rules: [
        { apiGroups: [""], resources: ["pods", "pods/log", "configmaps", "events"], verbs: READ_VERBS },
        { apiGroups: [""], resources: ["secrets"], verbs: ["get"] },
        { apiGroups: ["tekton.dev"], resources: ["pipelineruns", "taskruns"], verbs: READ_VERBS },
        // A run labels itself with its build id (label-run step), which retention selects by.
        { apiGroups: ["tekton.dev"], resources: ["pipelineruns"], verbs: ["patch"] },
      ],
    }, child);

    const reader = new k8s.rbac.v1.Role(`${name}-shared-pipeline-reader`, {
      metadata: { name: "stx-shared-pipeline-reader", namespace: args.sharedNamespace, labels },
      rules: [{ apiGroups: ["tekton.dev"], resources: ["tasks", "pipelines", "stepactions"], verbs: READ_VERBS }],
    }, child);

    this.ownerRole = owner.metadata.name;
    this.pipelineRole = pipeline.metadata.name;
    this.sharedPipelineReaderRole = reader.metadata.name;
    this.registerOutputs({
      ownerRole: this.ownerRole,
      pipelineRole: this.pipelineRole,
      sharedPipelineReaderRole: this.sharedPipelineReaderRole,
    });
  }
}
