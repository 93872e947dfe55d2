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
  CLEAN_REPOMGR: { default: false, description: "Drop this build's Pulp repositories and create them afresh." },
  CLEAN_DOCKER: { default: false, description: "Build images without the layer cache." },
  FORCE_BUILD: { default: false, description: "Build even when the sources did not change since the last successful build." },
  DRY_RUN: { default: false, description: "Print every build and publish command instead of running it." },
} as const;
export type SwitchName = keyof typeof SWITCHES;

export interface FarmDefaults {
  readonly objectStoreEndpoint: string;
  readonly artifactsBucket: string;
  /** Secret (in the run's namespace) with keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, as the object store writes it. */
  readonly objectStoreSecret: string;
  readonly pulpUrl: string;
  /** Registry host[/path] that images are pushed to. */
  readonly registry: string;
  readonly builderImage: string;
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
    { name: "TRIGGER", description: '"scheduled" runs are skipped when nothing changed; "manual" always build.', default: "manual" },
    { name: "FORCED_WEEKDAY", description: 'UTC weekday (0 = Sunday) on which scheduled runs build anyway, or "never".', default: String(defaults.forcedWeekday) },
    ...Object.entries(SWITCHES).map(([name, s]) => ({ name, description: s.description, default: String(s.default) })),
    { name: "DISTRO", description: "Distribution built (a path segment of every artifact).", default: defaults.distro },
    { name: "BUILDER_IMAGE", description: "Image of the StarlingX build environment.", default: defaults.builderImage },
    { name: "OBJECT_STORE_ENDPOINT", description: "S3 endpoint of the artifact store.", default: defaults.objectStoreEndpoint },
    { name: "ARTIFACTS_BUCKET", description: "Bucket of build artifacts.", default: defaults.artifactsBucket },
    { name: "OBJECT_STORE_SECRET", description: "Secret with keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the artifact store.", default: defaults.objectStoreSecret },
    { name: "PULP_URL", description: "Pulp API base URL (prerequisites and package repositories).", default: defaults.pulpUrl },
    { name: "REGISTRY", description: "Registry that images are pushed to.", default: defaults.registry },
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
