import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { standardLabels } from "../../src/labels";
import { storeUsersHash, storeUsersScript, tenantPolicy, TenantStoreUser } from "../../src/services/objectStoreUsers";
import { ObjectStoreSettings } from "../../src/settings/services";
import { IMAGES } from "../../src/versions";
import {
  dataPassword,
  dataVolume,
  exposedService,
  JOB_RESOURCES,
  resources,
  RESTRICTED_CONTAINER,
  restrictedPod,
  ServiceExposure,
  shortHash,
  singleWriterDeployment,
} from "./serviceKit";

/** Keys of the credentials Secret: the names every S3 client (aws, mc, boto, distribution) reads. */
export const ACCESS_KEY_ID = "AWS_ACCESS_KEY_ID";
export const SECRET_ACCESS_KEY = "AWS_SECRET_ACCESS_KEY";
export const CREDENTIALS_SECRET = "object-store-credentials";
const S3_PORT = 9000;
const MINIO_UID = 1000;

/** Secret in the shared namespace that carries the tenant users to the bucket Job. */
export const TENANT_USERS_SECRET = "object-store-tenant-users";
const USERS_DIR = "/run/tenant-users";

/**
 * What other components (Pulp, the registry, retention, pipelines) need to use the object store.
 * Mount `credentialsSecret` (in the shared namespace) with envFrom to get AWS_ACCESS_KEY_ID and
 * AWS_SECRET_ACCESS_KEY. These are the root keys: never copy them into a tenant namespace (each
 * tenant gets its own user's keys under the same Secret name, see `tenantUsers`).
 */
export interface ObjectStoreInfo {
  /** S3 endpoint URL reachable from inside the cluster, e.g. http://minio.stx-system.svc:9000. */
  readonly endpoint: pulumi.Output<string>;
  /** URL users download published artifacts from, when the store is exposed. */
  readonly publicUrl: pulumi.Output<string | undefined>;
  readonly region: string;
  readonly buckets: { readonly artifacts: string; readonly pulp: string; readonly registry: string; readonly backups: string };
  /** Key prefix in the artifacts bucket that anyone may download (published builds). */
  readonly publishedPrefix: string;
  /** Name of the Secret with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, in the shared namespace. */
  readonly credentialsSecret: pulumi.Output<string>;
}

export interface ObjectStoreArgs {
  readonly namespace: string;
  readonly settings: ObjectStoreSettings;
  /** StorageClass of MinIO's data volume. */
  readonly storageClass: string;
  readonly exposure: ServiceExposure;
  readonly publicUrl?: string;
  /** External mode: the keys for the existing endpoint (secret stack config). */
  readonly externalCredentials?: { readonly accessKey: pulumi.Output<string>; readonly secretKey: pulumi.Output<string> };
  /**
   * MinIO mode: a user per tenant namespace, whose keys land in that namespace's Secret
   * `object-store-credentials` (what build runs read). `namespace` is the tenant's Namespace
   * resource, which the Secret waits for. External mode ignores them: there the site creates that
   * Secret in each tenant namespace with keys of its own (see docs/services.md).
   */
  readonly tenantUsers?: readonly (TenantStoreUser & { readonly namespaceResource: pulumi.Resource })[];
}

/**
 * The shared S3 store: a MinIO server with its data volume, or an existing S3 endpoint; either way
 * a credentials Secret and a Job that creates the buckets and opens the published prefix to
 * anonymous download (everything else stays private).
 */
export class ObjectStore extends pulumi.ComponentResource implements ObjectStoreInfo {
  public readonly endpoint: pulumi.Output<string>;
  public readonly publicUrl: pulumi.Output<string | undefined>;
  public readonly region: string;
  public readonly buckets: ObjectStoreInfo["buckets"];
  public readonly publishedPrefix: string;
  public readonly credentialsSecret: pulumi.Output<string>;
  /** Ready when the buckets exist; depend on it before writing. */
  public readonly ready: pulumi.Resource;

  constructor(name: string, args: ObjectStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stx:storage:ObjectStore", name, {}, opts);
    const { settings, namespace } = args;
    const child = { parent: this };
    const labels = standardLabels("object-store");
    const keys = credentials(name, args, child);
    const secret = new k8s.core.v1.Secret(`${name}-credentials`, {
      metadata: { name: CREDENTIALS_SECRET, namespace, labels },
      type: "Opaque",
      stringData: pulumi.secret({ [ACCESS_KEY_ID]: keys.accessKey, [SECRET_ACCESS_KEY]: keys.secretKey }),
    }, child);

    let server: pulumi.Resource | undefined;
    if (settings.mode === "minio") {
      server = this.minio(name, args, labels, secret);
      this.endpoint = pulumi.output(`http://minio.${namespace}.svc:${S3_PORT}`);
    } else {
      this.endpoint = pulumi.output(externalEndpoint(settings));
    }
    this.publicUrl = pulumi.output(args.publicUrl);
    this.region = settings.region;
    this.buckets = { ...settings.buckets };
    this.publishedPrefix = settings.publishedPrefix;
    this.credentialsSecret = secret.metadata.name;
    const users = settings.mode === "minio" && args.tenantUsers?.length ? this.tenantUsers(name, args, labels) : undefined;
    this.ready = bucketJob(name, { namespace, settings, endpoint: this.endpoint, secret, labels, users }, {
      ...child,
      dependsOn: [...(server ? [server] : []), secret, ...(users ? [users.secret] : [])],
    });
    this.registerOutputs({ endpoint: this.endpoint, publicUrl: this.publicUrl, credentialsSecret: this.credentialsSecret });
  }

  /**
   * A MinIO user per tenant with its own generated secret key: its keys go into the tenant's
   * namespace, and the whole set (keys and policies) into one Secret in the shared namespace that
   * only the bucket Job mounts.
   */
  private tenantUsers(name: string, args: ObjectStoreArgs, labels: Record<string, string>): { secret: k8s.core.v1.Secret; hash: string } {
    const child = { parent: this };
    const bucket = args.settings.buckets.artifacts;
    const users = args.tenantUsers ?? [];
    const files: Record<string, pulumi.Input<string>> = { users: users.map((u) => `${u.accessKey}\n`).join("") };
    for (const user of users) {
      const key = new random.RandomPassword(`${name}-${user.namespace}-key`, { length: 40, special: false }, child);
      new k8s.core.v1.Secret(`${name}-${user.namespace}-credentials`, {
        metadata: { name: CREDENTIALS_SECRET, namespace: user.namespace, labels },
        type: "Opaque",
        stringData: pulumi.secret({ [ACCESS_KEY_ID]: user.accessKey, [SECRET_ACCESS_KEY]: key.result }),
      }, { ...child, dependsOn: [user.namespaceResource] });
      files[`${user.accessKey}.secret`] = key.result;
      files[`${user.accessKey}.json`] = JSON.stringify(tenantPolicy(bucket, user));
    }
    const secret = new k8s.core.v1.Secret(`${name}-tenant-users`, {
      metadata: { name: TENANT_USERS_SECRET, namespace: args.namespace, labels },
      type: "Opaque",
      stringData: pulumi.secret(pulumi.all(files)),
    }, child);
    return { secret, hash: storeUsersHash(bucket, users) };
  }

  private minio(name: string, args: ObjectStoreArgs, labels: Record<string, string>, secret: k8s.core.v1.Secret): pulumi.Resource {
    const { settings, namespace } = args;
    const child = { parent: this };
    const selector = { "app.kubernetes.io/name": "minio" };
    const data = dataVolume(`${name}-data`, {
      namespace, name: "minio-data", size: settings.size, storageClass: args.storageClass, labels,
    }, child);
    const deployment = singleWriterDeployment(`${name}-minio`, {
      namespace, name: "minio", labels, selector, uid: MINIO_UID,
      containers: [{
        name: "minio",
        image: settings.image ?? IMAGES.minio,
        args: ["server", "/data", "--address", `:${S3_PORT}`, "--console-address", ":9001"],
        env: [
          { name: "MINIO_ROOT_USER", valueFrom: { secretKeyRef: { name: secret.metadata.name, key: ACCESS_KEY_ID } } },
          { name: "MINIO_ROOT_PASSWORD", valueFrom: { secretKeyRef: { name: secret.metadata.name, key: SECRET_ACCESS_KEY } } },
          { name: "MINIO_REGION", value: settings.region },
          { name: "MINIO_BROWSER", value: "off" },
        ],
        ports: [{ name: "s3", containerPort: S3_PORT }],
        readinessProbe: { httpGet: { path: "/minio/health/ready", port: S3_PORT }, periodSeconds: 10, failureThreshold: 3 },
        livenessProbe: { httpGet: { path: "/minio/health/live", port: S3_PORT }, initialDelaySeconds: 10, periodSeconds: 20, failureThreshold: 5 },
        resources: resources(settings.resources),
        securityContext: RESTRICTED_CONTAINER,
        volumeMounts: [{ name: "data", mountPath: "/data" }],
      }],
      volumes: [{ name: "data", persistentVolumeClaim: { claimName: data.metadata.name } }],
    }, child);
    exposedService(`${name}-minio`, { namespace, name: "minio", exposure: args.exposure, selector, port: { name: "s3", port: S3_PORT }, labels }, child);
    return deployment;
  }
}

function credentials(
  name: string,
  args: ObjectStoreArgs,
  opts: pulumi.CustomResourceOptions,
): { accessKey: pulumi.Output<string>; secretKey: pulumi.Output<string> } {
  if (args.settings.mode === "external") {
    if (!args.externalCredentials) {
      throw new Error("external object store: set the secret settings objectStoreAccessKey and objectStoreSecretKey");
    }
    return args.externalCredentials;
  }
  const user = dataPassword(`${name}-root-user`, { length: 20, special: false, upper: false }, opts);
  const password = dataPassword(`${name}-root-password`, { length: 40, special: false }, opts);
  return { accessKey: pulumi.secret(user.result), secretKey: password.result };
}

function externalEndpoint(settings: ObjectStoreSettings): string {
  if (!settings.endpoint) throw new Error("stx-build-cluster:services.objectStore.endpoint is required in external mode");
  return settings.endpoint;
}

/**
 * Creates the buckets (idempotently) and sets who may read them. Its name carries a hash of what
 * it does, so a changed bucket list or prefix runs it again.
 */
function bucketJob(
  name: string,
  args: {
    namespace: string;
    settings: ObjectStoreSettings;
    endpoint: pulumi.Output<string>;
    secret: k8s.core.v1.Secret;
    labels: Record<string, string>;
    /** Tenant users to create or update; the hash of the set is part of the Job's name. */
    users?: { secret: k8s.core.v1.Secret; hash: string };
  },
  opts: pulumi.CustomResourceOptions,
): k8s.batch.v1.Job {
  const script = [bucketScript(args.settings), ...(args.users ? [storeUsersScript(USERS_DIR)] : [])].join("\n");
  const hash = args.users ? shortHash(script, IMAGES.minioClient, args.users.hash) : shortHash(script, IMAGES.minioClient);
  return new k8s.batch.v1.Job(`${name}-buckets`, {
    metadata: { name: `object-store-buckets-${hash}`, namespace: args.namespace, labels: args.labels },
    spec: {
      backoffLimit: 6,
      template: {
        metadata: { labels: args.labels },
        spec: {
          restartPolicy: "OnFailure",
          automountServiceAccountToken: false,
          securityContext: restrictedPod(MINIO_UID),
          containers: [{
            name: "buckets",
            image: IMAGES.minioClient,
            command: ["/bin/sh", "-ec", script],
            env: [
              { name: "S3_ENDPOINT", value: args.endpoint },
              { name: "MC_CONFIG_DIR", value: "/tmp/mc" },
            ],
            envFrom: [{ secretRef: { name: args.secret.metadata.name } }],
            resources: resources(JOB_RESOURCES),
            securityContext: RESTRICTED_CONTAINER,
            volumeMounts: [
              { name: "tmp", mountPath: "/tmp" },
              ...(args.users ? [{ name: "tenant-users", mountPath: USERS_DIR, readOnly: true }] : []),
            ],
          }],
          volumes: [
            { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
            ...(args.users ? [{ name: "tenant-users", secret: { secretName: args.users.secret.metadata.name, defaultMode: 0o440 } }] : []),
          ],
        },
      },
    },
  }, opts);
}

/** The mc commands: every bucket private, then anonymous download of the published prefix only. */
export function bucketScript(settings: Pick<ObjectStoreSettings, "buckets" | "publishedPrefix">): string {
  const { buckets, publishedPrefix } = settings;
  const all = [buckets.artifacts, buckets.pulp, buckets.registry, buckets.backups];
  return [
    'mc alias set store "$S3_ENDPOINT" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY"',
    ...all.map((bucket) => `mc mb --ignore-existing store/${bucket}`),
    ...all.map((bucket) => `mc anonymous set none store/${bucket}`),
    `mc anonymous set download store/${buckets.artifacts}/${publishedPrefix}`,
  ].join("\n");
}
