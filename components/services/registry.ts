import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { standardLabels } from "../../src/labels";
import { registryRules } from "../../src/services/registryAccess";
import { REGISTRY_DATA_PATH, REGISTRY_DEBUG_PORT, REGISTRY_PORT, renderRegistryConfig, RegistryStorage } from "../../src/services/registryConfig";
import { RetentionSettings } from "../../src/settings/retention";
import { RegistrySettings } from "../../src/settings/services";
import { TenantPlan } from "../../src/tenancy/tenants";
import { IMAGES } from "../../src/versions";
import { ACCESS_KEY_ID, ObjectStoreInfo, SECRET_ACCESS_KEY } from "./objectStore";
import { RegistryGate } from "./registryGate";
import { dataVolume, exposedService, replicatedPlacement, resources, RESTRICTED_CONTAINER, restrictedPod, ServiceExposure, shortHash } from "./serviceKit";

export { REGISTRY_SECRET } from "./registryGate";
/** The platform's login (shared namespace only): every repository, for maintenance. */
export const REGISTRY_USER = "stx-build";
const REGISTRY_UID = 1000;

/** The registry's own deployment, config, storage and identity, for the garbage-collection job. */
export interface RegistryMaintenance {
  readonly deploymentName: string;
  readonly config: { readonly kind: "ConfigMap"; readonly name: pulumi.Input<string>; readonly key: string };
  /** The data volume; undefined when the registry stores on S3. */
  readonly dataClaimName?: pulumi.Input<string>;
  readonly dataMountPath: string;
  readonly podLabels: Record<string, string>;
  readonly runAsUser: number;
  /** The registry's environment (HTTP secret, S3 keys): collection must see storage as the server does. */
  readonly env: k8s.types.input.core.v1.EnvVar[];
}

export interface RegistryArgs {
  readonly namespace: string;
  readonly settings: RegistrySettings;
  readonly storageClass: string;
  /** Required when settings.storage is "s3". */
  readonly objectStore?: ObjectStoreInfo & { readonly ready: pulumi.Resource };
  readonly exposure: ServiceExposure;
  /** host[:port] clients push to (own mode). */
  readonly publicHost: string;
  /** host:port build pods push to (own mode: the registry Service in the shared namespace). */
  readonly inClusterHost?: string;
  /**
   * The tenants (plan and Namespace resource): in own mode each gets the dockerconfigjson Secret
   * REGISTRY_SECRET with a login of its own, whose rights follow from the plan (registryRules).
   * In platform mode nothing is declared in them (see `platform`).
   */
  readonly tenants: readonly { readonly plan: TenantPlan; readonly resource: pulumi.Resource }[];
  /** Retention per release class: prefixes of classes kept forever hold immutable images. */
  readonly retentionDays: RetentionSettings["days"];
  /** Nodes of the cluster: with several replicas, they spread over them and get a disruption budget. */
  readonly nodes: number;
}

/**
 * The image registry builds push to: our own distribution server behind the registry gate (a
 * login per tenant, rights per repository prefix; deletes enabled for garbage collection; storage
 * on S3 or a volume), or on StarlingX the platform registry, whose logins the site hands out.
 */
export class Registry extends pulumi.ComponentResource {
  /** host[:port] to push and pull; undefined when there is no registry. */
  public readonly host: pulumi.Output<string | undefined>;
  /** dockerconfigjson Secret name (shared namespace for our own, every tenant namespace for the platform's). */
  public readonly credentialsSecret: pulumi.Output<string | undefined>;
  /** What garbage collection needs to run against our own registry; undefined for the platform's. */
  public readonly maintenance?: RegistryMaintenance;

  constructor(name: string, args: RegistryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stx:services:Registry", name, {}, opts);
    const { settings } = args;
    if (settings.mode === "own") {
      const own = this.own(name, args);
      this.host = pulumi.output(args.publicHost);
      this.credentialsSecret = own.credentialsSecret;
      this.maintenance = own.maintenance;
    } else if (settings.mode === "platform") {
      this.host = pulumi.output(settings.platform.server);
      this.credentialsSecret = this.platform();
    } else {
      this.host = pulumi.output(undefined);
      this.credentialsSecret = pulumi.output(undefined);
    }
    this.registerOutputs({ host: this.host, credentialsSecret: this.credentialsSecret });
  }

  private own(name: string, args: RegistryArgs): { credentialsSecret: pulumi.Output<string>; maintenance: RegistryMaintenance } {
    const { namespace, settings } = args;
    const child = { parent: this };
    const labels = standardLabels("registry");
    const selector = { "app.kubernetes.io/name": "registry" };
    const s3 = settings.storage === "s3" ? args.objectStore : undefined;
    if (settings.storage === "s3" && !s3) throw new Error('registry storage "s3" needs an object store');

    const httpSecret = new random.RandomPassword(`${name}-http-secret`, { length: 48, special: false }, child);
    const auth = new k8s.core.v1.Secret(`${name}-auth`, {
      metadata: { name: "registry-auth", namespace, labels },
      type: "Opaque",
      stringData: pulumi.secret({ REGISTRY_HTTP_SECRET: httpSecret.result }),
    }, child);
    const gate = new RegistryGate(`${name}-gate`, {
      namespace,
      rules: registryRules(args.tenants.map((t) => t.plan), args.retentionDays, REGISTRY_USER),
      hosts: [...new Set([args.publicHost, ...(args.inClusterHost ? [args.inClusterHost] : [])])],
      tenantResources: new Map(args.tenants.map((t) => [t.plan.namespace, t.resource])),
    }, child);

    const storage: pulumi.Output<RegistryStorage> = s3
      ? s3.endpoint.apply((endpoint): RegistryStorage => ({ kind: "s3", endpoint, region: s3.region, bucket: s3.buckets.registry }))
      : pulumi.output<RegistryStorage>({ kind: "filesystem" });
    const configText = storage.apply(renderRegistryConfig);
    const config = new k8s.core.v1.ConfigMap(`${name}-config`, {
      metadata: { name: "registry-config", namespace, labels },
      data: { "config.yml": configText },
    }, child);
    const data = s3
      ? undefined
      : dataVolume(`${name}-data`, { namespace, name: "registry-data", size: settings.size, storageClass: args.storageClass, labels }, child);

    const env: k8s.types.input.core.v1.EnvVar[] = [
      { name: "REGISTRY_HTTP_SECRET", valueFrom: { secretKeyRef: { name: auth.metadata.name, key: "REGISTRY_HTTP_SECRET" } } },
      ...(s3
        ? [
          { name: "REGISTRY_STORAGE_S3_ACCESSKEY", valueFrom: { secretKeyRef: { name: s3.credentialsSecret, key: ACCESS_KEY_ID } } },
          { name: "REGISTRY_STORAGE_S3_SECRETKEY", valueFrom: { secretKeyRef: { name: s3.credentialsSecret, key: SECRET_ACCESS_KEY } } },
        ]
        : []),
    ];
    const placement = replicatedPlacement(`${name}-registry`, {
      namespace, name: "registry", labels, selector, replicas: settings.replicas, nodes: args.nodes,
    }, child);
    new k8s.apps.v1.Deployment(`${name}-registry`, {
      metadata: { name: "registry", namespace, labels },
      spec: {
        replicas: settings.replicas,
        // A volume has one writer; S3 takes a rolling update.
        strategy: s3 ? { type: "RollingUpdate" } : { type: "Recreate" },
        selector: { matchLabels: selector },
        template: {
          metadata: {
            labels: { ...labels, ...selector },
            annotations: { "stx.starlingx.io/config-hash": configText.apply((t) => shortHash(t)), "stx.starlingx.io/gate-hash": gate.configHash },
          },
          spec: {
            automountServiceAccountToken: false,
            securityContext: restrictedPod(REGISTRY_UID),
            ...placement,
            containers: [{
              name: "registry",
              image: IMAGES.registry,
              env,
              // distribution listens on the pod's loopback (REGISTRY_UPSTREAM_PORT): only the gate reaches it.
              ports: [{ name: "debug", containerPort: REGISTRY_DEBUG_PORT }],
              readinessProbe: { httpGet: { path: "/debug/health", port: REGISTRY_DEBUG_PORT }, periodSeconds: 10, failureThreshold: 3 },
              livenessProbe: { httpGet: { path: "/debug/health", port: REGISTRY_DEBUG_PORT }, initialDelaySeconds: 10, periodSeconds: 20, failureThreshold: 5 },
              resources: resources(settings.resources),
              securityContext: RESTRICTED_CONTAINER,
              volumeMounts: [
                { name: "config", mountPath: "/etc/distribution/config.yml", subPath: "config.yml", readOnly: true },
                ...(data ? [{ name: "data", mountPath: REGISTRY_DATA_PATH }] : []),
              ],
            }, gate.container],
            volumes: [
              { name: "config", configMap: { name: config.metadata.name } },
              ...gate.volumes,
              ...(data ? [{ name: "data", persistentVolumeClaim: { claimName: data.metadata.name } }] : []),
            ],
          },
        },
      },
    }, { ...child, dependsOn: s3 ? [s3.ready] : [] });
    exposedService(`${name}-registry`, { namespace, name: "registry", exposure: args.exposure, selector, port: { name: "registry", port: REGISTRY_PORT }, labels }, child);
    return {
      credentialsSecret: gate.platformSecret,
      maintenance: {
        deploymentName: "registry",
        config: { kind: "ConfigMap", name: config.metadata.name, key: "config.yml" },
        dataClaimName: data?.metadata.name,
        dataMountPath: REGISTRY_DATA_PATH,
        podLabels: selector,
        runAsUser: REGISTRY_UID,
        env,
      },
    };
  }

  /**
   * The platform owns the registry and its logins. Its pull secret (`kube-system/default-registry-key`)
   * is an admin login and is never copied into a tenant namespace, where owners read Secrets: each
   * tenant's builds push only with a login the site creates for that tenant (a Secret
   * REGISTRY_SECRET in its namespace, docs/services.md); without one, image stages push nowhere.
   */
  private platform(): pulumi.Output<string | undefined> {
    return pulumi.output(undefined);
  }
}
