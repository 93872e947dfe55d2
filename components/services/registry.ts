import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { standardLabels } from "../../src/labels";
import {
  HTPASSWD_PATH,
  htpasswdLine,
  REGISTRY_DATA_PATH,
  REGISTRY_DEBUG_PORT,
  REGISTRY_PORT,
  renderRegistryConfig,
  RegistryStorage,
} from "../../src/services/registryConfig";
import { RegistrySettings } from "../../src/settings/services";
import { IMAGES } from "../../src/versions";
import { ACCESS_KEY_ID, ObjectStoreInfo, SECRET_ACCESS_KEY } from "./objectStore";
import {
  dataVolume, exposedService, replicatedPlacement, resources, RESTRICTED_CONTAINER, restrictedPod, ServiceExposure, shortHash,
} from "./serviceKit";

export const REGISTRY_USER = "stx-build";
/** Name of the image pull/push Secret: in the shared namespace (own registry) or in every tenant (platform). */
export const REGISTRY_SECRET = "registry-credentials";
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
   * Tenant namespaces (and the resource that creates each): each gets the dockerconfigjson Secret
   * REGISTRY_SECRET that its build runs use, with its own htpasswd user in own mode, or a copy of
   * the platform's pull secret in platform mode.
   */
  readonly tenantNamespaces: readonly { readonly name: string; readonly resource?: pulumi.Resource }[];
  /** Nodes of the cluster: with several replicas, they spread over them and get a disruption budget. */
  readonly nodes: number;
}

/**
 * The image registry builds push to: our own distribution server (htpasswd auth, deletes enabled
 * for garbage collection, storage on S3 or a volume), or on StarlingX the platform registry, whose
 * pull secret is copied into every tenant namespace.
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
      this.credentialsSecret = this.platform(name, args);
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

    // bcryptHash is computed once by the provider and kept in state, so htpasswd does not churn.
    const password = new random.RandomPassword(`${name}-password`, { length: 32, special: false }, child);
    const httpSecret = new random.RandomPassword(`${name}-http-secret`, { length: 48, special: false }, child);
    // One htpasswd user per tenant namespace, so each namespace's builds push and pull with their
    // own credentials (dropped with the tenant). Distribution's htpasswd auth has no per-repository
    // rules: every user may push and pull every repository.
    const hosts = [...new Set([args.publicHost, ...(args.inClusterHost ? [args.inClusterHost] : [])])];
    const tenantLines = args.tenantNamespaces.map((tenant) => {
      const user = tenantRegistryUser(tenant.name);
      const tenantPassword = new random.RandomPassword(`${name}-${tenant.name}-password`, { length: 32, special: false }, child);
      new k8s.core.v1.Secret(`${name}-${tenant.name}-credentials`, {
        metadata: { name: REGISTRY_SECRET, namespace: tenant.name, labels },
        type: "kubernetes.io/dockerconfigjson",
        stringData: pulumi.secret({ ".dockerconfigjson": tenantPassword.result.apply((p) => dockerConfigJson(hosts, user, p)) }),
      }, { ...child, dependsOn: tenant.resource ? [tenant.resource] : [] });
      return tenantPassword.bcryptHash.apply((hash) => htpasswdLine(user, hash));
    });
    const htpasswd = pulumi.all([password.bcryptHash.apply((hash) => htpasswdLine(REGISTRY_USER, hash)), ...tenantLines]).apply((lines) => lines.join(""));
    const auth = new k8s.core.v1.Secret(`${name}-auth`, {
      metadata: { name: "registry-auth", namespace, labels },
      type: "Opaque",
      stringData: pulumi.secret({
        htpasswd,
        REGISTRY_HTTP_SECRET: httpSecret.result,
      }),
    }, child);
    // htpasswd is mounted by subPath, which never refreshes: a changed user set rolls the pods.
    const usersHash = shortHash(REGISTRY_USER, ...args.tenantNamespaces.map((t) => tenantRegistryUser(t.name)));
    const pushSecret = new k8s.core.v1.Secret(`${name}-credentials`, {
      metadata: { name: REGISTRY_SECRET, namespace, labels },
      type: "kubernetes.io/dockerconfigjson",
      stringData: pulumi.secret({
        ".dockerconfigjson": password.result.apply((p) => dockerConfigJson(hosts, REGISTRY_USER, p)),
      }),
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
            annotations: { "stx.starlingx.io/config-hash": configText.apply((t) => shortHash(t)), "stx.starlingx.io/users-hash": usersHash },
          },
          spec: {
            automountServiceAccountToken: false,
            securityContext: restrictedPod(REGISTRY_UID),
            ...placement,
            containers: [{
              name: "registry",
              image: IMAGES.registry,
              env,
              ports: [{ name: "registry", containerPort: REGISTRY_PORT }, { name: "debug", containerPort: REGISTRY_DEBUG_PORT }],
              readinessProbe: { httpGet: { path: "/debug/health", port: REGISTRY_DEBUG_PORT }, periodSeconds: 10, failureThreshold: 3 },
              livenessProbe: { tcpSocket: { port: REGISTRY_PORT }, initialDelaySeconds: 10, periodSeconds: 20, failureThreshold: 5 },
              resources: resources(settings.resources),
              securityContext: RESTRICTED_CONTAINER,
              volumeMounts: [
                { name: "config", mountPath: "/etc/distribution/config.yml", subPath: "config.yml", readOnly: true },
                { name: "auth", mountPath: HTPASSWD_PATH, subPath: "htpasswd", readOnly: true },
                ...(data ? [{ name: "data", mountPath: REGISTRY_DATA_PATH }] : []),
              ],
            }],
            volumes: [
              { name: "config", configMap: { name: config.metadata.name } },
              { name: "auth", secret: { secretName: auth.metadata.name, items: [{ key: "htpasswd", path: "htpasswd" }] } },
              ...(data ? [{ name: "data", persistentVolumeClaim: { claimName: data.metadata.name } }] : []),
            ],
          },
        },
      },
    }, { ...child, dependsOn: s3 ? [s3.ready] : [] });
    exposedService(`${name}-registry`, { namespace, name: "registry", exposure: args.exposure, selector, port: { name: "registry", port: REGISTRY_PORT }, labels }, child);
    return {
      credentialsSecret: pushSecret.metadata.name,
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

  /** The platform owns the registry and its credentials; we only hand tenants a copy of the pull secret. */
  private platform(name: string, args: RegistryArgs): pulumi.Output<string> {
    const { pullSecretNamespace, pullSecretName } = args.settings.platform;
    const child = { parent: this };
    const source = k8s.core.v1.Secret.get(`${name}-platform-pull-secret`, `${pullSecretNamespace}/${pullSecretName}`, child);
    for (const tenant of args.tenantNamespaces) {
      new k8s.core.v1.Secret(`${name}-pull-${tenant.name}`, {
        metadata: { name: REGISTRY_SECRET, namespace: tenant.name, labels: standardLabels("registry") },
        type: source.type,
        data: pulumi.secret(source.data),
      }, { ...child, dependsOn: tenant.resource ? [tenant.resource] : [] });
    }
    return pulumi.output(REGISTRY_SECRET);
  }
}

/** The .dockerconfigjson document for one user of a registry reached under one or more host names. */
export function dockerConfigJson(servers: string | readonly string[], user: string, password: string): string {
  const auth = Buffer.from(`${user}:${password}`).toString("base64");
  const list = typeof servers === "string" ? [servers] : servers;
  return JSON.stringify({ auths: Object.fromEntries(list.map((server) => [server, { username: user, password, auth }])) });
}

/** The htpasswd user of a tenant namespace (namespace names are DNS labels, which htpasswd accepts). */
export function tenantRegistryUser(namespace: string): string {
  return `tenant-${namespace}`;
}
