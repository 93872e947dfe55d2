/**
 * The distribution (Docker registry) config file, /etc/distribution/config.yml. Pure and free of
 * credentials: the S3 keys and the HTTP secret reach the registry as environment variables from
 * Secrets, so this file can live in a ConfigMap. distribution listens on the pod's loopback only,
 * without auth: the registry gate (registryGate.ts) in the same pod is the only way in, and it
 * decides per login and repository prefix (registryAccess.ts).
 */

/** The port clients reach (the gate). */
export const REGISTRY_PORT = 5000;
export const REGISTRY_DEBUG_PORT = 5001;
/** distribution's own port, on 127.0.0.1 of the registry pod. */
export const REGISTRY_UPSTREAM_PORT = 5002;
export const REGISTRY_DATA_PATH = "/var/lib/registry";

export type RegistryStorage =
  | { readonly kind: "filesystem" }
  | { readonly kind: "s3"; readonly endpoint: string; readonly region: string; readonly bucket: string };

/** The config as an object (easy to test); `renderRegistryConfig` writes it out. */
export function registryConfig(storage: RegistryStorage): Record<string, unknown> {
  return {
    version: 0.1,
    log: { level: "info", formatter: "text" },
    storage: {
      ...storageDriver(storage),
      // Deleting manifests is what lets garbage collection reclaim blobs.
      delete: { enabled: true },
      maintenance: {
        uploadpurging: { enabled: true, age: "168h", interval: "24h", dryrun: false },
        // Garbage collection runs with this set to true (and the registry restarted); see docs/services.md.
        readonly: { enabled: false },
      },
      cache: { blobdescriptor: "inmemory" },
    },
    http: {
      addr: `127.0.0.1:${REGISTRY_UPSTREAM_PORT}`,
      headers: { "X-Content-Type-Options": ["nosniff"] },
      debug: { addr: `:${REGISTRY_DEBUG_PORT}`, prometheus: { enabled: true, path: "/metrics" } },
    },
    health: { storagedriver: { enabled: true, interval: "10s", threshold: 3 } },
  };
}

function storageDriver(storage: RegistryStorage): Record<string, unknown> {
  if (storage.kind === "filesystem") return { filesystem: { rootdirectory: REGISTRY_DATA_PATH } };
  const endpoint = new URL(storage.endpoint);
  return {
    s3: {
      region: storage.region,
      regionendpoint: storage.endpoint,
      bucket: storage.bucket,
      // MinIO and most private S3 services address buckets by path, not by sub-domain.
      forcepathstyle: true,
      secure: endpoint.protocol === "https:",
      v4auth: true,
      rootdirectory: "/",
    },
    // Clients would otherwise be redirected to S3 for blobs, and the in-cluster endpoint is not theirs to reach.
    redirect: { disable: true },
  };
}

/** JSON is YAML, so the file is written as indented JSON under a header comment. */
export function renderRegistryConfig(storage: RegistryStorage): string {
  return `# Rendered by stx-build-cluster (src/services/registryConfig.ts).\n${JSON.stringify(registryConfig(storage), null, 2)}\n`;
}
