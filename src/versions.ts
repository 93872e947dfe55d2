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
  /**
   * Installs sysbox on labelled nodes (nestybox/sysbox-pkgr, k8s/). v0.6.5 is the newest tag shown
   * in nestybox/sysbox's own sysbox-k8s-manifests/sysbox-install.yaml as stored for us; its
   * CHANGELOG gives Kubernetes 1.27-1.30 and it switches the node to CRI-O. Which Kubernetes
   * versions get it: src/build/sysboxSupport.ts.
   */
  sysboxDeploy: "registry.nestybox.com/nestybox/sysbox-deploy-k8s:v0.6.5",
  /** Docker daemon for builds that need one (under sysbox, or privileged on minikube). */
  dockerDaemon: "docker.io/library/docker:28.5.1-dind",
  /** kubectl with a shell, for the schedule starter and the pipeline's own bookkeeping. */
  kubectl: "docker.io/alpine/k8s:1.34.5",
  /**
   * kaniko's executor: Dockerfile builds without a Docker daemon (the tools-image Task). Upstream
   * (GoogleContainerTools/kaniko) is archived; v1.24.0 is its last release. The digest is the
   * release's image index as several unrelated public repositories pin it (gcr.io could not be
   * reached from here to resolve it); a site sets build.toolsImageBuild.kanikoImage to a fork's.
   */
  kaniko: "gcr.io/kaniko-project/executor:v1.24.0@sha256:4e7a52dd1f14872430652bb3b027405b8dfd17c4538751c620ac005741ef9698",
  /** S3 client for publishing artifacts and logs (Alpine-based: busybox sh, grep, sort for the scripts). */
  objectStoreClient: "docker.io/rclone/rclone:1.71.1",
} as const satisfies Record<string, string>;

/**
 * StarlingX's own build containers, as its `stx-init-env` pulls them: `${prefix}<image>:${tag}` for
 * stx-builder, stx-pkgbuilder, stx-lat-tool and stx-aptly (starlingx/tools stx-init-env:73-74
 * DOCKER_PREFIX, DOCKER_IMAGES; :834-856 DOCKER_TAG = ${ROOT_TAG_NAME}-${os_id}-${codename}-${arch}-${TAG_VER}).
 * The tools refuse an image whose VERSION_CODENAME differs from DIST ("Invalid tooling":
 * starlingx/root build-tools/stx/downloader:847, build-pkgs:2350, build-image:700), so the tag
 * names trixie. All four come from one tag because they are built and tested together.
 *
 * Not pinned by digest: Docker Hub is not reachable from where this was written, and no
 * published digest (nor any dated trixie tag) could be found in the sources searched; this is
 * the name stx-init-env derives from its default `master-debian-latest` for trixie/amd64. It
 * moves with every publication: a site pins by setting build.toolsImages.tag to a dated tag or
 * `<tag>@sha256:<digest>` it has checked (stx-init-env --rebuild images work the same way).
 */
export const STX_TOOLS = {
  prefix: "docker.io/starlingx/",
  tag: "master-debian-trixie-amd64-latest",
} as const;

/**
 * The starlingx/tools commit whose Dockerfiles the farm builds its own build containers from
 * (build.toolsImageBuild): the snapshot the tests read (../shared/upstream/README.md,
 * starlingx-tools-52d6081e.tar.gz, `git archive` of this commit, 2026-08-19, on master). kaniko
 * clones `ref` and checks out `commit`, so the commit must be in that branch's history.
 */
export const STX_TOOLS_SOURCE = {
  url: "https://opendev.org/starlingx/tools.git",
  ref: "refs/heads/master",
  commit: "52d6081eb456556b250d08ab9a8af4b61e3c81f4",
} as const;

/**
 * The Debian snapshot a build downloads from, unless a stack sets build.debianSnapshot: the
 * timestamp of starlingx/tools stx.conf.trixie.sample:13 (project.debian_snapshot_timestamp),
 * the snapshot the tools' .lst files are tested against.
 */
export const DEBIAN_SNAPSHOT = "20260516T111458Z";

/**
 * Helm charts, with the SHA-256 of the chart archive the tests use (tools/upstreamArtifacts.ts
 * checks a download against it before using it). Jenkins' checksum is the `sha256sum` of
 * ../shared/upstream/jenkins-5.8.73.tgz, this farm's exact copy of the chart at tag jenkins-5.8.73;
 * it has not been compared with the archive charts.jenkins.io serves, which cannot be reached from
 * here. A download whose checksum differs is refused, naming both values.
 */
export const CHARTS = {
  jenkins: {
    chart: "jenkins", version: "5.8.73", repo: "https://charts.jenkins.io",
    sha256: "761fcb37aa95ad6eea1aed7b216f6f077e581ad0d69c795b74d3d15a2c231748",
  },
} as const satisfies Record<string, { chart: string; version: string; repo: string; sha256: string }>;

const TEKTON_RELEASES = "https://infra.tekton.dev/tekton-releases";

/**
 * Upstream release manifests, applied only after their SHA-256 matches a pin (src/build/manifests.ts).
 * Each key is also the file name (`<key>.yaml`) looked up in build.tekton.manifestDir on sites
 * without internet access.
 *
 * `sha256: UNVERIFIED`: Tekton publishes no checksum of these files (its releases carry a Rekor
 * attestation of the images only), and this workplace cannot download them to compute one. Until a
 * maintainer pins the value here after checking the file, each site pins the copy it checked in
 * build.tekton.manifestSha256, and the program refuses a manifest that has neither pin.
 */
export const UNVERIFIED = null;

export const MANIFESTS = {
  /** Tekton Pipelines, the current long-term-support line. */
  "tekton-pipelines": { url: `${TEKTON_RELEASES}/pipeline/previous/v1.15.1/release.yaml`, sha256: UNVERIFIED },
  "tekton-triggers": { url: `${TEKTON_RELEASES}/triggers/previous/v0.34.0/release.yaml`, sha256: UNVERIFIED },
  "tekton-interceptors": { url: `${TEKTON_RELEASES}/triggers/previous/v0.34.0/interceptors.yaml`, sha256: UNVERIFIED },
  /** The read-only Dashboard release (release-full.yaml is the one that can edit). */
  "tekton-dashboard": { url: `${TEKTON_RELEASES}/dashboard/previous/v0.65.0/release.yaml`, sha256: UNVERIFIED },
} as const satisfies Record<string, { url: string; sha256: string | null }>;

export type ManifestName = keyof typeof MANIFESTS;
export const MANIFEST_NAMES = Object.keys(MANIFESTS) as ManifestName[];
