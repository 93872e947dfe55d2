import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { standardLabels } from "../../src/labels";
import { BUNDLE_FILE, LOADER, LOADER_FILE, retentionBundle, RunnerBundle } from "../../src/retention/bundle";
import { RetentionPolicy } from "../../src/retention/policy";
import { ReleaseClass } from "../../src/artifacts";
import { Settings } from "../../src/settings/schema";
import { IMAGES } from "../../src/versions";
import { APP_LABEL } from "../../src/services/sharedNetwork";
import { ObjectStoreInfo } from "../services/objectStore";
import { Pulp, PULP_ADMIN_PASSWORD_KEY, PULP_ADMIN_USER } from "../services/pulp";
import { Registry } from "../services/registry";
import { scheduledJobSpec } from "../services/serviceKit";

/** An S3 bucket and the Secret holding its credentials (in the component's namespace). */
export interface BucketAccess {
  readonly endpoint: pulumi.Input<string>;
  readonly bucket: pulumi.Input<string>;
  /** @default "us-east-1" */
  readonly region?: pulumi.Input<string>;
  readonly credentialsSecretName: pulumi.Input<string>;
  /** Keys of the access key id and secret key in that Secret. @default AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY */
  readonly accessKeyIdKey?: string;
  readonly secretAccessKeyKey?: string;
}

/** The registry whose storage is garbage-collected, as its own component declares it. */
export interface RegistryGcArgs {
  readonly schedule: string;
  /** The registry's image: GC must run the same distribution version that wrote the storage. */
  readonly image: string;
  /** The Deployment (in the component's namespace, like the registry's config and volume) switched read-only around the collection. */
  readonly deploymentName: pulumi.Input<string>;
  /** ConfigMap or Secret holding config.yml, mounted at /etc/distribution. */
  readonly config: { readonly kind: "ConfigMap" | "Secret"; readonly name: pulumi.Input<string>; readonly key?: string };
  /** PVC of its filesystem storage (omit for S3 storage); the GC pod runs on the registry's node. */
  readonly dataClaimName?: pulumi.Input<string>;
  /** @default "/var/lib/registry" */
  readonly dataMountPath?: string;
  /** Labels of the registry's pods, to share a node with them (a ReadWriteOnce volume). */
  readonly podLabels?: Record<string, string>;
  /** The user the registry writes its files as. @default 1000 */
  readonly runAsUser?: number;
  /** The registry's own environment (e.g. S3 keys), so collection sees the storage the server sees. */
  readonly env?: k8s.types.input.core.v1.EnvVar[];
}

export interface PulpAccess {
  readonly url: pulumi.Input<string>;
  readonly username: string;
  readonly passwordSecret: { readonly name: pulumi.Input<string>; readonly key: string };
}

export type BackupTargetArgs =
  | ({ readonly kind: "s3" } & BucketAccess)
  | { readonly kind: "volume"; readonly node: string; readonly storageClass?: string; readonly size: string };

export interface BackupArgs {
  readonly schedule: string;
  readonly classes: readonly ReleaseClass[];
  readonly target: BackupTargetArgs;
  /** Labels of the object store's pods when it runs here (MinIO) and the target is a volume: the backup never runs on their node. */
  readonly storePodLabels?: Readonly<Record<string, string>>;
}

export interface RetentionArgs {
  /** Where the jobs run (the shared services namespace). */
  readonly namespace: pulumi.Input<string>;
  /** A pinned official `node` image. */
  readonly nodeImage: string;
  /** The bundled jobs (src/retention/bundle.ts). */
  readonly bundle: RunnerBundle;
  /** The artifact bucket. */
  readonly objectStore: BucketAccess;
  /** Pulp's API and the admin password's Secret; the builds' Pulp content is removed with them. */
  readonly pulp?: PulpAccess;
  /** Namespaces whose PipelineRuns are pruned and searched for expired builds' runs (they must exist first). */
  readonly pipelineRunNamespaces: readonly string[];
  readonly artifacts: { readonly schedule: string; readonly dryRun: boolean; readonly policy: RetentionPolicy };
  readonly pipelineRuns: { readonly schedule: string; readonly keep: number };
  readonly registryGc?: RegistryGcArgs;
  readonly backup?: BackupArgs;
  /** IANA time zone of the schedules; the controller's when omitted. */
  readonly timeZone?: string;
}

const RUNNER_DIR = "/opt/retention";
const NODE_USER = 1000; // "node" in the official images

/**
 * The jobs that keep the farm's storage bounded: artifact retention (expired builds with their
 * Pulp content and PipelineRuns), Tekton run history, registry garbage collection in a read-only
 * window, and the backup of release builds to a second location. Every job is a CronJob that never
 * overlaps itself, runs as non-root under Pod Security "restricted", and keeps a short history.
 */
export class Retention extends pulumi.ComponentResource {
  public readonly serviceAccountName: pulumi.Output<string>;
  public readonly cronJobNames: pulumi.Output<string[]>;

  constructor(name: string, args: RetentionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stx:retention:Retention", name, {}, opts);
    const child = { parent: this };
    const labels = standardLabels("retention");
    const meta = (objectName: string) => ({ name: objectName, namespace: args.namespace, labels });

    const account = new k8s.core.v1.ServiceAccount(`${name}-sa`, { metadata: meta("stx-retention") }, child);
    const accountName = account.metadata.name;
    // Read and delete PipelineRuns in each tenant namespace: bindings per namespace, nothing cluster-wide.
    const runsRole = new k8s.rbac.v1.ClusterRole(`${name}-pipelineruns`, {
      metadata: { name: "stx-retention-pipelineruns", labels },
      rules: [{ apiGroups: ["tekton.dev"], resources: ["pipelineruns"], verbs: ["get", "list", "delete"] }],
    }, child);
    args.pipelineRunNamespaces.forEach((namespace) => {
      new k8s.rbac.v1.RoleBinding(`${name}-pipelineruns-${namespace}`, {
        metadata: { name: "stx-retention-pipelineruns", namespace, labels },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: runsRole.metadata.name },
        subjects: [{ kind: "ServiceAccount", name: accountName, namespace: args.namespace }],
      }, child);
    });

    // Immutable and auto-named: a new bundle is a new ConfigMap, and the CronJobs move to it.
    const runner = new k8s.core.v1.ConfigMap(`${name}-runner`, {
      metadata: { namespace: args.namespace, labels: { ...labels, "stx.starlingx.io/bundle-sha256": args.bundle.sha256.slice(0, 63) } },
      immutable: true,
      data: { [LOADER_FILE]: LOADER },
      binaryData: { [BUNDLE_FILE]: args.bundle.gzipped.toString("base64") },
    }, child);

    const job = jobBuilder(args, accountName, runner.metadata.name);
    const namespaces = args.pipelineRunNamespaces.join(",");
    const jobs: k8s.batch.v1.CronJob[] = [];
    const cron = (resource: string, jobName: string, spec: k8s.types.input.batch.v1.CronJobSpec) =>
      jobs.push(new k8s.batch.v1.CronJob(`${name}-${resource}`, { metadata: meta(jobName), spec }, child));

    cron("artifacts", "stx-artifact-retention", job.spec(args.artifacts.schedule, 6 * 3600, [
      job.runner("retention", ["artifacts"], [
        ...bucketEnv("", args.objectStore),
        { name: "RETENTION_POLICY", value: JSON.stringify(args.artifacts.policy) },
        { name: "DRY_RUN", value: String(args.artifacts.dryRun) },
        { name: "PIPELINERUN_NAMESPACES", value: namespaces },
        ...pulpEnv(args.pulp),
      ]),
    ]));

    cron("pipelineruns", "stx-pipelinerun-pruner", job.spec(args.pipelineRuns.schedule, 1800, [
      job.runner("prune", ["prune-runs"], [
        { name: "KEEP_PIPELINERUNS", value: String(args.pipelineRuns.keep) },
        { name: "PIPELINERUN_NAMESPACES", value: namespaces },
      ]),
    ]));

    if (args.registryGc) {
      const gc = args.registryGc;
      const role = new k8s.rbac.v1.Role(`${name}-registry-window`, {
        metadata: meta("stx-registry-gc-window"),
        rules: [{
          apiGroups: ["apps"],
          resources: ["deployments"],
          resourceNames: [gc.deploymentName],
          verbs: ["get", "patch"],
        }],
      }, child);
      new k8s.rbac.v1.RoleBinding(`${name}-registry-window`, {
        metadata: meta("stx-registry-gc-window"),
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
        subjects: [{ kind: "ServiceAccount", name: accountName, namespace: args.namespace }],
      }, child);
      cron("registry-gc", "stx-registry-gc", registryGcSpec(job, args.namespace, gc));
    }

    if (args.backup) {
      const target = args.backup.target;
      const claim = target.kind === "volume"
        ? new k8s.core.v1.PersistentVolumeClaim(`${name}-backup`, {
            metadata: meta("stx-backup"),
            spec: {
              accessModes: ["ReadWriteOnce"],
              storageClassName: target.storageClass,
              resources: { requests: { storage: target.size } },
            },
          }, { ...child, protect: true, retainOnDelete: true })
        : undefined;
      const env = [
        ...bucketEnv("", args.objectStore),
        { name: "BACKUP_CLASSES", value: args.backup.classes.join(",") },
        ...(target.kind === "s3" ? bucketEnv("BACKUP_", target) : [{ name: "BACKUP_DIR", value: "/backup" }]),
      ];
      const container = job.runner("backup", ["backup"], env, claim ? [{ name: "backup", mountPath: "/backup" }] : []);
      cron("backup", "stx-release-backup", job.spec(args.backup.schedule, 12 * 3600, [container], {
        volumes: claim ? [{ name: "backup", persistentVolumeClaim: { claimName: claim.metadata.name } }] : [],
        // Object store to volume or bucket only: no Kubernetes API, so no token.
        automountServiceAccountToken: false,
        // The copy must live on another machine than the original: pin it to the chosen node.
        nodeSelector: target.kind === "volume" ? { "kubernetes.io/hostname": target.node } : undefined,
        affinity: backupAffinity(args.backup.storePodLabels),
      }));
    }

    this.serviceAccountName = accountName;
    this.cronJobNames = pulumi.all(jobs.map((j) => j.metadata.name));
    this.registerOutputs({ serviceAccountName: this.serviceAccountName, cronJobNames: this.cronJobNames });
  }
}

/**
 * A volume backup never on the object store's node: a copy made there dies with the node it
 * protects against. Required, so a misplaced store leaves the backup Pending (and its CronJob's
 * last run visible) rather than copying to the same machine. `retentionArgs` passes no labels
 * for an S3 target, whose copy is elsewhere whichever node sends it.
 */
export function backupAffinity(storePodLabels?: Readonly<Record<string, string>>): k8s.types.input.core.v1.Affinity | undefined {
  if (!storePodLabels) return undefined;
  return {
    podAntiAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [
        { labelSelector: { matchLabels: { ...storePodLabels } }, topologyKey: "kubernetes.io/hostname" },
      ],
    },
  };
}

type EnvVar = k8s.types.input.core.v1.EnvVar;
type Container = k8s.types.input.core.v1.Container;
interface PodExtras {
  readonly volumes?: k8s.types.input.core.v1.Volume[];
  readonly nodeSelector?: Record<string, string>;
  readonly affinity?: k8s.types.input.core.v1.Affinity;
  readonly initContainers?: Container[];
  /** False for a job that never calls the Kubernetes API (the backup): then it gets no token. */
  readonly automountServiceAccountToken?: boolean;
}

const RESTRICTED_CONTAINER = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ["ALL"] },
};

/** Pieces shared by every job: the runner container and the CronJob around a pod. */
function jobBuilder(args: RetentionArgs, serviceAccountName: pulumi.Input<string>, runnerConfigMap: pulumi.Input<string>) {
  const runner = (containerName: string, jobArgs: string[], env: EnvVar[], mounts: k8s.types.input.core.v1.VolumeMount[] = []): Container => ({
    name: containerName,
    image: args.nodeImage,
    command: ["node", `${RUNNER_DIR}/${LOADER_FILE}`, ...jobArgs],
    env: [
      // Node's fetch trusts the API server's CA through this.
      { name: "NODE_EXTRA_CA_CERTS", value: "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt" },
      ...env,
    ],
    resources: {
      requests: { cpu: "100m", memory: "256Mi", "ephemeral-storage": "64Mi" },
      limits: { cpu: "1", memory: "1Gi", "ephemeral-storage": "1Gi" },
    },
    securityContext: { ...RESTRICTED_CONTAINER, runAsUser: NODE_USER, runAsGroup: NODE_USER },
    volumeMounts: [
      { name: "runner", mountPath: RUNNER_DIR, readOnly: true },
      { name: "tmp", mountPath: "/tmp" },
      ...mounts,
    ],
  });
  const spec = (
    schedule: string,
    deadlineSeconds: number,
    containers: Container[],
    extras: PodExtras = {},
  ): k8s.types.input.batch.v1.CronJobSpec =>
    scheduledJobSpec({
      schedule,
      timeZone: args.timeZone,
      deadlineSeconds,
      labels: standardLabels("retention"),
      pod: {
        serviceAccountName,
        securityContext: {
          runAsNonRoot: true,
          runAsUser: NODE_USER,
          runAsGroup: NODE_USER,
          fsGroup: NODE_USER,
          seccompProfile: { type: "RuntimeDefault" },
        },
        ...extras,
        containers,
        volumes: [
          { name: "runner", configMap: { name: runnerConfigMap } },
          { name: "tmp", emptyDir: { sizeLimit: "256Mi" } },
          ...(extras.volumes ?? []),
        ],
      },
    });
  return { runner, spec };
}

/**
 * Read-only on (init), collect (init, always exits 0 and records its status), read-only off (main,
 * which fails the Job when the collection failed): the registry is writable again whatever happens.
 */
function registryGcSpec(
  job: ReturnType<typeof jobBuilder>,
  namespace: pulumi.Input<string>,
  gc: RegistryGcArgs,
): k8s.types.input.batch.v1.CronJobSpec {
  const window = [
    { name: "REGISTRY_NAMESPACE", value: namespace },
    { name: "REGISTRY_DEPLOYMENT", value: gc.deploymentName },
  ];
  const user = gc.runAsUser ?? 1000;
  const dataPath = gc.dataMountPath ?? "/var/lib/registry";
  const collect: Container = {
    name: "garbage-collect",
    image: gc.image,
    env: gc.env,
    command: ["/bin/sh", "-c"],
    args: [
      "registry garbage-collect --delete-untagged /etc/distribution/config.yml; echo $? > /tmp/gc-status; exit 0",
    ],
    resources: {
      requests: { cpu: "250m", memory: "512Mi", "ephemeral-storage": "64Mi" },
      limits: { cpu: "2", memory: "2Gi", "ephemeral-storage": "1Gi" },
    },
    securityContext: { ...RESTRICTED_CONTAINER, runAsUser: user, runAsGroup: user },
    volumeMounts: [
      { name: "tmp", mountPath: "/tmp" },
      { name: "registry-config", mountPath: "/etc/distribution", readOnly: true },
      ...(gc.dataClaimName ? [{ name: "registry-data", mountPath: dataPath }] : []),
    ],
  };
  const configKey = gc.config.key ?? "config.yml";
  const configVolume = gc.config.kind === "ConfigMap"
    ? { name: "registry-config", configMap: { name: gc.config.name, items: [{ key: configKey, path: "config.yml" }] } }
    : { name: "registry-config", secret: { secretName: gc.config.name, items: [{ key: configKey, path: "config.yml" }] } };
  return job.spec(gc.schedule, 4 * 3600, [
    job.runner("read-only-off", ["registry-readonly", "off"], [...window, { name: "GC_STATUS_FILE", value: "/tmp/gc-status" }]),
  ], {
    initContainers: [job.runner("read-only-on", ["registry-readonly", "on"], window), collect],
    volumes: [
      configVolume,
      ...(gc.dataClaimName ? [{ name: "registry-data", persistentVolumeClaim: { claimName: gc.dataClaimName } }] : []),
    ],
    affinity: gc.dataClaimName && gc.podLabels
      ? {
          podAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              { labelSelector: { matchLabels: gc.podLabels }, topologyKey: "kubernetes.io/hostname" },
            ],
          },
        }
      : undefined,
  });
}

function bucketEnv(prefix: "" | "BACKUP_", access: BucketAccess): EnvVar[] {
  const secret = (key: string) => ({ secretKeyRef: { name: access.credentialsSecretName, key } });
  return [
    { name: `${prefix}S3_ENDPOINT`, value: access.endpoint },
    { name: `${prefix}S3_BUCKET`, value: access.bucket },
    { name: `${prefix}S3_REGION`, value: access.region ?? "us-east-1" },
    { name: `${prefix}AWS_ACCESS_KEY_ID`, valueFrom: secret(access.accessKeyIdKey ?? "AWS_ACCESS_KEY_ID") },
    { name: `${prefix}AWS_SECRET_ACCESS_KEY`, valueFrom: secret(access.secretAccessKeyKey ?? "AWS_SECRET_ACCESS_KEY") },
  ];
}

function pulpEnv(pulp: RetentionArgs["pulp"]): EnvVar[] {
  if (!pulp) return [];
  return [
    { name: "PULP_URL", value: pulp.url },
    { name: "PULP_USERNAME", value: pulp.username },
    { name: "PULP_PASSWORD", valueFrom: { secretKeyRef: { name: pulp.passwordSecret.name, key: pulp.passwordSecret.key } } },
  ];
}

// ---------------------------------------------------------------------------------------------
// Wiring from settings and the shared services, for BuildCluster.

/** The shared services retention works on, as their components expose them. */
export interface RetainedServices {
  readonly objectStore: ObjectStoreInfo;
  readonly pulp: Pick<Pulp, "internalUrl" | "adminSecret">;
  readonly registry: Pick<Registry, "maintenance">;
}

export function retentionArgs(settings: Settings, tenantNamespaces: readonly string[], services: RetainedServices): RetentionArgs {
  const { retention, backup } = settings;
  const { objectStore, pulp, registry } = services;
  return {
    namespace: settings.cluster.sharedNamespace,
    nodeImage: IMAGES.node,
    bundle: retentionBundle(),
    objectStore: {
      endpoint: objectStore.endpoint,
      bucket: objectStore.buckets.artifacts,
      region: objectStore.region,
      credentialsSecretName: objectStore.credentialsSecret,
    },
    pulp: { url: pulp.internalUrl, username: PULP_ADMIN_USER, passwordSecret: { name: pulp.adminSecret, key: PULP_ADMIN_PASSWORD_KEY } },
    pipelineRunNamespaces: [settings.cluster.sharedNamespace, ...tenantNamespaces],
    artifacts: {
      schedule: retention.schedule,
      dryRun: retention.dryRun,
      policy: { days: retention.days, failedDays: retention.failedDays, keepSuccessful: retention.keepSuccessful },
    },
    pipelineRuns: retention.pipelineRuns,
    // Only our own registry is ours to collect; a platform registry has its own maintenance.
    registryGc: retention.registryGc.enabled && registry.maintenance
      ? { schedule: retention.registryGc.schedule, image: IMAGES.registry, ...registry.maintenance }
      : undefined,
    backup: backup.enabled && backup.target
      ? {
          schedule: backup.schedule,
          classes: backup.classes,
          target: backup.target.kind === "s3"
            ? { ...backup.target }
            : { kind: "volume", node: backup.target.node, storageClass: backup.target.storageClass, size: backup.target.size },
          // Only a volume's copy can share the store's node; an S3 target is elsewhere whatever node
          // copies to it (and on a one-node farm the anti-affinity would leave the backup Pending).
          storePodLabels: settings.services.objectStore.mode === "minio" && backup.target.kind === "volume"
            ? { [APP_LABEL]: "minio" }
            : undefined,
        }
      : undefined,
  };
}
