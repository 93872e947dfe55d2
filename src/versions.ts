/**
 * Every upstream version this program deploys: container images, Helm charts and release
 * manifests. This is the one place to change any of them. Images are pinned by tag (and digest
 * where the upstream tag is mutable); no "latest".
 */

export const IMAGES = {
  // Filled in by the services, build machinery and retention components.
  /** Pulp (pulpcore y-release 3.85, the long-term-support line, with pulp_deb and pulp_file); also runs the content script. */
  pulp: "quay.io/pulp/pulp-minimal:3.85",
  pulpDatabase: "docker.io/library/postgres:16.10-bookworm",
  pulpRedis: "docker.io/library/redis:7.4.5-alpine",
  /**
   * MinIO community edition is archived upstream: this is the last image it published. Later
   * fixes exist only as source; a site can build one and set services.objectStore.image.
   */
  minio: "docker.io/minio/minio:RELEASE.2025-09-07T16-13-09Z",
  minioClient: "docker.io/minio/mc:RELEASE.2025-08-13T08-35-41Z",
  /** CNCF distribution, the Docker registry (config at /etc/distribution/config.yml since v3). */
  /** Runs the bundled retention jobs (maintenance LTS line, Debian base). */
  node: "docker.io/library/node:22.21.1-bookworm-slim",
  /** Distribution; garbage collection must run the registry's own version (the registry component pins the same). */
  registry: "docker.io/library/registry:3.0.0",
} as const satisfies Record<string, string>;

export const CHARTS = {} as const satisfies Record<string, { chart: string; version: string; repo: string }>;

export const MANIFESTS = {} as const satisfies Record<string, string>;
