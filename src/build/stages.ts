/**
 * One record per stage of the StarlingX build: its name, Task, the upstream tools it runs, its
 * builder script, switches, services, privileges and what it runs after. The Tasks and the
 * Pipeline (definition.ts), the sidecars (services.ts), the PipelineRuns' runtime classes
 * (runs.ts), the contract tests and the stage table of docs/build.md are all derived from here,
 * so a stage is declared once.
 */
import { SwitchName } from "./params";
import { ServiceName, TOOLS } from "./contract";

/**
 * "system": the stage mounts, chroots or runs a daemon (schroots, LAT, Docker, the downloader's apt
 * chroot), so it runs under sysbox or, on minikube's fallback, privileged; never on a stack whose
 * build.imageBuilds is "none". "none": an ordinary container.
 */
export type Privilege = "none" | "system";

export interface StageRecord {
  readonly name: string;
  readonly task: string;
  readonly description: string;
  /** Upstream tools the stage runs (src/build/contract.ts TOOLS); empty for our own steps. */
  readonly tools: readonly string[];
  /** The builder step: its name and the key of its script in SCRIPTS (scripts.ts). */
  readonly step?: { readonly name: string; readonly script: string };
  /** Run parameters the builder step reads (besides the builder's environment). */
  readonly params: readonly string[];
  /** Switches that must all be "true" for the stage to run. */
  readonly switches: readonly SwitchName[];
  /** Fixed Task parameters of this use (e.g. BUILD_TYPE). */
  readonly fixed?: Readonly<Record<string, string>>;
  /** Sidecars of the stage's pod (src/build/services.ts). */
  readonly services: readonly ServiceName[];
  readonly privileges: Privilege;
  readonly runAfter: readonly string[];
  /**
   * Variables a tool of this stage reads that the stage does not set, each with the reason it
   * need not (checked against the upstream code by test/upstream/envReads.test.ts).
   */
  readonly waived?: Readonly<Record<string, string>>;
}

/** Variables shell tools read that the shell or the container itself provides. */
export const SHELL_PROVIDED = {
  HOME: "set by the container runtime for the step's user",
  HOSTNAME: "set by the shell (bash sets HOSTNAME)",
  PWD: "set by the shell for the working directory",
  BASH_SOURCE: "bash's own array",
  PIPESTATUS: "bash's own array",
  RANDOM: "bash's own",
  OPTARG: "getopts' own",
  OPTIND: "getopts' own",
  SHELL: "set by bash when unset",
  VERSION_CODENAME: "from /etc/os-release, which the scripts source only when neither --os-codename nor DEBIAN_DISTRIBUTION is given",
} as const;

/** Reads of aptly_deb_usage.py, which every stage talking to aptly imports. */
const APTLY_WAIVERS = {
  REPOMGR_REQ_TIMEOUT_FACTOR: "optional multiplier of aptly task timeouts (aptly_deb_usage.py); the default suits an aptly on the pod's loopback",
} as const;

/** The stages in the order StarlingX builds them (stx-tools' build flow, on Kubernetes). */
export const STAGE_RECORDS: readonly StageRecord[] = [
  {
    name: "get-sources", task: "stx-get-sources",
    description: "Check out the manifest's projects at the branch (plus a private patch), write CONTEXT, and decide whether a scheduled build is needed.",
    tools: [], params: [], switches: [], services: [], privileges: "none", runAfter: [],
  },
  {
    name: "download-prerequisites", task: "stx-download-prerequisites",
    description: "Download the 3rd-party packages and sources the build needs (through the farm's mirrors) into this build state's aptly.",
    tools: ["downloader", "repo_manage.py"], step: { name: "download", script: "download" },
    params: ["CLEAN_DOWNLOADS", "CLEAN_REPOMGR"], switches: ["BUILD_PACKAGES"],
    // stx_apt_cache.create_apt_chroot: sudo mount -o bind, mount -t devpts, chroot.
    services: ["aptlyApi", "aptlyDeploy"], privileges: "system", runAfter: ["get-sources"],
    waived: { ...APTLY_WAIVERS },
  },
  {
    name: "build-packages-std", task: "stx-build-packages",
    description: "Build the Debian packages of one build type (std or rt) with build-pkgs and pkgbuilder.",
    tools: ["build-pkgs"], step: { name: "build-pkgs", script: "buildPackages" },
    params: ["BUILD_TYPE", "CLEAN_PACKAGES"], switches: ["BUILD_PACKAGES"], fixed: { BUILD_TYPE: "std" },
    services: ["pkgbuilder", "aptlyApi", "aptlyDeploy"], privileges: "system", runAfter: ["download-prerequisites"],
    waived: { ...APTLY_WAIVERS },
  },
  {
    name: "build-packages-rt", task: "stx-build-packages",
    description: "Build the Debian packages of one build type (std or rt) with build-pkgs and pkgbuilder.",
    tools: ["build-pkgs"], step: { name: "build-pkgs", script: "buildPackages" },
    params: ["BUILD_TYPE", "CLEAN_PACKAGES"], switches: ["BUILD_PACKAGES", "BUILD_RT"], fixed: { BUILD_TYPE: "rt" },
    services: ["pkgbuilder", "aptlyApi", "aptlyDeploy"], privileges: "system", runAfter: ["build-packages-std"],
    waived: { ...APTLY_WAIVERS },
  },
  {
    name: "build-iso", task: "stx-build-iso",
    description: "Build the installer ISO with build-image and LAT.",
    tools: ["build-image"], step: { name: "build-image", script: "buildIso" },
    params: ["CLEAN_ISO"], switches: ["BUILD_ISO"],
    services: ["lat", "aptlyApi", "aptlyDeploy"], privileges: "system", runAfter: ["build-packages-rt"],
    waived: { ...APTLY_WAIVERS, TIMESTAMP: "build-image's own override of the ISO timestamp; unset means now" },
  },
  // The image stages follow the ISO: each stage with aptly runs it on the one state volume, so no
  // two of them may run at once (aptly holds its database open).
  {
    name: "build-base-image", task: "stx-build-base-image",
    description: "Build the stx-<distro> base image with build-stx-base.sh (it renders the Dockerfile's *.in files) and push it.",
    tools: ["build-stx-base.sh"], step: { name: "build-stx-base", script: "buildBaseImage" },
    params: ["REGISTRY", "CLEAN_DOCKER"], switches: ["BUILD_IMAGES"],
    services: ["docker", "aptlyApi", "aptlyDeploy"], privileges: "system", runAfter: ["build-iso"],
  },
  {
    name: "build-wheels", task: "stx-build-wheels",
    description: "Build the Python wheels tarball (needs a Docker daemon, and aptly for the wheel builder's apt sources).",
    tools: ["build-wheel-tarball.sh"], step: { name: "build-wheels", script: "buildWheels" },
    params: ["REGISTRY", "CLEAN_DOCKER"], switches: ["BUILD_IMAGES"],
    services: ["docker", "aptlyApi", "aptlyDeploy"], privileges: "system", runAfter: ["build-base-image"],
    waived: {
      BUILD_OPUTPUT_PATH: "upstream's misspelling of BUILD_OUTPUT_PATH in an error message of build-base-wheels.sh; empty either way",
      BUILD_OPUTPUT_PATH_PY2: "as BUILD_OPUTPUT_PATH",
      SKIP_CONSTRAINTS_PY: "a list openstack.cfg may set; the trixie one does not, so no constraint is skipped",
    },
  },
  {
    name: "build-app-images", task: "stx-build-app-images",
    description: "Build and push the application images (a Docker daemon, aptly, and a file server for the wheels).",
    tools: ["build-stx-images.sh"], step: { name: "build-images", script: "buildImages" },
    params: ["REGISTRY", "CLEAN_DOCKER"], switches: ["BUILD_IMAGES"],
    services: ["docker", "aptlyApi", "aptlyDeploy", "files"], privileges: "system", runAfter: ["build-wheels"],
    waived: { POSTBUILD_COMMAND: "set by each image's build file, which build-stx-images.sh sources" },
  },
  {
    name: "build-helm-charts", task: "stx-build-helm-charts",
    description: "Package the application Helm charts.",
    tools: ["build-helm-charts.sh"], step: { name: "build-helm-charts", script: "buildHelmCharts" },
    params: [], switches: ["BUILD_HELM_CHARTS"],
    services: [], privileges: "none", runAfter: ["build-app-images", "build-packages-rt"],
    waived: {
      PYTHON: "interpreter override; unset, build-helm-charts.sh tries python2, python and python3 in turn",
      PYTHON2: "an interpreter override, as PYTHON",
      PYTHON3: "an interpreter override, as PYTHON",
    },
  },
  {
    name: "publish", task: "stx-publish",
    description: "Upload the outputs and CONTEXT to <release-id>/<distro>/<build-date>/outputs/ in the object store.",
    tools: [], params: [], switches: [], services: [], privileges: "none", runAfter: ["build-iso", "build-helm-charts"],
  },
];

/** Names of the stages whose pods need a Docker daemon. */
export const dockerStages = (): string[] => STAGE_RECORDS.filter((s) => s.services.includes("docker")).map((s) => s.name);

/** The stage records that define a Task (one per Task name; build-packages-std and -rt share one). */
export function taskRecords(): StageRecord[] {
  const seen = new Set<string>();
  return STAGE_RECORDS.filter((s) => (seen.has(s.task) ? false : (seen.add(s.task), true)));
}

/** The record of a Task. */
export function recordOfTask(task: string): StageRecord {
  const record = STAGE_RECORDS.find((s) => s.task === task);
  if (!record) throw new Error(`no stage record for Task "${task}"`);
  return record;
}

/**
 * Checks the records against each other and the tools' contract: each tool is known, each
 * service a tool needs is in the stage's pod, runAfter names earlier stages, and stages that
 * run aptly on the state volume are ordered (never two at once).
 */
export function checkStageRecords(records: readonly StageRecord[] = STAGE_RECORDS): string[] {
  const problems: string[] = [];
  const names = records.map((r) => r.name);
  records.forEach((r, i) => {
    for (const after of r.runAfter) if (!names.slice(0, i).includes(after)) problems.push(`${r.name}: runs after "${after}", which is not an earlier stage`);
    for (const tool of r.tools) {
      const contract = TOOLS.find((t) => t.tool === tool);
      if (!contract) { problems.push(`${r.name}: no contract for tool "${tool}"`); continue; }
      for (const service of contract.services) if (!r.services.includes(service)) problems.push(`${r.name}: ${tool} needs ${service}, which the stage does not run`);
    }
    if (r.services.some((s) => s !== "aptlyApi" && s !== "aptlyDeploy") && r.privileges !== "system") problems.push(`${r.name}: its services need privileges "system"`);
  });
  const aptly = records.filter((r) => r.services.includes("aptlyApi"));
  for (let i = 0; i < aptly.length; i++) {
    for (let j = i + 1; j < aptly.length; j++) {
      if (!runsBefore(records, aptly[i].name, aptly[j].name)) problems.push(`${aptly[i].name} and ${aptly[j].name} may run at once, each with an aptly on the same state volume`);
    }
  }
  return problems;
}

/** Whether `first` is an ancestor of `second` through runAfter. */
export function runsBefore(records: readonly StageRecord[], first: string, second: string): boolean {
  const byName = new Map(records.map((r) => [r.name, r]));
  const seen = new Set<string>();
  const stack = [...(byName.get(second)?.runAfter ?? [])];
  while (stack.length) {
    const next = stack.pop()!;
    if (next === first) return true;
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...(byName.get(next)?.runAfter ?? []));
  }
  return false;
}

/** The stage table of docs/build.md, rendered from the records (a test keeps the docs equal to it). */
export function stageTable(): string {
  const rows = STAGE_RECORDS.map((r) => {
    const runs = r.switches.length ? r.switches.join(" + ") : "always";
    const tools = r.tools.length ? r.tools.map((t) => `\`${t}\``).join(", ") : "(our steps)";
    const services = r.services.length ? [...new Set(r.services.map((s) => (s.startsWith("aptly") ? "aptly" : s)))].join(", ") : "none";
    return `| ${r.name} | \`${r.task}\` | ${runs} | ${tools} | ${services} | ${r.privileges} | ${r.runAfter.join(", ") || "-"} |`;
  });
  return ["| stage | Task | runs when | tools | services | privileges | after |", "|---|---|---|---|---|---|---|", ...rows].join("\n");
}
