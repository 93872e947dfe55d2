import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { createHash } from "crypto";
import { standardLabels } from "../../src/labels";
import { DB_ENCRYPTION_KEY_PATH, renderPulpSettings } from "../../src/services/pulpConfig";
import { canonicalJson, contentHash, contentSpec, convergeScript } from "../../src/services/pulpContent";
import { ContainerResources, PulpSettings } from "../../src/settings/services";
import { IMAGES } from "../../src/versions";
import { ObjectStoreInfo } from "./objectStore";
import {
  dataVolume,
  hostIngress,
  JOB_RESOURCES,
  resources,
  RESTRICTED_CONTAINER,
  restrictedPod,
  ServiceExposure,
  serviceSpec,
  shortHash,
  singleWriterDeployment,
} from "./serviceKit";

const API_PORT = 24817;
const CONTENT_PORT = 24816;
const PULP_UID = 700;
const POSTGRES_UID = 999;
const REDIS_UID = 999;
const REDIS_GID = 1000;
const SETTINGS_SECRET = "pulp-settings";

/** Pulp's admin user, and the key of its password in the admin Secret; jobs that call the API use them. */
export const PULP_ADMIN_USER = "admin";
export const PULP_ADMIN_PASSWORD_KEY = "admin-password";

export interface PulpArgs {
  readonly namespace: string;
  readonly settings: PulpSettings;
  /** CONTENT_ORIGIN: the base URL clients download from. */
  readonly contentOrigin: string;
  /** URL of the API as users reach it (a stack output). */
  readonly publicUrl: string;
  /** StorageClass and access mode of the content volume (storage "pvc") and the database volume. */
  readonly storageClass: string;
  readonly contentVolume: { readonly storageClass: string; readonly accessMode: "ReadWriteOnce" | "ReadWriteMany" };
  /** Required when settings.storage is "s3". */
  readonly objectStore?: ObjectStoreInfo & { readonly ready: pulumi.Resource };
  /** Exposure of the API (NodePort: API port; the content app gets `contentNodePort`). */
  readonly exposure: ServiceExposure;
  readonly contentNodePort?: number;
}

/**
 * Pulp for Debian and file content, shared by every build: PostgreSQL, Redis, a migration Job,
 * then api / content / worker Deployments, and a Job that converges the declared mirrors.
 */
export class Pulp extends pulumi.ComponentResource {
  /** Pulp's API base URL as users reach it. */
  public readonly url: pulumi.Output<string>;
  /** The URL apt sources point at (…/pulp/content/<base path>/). */
  public readonly contentUrl: pulumi.Output<string>;
  /** In-cluster API URL, for jobs (retention, pipelines). */
  public readonly internalUrl: pulumi.Output<string>;
  /** Secret (shared namespace) with the admin password under "admin-password". */
  public readonly adminSecret: pulumi.Output<string>;
  /** The admin password; secret. */
  public readonly adminPassword: pulumi.Output<string>;

  constructor(name: string, args: PulpArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stx:services:Pulp", name, {}, opts);
    const { namespace, settings } = args;
    const child = { parent: this };
    const labels = standardLabels("pulp");
    if (settings.storage === "s3" && !args.objectStore) throw new Error('Pulp storage "s3" needs an object store');

    const secretKey = new random.RandomPassword(`${name}-secret-key`, { length: 50, special: false }, child);
    const dbPassword = new random.RandomPassword(`${name}-db-password`, { length: 32, special: false }, child);
    const admin = new random.RandomPassword(`${name}-admin-password`, { length: 32, special: false }, child);
    // Encrypts credentials stored in the database: lose it and every remote's password is unreadable.
    const fieldsKey = new random.RandomBytes(`${name}-db-fields-key`, { length: 32 }, { ...child, protect: true });

    const database = this.database(name, args, dbPassword, labels);
    const redis = this.redis(name, args, labels);
    const s3 = settings.storage === "s3" ? args.objectStore : undefined;
    const settingsPy = pulumi
      .all([secretKey.result, dbPassword.result, s3?.endpoint])
      .apply(([key, password, endpoint]) =>
        renderPulpSettings({
          secretKey: key,
          contentOrigin: args.contentOrigin,
          database: { host: `pulp-database.${namespace}.svc`, port: 5432, name: "pulp", user: "pulp", password },
          redis: { host: `pulp-redis.${namespace}.svc`, port: 6379 },
          s3: s3 && endpoint ? { endpoint, region: s3.region, bucket: s3.buckets.pulp } : undefined,
          redirectToObjectStorage: settings.redirectToObjectStorage,
        }),
      );
    const secret = new k8s.core.v1.Secret(`${name}-settings`, {
      metadata: { name: SETTINGS_SECRET, namespace, labels },
      type: "Opaque",
      stringData: pulumi.secret({
        "settings.py": settingsPy,
        // Fernet wants URL-safe base64.
        "database_fields.symmetric.key": fieldsKey.base64.apply((b) => b.replace(/\+/g, "-").replace(/\//g, "_")),
        [PULP_ADMIN_PASSWORD_KEY]: admin.result,
      }),
    }, child);

    const content = settings.storage === "pvc"
      ? dataVolume(`${name}-content`, {
        namespace, name: "pulp-content", size: settings.size, labels, ...args.contentVolume,
      }, child)
      : undefined;
    const pod = new PodParts(namespace, secret, content, s3?.credentialsSecret);
    // Settings are read at start: a changed file must roll the pods.
    const settingsHash = settingsPy.apply((text) => createHash("sha256").update(text).digest("hex").slice(0, 16));

    const migrate = new k8s.batch.v1.Job(`${name}-migrate`, {
      metadata: { name: `pulp-migrate-${shortHash(IMAGES.pulp)}`, namespace, labels },
      spec: pulpJobSpec({
        backoffLimit: 10,
        labels,
        containers: [pod.container("migrate", JOB_RESOURCES, {
              command: ["/bin/sh", "-ec",
                [
                  ...(content ? ["mkdir -p /var/lib/pulp/media /var/lib/pulp/assets /var/lib/pulp/tmp"] : []),
                  "pulpcore-manager migrate --noinput",
                  'pulpcore-manager reset-admin-password --password "$(cat /etc/pulp/admin/admin-password)"',
                ].join("\n")],
              adminPassword: true,
            })],
        volumes: pod.volumes(true),
      }),
    }, { ...child, dependsOn: [database, secret, ...(s3 ? [s3.ready] : [])], customTimeouts: { create: "30m", update: "30m" } });

    const after = { ...child, dependsOn: [migrate, redis] };
    const deploy = (role: string, replicas: number, r: ContainerResources, c: Partial<k8s.types.input.core.v1.Container>) =>
      new k8s.apps.v1.Deployment(`${name}-${role}`, {
        metadata: { name: `pulp-${role}`, namespace, labels },
        spec: {
          replicas,
          selector: { matchLabels: { "app.kubernetes.io/name": `pulp-${role}` } },
          template: {
            metadata: {
              labels: { ...labels, "app.kubernetes.io/name": `pulp-${role}` },
              annotations: { "stx.starlingx.io/settings-hash": settingsHash },
            },
            spec: {
              // Pulp reads every PULP_* variable as a setting; service links (PULP_API_PORT=tcp://...) would be taken for some.
              enableServiceLinks: false,
              securityContext: restrictedPod(PULP_UID),
              containers: [pod.container(role, r, c)],
              volumes: pod.volumes(false),
            },
          },
        },
      }, after);

    const api = deploy("api", settings.apiReplicas, settings.resources.api, {
      command: ["/usr/bin/pulp-api"],
      ports: [{ name: "api", containerPort: API_PORT }],
      readinessProbe: { httpGet: { path: "/pulp/api/v3/status/", port: API_PORT }, periodSeconds: 10, timeoutSeconds: 10, failureThreshold: 3 },
      livenessProbe: { httpGet: { path: "/pulp/api/v3/status/", port: API_PORT }, initialDelaySeconds: 30, periodSeconds: 20, timeoutSeconds: 10, failureThreshold: 6 },
    });
    const contentApp = deploy("content", settings.contentReplicas, settings.resources.content, {
      command: ["/usr/bin/pulp-content"],
      ports: [{ name: "content", containerPort: CONTENT_PORT }],
      readinessProbe: { httpGet: { path: "/pulp/content/", port: CONTENT_PORT }, periodSeconds: 10, timeoutSeconds: 10, failureThreshold: 3 },
      livenessProbe: { tcpSocket: { port: CONTENT_PORT }, initialDelaySeconds: 15, periodSeconds: 20, failureThreshold: 6 },
    });
    const worker = deploy("worker", settings.workers, settings.resources.worker, {
      command: ["/usr/bin/pulp-worker"],
      // A worker serves no port; it is healthy while it can reach the database.
      readinessProbe: { exec: { command: ["pulpcore-manager", "check", "--database", "default"] }, periodSeconds: 30, timeoutSeconds: 20, failureThreshold: 3 },
      livenessProbe: { exec: { command: ["pulpcore-manager", "check", "--database", "default"] }, initialDelaySeconds: 30, periodSeconds: 60, timeoutSeconds: 30, failureThreshold: 5 },
    });

    const apiService = new k8s.core.v1.Service(`${name}-api`, {
      metadata: { name: "pulp-api", namespace, labels },
      spec: serviceSpec(args.exposure, { "app.kubernetes.io/name": "pulp-api" }, [{ name: "api", port: API_PORT }]),
    }, child);
    const contentExposure: ServiceExposure = args.exposure.kind === "nodePort" && args.contentNodePort
      ? { kind: "nodePort", nodePort: args.contentNodePort }
      : args.exposure;
    new k8s.core.v1.Service(`${name}-content`, {
      metadata: { name: "pulp-content", namespace, labels },
      spec: serviceSpec(contentExposure, { "app.kubernetes.io/name": "pulp-content" }, [{ name: "content", port: CONTENT_PORT }]),
    }, child);
    if (args.exposure.kind === "ingress") {
      hostIngress(`${name}-pulp`, {
        namespace, name: "pulp", exposure: args.exposure, labels,
        paths: [
          { path: "/pulp/content/", service: "pulp-content", port: CONTENT_PORT },
          { path: "/", service: "pulp-api", port: API_PORT },
        ],
      }, child);
    }

    this.internalUrl = pulumi.interpolate`http://${apiService.metadata.name}.${namespace}.svc:${API_PORT}`;
    this.contentJob(name, args, pod, labels, [api, contentApp, worker]);
    this.url = pulumi.output(args.publicUrl);
    this.contentUrl = pulumi.output(`${args.contentOrigin}/pulp/content/`);
    this.adminSecret = secret.metadata.name;
    this.adminPassword = pulumi.secret(admin.result);
    this.registerOutputs({ url: this.url, contentUrl: this.contentUrl, adminSecret: this.adminSecret });
  }

  private database(name: string, args: PulpArgs, password: random.RandomPassword, labels: Record<string, string>): pulumi.Resource {
    const { namespace, settings } = args;
    const child = { parent: this };
    const selector = { "app.kubernetes.io/name": "pulp-database" };
    const secret = new k8s.core.v1.Secret(`${name}-database`, {
      metadata: { name: "pulp-database", namespace, labels },
      type: "Opaque",
      stringData: pulumi.secret({ POSTGRES_USER: "pulp", POSTGRES_DB: "pulp", POSTGRES_PASSWORD: password.result }),
    }, child);
    const volume = dataVolume(`${name}-database`, {
      namespace, name: "pulp-database", size: settings.databaseSize, storageClass: args.storageClass, labels,
    }, child);
    const ready = ["pg_isready", "-U", "pulp", "-d", "pulp", "-h", "127.0.0.1"];
    const deployment = singleWriterDeployment(`${name}-database`, {
      namespace, name: "pulp-database", labels, selector, uid: POSTGRES_UID,
      containers: [{
        name: "postgres",
        image: IMAGES.pulpDatabase,
        envFrom: [{ secretRef: { name: secret.metadata.name } }],
        // A sub-directory: the volume's root may hold lost+found, which initdb refuses.
        env: [{ name: "PGDATA", value: "/var/lib/postgresql/data/pgdata" }],
        ports: [{ name: "postgres", containerPort: 5432 }],
        readinessProbe: { exec: { command: ready }, periodSeconds: 10, failureThreshold: 3 },
        livenessProbe: { exec: { command: ready }, initialDelaySeconds: 30, periodSeconds: 20, failureThreshold: 6 },
        resources: resources(settings.resources.database),
        securityContext: RESTRICTED_CONTAINER,
        volumeMounts: [
          { name: "data", mountPath: "/var/lib/postgresql/data" },
          { name: "run", mountPath: "/var/run/postgresql" },
        ],
      }],
      volumes: [
        { name: "data", persistentVolumeClaim: { claimName: volume.metadata.name } },
        { name: "run", emptyDir: { medium: "Memory", sizeLimit: "16Mi" } },
      ],
    }, child);
    new k8s.core.v1.Service(`${name}-database`, {
      metadata: { name: "pulp-database", namespace, labels },
      spec: { selector, ports: [{ name: "postgres", port: 5432, targetPort: 5432 }] },
    }, child);
    return deployment;
  }

  /** Redis only caches content lookups; losing it costs nothing, so it keeps no volume. */
  private redis(name: string, args: PulpArgs, labels: Record<string, string>): pulumi.Resource {
    const { namespace, settings } = args;
    const child = { parent: this };
    const selector = { "app.kubernetes.io/name": "pulp-redis" };
    const ping = ["redis-cli", "-h", "127.0.0.1", "ping"];
    const deployment = new k8s.apps.v1.Deployment(`${name}-redis`, {
      metadata: { name: "pulp-redis", namespace, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels: { ...labels, ...selector } },
          spec: {
            securityContext: restrictedPod(REDIS_UID, REDIS_GID),
            containers: [{
              name: "redis",
              image: IMAGES.pulpRedis,
              args: ["--save", "", "--appendonly", "no"],
              ports: [{ name: "redis", containerPort: 6379 }],
              readinessProbe: { exec: { command: ping }, periodSeconds: 10 },
              livenessProbe: { exec: { command: ping }, initialDelaySeconds: 10, periodSeconds: 20, failureThreshold: 5 },
              resources: resources(settings.resources.redis),
              securityContext: RESTRICTED_CONTAINER,
              volumeMounts: [{ name: "data", mountPath: "/data" }],
            }],
            volumes: [{ name: "data", emptyDir: { sizeLimit: "256Mi" } }],
          },
        },
      },
    }, child);
    new k8s.core.v1.Service(`${name}-redis`, {
      metadata: { name: "pulp-redis", namespace, labels },
      spec: { selector, ports: [{ name: "redis", port: 6379, targetPort: 6379 }] },
    }, child);
    return deployment;
  }

  /** Remotes, repositories and distributions from stack config, applied by a Job named after their hash. */
  private contentJob(name: string, args: PulpArgs, pod: PodParts, labels: Record<string, string>, pulp: pulumi.Resource[]): void {
    const { namespace } = args;
    const child = { parent: this };
    const spec = contentSpec(args.settings.mirrors);
    const script = convergeScript();
    const hash = contentHash(spec, script);
    const config = new k8s.core.v1.ConfigMap(`${name}-content-spec`, {
      metadata: { name: `pulp-content-${hash}`, namespace, labels },
      data: { "spec.json": canonicalJson(spec), "pulp_content.py": script },
    }, child);
    new k8s.batch.v1.Job(`${name}-content-converge`, {
      metadata: { name: `pulp-content-${hash}`, namespace, labels },
      spec: pulpJobSpec({
        backoffLimit: 4,
        // The first on-demand sync still downloads every Packages index: allow it time, but not forever.
        activeDeadlineSeconds: 3 * 3600,
        labels,
        containers: [{
              name: "converge",
              image: IMAGES.pulp,
              command: ["python3", "/opt/stx/pulp_content.py"],
              env: [
                { name: "PULP_URL", value: this.internalUrl },
                { name: "PULP_USERNAME", value: PULP_ADMIN_USER },
                { name: "PULP_PASSWORD", valueFrom: { secretKeyRef: { name: pod.settingsSecret.metadata.name, key: PULP_ADMIN_PASSWORD_KEY } } },
                { name: "SPEC_FILE", value: "/opt/stx/spec.json" },
              ],
              resources: resources(JOB_RESOURCES),
              securityContext: RESTRICTED_CONTAINER,
              volumeMounts: [{ name: "spec", mountPath: "/opt/stx", readOnly: true }],
            }],
        volumes: [{ name: "spec", configMap: { name: config.metadata.name } }],
      }),
    }, { ...child, dependsOn: [...pulp, config], customTimeouts: { create: "3h", update: "3h" } });
  }
}

/** A Job that runs as Pulp's user and retries its pod until it succeeds or its budget is spent. */
function pulpJobSpec(job: {
  backoffLimit: number;
  activeDeadlineSeconds?: number;
  labels: Record<string, string>;
  containers: k8s.types.input.core.v1.Container[];
  volumes: k8s.types.input.core.v1.Volume[];
}): k8s.types.input.batch.v1.JobSpec {
  return {
    backoffLimit: job.backoffLimit,
    activeDeadlineSeconds: job.activeDeadlineSeconds,
    template: {
      metadata: { labels: job.labels },
      spec: {
        restartPolicy: "OnFailure",
        enableServiceLinks: false,
        securityContext: restrictedPod(PULP_UID),
        containers: job.containers,
        volumes: job.volumes,
      },
    },
  };
}

/** The volumes and mounts every Pulp container shares: settings, key, storage. */
class PodParts {
  constructor(
    readonly namespace: string,
    readonly settingsSecret: k8s.core.v1.Secret,
    readonly content: k8s.core.v1.PersistentVolumeClaim | undefined,
    readonly s3CredentialsSecret: pulumi.Output<string> | undefined,
  ) {}

  container(
    name: string,
    r: ContainerResources,
    extra: Partial<k8s.types.input.core.v1.Container> & { adminPassword?: boolean },
  ): k8s.types.input.core.v1.Container {
    const { adminPassword, ...rest } = extra;
    return {
      name,
      image: IMAGES.pulp,
      // The image's start scripts wait for the database at these addresses before serving.
      env: [
        { name: "POSTGRES_SERVICE_HOST", value: `pulp-database.${this.namespace}.svc` },
        { name: "POSTGRES_SERVICE_PORT", value: "5432" },
      ],
      envFrom: this.s3CredentialsSecret ? [{ secretRef: { name: this.s3CredentialsSecret } }] : undefined,
      resources: resources(r),
      securityContext: RESTRICTED_CONTAINER,
      volumeMounts: [
        { name: "settings", mountPath: "/etc/pulp/settings.py", subPath: "settings.py", readOnly: true },
        { name: "settings", mountPath: DB_ENCRYPTION_KEY_PATH, subPath: "database_fields.symmetric.key", readOnly: true },
        ...(adminPassword ? [{ name: "admin", mountPath: "/etc/pulp/admin", readOnly: true }] : []),
        ...(this.content
          ? [{ name: "storage", mountPath: "/var/lib/pulp" }]
          : [{ name: "tmp", mountPath: "/var/lib/pulp/tmp" }, { name: "assets", mountPath: "/var/lib/pulp/assets" }]),
      ],
      ...rest,
    };
  }

  volumes(adminPassword: boolean): k8s.types.input.core.v1.Volume[] {
    const secretName = this.settingsSecret.metadata.name;
    return [
      { name: "settings", secret: { secretName, items: [
        { key: "settings.py", path: "settings.py" },
        { key: "database_fields.symmetric.key", path: "database_fields.symmetric.key" },
      ] } },
      ...(adminPassword ? [{ name: "admin", secret: { secretName, items: [{ key: PULP_ADMIN_PASSWORD_KEY, path: "admin-password" }] } }] : []),
      ...(this.content
        ? [{ name: "storage", persistentVolumeClaim: { claimName: this.content.metadata.name } }]
        // With S3 storage only downloads in flight and static assets stay on the node.
        : [{ name: "tmp", emptyDir: { sizeLimit: "50Gi" } }, { name: "assets", emptyDir: { sizeLimit: "1Gi" } }]),
    ];
  }
}
