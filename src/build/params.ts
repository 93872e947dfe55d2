/**
 * The parameters of the StarlingX build Pipeline: the switches CENGN's Jenkins jobs had
 * (BUILD_PACKAGES, BUILD_ISO, BUILD_RT, CLEAN_*, FORCE_BUILD, DRY_RUN) plus what to build and
 * where to publish. Farm-wide values (object store, Pulp, registry) are defaults baked into the
 * shared Pipeline, so a run names only what differs.
 */

export interface PipelineParam {
  readonly name: string;
  readonly description: string;
  /** Undefined: the run must give it. */
  readonly default?: string;
}

/** Boolean switches; Tekton params are strings, so each is "true" or "false". */
export const SWITCHES = {
  BUILD_PACKAGES: { default: true, description: "Build the std packages (build-pkgs)." },
  BUILD_RT: { default: true, description: "Also build the rt (low-latency) packages." },
  BUILD_ISO: { default: true, description: "Build the installer ISO (build-image)." },
  BUILD_IMAGES: { default: true, description: "Build the base image, wheels and application images." },
  BUILD_HELM_CHARTS: { default: true, description: "Build the application Helm charts." },
  CLEAN_PACKAGES: { default: false, description: "Rebuild every package instead of only changed ones (build-pkgs --clean)." },
  CLEAN_ISO: { default: false, description: "Remove the previous ISO work directory first." },
  CLEAN_DOWNLOADS: { default: false, description: "Download the 3rd-party prerequisites again." },
  CLEAN_REPOMGR: { default: false, description: "Empty this build state's aptly repositories (repo_manage.py clean) and load them afresh." },
  CLEAN_DOCKER: { default: false, description: "Empty this build state's Docker cache before building images." },
  FORCE_BUILD: { default: false, description: "Build even when the sources did not change since the last successful build." },
  DRY_RUN: { default: false, description: "Print every build and publish command instead of running it." },
} as const;
export type SwitchName = keyof typeof SWITCHES;

export interface FarmDefaults {
  readonly objectStoreEndpoint: string;
  readonly artifactsBucket: string;
  /** `<public object-store URL>/<bucket>`, for the links a run prints (published builds are readable there). */
  readonly artifactsUrl: string;
  /** Secret (in the run's namespace) with keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, as the object store writes it. */
  readonly objectStoreSecret: string;
  readonly pulpUrl: string;
  /** Registry host[/path] that images are pushed to. */
  readonly registry: string;
  /** True where that registry speaks plain HTTP (our own in-cluster registry); the Docker daemon then allows it as insecure. */
  readonly registryInsecure: boolean;
  /** dockerconfigjson Secret in every tenant namespace with the registry credentials (components/services/registry.ts REGISTRY_SECRET). */
  readonly registrySecret: string;
  /** Images of StarlingX's build containers (src/versions.ts STX_TOOLS, or build.toolsImages). */
  readonly toolImages: { readonly builder: string; readonly pkgbuilder: string; readonly lat: string; readonly aptly: string };
  readonly dockerImage: string;
  /** Where the tools download from: the farm's Pulp mirror where there is one (src/build/downloads.ts). */
  readonly downloads: { readonly debianSnapshot: string; readonly debianSecuritySnapshot: string; readonly debianDistribution: string; readonly osMirrorUrl: string };
  readonly distro: string;
  /** Weekday 0-6 of forced scheduled builds, or "never". */
  readonly forcedWeekday: number | "never";
}

export function pipelineParams(defaults: FarmDefaults): PipelineParam[] {
  return [
    { name: "MANIFEST_URL", description: "Git URL of the repo manifest repository." },
    { name: "MANIFEST_BRANCH", description: "Branch (or tag) of the manifest.", default: "master" },
    { name: "MANIFEST_FILE", description: "Manifest file inside the repository.", default: "default.xml" },
    { name: "RELEASE_ID", description: 'Where the build is published: master, release/<name>, feature/<name>, milestone/<tag> or private/<user>/<name>.', default: "master" },
    { name: "PATCH_PROJECT", description: "Private builds: path (in the manifest) of the project to patch; empty for none.", default: "" },
    { name: "PATCH_URL", description: "Private builds: git URL to fetch the patch from (a fork, or Gerrit).", default: "" },
    { name: "PATCH_REF", description: "Private builds: the ref to check out in PATCH_PROJECT (a branch, or refs/changes/...).", default: "" },
    { name: "REUSE_FROM", description: "Private builds: release-id of the branch whose last successful build build-pkgs starts from (--reuse, its published deb-local-build and deb-local-source); empty builds everything.", default: "" },
    { name: "TRIGGER", description: '"scheduled" runs are skipped when nothing changed; "manual" always build.', default: "manual" },
    { name: "FORCED_WEEKDAY", description: 'UTC weekday (0 = Sunday) on which scheduled runs build anyway, or "never".', default: String(defaults.forcedWeekday) },
    ...Object.entries(SWITCHES).map(([name, s]) => ({ name, description: s.description, default: String(s.default) })),
    { name: "DISTRO", description: "Distribution built (a path segment of every artifact).", default: defaults.distro },
    { name: "BUILDER_IMAGE", description: "stx-builder: the image the tools run in (repo, downloader, build-pkgs, build-image ...).", default: defaults.toolImages.builder },
    { name: "PKGBUILDER_IMAGE", description: "stx-pkgbuilder: the package build service build-pkgs calls (BUILDER_URL).", default: defaults.toolImages.pkgbuilder },
    { name: "LAT_IMAGE", description: "stx-lat-tool: latd, which build-image drives through latc.", default: defaults.toolImages.lat },
    { name: "APTLY_IMAGE", description: "stx-aptly: the repository manager the tools use (REPOMGR_URL).", default: defaults.toolImages.aptly },
    { name: "DOCKER_IMAGE", description: "Docker daemon for the image stages.", default: defaults.dockerImage },
    { name: "DEBIAN_SNAPSHOT", description: "The pinned Debian snapshot the tools download from, <base>/<YYYYMMDDTHHMMSSZ> (localrc DEBIAN_SNAPSHOT; build.debianSnapshot).", default: defaults.downloads.debianSnapshot },
    { name: "DEBIAN_SECURITY_SNAPSHOT", description: "Debian security snapshot (localrc DEBIAN_SECURITY_SNAPSHOT).", default: defaults.downloads.debianSecuritySnapshot },
    { name: "DEBIAN_DISTRIBUTION", description: "Debian codename the branch builds on (localrc DEBIAN_DISTRIBUTION).", default: defaults.downloads.debianDistribution },
    { name: "OS_MIRROR_URL", description: "StarlingX mirror get_download_url tries first, in its <host>/<path> layout (localrc OS_MIRROR_URL; utils.py).", default: defaults.downloads.osMirrorUrl },
    { name: "MY_RELEASE", description: "StarlingX release number written into packages (localrc MY_RELEASE).", default: "10.0" },
    { name: "MAX_CPUS", description: "Parallel jobs per package build (localrc MAX_CPUS).", default: "4" },
    { name: "OBJECT_STORE_ENDPOINT", description: "S3 endpoint of the artifact store.", default: defaults.objectStoreEndpoint },
    { name: "ARTIFACTS_BUCKET", description: "Bucket of build artifacts.", default: defaults.artifactsBucket },
    { name: "ARTIFACTS_URL", description: "Public URL of the artifacts bucket, for the links a run prints (published builds are anonymously readable there).", default: defaults.artifactsUrl },
    { name: "OBJECT_STORE_SECRET", description: "Secret with keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the artifact store.", default: defaults.objectStoreSecret },
    { name: "PULP_URL", description: "Pulp API base URL (prerequisites and package repositories).", default: defaults.pulpUrl },
    { name: "REGISTRY", description: "Registry that images are pushed to.", default: defaults.registry },
    { name: "REGISTRY_INSECURE", description: '"true" where REGISTRY speaks plain HTTP: the Docker daemon allows it as an insecure registry.', default: String(defaults.registryInsecure) },
    { name: "REGISTRY_SECRET", description: "dockerconfigjson Secret in the run's namespace with the registry credentials (DOCKER_CONFIG of the image steps).", default: defaults.registrySecret },
    { name: "DOCKER_MTU", description: "MTU of the build's Docker daemon (docker-in-docker needed 1410 on CENGN).", default: "1410" },
  ];
}

/** Parameter values of a run: everything a caller passes, checked against the Pipeline's list. */
export function runParams(values: Record<string, string | boolean>, known: readonly PipelineParam[]): { name: string; value: string }[] {
  const names = new Set(known.map((p) => p.name));
  for (const name of Object.keys(values)) {
    if (!names.has(name)) throw new Error(`"${name}" is not a parameter of the build pipeline (known: ${[...names].join(", ")})`);
  }
  for (const param of known) {
    if (param.default === undefined && values[param.name] === undefined) throw new Error(`the build pipeline needs a value for ${param.name}`);
  }
  return Object.entries(values).map(([name, value]) => ({ name, value: String(value) }));
}
