/**
 * Every upstream version this program deploys: container images, Helm charts and release
 * manifests. This is the one place to change any of them. Images are pinned by tag (and digest
 * where the upstream tag is mutable); no "latest".
 */

export const IMAGES = {
  // Filled in by the services, build machinery and retention components.
  /** Runs the bundled retention jobs (maintenance LTS line, Debian base). */
  node: "docker.io/library/node:22.21.1-bookworm-slim",
  /** Distribution; garbage collection must run the registry's own version (the registry component pins the same). */
  registry: "docker.io/library/registry:3.0.0",
} as const satisfies Record<string, string>;

export const CHARTS = {} as const satisfies Record<string, { chart: string; version: string; repo: string }>;

export const MANIFESTS = {} as const satisfies Record<string, string>;
