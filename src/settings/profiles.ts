/**
 * What each kind of cluster gets when its stack file says nothing. Stack config is laid over
 * these (objects merge key by key, lists replace), then the result is validated as a whole.
 */
import { snapshotUrls } from "../build/downloads";
import { DEBIAN_SNAPSHOT } from "../versions";

export const PROFILES = ["minikube", "cengn", "starlingx"] as const;
export type Profile = (typeof PROFILES)[number];

type RawObject = Record<string, unknown>;

const LAPTOP_TENANCY = {
  limits: {
    // Tekton's affinity assistant asks for 50m / 100Mi (src/settings/tenancy.ts AFFINITY_ASSISTANT).
    min: { cpu: "50m", memory: "100Mi", ephemeralStorage: "64Mi" },
    defaultRequest: { cpu: "250m", memory: "512Mi", ephemeralStorage: "1Gi" },
    default: { cpu: "2", memory: "4Gi", ephemeralStorage: "10Gi" },
    max: { cpu: "6", memory: "12Gi", ephemeralStorage: "60Gi" },
    // default / min, the worst a Tekton step gets (src/settings/tenancy.ts ratioProblems).
    maxLimitRequestRatio: { cpu: 40, memory: 41 },
  },
  quota: {
    requests: { cpu: "6", memory: "12Gi", ephemeralStorage: "80Gi" },
    // The widest build pod with its sidecars, beside the next task's pod and the run's helpers
    // (test/src/tenancy/pipelineFit.test.ts computes it from the pipeline definition).
    limits: { cpu: "24", memory: "48Gi", ephemeralStorage: "120Gi" },
    pods: 12,
    persistentVolumeClaims: 10,
    storage: "200Gi",
    // Finished runs count against this: schedules and the pruner keep 3, so a 4th can always start.
    pipelineRuns: 5,
  },
};

const FARM_TENANCY = {
  limits: {
    min: { cpu: "50m", memory: "100Mi", ephemeralStorage: "64Mi" },
    defaultRequest: { cpu: "500m", memory: "1Gi", ephemeralStorage: "2Gi" },
    default: { cpu: "4", memory: "8Gi", ephemeralStorage: "20Gi" },
    max: { cpu: "16", memory: "64Gi", ephemeralStorage: "200Gi" },
    maxLimitRequestRatio: { cpu: 80, memory: 82 },
  },
  quota: {
    requests: { cpu: "32", memory: "128Gi", ephemeralStorage: "500Gi" },
    limits: { cpu: "128", memory: "512Gi", ephemeralStorage: "2Ti" },
    pods: 40,
    persistentVolumeClaims: 20,
    storage: "1Ti",
    // Finished runs count against this: schedules and the pruner keep 20, plus one to start.
    pipelineRuns: 22,
  },
};

const RETENTION = {
  schedule: "30 3 * * *",
  days: { master: 14, feature: 7, private: 3, milestone: 180, release: "forever" },
  failedDays: 3,
  keepSuccessful: 3,
  pipelineRuns: { schedule: "15 * * * *", keep: 20 },
  registryGc: { enabled: true, schedule: "0 4 * * 0" },
};

const res = (reqCpu: string, reqMem: string, limCpu: string, limMem: string) => ({
  requests: { cpu: reqCpu, memory: reqMem },
  limits: { cpu: limCpu, memory: limMem },
});

const BUCKETS = { artifacts: "stx-artifacts", pulp: "stx-pulp", registry: "stx-registry", backups: "stx-backups" };

/** The Debian release StarlingX builds on, mirrored once for every build (on demand: only what is asked for). */
const MIRRORS = [
  // master builds on trixie from one pinned snapshot (build.debianSnapshot, default DEBIAN_SNAPSHOT):
  // the builder's DEBIAN_SNAPSHOT points here when the URLs match (src/build/downloads.ts), and the
  // verbatim publication serves Debian's own signed Release files, so apt verifies them.
  {
    name: `debian-snapshot-${DEBIAN_SNAPSHOT.toLowerCase()}`,
    type: "deb",
    url: snapshotUrls(DEBIAN_SNAPSHOT).debian,
    distributions: "trixie trixie-updates",
    components: "main contrib non-free non-free-firmware",
    architectures: "amd64",
    verbatim: true,
    basePath: `debian-snapshot/${DEBIAN_SNAPSHOT}`,
  },
  {
    name: `debian-security-snapshot-${DEBIAN_SNAPSHOT.toLowerCase()}`,
    type: "deb",
    url: snapshotUrls(DEBIAN_SNAPSHOT).security,
    distributions: "trixie-security",
    components: "main contrib non-free non-free-firmware",
    architectures: "amd64",
    verbatim: true,
    basePath: `debian-security-snapshot/${DEBIAN_SNAPSHOT}`,
  },
  {
    name: "debian-bullseye",
    type: "deb",
    url: "http://deb.debian.org/debian",
    distributions: "bullseye bullseye-updates",
    components: "main contrib non-free",
    architectures: "amd64",
    basePath: "debian/bullseye",
  },
  {
    name: "debian-bullseye-security",
    type: "deb",
    url: "http://security.debian.org/debian-security",
    distributions: "bullseye-security",
    components: "main contrib non-free",
    architectures: "amd64",
    basePath: "debian-security/bullseye",
  },
];

/** Shared services small enough to sit beside one build on a laptop (see docs/services.md for the sums). */
const LAPTOP_SERVICES = {
  exposure: { kind: "nodePort" },
  pulp: {
    storage: "pvc",
    size: "30Gi",
    databaseSize: "5Gi",
    apiReplicas: 1,
    contentReplicas: 1,
    workers: 1,
    resources: {
      api: res("100m", "384Mi", "1", "1Gi"),
      content: res("50m", "256Mi", "500m", "512Mi"),
      worker: res("100m", "384Mi", "1", "1Gi"),
      database: res("50m", "128Mi", "500m", "512Mi"),
      redis: res("25m", "32Mi", "200m", "128Mi"),
    },
    mirrors: MIRRORS,
  },
  objectStore: { mode: "minio", buckets: BUCKETS, size: "20Gi", resources: res("50m", "256Mi", "500m", "1Gi") },
  registry: { mode: "own", storage: "pvc", size: "10Gi", replicas: 1, resources: res("25m", "64Mi", "500m", "256Mi") },
};

/** Many concurrent builds on several nodes without a shared file system: Pulp and the registry on S3. */
const FARM_SERVICES = {
  exposure: { kind: "ingress" },
  pulp: {
    storage: "s3",
    size: "500Gi",
    databaseSize: "50Gi",
    apiReplicas: 2,
    contentReplicas: 3,
    workers: 4,
    resources: {
      api: res("500m", "1Gi", "2", "2Gi"),
      content: res("500m", "1Gi", "2", "2Gi"),
      worker: res("500m", "1Gi", "2", "4Gi"),
      database: res("1", "2Gi", "4", "8Gi"),
      redis: res("100m", "256Mi", "500m", "1Gi"),
    },
    mirrors: MIRRORS,
  },
  objectStore: { mode: "minio", buckets: BUCKETS, size: "2Ti", resources: res("1", "2Gi", "4", "8Gi") },
  registry: { mode: "own", storage: "s3", size: "200Gi", replicas: 2, resources: res("250m", "256Mi", "2", "1Gi") },
};

/** One StarlingX host: cephfs lets every Pulp pod share one volume; the platform registry is used. */
const STARLINGX_SERVICES = {
  // The platform's ingress controller runs in kube-system.
  exposure: { kind: "ingress", clusterIssuer: "system-local-ca", ingressControllerNamespace: "kube-system" },
  pulp: {
    storage: "pvc",
    size: "300Gi",
    databaseSize: "20Gi",
    apiReplicas: 1,
    contentReplicas: 2,
    workers: 2,
    resources: {
      api: res("250m", "512Mi", "2", "2Gi"),
      content: res("250m", "512Mi", "2", "2Gi"),
      worker: res("250m", "512Mi", "2", "2Gi"),
      database: res("250m", "512Mi", "2", "4Gi"),
      redis: res("50m", "64Mi", "500m", "256Mi"),
    },
    mirrors: MIRRORS,
  },
  objectStore: { mode: "minio", buckets: BUCKETS, size: "300Gi", resources: res("250m", "512Mi", "2", "4Gi") },
  registry: { mode: "platform", storage: "pvc", size: "50Gi", replicas: 1, resources: res("50m", "64Mi", "500m", "256Mi") },
};

export const PROFILE_DEFAULTS: Readonly<Record<Profile, RawObject>> = {
  minikube: {
    apiServer: "https://192.168.49.2:8443",
    cluster: {
      storageClass: "standard",
      podCidr: "10.244.0.0/16",
      serviceCidr: "10.96.0.0/12",
      nodes: [{ name: "minikube", cpu: "8", memory: "16Gi", ephemeralStorage: "100Gi" }],
      // minikube's docker network and its API server (the node itself) as pods reach it.
      egressExclusions: { nodeCidrs: ["192.168.49.0/24"], apiServerEndpoints: ["192.168.49.2:8443"] },
      // No sysbox here, so nothing depends on it: the minor the loopback cluster tests run
      // (scripts/toolchain.versions KUBERNETES_VERSION); `minikube start --kubernetes-version`.
      kubernetesVersion: "1.33",
    },
    tenancy: LAPTOP_TENANCY,
    retention: { ...RETENTION, pipelineRuns: { ...RETENTION.pipelineRuns, keep: 3 } },
    services: LAPTOP_SERVICES,
    // One disk on one laptop: a second copy there protects nothing.
    backup: { enabled: false },
    build: { imageBuilds: "docker-in-docker", jenkins: { enabled: false }, tekton: { keepRuns: 3 } },
  },
  cengn: {
    cluster: {
      storageClass: "local-path",
      podCidr: "192.168.0.0/16",
      serviceCidr: "10.96.0.0/12",
      // kubeadm on Ubuntu workers with sysbox: the newest minor the pinned installer
      // (sysbox-deploy-k8s v0.6.5, src/build/sysboxSupport.ts) accepts.
      kubernetesVersion: "1.30",
    },
    tenancy: FARM_TENANCY,
    retention: RETENTION,
    services: FARM_SERVICES,
    // Where a backup goes is site-specific (a node name, another endpoint): the stack file says.
    backup: { enabled: false },
    build: { imageBuilds: "sysbox", jenkins: { enabled: true } },
  },
  starlingx: {
    cluster: {
      storageClass: "general",
      sharedStorageClass: "cephfs",
      // The management and cluster-host subnets StarlingX's bootstrap (localhost.yml) documents
      // by default, beside its cluster_pod_subnet 172.16.0.0/16; a site with other subnets sets
      // its own, and adds its OAM subnet (pxeboot 169.254.202.0/24 is link-local, always excluded).
      egressExclusions: { platformCidrs: ["192.168.204.0/24", "192.168.206.0/24"] },
      podCidr: "172.16.0.0/16",
      serviceCidr: "10.96.0.0/12",
      // StarlingX ships Kubernetes 1.29 to 1.32 depending on the release; 1.29 is the one every
      // release in that range offers. It decides nothing here (sysbox does not install on a
      // StarlingX host); a site on a newer release sets its own.
      kubernetesVersion: "1.29",
    },
    tenancy: FARM_TENANCY,
    // The platform registry (registry.local:9001) is StarlingX's own to collect.
    retention: { ...RETENTION, registryGc: { ...RETENTION.registryGc, enabled: false } },
    // An All-in-One host has no second machine; set backup.target to an S3 endpoint elsewhere.
    backup: { enabled: false },
    services: STARLINGX_SERVICES,
    // sysbox-deploy-k8s installs only on Ubuntu (and a few other) hosts, which a StarlingX host is
    // not, and the platform offers no other runtime for unprivileged system containers: stages
    // that need one are off (BUILD_PACKAGES, BUILD_ISO, BUILD_IMAGES default to false).
    build: { imageBuilds: "none", jenkins: { enabled: false } },
  },
};

/** `overrides` laid over `base`: plain objects merge recursively, anything else replaces. */
export function mergeSettings(base: RawObject, overrides: RawObject): RawObject {
  const merged: RawObject = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    const current = merged[key];
    merged[key] = isPlainObject(current) && isPlainObject(value) ? mergeSettings(current, value) : value;
  }
  return merged;
}

function isPlainObject(value: unknown): value is RawObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
