import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { createHash } from "crypto";
import { standardLabels } from "../../src/labels";
import { DB_ENCRYPTION_KEY_PATH, renderPulpSettings } from "../../src/services/pulpConfig";
import { canonicalJson, contentHash, contentSpec, convergeScript } from "../../src/services/pulpContent";
import { ContainerResources, PulpSettings } from "../../src/settings/services";
import { POSTGRES_PORT, PULP_BACKEND_CLIENT, PULP_CONTENT_PORT, REDIS_PORT } from "../../src/services/sharedNetwork";
import { IMAGES } from "../../src/versions";
import { ObjectStoreInfo } from "./objectStore";
import {
  dataPassword,
  dataVolume,
  hostIngress,
  JOB_RESOURCES,
  resources,
  RESTRICTED_CONTAINER,
  replicatedPlacement,
  restrictedPod,
  ServiceExposure,
  serviceSpec,
  shortHash,
  singleWriterDeployment,
} from "./serviceKit";

const API_PORT = 24817;
const PULP_UID = 700;
const POSTGRES_UID = 999;
const REDIS_UID = 999;
const REDIS_GID = 1000;
const SETTINGS_SECRET = "pulp-settings";
/** True while a pulpcore-worker process runs and is not a zombie; reads /proc only, needs nothing else. */
const WORKER_ALIVE = ["/bin/sh", "-c", // [w] keeps this script and grep from matching themselves
  "for p in /proc/[0-9]*; do grep -qa 'pulpcore-[w]orker' $p/cmdline 2>/dev/null && ! grep -q '^State:.*Z' $p/status && exit 0; done; exit 1"];

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
  /** Nodes of the cluster: replicated Deployments spread over them and get disruption budgets. */
  readonly nodes: number;
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
    const dbPassword = dataPassword(`${name}-db-password`, { length: 32, special: false }, child);
    const admin = new random.RandomPassword(`${name}-admin-password`, { length: 32, special: false }, child);
    // Encrypts credentials stored in the database: lose it and every remote's password is unreadable.
    const fieldsKey = new random.RandomBytes(`${name}-db-fields-key`, { length: 32 }, { ...child, protect: true });

    const redisPassword = new random.RandomPassword(`${name}-redis-password`, { length: 32, special: false }, child);
    const database = this.database(name, args, dbPassword, labels);
    const redis = this.redis(name, args, redisPassword, labels);
    const s3 = settings.storage === "s3" ? args.objectStore : undefined;
    const settingsPy = pulumi
      .all([secretKey.result, dbPassword.result, redisPassword.result, s3?.endpoint])
      .apply(([key, password, redisPass, endpoint]) =>
        renderPulpSettings({
          secretKey: key,
          contentOrigin: args.contentOrigin,
          database: { host: `pulp-database.${namespace}.svc`, port: 5432, name: "pulp", user: "pulp", password },
          redis: { host: `pulp-redis.${namespace}.svc`, port: REDIS_PORT, password: redisPass },
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
        // Migrations are the one Job that talks to the database itself.
        labels: { ...labels, ...PULP_BACKEND_CLIENT },
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
    const deploy = (role: string, replicas: number, r: ContainerResources, c: Partial<k8s.types.input.core.v1.Container>) => {
      const selector = { "app.kubernetes.io/name": `pulp-${role}` };
      const placement = replicatedPlacement(`${name}-${role}`, {
        namespace, name: `pulp-${role}`, labels, selector, replicas, nodes: args.nodes,
      }, child);
      return new k8s.apps.v1.Deployment(`${name}-${role}`, {
        metadata: { name: `pulp-${role}`, namespace, labels },
        spec: {
          replicas,
          selector: { matchLabels: selector },
          template: {
            metadata: {
              labels: { ...labels, ...PULP_BACKEND_CLIENT, "app.kubernetes.io/name": `pulp-${role}` },
              annotations: { "stx.starlingx.io/settings-hash": settingsHash },
            },
            spec: {
              // Pulp reads every PULP_* variable as a setting; service links (PULP_API_PORT=tcp://...) would be taken for some.
              enableServiceLinks: false,
              // Pulp never calls the Kubernetes API: no token in its pods.
              automountServiceAccountToken: false,
              securityContext: restrictedPod(PULP_UID),
              ...placement,
              containers: [pod.container(role, r, c)],
              volumes: pod.volumes(false),
            },
          },
        },
      }, after);
    };

    const api = deploy("api", settings.apiReplicas, settings.resources.api, {
      command: ["/usr/bin/pulp-api"],
      ports: [{ name: "api", containerPort: API_PORT }],
      // Ready when its dependencies answer (status checks database and Redis); alive while the
      // server accepts connections, so a database restart does not restart the API too.
      readinessProbe: { httpGet: { path: "/pulp/api/v3/status/", port: API_PORT }, periodSeconds: 10, timeoutSeconds: 10, failureThreshold: 3 },
      livenessProbe: { tcpSocket: { port: API_PORT }, initialDelaySeconds: 30, periodSeconds: 20, timeoutSeconds: 10, failureThreshold: 6 },
    });
    const contentApp = deploy("content", settings.contentReplicas, settings.resources.content, {
      command: ["/usr/bin/pulp-content"],
      ports: [{ name: "content", containerPort: PULP_CONTENT_PORT }],
      readinessProbe: { httpGet: { path: "/pulp/content/", port: PULP_CONTENT_PORT }, periodSeconds: 10, timeoutSeconds: 10, failureThreshold: 3 },
      livenessProbe: { tcpSocket: { port: PULP_CONTENT_PORT }, initialDelaySeconds: 15, periodSeconds: 20, failureThreshold: 6 },
    });
    const worker = deploy("worker", settings.workers, settings.resources.worker, {
      command: ["/usr/bin/pulp-worker"],
      // A worker serves no port. Ready while it can reach the database; alive while its process
      // runs and is not a zombie. A database check as liveness restarted every worker whenever
      // the single database pod restarted.
      readinessProbe: { exec: { command: ["pulpcore-manager", "check", "--database", "default"] }, periodSeconds: 30, timeoutSeconds: 20, failureThreshold: 3 },
      livenessProbe: { exec: { command: WORKER_ALIVE }, initialDelaySeconds: 30, periodSeconds: 60, timeoutSeconds: 10, failureThreshold: 5 },
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
      spec: serviceSpec(contentExposure, { "app.kubernetes.io/name": "pulp-content" }, [{ name: "content", port: PULP_CONTENT_PORT }]),
    }, child);
    if (args.exposure.kind === "ingress") {
      hostIngress(`${name}-pulp`, {
        namespace, name: "pulp", exposure: args.exposure, labels,
        paths: [
          { path: "/pulp/content/", service: "pulp-content", port: PULP_CONTENT_PORT },
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
    const probes = databaseProbes();
    const deployment = singleWriterDeployment(`${name}-database`, {
      namespace, name: "pulp-database", labels, selector, uid: POSTGRES_UID,
      containers: [{
        name: "postgres",
        image: IMAGES.pulpDatabase,
        envFrom: [{ secretRef: { name: secret.metadata.name } }],
        // A sub-directory: the volume's root may hold lost+found, which initdb refuses.
        env: [{ name: "PGDATA", value: "/var/lib/postgresql/data/pgdata" }],
        ports: [{ name: "postgres", containerPort: POSTGRES_PORT }],
        ...probes,
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
      spec: { selector, ports: [{ name: "postgres", port: POSTGRES_PORT, targetPort: POSTGRES_PORT }] },
    }, child);
    return deployment;
  }

  /**
   * Redis only caches content lookups; losing it costs nothing, so it keeps no volume. It asks
   * for a generated password (requirepass from a Secret-mounted config file, never in the spec).
   */
  private redis(name: string, args: PulpArgs, password: random.RandomPassword, labels: Record<string, string>): pulumi.Resource {
    const { namespace, settings } = args;
    const child = { parent: this };
    const selector = { "app.kubernetes.io/name": "pulp-redis" };
    const secret = new k8s.core.v1.Secret(`${name}-redis`, {
      metadata: { name: "pulp-redis", namespace, labels },
      type: "Opaque",
      stringData: pulumi.secret({
        password: password.result,
        "redis.conf": password.result.apply((p) => `requirepass "${p}"\nsave ""\nappendonly no\n`),
      }),
    }, child);
    const deployment = new k8s.apps.v1.Deployment(`${name}-redis`, {
      metadata: { name: "pulp-redis", namespace, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels: { ...labels, ...selector } },
          spec: {
            automountServiceAccountToken: false,
            securityContext: restrictedPod(REDIS_UID, REDIS_GID),
            containers: [{
              name: "redis",
              image: IMAGES.pulpRedis,
              args: ["/etc/redis/redis.conf"],
              // redis-cli reads the password from REDISCLI_AUTH, so it stays out of the command line.
              env: [{ name: "REDISCLI_AUTH", valueFrom: { secretKeyRef: { name: secret.metadata.name, key: "password" } } }],
              ports: [{ name: "redis", containerPort: REDIS_PORT }],
              readinessProbe: { exec: { command: ["/bin/sh", "-c", "redis-cli -h 127.0.0.1 ping | grep -qx PONG"] }, periodSeconds: 10 },
              livenessProbe: { tcpSocket: { port: REDIS_PORT }, initialDelaySeconds: 10, periodSeconds: 20, failureThreshold: 5 },
              resources: resources(settings.resources.redis),
              securityContext: RESTRICTED_CONTAINER,
              volumeMounts: [
                { name: "data", mountPath: "/data" },
                { name: "config", mountPath: "/etc/redis", readOnly: true },
              ],
            }],
            volumes: [
              { name: "data", emptyDir: { sizeLimit: "256Mi" } },
              { name: "config", secret: { secretName: secret.metadata.name, items: [{ key: "redis.conf", path: "redis.conf" }] } },
            ],
          },
        },
      },
    }, child);
    new k8s.core.v1.Service(`${name}-redis`, {
      metadata: { name: "pulp-redis", namespace, labels },
      spec: { selector, ports: [{ name: "redis", port: REDIS_PORT, targetPort: REDIS_PORT }] },
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
        automountServiceAccountToken: false,
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

/**
 * Three different questions for PostgreSQL. Startup: has the server come up at all (initdb on a
 * new volume, or crash recovery replaying WAL, may take many minutes; liveness waits for it).
 * Readiness: does it answer a query as Pulp's user, through TCP with the password, as Pulp
 * connects. Liveness: is the server process still accepting connections on its own socket; lenient,
 * so a slow query never gets the database restarted.
 */
export function databaseProbes(): Pick<k8s.types.input.core.v1.Container, "startupProbe" | "readinessProbe" | "livenessProbe"> {
  const accepting = ["pg_isready", "-U", "pulp", "-d", "pulp", "-h", "/var/run/postgresql"];
  const query = ["/bin/sh", "-c", "PGPASSWORD=\"$POSTGRES_PASSWORD\" psql -h 127.0.0.1 -U pulp -d pulp -tAc 'SELECT 1' | grep -qx 1"];
  return {
    startupProbe: { exec: { command: accepting }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 90 },
    readinessProbe: { exec: { command: query }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
    livenessProbe: { exec: { command: accepting }, periodSeconds: 20, timeoutSeconds: 10, failureThreshold: 6 },
  };
}
