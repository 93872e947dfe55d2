/**
 * What each kind of cluster gets when its stack file says nothing. Stack config is laid over
 * these (objects merge key by key, lists replace), then the result is validated as a whole.
 */
export const PROFILES = ["minikube", "cengn", "starlingx"] as const;
export type Profile = (typeof PROFILES)[number];

type RawObject = Record<string, unknown>;

const LAPTOP_TENANCY = {
  limits: {
    defaultRequest: { cpu: "250m", memory: "512Mi", ephemeralStorage: "1Gi" },
    default: { cpu: "2", memory: "4Gi", ephemeralStorage: "10Gi" },
    max: { cpu: "6", memory: "12Gi", ephemeralStorage: "60Gi" },
  },
  quota: {
    requests: { cpu: "6", memory: "12Gi", ephemeralStorage: "80Gi" },
    persistentVolumeClaims: 10,
    storage: "200Gi",
    pipelineRuns: 4,
  },
};

const FARM_TENANCY = {
  limits: {
    defaultRequest: { cpu: "500m", memory: "1Gi", ephemeralStorage: "2Gi" },
    default: { cpu: "4", memory: "8Gi", ephemeralStorage: "20Gi" },
    max: { cpu: "16", memory: "64Gi", ephemeralStorage: "200Gi" },
  },
  quota: {
    requests: { cpu: "32", memory: "128Gi", ephemeralStorage: "500Gi" },
    persistentVolumeClaims: 20,
    storage: "1Ti",
    pipelineRuns: 10,
  },
};

const RETENTION = {
  schedule: "30 3 * * *",
  days: { master: 14, feature: 7, private: 3, milestone: 180, release: "forever" },
  failedDays: 3,
  keepSuccessful: 3,
};

export const PROFILE_DEFAULTS: Readonly<Record<Profile, RawObject>> = {
  minikube: {
    apiServer: "https://192.168.49.2:8443",
    cluster: {
      storageClass: "standard",
      podCidr: "10.244.0.0/16",
      serviceCidr: "10.96.0.0/12",
      nodes: [{ name: "minikube", cpu: "8", memory: "16Gi", ephemeralStorage: "100Gi" }],
    },
    tenancy: LAPTOP_TENANCY,
    retention: RETENTION,
    build: { imageBuilds: "docker-in-docker", jenkins: { enabled: false } },
  },
  cengn: {
    cluster: {
      storageClass: "local-path",
      podCidr: "192.168.0.0/16",
      serviceCidr: "10.96.0.0/12",
    },
    tenancy: FARM_TENANCY,
    retention: RETENTION,
    build: { imageBuilds: "sysbox", jenkins: { enabled: true } },
  },
  starlingx: {
    cluster: {
      storageClass: "general",
      sharedStorageClass: "cephfs",
      podCidr: "172.16.0.0/16",
      serviceCidr: "10.96.0.0/12",
    },
    tenancy: FARM_TENANCY,
    retention: RETENTION,
    build: { imageBuilds: "sysbox", jenkins: { enabled: false } },
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
