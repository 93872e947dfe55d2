import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { standardLabels, TENANT_KIND_LABEL, TENANT_LABEL } from "../../src/labels";
import { userNamespace } from "../../src/tenancy/naming";
import { KUBERNETES_RESOURCE, RESOURCE_NAMES, ResourceTriple } from "../../src/settings/fields";
import { OWNER_SERVICE_ACCOUNT, PIPELINE_SERVICE_ACCOUNT, TenantPlan } from "../../src/tenancy/tenants";
import { SharedPort, tenantEgressToShared } from "../../src/services/sharedNetwork";
import { internetEgress } from "../../src/tenancy/egress";
import { EgressExclusions } from "../../src/settings/cluster";
import { serviceAccountKubeconfig } from "./serviceAccountKubeconfig";

/** Where tenants may send traffic besides their own namespace. */
export interface TenantNetwork {
  /** Namespace of the shared services (Pulp, object store, registry). */
  readonly sharedNamespace: string;
  /** The only ports of the shared namespace builds may open (src/services/sharedNetwork.ts). */
  readonly sharedPorts: readonly SharedPort[];
  /** Pod and Service ranges of the cluster, and the node, API server and platform ranges: internet egress excludes them. */
  readonly podCidr: string;
  readonly serviceCidr: string;
  readonly exclusions: EgressExclusions;
}

export interface TenantNamespaceArgs {
  readonly plan: TenantPlan;
  readonly network: TenantNetwork;
  /** ClusterRoles from TenantRoles, bound here by RoleBindings. */
  readonly ownerRole: pulumi.Input<string>;
  readonly pipelineRole: pulumi.Input<string>;
  readonly sharedPipelineReaderRole: pulumi.Input<string>;
  /** API server URL written into the kubeconfig. */
  readonly apiServer: string;
  /**
   * The namespace's registry login (REGISTRY_SECRET), when the stack has a registry: the pipeline
   * ServiceAccount pulls with it, so build pods can run tools images the farm built and pushed
   * there (build.toolsImages at the farm's registry; its pulls need a login, docs/services.md).
   */
  readonly imagePullSecret?: string;
}

/**
 * One tenant's namespace: Pod Security level, LimitRange, ResourceQuota, ServiceAccounts,
 * namespace-only RBAC, NetworkPolicies, and (for a user) a kubeconfig as a secret output.
 */
export class TenantNamespace extends pulumi.ComponentResource {
  public readonly namespace: pulumi.Output<string>;
  /** The Namespace object, for others that create objects in it. */
  public readonly namespaceResource: k8s.core.v1.Namespace;
  /** A kubeconfig for the owner ServiceAccount; secret. Undefined for build namespaces. */
  public readonly kubeconfig?: pulumi.Output<string>;

  constructor(name: string, args: TenantNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stx:tenancy:TenantNamespace", name, {}, opts);
    const { plan } = args;
    const labels = standardLabels("tenant", { [TENANT_LABEL]: plan.namespace, [TENANT_KIND_LABEL]: plan.kind });

    const ns = new k8s.core.v1.Namespace(name, {
      metadata: { name: plan.namespace, labels: { ...labels, ...podSecurityLabels(plan.podSecurity) } },
    }, { parent: this });
    // Everything else lives in the namespace, so it waits for it.
    const child = { parent: this, dependsOn: [ns] };
    const meta = (objectName: string) => ({ name: objectName, namespace: plan.namespace, labels });

    new k8s.core.v1.LimitRange(`${name}-limits`, { metadata: meta("container-limits"), spec: limitRangeSpec(plan) }, child);
    new k8s.core.v1.ResourceQuota(`${name}-quota`, { metadata: meta("build-quota"), spec: { hard: quotaHard(plan) } }, child);

    const owner = new k8s.core.v1.ServiceAccount(`${name}-owner`, { metadata: meta(OWNER_SERVICE_ACCOUNT) }, child);
    new k8s.core.v1.ServiceAccount(`${name}-pipeline`, {
      metadata: meta(PIPELINE_SERVICE_ACCOUNT),
      ...(args.imagePullSecret ? { imagePullSecrets: [{ name: args.imagePullSecret }] } : {}),
    }, child);

    new k8s.rbac.v1.RoleBinding(`${name}-owners`, {
      metadata: meta("tenant-owners"),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: args.ownerRole },
      subjects: plan.members.map(ownerSubject),
    }, child);
    new k8s.rbac.v1.RoleBinding(`${name}-pipeline`, {
      metadata: meta("tenant-pipeline"),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: args.pipelineRole },
      subjects: [{ kind: "ServiceAccount", name: PIPELINE_SERVICE_ACCOUNT, namespace: plan.namespace }],
    }, child);
    // Lives in the shared namespace but belongs to this tenant, so adding a tenant adds it and removing one removes it.
    new k8s.rbac.v1.RoleBinding(`${name}-shared-pipelines`, {
      metadata: { name: `read-shared-pipelines-${plan.namespace}`, namespace: args.network.sharedNamespace, labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: args.sharedPipelineReaderRole },
      subjects: [
        ...plan.members.map(ownerSubject),
        { kind: "ServiceAccount", name: PIPELINE_SERVICE_ACCOUNT, namespace: plan.namespace },
      ],
    }, child);

    new k8s.networking.v1.NetworkPolicy(`${name}-ingress`, {
      metadata: meta("deny-from-other-namespaces"),
      spec: { podSelector: {}, policyTypes: ["Ingress"], ingress: [{ from: [{ podSelector: {} }] }] },
    }, child);
    new k8s.networking.v1.NetworkPolicy(`${name}-egress`, {
      metadata: meta("allowed-egress"),
      spec: { podSelector: {}, policyTypes: ["Egress"], egress: egressRules(args.network) },
    }, child);

    this.namespace = ns.metadata.name;
    this.namespaceResource = ns;
    if (plan.issuesKubeconfig) {
      this.kubeconfig = serviceAccountKubeconfig(`${name}-owner-token`, {
        namespace: plan.namespace, serviceAccount: OWNER_SERVICE_ACCOUNT, labels, apiServer: args.apiServer,
      }, { parent: this, dependsOn: [owner] });
    }
    this.registerOutputs({ namespace: this.namespace, kubeconfig: this.kubeconfig });
  }
}

/** Pod Security admission: enforce the tenant's level, and report what "restricted" would refuse. */
export function podSecurityLabels(level: "baseline" | "privileged"): Record<string, string> {
  return {
    "pod-security.kubernetes.io/enforce": level,
    "pod-security.kubernetes.io/enforce-version": "latest",
    "pod-security.kubernetes.io/audit": "restricted",
    "pod-security.kubernetes.io/warn": level,
  };
}

function kubernetesResources(triple: ResourceTriple): Record<string, string> {
  return Object.fromEntries(RESOURCE_NAMES.map((resource) => [KUBERNETES_RESOURCE[resource], triple[resource]]));
}

export function limitRangeSpec(plan: TenantPlan): k8s.types.input.core.v1.LimitRangeSpec {
  return {
    limits: [
      {
        type: "Container",
        min: kubernetesResources(plan.limits.min),
        defaultRequest: kubernetesResources(plan.limits.defaultRequest),
        default: kubernetesResources(plan.limits.default),
        max: kubernetesResources(plan.limits.max),
        maxLimitRequestRatio: {
          cpu: String(plan.limits.maxLimitRequestRatio.cpu),
          memory: String(plan.limits.maxLimitRequestRatio.memory),
        },
      },
      { type: "PersistentVolumeClaim", max: { storage: plan.quota.storage } },
    ],
  };
}

/**
 * The namespace's hard caps. NodePorts and LoadBalancers are 0: a tenant's Service must not open
 * a port on every node or ask for an outside address (the admission policy refuses externalIPs).
 */
export function quotaHard(plan: TenantPlan): Record<string, string> {
  const triple = (kind: "requests" | "limits") =>
    Object.fromEntries(RESOURCE_NAMES.map((resource) => [`${kind}.${KUBERNETES_RESOURCE[resource]}`, plan.quota[kind][resource]]));
  return {
    ...triple("requests"),
    ...triple("limits"),
    pods: String(plan.quota.pods),
    "services.nodeports": "0",
    "services.loadbalancers": "0",
    persistentvolumeclaims: String(plan.quota.persistentVolumeClaims),
    "requests.storage": plan.quota.storage,
    "count/pipelineruns.tekton.dev": String(plan.quota.pipelineRuns),
  };
}

export function egressRules(network: TenantNetwork): k8s.types.input.networking.v1.NetworkPolicyEgressRule[] {
  return [
    { to: [{ podSelector: {} }] },
    {
      to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } }, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }],
      ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }],
    },
    ...tenantEgressToShared(network.sharedNamespace, network.sharedPorts),
    // Builds fetch sources and packages from the internet, but never from another tenant's pods,
    // a node, the metadata address or the platform's networks (src/tenancy/egress.ts).
    ...internetEgress(network),
  ];
}

function ownerSubject(user: string): k8s.types.input.rbac.v1.Subject {
  return { kind: "ServiceAccount", name: OWNER_SERVICE_ACCOUNT, namespace: userNamespace(user) };
}
