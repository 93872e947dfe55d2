/**
 * The distribution (Docker registry) config file, /etc/distribution/config.yml. Pure and free of
 * credentials: the S3 keys and the HTTP secret reach the registry as environment variables from
 * Secrets, so this file can live in a ConfigMap.
 */

export const REGISTRY_PORT = 5000;
export const REGISTRY_DEBUG_PORT = 5001;
export const HTPASSWD_PATH = "/etc/distribution/auth/htpasswd";
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
      addr: `:${REGISTRY_PORT}`,
      headers: { "X-Content-Type-Options": ["nosniff"] },
      debug: { addr: `:${REGISTRY_DEBUG_PORT}`, prometheus: { enabled: true, path: "/metrics" } },
    },
    auth: { htpasswd: { realm: "stx-build-cluster", path: HTPASSWD_PATH } },
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

/** One htpasswd line; the hash comes from @pulumi/random's bcryptHash (stable across runs). */
export function htpasswdLine(user: string, bcryptHash: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(user)) throw new Error(`registry user "${user}" may only hold letters, digits, ".", "_" and "-"`);
  if (!/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(bcryptHash)) throw new Error("htpasswd needs a bcrypt hash ($2a$/$2b$/$2y$)");
  return `${user}:${bcryptHash}\n`;
}
