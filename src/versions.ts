/**
 * Every upstream version this program deploys: container images, Helm charts and release
 * manifests. This is the one place to change any of them. Images are pinned by tag (and digest
 * where the upstream tag is mutable); no "latest".
 */

export const IMAGES = {
  // Filled in by the services, build machinery and retention components.
} as const satisfies Record<string, string>;

export const CHARTS = {} as const satisfies Record<string, { chart: string; version: string; repo: string }>;

export const MANIFESTS = {} as const satisfies Record<string, string>;
