import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { standardLabels } from "../src/labels";
import { Settings } from "../src/settings/schema";
import { planTenants } from "../src/tenants";
import { BuildMachinery, buildMachineryArgs, defaultSharedServices } from "./buildMachinery";
import { TenantNamespace } from "./tenantNamespace";
import { TenantRoles } from "./tenantRoles";

export interface BuildClusterArgs {
  readonly settings: Settings;
  /** Credentials from secret config (see SECRET_SETTINGS), passed in so no component reads config. */
  readonly secrets?: { readonly starlingxSshPassword?: pulumi.Input<string>; readonly starlingxSshPrivateKey?: pulumi.Input<string> };
}

/**
 * The whole build farm on one cluster: the shared services namespace, the tenant roles, and a
 * namespace per user and per project branch. Pass the Kubernetes provider in `opts.providers`.
 */
export class BuildCluster extends pulumi.ComponentResource {
  public readonly sharedNamespace: pulumi.Output<string>;
  /** Namespace of every tenant, keyed by owner ("alice", "starlingx/master"). */
  public readonly tenantNamespaces: pulumi.Output<Record<string, string>>;
  /** A kubeconfig per user; secret. */
  public readonly kubeconfigs: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: BuildClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stx:cluster:BuildCluster", name, {}, opts);
    const { settings } = args;
    const child = { parent: this };

    const shared = new k8s.core.v1.Namespace(`${name}-shared`, {
      metadata: {
        name: settings.cluster.sharedNamespace,
        labels: {
          ...standardLabels("shared-services"),
          // Shared services are long-running servers that need no privileges at all.
          "pod-security.kubernetes.io/enforce": "restricted",
          "pod-security.kubernetes.io/enforce-version": "latest",
        },
      },
    }, child);

    const roles = new TenantRoles(`${name}-tenant-roles`, { sharedNamespace: shared.metadata.name }, child);
    const tenants = planTenants(settings).map(
      (plan) =>
        [plan, new TenantNamespace(plan.namespace, {
          plan,
          network: {
            sharedNamespace: settings.cluster.sharedNamespace,
            podCidr: settings.cluster.podCidr,
            serviceCidr: settings.cluster.serviceCidr,
          },
          ownerRole: roles.ownerRole,
          pipelineRole: roles.pipelineRole,
          sharedPipelineReaderRole: roles.sharedPipelineReaderRole,
          apiServer: settings.apiServer,
        }, { ...child, dependsOn: [shared] })] as const,
    );

    new BuildMachinery(`${name}-build`, buildMachineryArgs(
      settings,
      tenants.map(([plan]) => plan.namespace),
      args.secrets,
      // DEFAULT in-cluster names until the object store / Pulp / registry components are wired in (issues #3, #5).
      defaultSharedServices(settings.cluster.sharedNamespace, settings.profile),
    ), {
      ...child,
      dependsOn: [shared, ...tenants.map(([, tenant]) => tenant)],
    });

    this.sharedNamespace = shared.metadata.name;
    this.tenantNamespaces = pulumi.all(
      Object.fromEntries(tenants.map(([plan, tenant]) => [plan.owner, tenant.namespace])),
    );
    this.kubeconfigs = pulumi.secret(
      pulumi.all(
        Object.fromEntries(
          tenants.flatMap(([plan, tenant]) => (tenant.kubeconfig ? [[plan.owner, tenant.kubeconfig]] : [])),
        ),
      ),
    );
    this.registerOutputs({
      sharedNamespace: this.sharedNamespace,
      tenantNamespaces: this.tenantNamespaces,
      kubeconfigs: this.kubeconfigs,
    });
  }
}
