/**
 * What StarlingX's own build tools need around them, read from the tools' code (starlingx/root
 * build-tools/stx/ and starlingx/tools stx/), in one place: the variables each tool reads, the
 * services it talks to and the paths it shares with them. The Tasks (definition.ts, services.ts)
 * are built from this, and test/src/build/contract.test.ts runs every Task script against stand-in
 * tools that refuse to run when anything listed here is missing.
 *
 * Upstream runs the same containers as one Helm release per user (starlingx/tools
 * stx/stx-build-tools-chart/stx-builder/ and its dependency_chart/s), all on one hostPath mounted
 * at /localdisk; here the run's state volume is mounted at /localdisk in every container of a pod.
 */

/** Every container mounts the state volume here (starlingx/tools stx/stx-build-tools-chart/stx-builder/values.yaml: volumeMounts.workspace). */
export const LOCALDISK = "/localdisk";
/**
 * The OS the tools build for, as starlingx/tools stx.conf.trixie.sample sets it (builder.os_id,
 * os_arch, build_stream; project.debian_version; repomgr.os_mirror_dl_path, os_mirror_dist_path).
 */
export const OS = {
  id: "debian",
  arch: "amd64",
  buildStream: "stable",
  debianVersion: "13.5",
  mirrorDlPath: "debian/",
  mirrorDistPath: "debian/debian/",
} as const;

/** buildrc's defaults; one project per state volume, so they never need to differ. */
export const MYUNAME = "builder";
export const PROJECT = "stx";

/** The paths buildrc derives (starlingx/tools stx/debian/trixie/toCOPY/builder/buildrc). */
export const PATHS = {
  buildPkgDir: `${LOCALDISK}/loadbuild/${MYUNAME}/${PROJECT}/`,
  workspace: `${LOCALDISK}/loadbuild/${MYUNAME}/${PROJECT}/`,
  repoRoot: `${LOCALDISK}/designer/${MYUNAME}/${PROJECT}`,
  repo: `${LOCALDISK}/designer/${MYUNAME}/${PROJECT}/cgcs-root`,
  tools: `${LOCALDISK}/designer/${MYUNAME}/${PROJECT}/cgcs-root/build-tools/stx`,
  /** build-pkgs' PKGBUILDER_ROOT, written by pkgbuilder and read by build-pkgs (starlingx/root build-tools/stx/build-pkgs). */
  pkgbuilder: `${LOCALDISK}/pkgbuilder`,
  /** latc and latd talk through files here (starlingx/tools stx/debian/trixie/toCOPY/lat-tool/lat/volume.py). */
  channel: `${LOCALDISK}/channel`,
  /** LAT writes the ISO here (starlingx/root build-tools/stx/build-image: deploy_dir = LAT_ROOT/deploy). */
  deploy: `${LOCALDISK}/deploy`,
  /** aptly's rootDir, kept on the state volume so repositories survive between stages and runs. */
  aptly: `${LOCALDISK}/aptly`,
  /**
   * aptly's published repositories (aptly keeps them under <rootDir>/public/<prefix>), the tree its
   * nginx serves at REPOMGR_DEPLOY_URL: deb-local-build/ and deb-local-source/ (the names build-pkgs
   * gives REPO_BUILD and REPO_SOURCE, starlingx/root build-tools/stx/build-pkgs).
   */
  aptlyPublished: `${LOCALDISK}/aptly/public`,
  /** downloader's and build-pkgs' OS_MIRROR: sources/ and binaries/ (starlingx/root build-tools/stx/downloader:42-43, build-pkgs:1372). */
  mirror: `${LOCALDISK}/mirrors/starlingx`,
  /** The Docker daemon's data (layer cache), per state volume. */
  docker: `${LOCALDISK}/docker`,
} as const;

/** Where the image steps find the namespace's registry Secret, and the docker CLI's own config directory (DOCKER_CONFIG). */
export const REGISTRY_AUTH = { secretDir: "/run/registry-secret", dockerConfig: "/run/docker-config" } as const;

/** The services of one build; all are sidecars on the pod's loopback (see docs/build.md for why). */
export const SERVICES = {
  /** aptly REST API (starlingx/tools stx/debian/common/toCOPY/aptly/supervisord.aptly.conf: --listen=":8080"). */
  aptlyApi: { port: 8080, url: "http://127.0.0.1:8080" },
  /** aptly's published repositories, served by nginx on port 80 (starlingx/tools localrc.sample: REPOMGR_DEPLOY_URL ...:80/). */
  aptlyDeploy: { port: 80, url: "http://127.0.0.1:80/" },
  /**
   * pkgbuilder's Flask app. Upstream binds port 80 (starlingx/tools stx/debian/trixie/toCOPY/pkgbuilder/app.py)
   * behind a Service on 8080; in one pod with aptly's nginx on 80 it listens on 8081 instead, and
   * build-pkgs only ever reads the address from BUILDER_URL.
   */
  pkgbuilder: { port: 8081, url: "http://127.0.0.1:8081/pkgbuilder/" },
  /** Docker daemon (starlingx/tools stx/stx-build-tools-chart/stx-builder/dependency_chart/stx-docker/values.yaml: port 2375). */
  docker: { port: 2375, url: "tcp://127.0.0.1:2375" },
  /** latd has no port: it watches PATHS.channel. */
  lat: { port: 0, url: "" },
  /**
   * The file server upstream's chart runs as <project>-stx-builder-files-http (localrc.sample
   * BUILDER_FILES_URL, port 8088): build-stx-images.sh turns the local wheels tarball into a URL on
   * it (local_path_to_url), which loci fetches from inside `docker build`.
   */
  files: { port: 8088, url: "http://127.0.0.1:8088" },
} as const;

/**
 * What `docker build` reaches the stage's services by: inside a build container 127.0.0.1 is the
 * container itself, so upstream uses Service names (<project>-stx-repomgr, <project>-stx-builder-files-http).
 * Here a Service of this name in every build namespace selects the pod of the running image stage
 * (its Task carries the label), which is the only pod with aptly at that moment: stages with aptly
 * never overlap (stages.ts checkStageRecords) and a branch runs one build at a time.
 */
export const STAGE_SERVICE = {
  name: "stx-build-services",
  label: { key: "stx-build-cluster.io/build-services", value: "true" },
  publishUrl: "http://stx-build-services:80",
  filesUrl: "http://stx-build-services:8088",
} as const;
export type ServiceName = keyof typeof SERVICES;

export interface ToolContract {
  /** The command as the pipeline calls it. */
  readonly tool: string;
  /** Where the requirement comes from: repository and path upstream. */
  readonly source: string;
  /** Variables the tool reads that must be set and not empty. */
  readonly env: readonly string[];
  readonly services: readonly ServiceName[];
  /** Paths (under LOCALDISK) the tool shares with a service, so they must be on the shared volume. */
  readonly mounts: readonly string[];
  /** Variables the tool reads only when called with one of `flags` (with their upstream source). */
  readonly whenFlags?: readonly { readonly flags: readonly string[]; readonly env: readonly string[]; readonly source: string }[];
}

/**
 * build-pkgs' output reuse: with --reuse or --reuse_maximum (mutually exclusive), get_reuse()
 * mirrors STX_SHARED_REPO (an APT repository of another build's deb-local-build; aptly mirror
 * deb-remote-reuse, distribution DEBIAN_DISTRIBUTION, component main, amd64) and fetches the
 * source package stx-meta (its std/rt dsc caches) from STX_SHARED_SOURCE (that build's
 * deb-local-source, where set_reuse() uploads stx-meta after every build), and stops when either
 * is unset (starlingx/root build-tools/stx/build-pkgs: get_reuse, set_reuse, argparse).
 */
export const REUSE = {
  flags: ["--reuse", "--reuse_maximum"],
  env: ["STX_SHARED_REPO", "STX_SHARED_SOURCE"],
  /** The two repositories a branch build publishes for reuse, as build-pkgs names them. */
  repos: { build: "deb-local-build", source: "deb-local-source" },
  source: "starlingx/root build-tools/stx/build-pkgs (get_reuse: STX_SHARED_REPO, STX_SHARED_SOURCE; --reuse|--reuse_maximum)",
} as const;

const ROOT = "starlingx/root build-tools/stx";
const REPOMGR = ["REPOMGR_URL", "REPOMGR_DEPLOY_URL", "REPOMGR_ORIGIN"];
/** utils.py: OS_MIRROR_BASE exists only when OS_MIRROR_URL is set; debrepack's Parser always calls get_download_url. */
const OS_MIRROR = ["OS_MIRROR_URL", "OS_MIRROR_DL_PATH", "STX_MIRROR_STRATEGY"];

/**
 * Each tool the pipeline runs and what it needs; derived from the tools' code, not from our
 * scripts. `files` are the upstream files (and the modules they import) whose reads
 * test/upstream/envReads.test.ts scans, so a new snapshot shows what changed.
 */
export const TOOLS: readonly (ToolContract & { readonly files: readonly string[] })[] = [
  {
    tool: "repo_manage.py",
    source: `${ROOT}/repo_manage.py (RepoMgr('aptly', REPOMGR_URL, ...); REPOMGR_DEPLOY_URL)`,
    env: REPOMGR,
    services: ["aptlyApi", "aptlyDeploy"],
    mounts: [],
    files: ["stx/repo_manage.py", "stx/aptly_deb_usage.py", "stx/utils.py"],
  },
  {
    tool: "downloader",
    source: `${ROOT}/downloader (OS_MIRROR, DIST, STX_MIRROR_STRATEGY, MY_REPO_ROOT_DIR, MY_BUILD_PKG_DIR, MY_WORKSPACE, REPOMGR_URL, REPOMGR_ORIGIN; utils.py OS_MIRROR_URL; stx_apt_cache.py chroot)`,
    env: ["OS_MIRROR", "DIST", "MY_REPO_ROOT_DIR", "MY_BUILD_PKG_DIR", "MY_WORKSPACE", ...REPOMGR, ...OS_MIRROR, "DEBIAN_DISTRIBUTION"],
    services: ["aptlyApi", "aptlyDeploy"],
    mounts: [PATHS.mirror],
    files: ["stx/downloader", "stx/debdownloader", "stx/utils.py", "stx/debrepack.py", "stx/discovery.py", "stx/git_utils.py", "stx/repo_utils.py", "stx/repo_manage.py", "stx/aptly_deb_usage.py", "stx/stx_apt_cache.py"],
  },
  {
    tool: "build-pkgs",
    source: `${ROOT}/build-pkgs (BUILDER_URL, REPOMGR_URL, MY_BUILD_PKG_DIR, MY_REPO_ROOT_DIR, MYUNAME, PROJECT, DIST, MAX_CPUS, OS_MIRROR, DEBIAN_SNAPSHOT; PKGBUILDER_ROOT /localdisk/pkgbuilder); debrepack.py (PROJECT, MY_RELEASE, STX_DIST, DIST, STX_MIRROR_STRATEGY); utils.py (OS_MIRROR_URL, OS_MIRROR_DL_PATH)`,
    env: ["BUILDER_URL", ...REPOMGR, "MY_BUILD_PKG_DIR", "MY_REPO_ROOT_DIR", "MY_REPO", "MY_WORKSPACE", "MYUNAME", "PROJECT", "DIST", "MAX_CPUS", "MY_RELEASE", "STX_DIST", "OS_MIRROR", ...OS_MIRROR, "DEBIAN_SNAPSHOT", "DEBIAN_DISTRIBUTION"],
    services: ["pkgbuilder", "aptlyApi", "aptlyDeploy"],
    mounts: [PATHS.pkgbuilder, PATHS.buildPkgDir],
    whenFlags: [{ flags: REUSE.flags, env: REUSE.env, source: REUSE.source }],
    files: ["stx/build-pkgs", "stx/debrepack.py", "stx/utils.py", "stx/discovery.py", "stx/git_utils.py", "stx/repo_utils.py", "stx/repo_manage.py", "stx/aptly_deb_usage.py", "stx/dsccache.py", "stx/debsentry.py"],
  },
  {
    tool: "build-image",
    source: `${ROOT}/build-image (MY_REPO_ROOT_DIR, MY_REPO, REPOMGR_URL, REPOMGR_DEPLOY_URL, REPOMGR_ORIGIN, DEBIAN_SNAPSHOT, OSTREE_OSNAME; latc; LAT_ROOT /localdisk, deploy/)`,
    env: ["MY_REPO_ROOT_DIR", "MY_REPO", ...REPOMGR, "DEBIAN_SNAPSHOT", "OSTREE_OSNAME", "DIST"],
    services: ["lat", "aptlyApi", "aptlyDeploy"],
    mounts: [PATHS.channel, PATHS.deploy],
    files: ["stx/build-image", "stx/utils.py", "stx/discovery.py", "stx/git_utils.py", "stx/repo_utils.py", "stx/repo_manage.py", "stx/aptly_deb_usage.py"],
  },
  {
    tool: "build-stx-base.sh",
    source: "starlingx/root build-tools/build-docker-images/build-stx-base.sh (MY_WORKSPACE, MY_REPO, DEBIAN_SNAPSHOT, DEBIAN_SECURITY_SNAPSHOT, DEBIAN_DISTRIBUTION, REPOMGR_DEPLOY_URL, REPOMGR_ORIGIN; docker)",
    env: ["MY_WORKSPACE", "MY_REPO", "DOCKER_HOST", "DEBIAN_SNAPSHOT", "DEBIAN_SECURITY_SNAPSHOT", "DEBIAN_DISTRIBUTION", "REPOMGR_DEPLOY_URL", "REPOMGR_ORIGIN", "USER"],
    services: ["docker", "aptlyDeploy"],
    mounts: [],
    files: ["build-docker-images/build-stx-base.sh", "utils.sh", "git-utils.sh", "build-docker-images/docker_utils.sh"],
  },
  {
    tool: "build-wheel-tarball.sh",
    source: "starlingx/root build-tools/build-wheels/build-wheel-tarball.sh, build-base-wheels.sh (MY_WORKSPACE, MY_REPO, USER, REPOMGR_DEPLOY_URL, DEBIAN_SNAPSHOT, DEBIAN_SECURITY_SNAPSHOT, DEBIAN_DISTRIBUTION; docker)",
    env: ["MY_WORKSPACE", "MY_REPO", "DOCKER_HOST", "USER", "REPOMGR_DEPLOY_URL", "DEBIAN_SNAPSHOT", "DEBIAN_SECURITY_SNAPSHOT", "DEBIAN_DISTRIBUTION"],
    services: ["docker", "aptlyDeploy"],
    mounts: [],
    files: ["build-wheels/build-wheel-tarball.sh", "build-wheels/build-base-wheels.sh", "build-wheels/debian-trixie/openstack.cfg", "utils.sh", "git-utils.sh"],
  },
  {
    tool: "build-stx-images.sh",
    source: "starlingx/root build-tools/build-docker-images/build-stx-images.sh (MY_WORKSPACE, MY_REPO, USER, BUILDER_FILES_URL; --base, --wheels; docker)",
    env: ["MY_WORKSPACE", "MY_REPO", "DOCKER_HOST", "USER", "BUILDER_FILES_URL", "DEBIAN_DISTRIBUTION"],
    services: ["docker", "files"],
    mounts: [],
    files: ["build-docker-images/build-stx-images.sh", "git-utils.sh", "build-docker-images/docker_utils.sh"],
  },
  {
    tool: "build-helm-charts.sh",
    source: "starlingx/root build-tools/build-helm-charts.sh (requires MY_WORKSPACE, MY_REPO)",
    env: ["MY_WORKSPACE", "MY_REPO"],
    services: [],
    mounts: [],
    files: ["build-helm-charts.sh", "utils.sh"],
  },
];

/** Per-run download settings, as pipeline parameters (the builder's localrc has them from stx.conf). */
export interface DownloadSettings {
  readonly debianSnapshot: string;
  readonly debianSecuritySnapshot: string;
  readonly debianDistribution: string;
  /** The StarlingX mirror in its own layout (<host>/<path> under OS_MIRROR_DL_PATH), utils.py's OS_MIRROR_URL. */
  readonly osMirrorUrl: string;
}

/**
 * The builder's environment: what localrc.sample and buildrc export in the upstream builder
 * (starlingx/tools stx/stx-build-tools-chart/stx-builder/configmap/localrc.sample,
 * stx/debian/trixie/toCOPY/builder/buildrc), set explicitly because a Tekton step is no
 * interactive shell and never sources them. `param` gives the Tekton reference of a run parameter.
 */
export function builderEnvironment(param: (name: string) => string): { name: string; value: string }[] {
  const fixed: Record<string, string> = {
    PROJECT,
    MYUNAME,
    // build-base-wheels.sh and build-stx-images.sh name their images after USER; a step has none.
    USER: MYUNAME,
    MY_RELEASE: param("MY_RELEASE"),
    DIST_ID: OS.id,
    DIST: param("DEBIAN_DISTRIBUTION"),
    DIST_ARCH: OS.arch,
    // localrc.sample's aliases for debbuilder.py (sbuild.conf @OS@ ...).
    OS: OS.id,
    OS_CODENAME: param("DEBIAN_DISTRIBUTION"),
    OS_ARCH: OS.arch,
    BUILD_STREAM: OS.buildStream,
    STX_DIST: ".stx",
    MY_BUILD_PKG_DIR: PATHS.buildPkgDir,
    MY_WORKSPACE: PATHS.workspace,
    MY_LOCAL_DISK: `${LOCALDISK}/designer/${MYUNAME}`,
    MY_REPO_ROOT_DIR: PATHS.repoRoot,
    MY_REPO: PATHS.repo,
    MY_BUILD_TOOLS_DIR: `${PATHS.repo}/build-tools`,
    STX_CONFIG_DIR: `${PATHS.repoRoot}/stx-tools`,
    // The tools by name: buildrc adds these in an interactive shell only.
    PATH: `${PATHS.tools}:${PATHS.repo}/build-tools:${PATHS.repo}/build-tools/build-docker-images:${PATHS.repo}/build-tools/build-wheels:/opt/LAT/lat:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    PYTHONPATH: PATHS.tools,
    // downloader's and build-pkgs' local mirror (sources/, binaries/).
    OS_MIRROR: PATHS.mirror,
    // utils.py: where get_download_url looks first (stx_mirror_first), in the StarlingX mirror's layout.
    OS_MIRROR_URL: param("OS_MIRROR_URL"),
    OS_MIRROR_DL_PATH: OS.mirrorDlPath,
    OS_MIRROR_DIST_PATH: OS.mirrorDistPath,
    STX_MIRROR_STRATEGY: "stx_mirror_first",
    // Only aptly is implemented by the tools today (repo_manage.py raises for anything else).
    REPOMGR_TYPE: "aptly",
    REPOMGR_URL: SERVICES.aptlyApi.url,
    REPOMGR_DEPLOY_URL: SERVICES.aptlyDeploy.url,
    REPOMGR_ORIGIN: "starlingx",
    BUILDER_URL: SERVICES.pkgbuilder.url,
    BUILDER_FILES_URL: STAGE_SERVICE.filesUrl,
    DEBIAN_SNAPSHOT: param("DEBIAN_SNAPSHOT"),
    DEBIAN_SECURITY_SNAPSHOT: param("DEBIAN_SECURITY_SNAPSHOT"),
    DEBIAN_DISTRIBUTION: param("DEBIAN_DISTRIBUTION"),
    DEBIAN_VERSION: OS.debianVersion,
    OSTREE_OSNAME: "debian",
    MAX_CPUS: param("MAX_CPUS"),
    DOCKER_HOST: SERVICES.docker.url,
  };
  return Object.entries(fixed).map(([name, value]) => ({ name, value }));
}
