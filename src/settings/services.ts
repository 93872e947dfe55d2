/**
 * Settings of the shared services: Pulp, the object store (MinIO or an external S3 endpoint) and
 * the Docker registry, plus how they are exposed outside the cluster. Profile defaults size them
 * per kind of cluster (src/settings/profiles.ts); docs/services.md is the reference.
 */
import { z } from "zod";
import { PUBLISHED_ROOT } from "../artifacts";
import { isDnsLabel } from "../tenancy/naming";
import { positiveQuantity, urlSetting, wholeCount } from "./fields";
import { Problem } from "./tenancy";

/** Requests and limits of one container (cpu and memory; storage is sized per volume). */
const cpuMemory = z.strictObject({ cpu: positiveQuantity, memory: positiveQuantity });
export const containerResources = z.strictObject({ requests: cpuMemory, limits: cpuMemory });
export type ContainerResources = z.output<typeof containerResources>;

const bucketName = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, {
  message: "must be an S3 bucket name (3-63 lower-case letters, digits, '.' and '-')",
});

const image = z
  .string()
  .regex(/^[a-z0-9][^\s@]*(@sha256:[0-9a-f]{64})?$/, {
    message: 'must be an image reference such as "registry.example.org/minio/minio:RELEASE.2025-09-07T16-13-09Z"',
  })
  .refine((ref) => ref.includes("@sha256:") || (/:[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(ref.split("/").pop() ?? "") && !/:latest$/.test(ref)), {
    message: 'must be pinned by a tag or digest (not "latest")',
  });

/** How the services are reached from outside the cluster. */
export const exposure = z.strictObject({
  /** "nodePort" (minikube: fixed ports on the node) or "ingress" (an ingress controller exists). */
  kind: z.enum(["nodePort", "ingress"]),
  /** Address of a node for NodePort URLs; the API server's host when left out. */
  nodeAddress: z.string().min(1).optional(),
  /** DNS suffix of the Ingress hosts (pulp.<domain>, s3.<domain>, registry.<domain>); the API server's host when left out. */
  domain: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, { message: "must be a DNS name such as build.example.org" }).optional(),
  /** IngressClass of the ingress controller. */
  ingressClass: z.string().min(1).default("nginx"),
  /** cert-manager ClusterIssuer for the Ingress certificates. */
  clusterIssuer: z.string().min(1).optional(),
  /** Or a kubernetes.io/tls Secret in the shared namespace whose certificate covers every Ingress host. */
  tlsSecret: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, { message: "must be the name of a Secret in the shared namespace" }).optional(),
  /** Namespace of the ingress controller's pods: the only peer outside the cluster's tenants allowed into the services. */
  ingressControllerNamespace: z.string().refine(isDnsLabel, { message: "must be a namespace name" }).default("ingress-nginx"),
});
export type ExposureSettings = z.output<typeof exposure>;

const mirror = z.strictObject({
  /** Short name; Pulp objects are named "mirror-<name>" so retention never touches them. */
  name: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,50}$/, { message: "must be lower-case letters, digits, '.' and '-', at most 51 characters" }),
  /** "deb" for an APT repository, "file" for a tree listed by a PULP_MANIFEST. */
  type: z.enum(["deb", "file"]),
  /** Upstream URL (APT: the archive root; file: the PULP_MANIFEST URL). */
  url: urlSetting(["http", "https"], "http://deb.debian.org/debian"),
  /** APT only: space-separated suites, components and architectures to mirror. */
  distributions: z.string().min(1).optional(),
  components: z.string().min(1).optional(),
  architectures: z.string().min(1).optional(),
  /** Download packages when first asked for (on_demand, the default) or all at sync time. */
  policy: z.enum(["on_demand", "immediate", "streamed"]).default("on_demand"),
  /**
   * APT only: publish Debian's own Release/InRelease files and signatures unchanged (pulp_deb's
   * verbatim publication), so apt in the build chroots and images verifies the archive's
   * signatures; the way to mirror a pinned snapshot (build.debianSnapshot). A structured
   * publication (the default) is unsigned.
   */
  verbatim: z.boolean().optional(),
  /** Path under Pulp's content URL; "mirror/<name>" when left out. */
  basePath: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, { message: "must be a relative path such as debian/bullseye" }).optional(),
});
export type MirrorSettings = z.output<typeof mirror>;

export const pulp = z.strictObject({
  /** Base URL clients download content from; derived from `exposure` when left out. */
  contentOrigin: urlSetting(["https", "http"], "https://pulp.build.example.org").optional(),
  /** "pvc" (one volume shared by all Pulp pods: single node or ReadWriteMany class) or "s3" (the object store). */
  storage: z.enum(["pvc", "s3"]),
  /** Size of the content volume when storage is "pvc". */
  size: positiveQuantity,
  databaseSize: positiveQuantity,
  /** Send clients straight to S3 for content; only when clients can reach the object store's public URL. */
  redirectToObjectStorage: z.boolean().default(false),
  apiReplicas: wholeCount,
  contentReplicas: wholeCount,
  workers: wholeCount,
  resources: z.strictObject({
    api: containerResources,
    content: containerResources,
    worker: containerResources,
    database: containerResources,
    redis: containerResources,
  }),
  /** Third-party mirrors (kept forever), converged into Pulp by a Job on every change. */
  mirrors: z.array(mirror).default([]),
});
export type PulpSettings = z.output<typeof pulp>;

export const objectStore = z.strictObject({
  /** "minio" deploys MinIO here; "external" uses an existing S3 endpoint (keys: objectStoreAccessKey/objectStoreSecretKey secrets). */
  mode: z.enum(["minio", "external"]),
  /** External mode: the S3 endpoint URL every component talks to. */
  endpoint: urlSetting(["https", "http"], "https://s3.example.org").optional(),
  /** URL users download published artifacts from; derived from `exposure` for MinIO when left out. */
  publicUrl: urlSetting(["https", "http"], "https://s3.build.example.org").optional(),
  region: z.string().min(1).default("us-east-1"),
  buckets: z.strictObject({
    artifacts: bucketName,
    pulp: bucketName,
    registry: bucketName,
    backups: bucketName,
  }),
  /**
   * Key prefix of published builds in the artifacts bucket; the only anonymously readable data.
   * The artifact layout (src/artifacts.ts PUBLISHED_ROOT) puts every non-private build there, so
   * it is fixed: another value would open nothing the pipeline publishes.
   */
  publishedPrefix: z.literal(PUBLISHED_ROOT, { message: `must be "${PUBLISHED_ROOT}": the artifact layout (src/artifacts.ts) publishes builds there` }).default(PUBLISHED_ROOT),
  /** MinIO mode: data volume size, resources and (optionally) an image built from the archived sources. */
  size: positiveQuantity,
  resources: containerResources,
  image: image.optional(),
});
export type ObjectStoreSettings = z.output<typeof objectStore>;

export const registry = z.strictObject({
  /** "own" deploys distribution here; "platform" uses the StarlingX platform registry; "none" has no registry. */
  mode: z.enum(["own", "platform", "none"]),
  storage: z.enum(["pvc", "s3"]),
  /** Size of the volume when storage is "pvc". */
  size: positiveQuantity,
  replicas: wholeCount,
  resources: containerResources,
  /**
   * Platform mode: the registry address. The platform's own pull secret is never copied into
   * tenant namespaces (owners read Secrets there); the site gives each tenant a login of its own.
   */
  platform: z
    .strictObject({
      server: z.string().min(1).default("registry.local:9001"),
    })
    .default({ server: "registry.local:9001" }),
});
export type RegistrySettings = z.output<typeof registry>;

export const services = z.strictObject({ exposure, pulp, objectStore, registry });
export type ServicesSettings = z.output<typeof services>;

/** Checks that need more than one field; paths are relative to the config root. */
export function servicesProblems(s: ServicesSettings, cluster: { nodes: readonly unknown[]; sharedStorageClass?: string }): Problem[] {
  const problems: Problem[] = [];
  const at = (...path: string[]) => ["services", ...path];
  if (s.objectStore.mode === "external" && !s.objectStore.endpoint) {
    problems.push({ path: at("objectStore", "endpoint"), message: 'is required when services.objectStore.mode is "external"' });
  }
  if (s.objectStore.mode === "minio" && s.objectStore.endpoint) {
    problems.push({ path: at("objectStore", "endpoint"), message: 'is only used when services.objectStore.mode is "external"; MinIO mode derives it' });
  }
  if (s.pulp.storage === "pvc" && cluster.nodes.length > 1 && !cluster.sharedStorageClass) {
    problems.push({
      path: at("pulp", "storage"),
      message: `"pvc" needs one volume shared by every Pulp pod, but the cluster has ${cluster.nodes.length} nodes and no cluster.sharedStorageClass; use "s3" or set a ReadWriteMany class`,
    });
  }
  if (s.pulp.redirectToObjectStorage && (s.pulp.storage !== "s3" || !s.objectStore.publicUrl)) {
    problems.push({
      path: at("pulp", "redirectToObjectStorage"),
      message: 'needs services.pulp.storage "s3" and services.objectStore.publicUrl (clients must reach the object store)',
    });
  }
  if (s.registry.mode === "own" && s.registry.storage === "pvc" && s.registry.replicas > 1) {
    problems.push({ path: at("registry", "replicas"), message: 'more than 1 replica needs services.registry.storage "s3"' });
  }
  problems.push(...tlsProblems(s));
  s.pulp.mirrors.forEach((m, i) => {
    if (m.type === "deb" && !m.distributions) {
      problems.push({ path: at("pulp", "mirrors", String(i), "distributions").map(numeric), message: 'is required for a "deb" mirror (e.g. "bullseye")' });
    }
    if (m.type === "file" && m.verbatim) {
      problems.push({ path: at("pulp", "mirrors", String(i), "verbatim").map(numeric), message: 'is for "deb" mirrors only (a verbatim APT publication)' });
    }
    if (m.type === "file" && (m.distributions || m.components || m.architectures)) {
      problems.push({ path: at("pulp", "mirrors", String(i), "type").map(numeric), message: '"file" mirrors take no distributions, components or architectures' });
    }
  });
  const names = new Map<string, number>();
  s.pulp.mirrors.forEach((m, i) => {
    const first = names.get(m.name);
    if (first === undefined) names.set(m.name, i);
    else problems.push({ path: ["services", "pulp", "mirrors", i, "name"], message: `duplicate mirror "${m.name}" (also at index ${first})` });
  });
  return problems;
}

/**
 * Every Ingress carries credentials (Pulp's admin password and the registry's htpasswd as basic
 * auth, signed S3 requests): on plain HTTP anyone on the path reads them, so there is no plain mode.
 */
function tlsProblems(s: ServicesSettings): Problem[] {
  const { exposure } = s;
  if (exposure.kind !== "ingress") return [];
  if (exposure.clusterIssuer && exposure.tlsSecret) {
    return [{ path: ["services", "exposure", "tlsSecret"], message: "set either services.exposure.clusterIssuer or services.exposure.tlsSecret, not both" }];
  }
  if (exposure.clusterIssuer || exposure.tlsSecret) return [];
  return [{
    path: ["services", "exposure", "clusterIssuer"],
    message: "the Ingresses of Pulp, the object store and the registry carry credentials (basic auth, signed S3 requests) and would be plain HTTP; " +
      "set services.exposure.clusterIssuer (a cert-manager ClusterIssuer) or services.exposure.tlsSecret (a kubernetes.io/tls Secret in the shared namespace for pulp., s3. and registry.<domain>)",
  }];
}

function numeric(part: string): string | number {
  return /^\d+$/.test(part) ? Number(part) : part;
}

/**
 * MinIO here is one pod on one node's volume, holding artifacts, Pulp's content on S3 and the
 * registry: on a cluster of several nodes, losing that node stops every build until it returns.
 * The recommendation for such clusters is an external S3 endpoint (services.objectStore.mode
 * "external"); docs/services.md "Object store: one node or external S3" gives the trade-off.
 */
export function objectStoreAdvice(s: Pick<ServicesSettings, "objectStore">, nodeCount: number): string | undefined {
  if (s.objectStore.mode !== "minio" || nodeCount <= 1) return undefined;
  return `services.objectStore.mode is "minio" on ${nodeCount} nodes: one MinIO pod on one node's volume holds the artifacts, ` +
    'Pulp\'s content and the registry, and builds stop while that node is down; on a multi-node farm set services.objectStore.mode "external" ' +
    "(an S3 service that survives a node: the site's Ceph RGW, or a cloud bucket) with backup.enabled for release builds (docs/services.md)";
}
