import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { REGISTRY_SECRET } from "./services/registry";
import { standardLabels } from "../src/labels";
import { Settings } from "../src/settings/schema";
import { objectStoreAdvice } from "../src/settings/services";
import { planTenants, TenantPlan } from "../src/tenancy/tenants";
import { BuildMachinery, buildMachineryArgs, sharedServicesFor } from "./build/buildMachinery";
import { TenantNamespace } from "./tenancy/tenantNamespace";
import { TenantAdmission } from "./tenancy/tenantAdmission";
import { TenantRoles } from "./tenancy/tenantRoles";
import { waitForNamespace } from "./dependencies";
import { inClusterEndpoints, serviceEndpoints, NODE_PORTS } from "../src/services/serviceEndpoints";
import { tenantStoreUsers } from "../src/services/objectStoreUsers";
import { ObjectStore, ObjectStoreInfo } from "./services/objectStore";
import { Pulp } from "./services/pulp";
import { Registry } from "./services/registry";
import { ServiceExposure } from "./services/serviceKit";
import { Retention, retentionArgs } from "./retention/retention";
import { SharedNetwork } from "./services/sharedNetwork";
import { ExternalPeers, tenantPorts } from "../src/services/sharedNetwork";
import { DeclaredKinds } from "./review/declaredKinds";
import { Reviewer } from "./review/reviewer";

export interface BuildClusterArgs {
  readonly settings: Settings;
  /** Keys of an external S3 endpoint (secret stack config), when services.objectStore.mode is "external". */
  readonly objectStoreKeys?: { readonly accessKey: pulumi.Output<string>; readonly secretKey: pulumi.Output<string> };
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
  /** The read-only reviewer's kubeconfig (docs/review.md); secret. */
  public readonly reviewerKubeconfig: pulumi.Output<string>;
  /** Pulp, the object store and the registry, shared by every tenant. */
  public readonly services: { readonly pulp: Pulp; readonly objectStore: ObjectStore; readonly registry: Registry };

  constructor(name: string, args: BuildClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    // Everything beneath is recorded, so the reviewer reads exactly the kinds this stack declares.
    const declared = new DeclaredKinds();
    super("stx:cluster:BuildCluster", name, {}, { ...opts, transformations: [...(opts?.transformations ?? []), declared.transformation] });
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

    // Pulumi does not pass a component's dependsOn to its children: instead, everything beneath the
    // components below that is created in one of our namespaces waits for that namespace.
    const inShared = { ...child, transformations: [waitForNamespace(new Map([[settings.cluster.sharedNamespace, shared]]))] };
    const sharedPorts = tenantPorts(settings.services);
    new SharedNetwork(`${name}-shared-network`, {
      namespace: settings.cluster.sharedNamespace,
      tenantPorts: sharedPorts,
      external: externalPeers(settings),
    }, inShared);
    const roles = new TenantRoles(`${name}-tenant-roles`, { sharedNamespace: settings.cluster.sharedNamespace }, inShared);
    new TenantAdmission(`${name}-tenant-admission`, { kubernetesVersion: settings.cluster.kubernetesVersion }, child);
    const tenants = planTenants(settings).map(
      (plan) =>
        [plan, new TenantNamespace(plan.namespace, {
          plan,
          network: {
            sharedNamespace: settings.cluster.sharedNamespace,
            sharedPorts,
            podCidr: settings.cluster.podCidr,
            serviceCidr: settings.cluster.serviceCidr,
            exclusions: settings.cluster.egressExclusions,
          },
          ownerRole: roles.ownerRole,
          pipelineRole: roles.pipelineRole,
          sharedPipelineReaderRole: roles.sharedPipelineReaderRole,
          apiServer: settings.apiServer,
          imagePullSecret: settings.services.registry.mode === "none" ? undefined : REGISTRY_SECRET,
        }, inShared)] as const,
    );
    const namespaces = new Map<string, pulumi.Resource>([
      [settings.cluster.sharedNamespace, shared],
      ...tenants.map(([plan, tenant]) => [plan.namespace, tenant.namespaceResource] as const),
    ]);
    const afterNamespaces = { ...child, transformations: [waitForNamespace(namespaces)] };

    const advice = objectStoreAdvice(settings.services, settings.cluster.nodes.length);
    if (advice) pulumi.log.warn(advice, this);
    this.services = this.sharedServices(name, args, afterNamespaces, tenants);
    new Retention(`${name}-retention`, retentionArgs(settings, tenants.map(([plan]) => plan.namespace), this.services), {
      ...afterNamespaces,
    });
    const machinery = new BuildMachinery(`${name}-build`, buildMachineryArgs(
      settings,
      tenants.map(([plan]) => plan.namespace),
      args.secrets,
      sharedServicesFor(settings),
    ), {
      ...afterNamespaces,
    });

    this.reviewerKubeconfig = new Reviewer(`${name}-reviewer`, {
      namespace: settings.cluster.sharedNamespace,
      rules: declared.rules([machinery.declared]),
      apiServer: settings.apiServer,
      context: settings.kubeContext ?? "stx-reviewer",
    }, inShared).kubeconfig;

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
      reviewerKubeconfig: this.reviewerKubeconfig,
    });
  }

  /** The shared services in the shared namespace: object store first, Pulp and the registry on it. */
  private sharedServices(
    name: string,
    args: BuildClusterArgs,
    afterNamespaces: pulumi.ComponentResourceOptions,
    tenants: readonly (readonly [TenantPlan, TenantNamespace])[],
  ): BuildCluster["services"] {
    const opts = afterNamespaces;
    const { settings } = args;
    const { services, cluster } = settings;
    const namespace = cluster.sharedNamespace;
    const urls = serviceEndpoints(services, settings.apiServer);
    const exposure = (nodePort: number, host?: string): ServiceExposure =>
      services.exposure.kind === "nodePort"
        ? { kind: "nodePort", nodePort }
        : {
          kind: "ingress", host: host ?? "", ingressClass: services.exposure.ingressClass,
          clusterIssuer: services.exposure.clusterIssuer, tlsSecret: services.exposure.tlsSecret,
        };
    const objectStore = new ObjectStore(`${name}-object-store`, {
      namespace,
      settings: services.objectStore,
      storageClass: cluster.storageClass,
      exposure: exposure(NODE_PORTS.objectStore, urls.ingressHosts?.objectStore),
      publicUrl: urls.objectStorePublicUrl,
      externalCredentials: args.objectStoreKeys,
      tenantUsers: tenantStoreUsers(tenants.map(([plan]) => plan), settings.retention.days).map((user) => ({
        ...user,
        namespaceResource: tenants.find(([plan]) => plan.namespace === user.namespace)![1],
      })),
    }, opts);
    const shared = cluster.sharedStorageClass && settings.profile !== "minikube";
    const pulp = new Pulp(`${name}-pulp`, {
      namespace,
      settings: services.pulp,
      contentOrigin: urls.pulpContentOrigin,
      publicUrl: urls.pulpUrl,
      storageClass: cluster.storageClass,
      contentVolume: shared
        ? { storageClass: cluster.sharedStorageClass!, accessMode: "ReadWriteMany" }
        : { storageClass: cluster.storageClass, accessMode: "ReadWriteOnce" },
      objectStore,
      exposure: exposure(NODE_PORTS.pulpApi, urls.ingressHosts?.pulp),
      contentNodePort: NODE_PORTS.pulpContent,
      nodes: cluster.nodes.length,
    }, opts);
    const registry = new Registry(`${name}-registry`, {
      namespace,
      settings: services.registry,
      storageClass: cluster.storageClass,
      objectStore,
      exposure: exposure(NODE_PORTS.registry, urls.ingressHosts?.registry),
      publicHost: urls.registryHost,
      inClusterHost: inClusterEndpoints(services, namespace).registry,
      tenants: tenants.map(([plan, resource]) => ({ plan, resource })),
      retentionDays: settings.retention.days,
      nodes: cluster.nodes.length,
    }, opts);
    return { pulp, objectStore, registry };
  }

  /** The object store as a plain output for other tools (retention, pipelines, users). */
  public get objectStoreOutput(): pulumi.Output<ObjectStoreInfoValue> {
    const store: ObjectStoreInfo = this.services.objectStore;
    return pulumi.all([store.endpoint, store.publicUrl, store.credentialsSecret]).apply(([endpoint, publicUrl, credentialsSecret]) => ({
      endpoint,
      publicUrl,
      region: store.region,
      buckets: store.buckets,
      publishedPrefix: store.publishedPrefix,
      credentialsSecret,
    }));
  }
}

/** Where traffic from outside the cluster enters the shared namespace. */
function externalPeers(settings: Settings): ExternalPeers {
  const { exposure } = settings.services;
  return exposure.kind === "nodePort"
    ? { kind: "nodePort", podCidr: settings.cluster.podCidr }
    : { kind: "ingress", controllerNamespace: exposure.ingressControllerNamespace };
}

/** ObjectStoreInfo with its outputs resolved, as exported by the stack. */
export interface ObjectStoreInfoValue {
  readonly endpoint: string;
  readonly publicUrl?: string;
  readonly region: string;
  readonly buckets: ObjectStoreInfo["buckets"];
  readonly publishedPrefix: string;
  readonly credentialsSecret: string;
}
