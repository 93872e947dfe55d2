/**
 * Settings of the build machinery: Tekton, how images are built, Jenkins, the scheduled builds
 * and how a StarlingX host is reached for its node labels.
 */
import { z } from "zod";
import { tryParseQuantity } from "../quantity";
import { positiveQuantity, urlSetting, wholeCount } from "./fields";
import { Problem } from "./tenancy";
import { DEBIAN_SNAPSHOT, IMAGES, MANIFEST_NAMES, ManifestName, STX_TOOLS, STX_TOOLS_SOURCE } from "../versions";
import { sysboxFor } from "../build/sysboxSupport";

/** StarlingX's build containers; sites that build their own (stx-init-env --rebuild) point here. */
const toolsImages = z.strictObject({
  /** Registry and path the four images sit under, ending in "/" (the tools' STX_PREBUILT_BUILDER_IMAGE_PREFIX). */
  prefix: z.string().regex(/^([a-z0-9.-]+(:\d+)?\/)?([a-z0-9._-]+\/)*$/, { message: 'must be a registry path ending in "/", e.g. "docker.io/starlingx/"' }).default(STX_TOOLS.prefix),
  /** One tag for stx-builder, stx-pkgbuilder, stx-lat-tool and stx-aptly (STX_PREBUILT_BUILDER_IMAGE_TAG). */
  tag: z.string()
    // The tools name the four images by one tag (stx-init-env: <prefix><image>:<tag>); one digest cannot fit four images.
    .refine((t) => !t.includes("@"), { message: "must be a tag alone, without @sha256:<digest>: the four images share the tag and each has its own digest" })
    .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, { message: "must be a Docker tag" }).default(STX_TOOLS.tag),
});

/** One kaniko --registry-map entry: <registry>=<registry>[/<path>/]. */
const REGISTRY_MAP_ENTRY = "[a-z0-9.-]+(:\\d+)?=[a-z0-9.-]+(:\\d+)?(/[a-z0-9._-]+)*/?";

/** A container image reference: registry/path with a tag, a digest, or both (never neither: that is "latest"). */
const IMAGE_REF = /^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(@sha256:[0-9a-f]{64})?|@sha256:[0-9a-f]{64})$/;

/**
 * The farm builds StarlingX's build containers itself (seed 001: "Docker images would be built
 * using kaniko"): a Task with kaniko clones starlingx/tools at a pinned commit, builds stx-builder,
 * stx-pkgbuilder and stx-aptly from its Dockerfiles and pushes them to the farm's registry, where
 * build.toolsImages can point (docs/build.md).
 */
const toolsImageBuild = z.strictObject({
  enabled: z.boolean().default(false),
  /** The starlingx/tools repository (http or https; kaniko clones it itself). */
  gitUrl: urlSetting(["https", "http"], STX_TOOLS_SOURCE.url).default(STX_TOOLS_SOURCE.url),
  /** The branch (full ref) cloned; `commit` must be in its history. */
  gitRef: z.string().regex(/^refs\/heads\/[A-Za-z0-9._/-]+$/, { message: 'must be a full branch ref, e.g. "refs/heads/master"' }).default(STX_TOOLS_SOURCE.ref),
  /** The commit the images are built from (a full 40-character hash: a branch name moves). */
  commit: z.string().regex(/^[0-9a-f]{40}$/, { message: "must be a full commit hash (40 lower-case hex characters), not a branch or short hash" }).default(STX_TOOLS_SOURCE.commit),
  /** kaniko's executor image; a site that builds the maintained fork sets its own here. */
  kanikoImage: z.string().regex(IMAGE_REF, { message: "must be an image reference with a tag or digest, e.g. gcr.io/kaniko-project/executor:v1.24.0" }).default(IMAGES.kaniko),
  /** Repository path in the farm's registry the images go under, ending in "/". */
  repository: z.string().regex(/^([a-z0-9]+([._-][a-z0-9]+)*\/)+$/, { message: 'must be a registry repository path ending in "/", e.g. "starlingx-tools/"' }).default("starlingx-tools/"),
  /**
   * Where kaniko pulls the Dockerfiles' base images (FROM debian:trixie) instead of their own
   * registry: kaniko's --registry-map, e.g. "index.docker.io=registry.example.org/dockerhub/" for a
   * site's Docker Hub mirror; several joined with ";". Empty: pulled from where they name.
   */
  registryMap: z.string().regex(new RegExp(`^(${REGISTRY_MAP_ENTRY}(;${REGISTRY_MAP_ENTRY})*)?$`), { message: 'must be "<registry>=<registry>[/<path>/]" entries joined with ";", e.g. "index.docker.io=registry.example.org/dockerhub/"' }).default(""),
});

export const IMAGE_BUILD_MODES = ["sysbox", "docker-in-docker", "none"] as const;
export type ImageBuildMode = (typeof IMAGE_BUILD_MODES)[number];

const tekton = z.strictObject({
  /**
   * A local directory holding the release manifests as `<name>.yaml` (tekton-pipelines,
   * tekton-triggers, tekton-interceptors, tekton-dashboard) for sites without internet access;
   * the pinned upstream URLs of src/versions.ts when left out.
   */
  manifestDir: z.string().min(1, { message: "must be a directory path" }).optional(),
  /**
   * The site's SHA-256 of each manifest (sha256sum of the file it checked), by name; they take
   * precedence over src/versions.ts, which has none verified yet. A manifest is applied only
   * when its file matches its pin.
   */
  manifestSha256: z.partialRecord(z.enum(MANIFEST_NAMES as [ManifestName, ...ManifestName[]]), z.string().regex(/^[0-9a-f]{64}$/, { message: "must be a SHA-256 in lower-case hex (64 characters), as sha256sum prints it" })).default({}),
  /** Default timeout of a PipelineRun; a full StarlingX build takes several hours. */
  defaultTimeoutMinutes: wholeCount.default(600),
  /** Install the (read-only) Tekton Dashboard. */
  dashboard: z.boolean().default(true),
  /**
   * Who reaches the Dashboard, which shows every tenant namespace's runs, parameters and logs:
   * "port-forward" (default): no Ingress and no NodePort; cluster admins open it with
   * `kubectl -n tekton-dashboard port-forward svc/tekton-dashboard 9097`; "public": the stack's
   * Ingress or NodePort, with no login, refused unless the stack has at most one user.
   */
  dashboardAccess: z.enum(["port-forward", "public"]).default("port-forward"),
  /** Finished PipelineRuns kept per namespace when a new scheduled run starts. */
  keepRuns: wholeCount.default(20),
});

const jenkins = z.strictObject({
  enabled: z.boolean().default(false),
  /** Size of the Jenkins home volume. */
  storage: positiveQuantity.default("20Gi"),
  /**
   * A local copy of the pinned chart (CHARTS.jenkins in src/versions.ts: a `.tgz` or an unpacked
   * directory) for sites without internet access, and the tests; the chart repository when left out.
   */
  chartPath: z.string().min(1, { message: "must be a chart archive or directory path" }).optional(),
});

const starlingxHost = z.strictObject({
  /** SSH address of the active controller; the API server's host when left out. */
  address: z.string().min(1).optional(),
  user: z.string().min(1).default("sysadmin"),
  port: z.number().int().min(1).max(65535).default(22),
});

/** The Debian codename every build is for (DEBIAN_DISTRIBUTION, DIST). */
const BUILD_CODENAME = "trixie";

const WEEKDAY_HELP = 'must be a day of the week 0 (Sunday) to 6 (Saturday), or "never"';

export const build = z.strictObject({
  /** The distribution StarlingX is built for (a path segment of every artifact). */
  distro: z.enum(["debian"]).default("debian"),
  /** Size of each run's workspace volume (checkout, build tree, ISO); freed when the run ends. */
  workspaceSize: positiveQuantity.default("150Gi"),
  /** How application images that need a Docker daemon are built. */
  imageBuilds: z.enum(IMAGE_BUILD_MODES),
  /** StarlingX's build containers (builder, pkgbuilder, LAT, aptly). */
  toolsImages: toolsImages.prefault({}),
  /** Build the tools images in the farm (kaniko) instead of pulling them from Docker Hub. */
  toolsImageBuild: toolsImageBuild.prefault({}),
  /**
   * The Debian snapshot every build of this stack downloads from (upstream's
   * project.debian_snapshot_timestamp); moving it is a new source of truth for the whole farm.
   */
  debianSnapshot: z.string().regex(/^\d{8}T\d{6}Z$/, { message: "must be a snapshot.debian.org timestamp YYYYMMDDTHHMMSSZ, e.g. 20260516T111458Z" }).default(DEBIAN_SNAPSHOT),
  tekton: tekton.prefault({}),
  jenkins: jenkins.prefault({}),
  /**
   * Nodes that get the sysbox runtime (label sysbox-install=yes); every node in cluster.nodes
   * when left out.
   */
  sysboxNodes: z.array(z.string().min(1)).optional(),
  /** Day of the week (0 = Sunday ... 6 = Saturday) on which scheduled builds run even without changes; "never" to turn it off. */
  forcedBuildWeekday: z
    .union([z.literal("never"), z.number().int({ message: WEEKDAY_HELP }).min(0, { message: WEEKDAY_HELP }).max(6, { message: WEEKDAY_HELP })], {
      message: WEEKDAY_HELP,
    })
    .default(0),
  /** Time zone of branch schedules (an IANA name), so "0 1 * * *" means 01:00 there. */
  timeZone: z.string().min(1).default("Etc/UTC"),
  /** How the node-labelling commands reach a StarlingX host (profile starlingx only). */
  starlingxHost: starlingxHost.optional(),
});
export type BuildSettings = z.output<typeof build>;

/** Cross-field checks of the build section; `profile` and `nodes` come from the rest of the stack. */
export function buildProblems(
  settings: BuildSettings,
  context: { profile: string; nodes: readonly string[]; kubernetesVersion?: string; quotaStorage?: string; users?: number; registryMode?: string },
  path: (string | number)[] = ["build"],
): Problem[] {
  const problems: Problem[] = [];
  const { profile } = context;
  if (settings.tekton.dashboard && settings.tekton.dashboardAccess === "public" && (context.users ?? 0) > 1) {
    problems.push({
      path: [...path, "tekton", "dashboardAccess"],
      message: `"public" exposes the Dashboard without a login, showing every tenant's runs, parameters and logs to anyone, and this stack has ${context.users} users; use "port-forward" (cluster admins only)`,
    });
  }
  if (settings.imageBuilds === "sysbox" && profile === "minikube") {
    problems.push({
      path: [...path, "imageBuilds"],
      message: '"sysbox" is not supported on minikube; use "docker-in-docker" (privileged namespaces only) or "none"',
    });
  }
  if (settings.imageBuilds === "sysbox" && profile === "starlingx") {
    problems.push({
      path: [...path, "imageBuilds"],
      message: '"sysbox" cannot be installed on a StarlingX host (sysbox-deploy-k8s supports Ubuntu-based nodes only, and switches the node to CRI-O); use "none"',
    });
  }
  // Only where sysbox could be installed at all: minikube and StarlingX are refused above.
  if (settings.imageBuilds === "sysbox" && profile === "cengn" && context.kubernetesVersion !== undefined) {
    const choice = sysboxFor(context.kubernetesVersion);
    if (!choice.ok) {
      problems.push({
        path: ["cluster", "kubernetesVersion"],
        message: `${choice.reason}; build.imageBuilds is "sysbox": set cluster.kubernetesVersion to one the pinned installer supports, or build.imageBuilds to "none"`,
      });
    }
  }
  if (settings.imageBuilds === "docker-in-docker" && profile !== "minikube") {
    problems.push({
      path: [...path, "imageBuilds"],
      message: `"docker-in-docker" needs privileged pods, which only the minikube profile allows; on ${profile} use "sysbox" or "none"`,
    });
  }
  if (settings.jenkins.enabled && profile === "minikube") {
    problems.push({
      path: [...path, "jenkins", "enabled"],
      message: "Jenkins is not deployed on minikube (too heavy for one laptop); scheduled builds use a CronJob there",
    });
  }
  if (settings.starlingxHost && profile !== "starlingx") {
    problems.push({
      path: [...path, "starlingxHost"],
      message: `is only used on the starlingx profile (node labels via "system host-label-assign"); remove it on ${profile}`,
    });
  }
  if (settings.imageBuilds === "sysbox" && settings.sysboxNodes === undefined && context.nodes.length === 0) {
    problems.push({
      path: [...path, "sysboxNodes"],
      message: "lists no node and cluster.nodes is empty; name the nodes that get the sysbox runtime",
    });
  }
  settings.sysboxNodes?.forEach((node, index) => {
    if (!context.nodes.includes(node)) {
      problems.push({
        path: [...path, "sysboxNodes", index],
        message: `"${node}" is not in cluster.nodes (${context.nodes.join(", ") || "none"}); name a configured node`,
      });
    }
  });
  // downloader, build-pkgs and build-image stop with "Invalid tooling" unless the image's
  // VERSION_CODENAME is the build's (starlingx/root build-tools/stx/downloader:847).
  if (!settings.toolsImages.tag.split("-").includes(BUILD_CODENAME)) {
    problems.push({
      path: [...path, "toolsImages", "tag"],
      message: `"${settings.toolsImages.tag}" does not name ${BUILD_CODENAME}; the tools refuse images of another codename ("Invalid tooling"). Use stx-init-env's scheme <branch>-debian-${BUILD_CODENAME}-amd64-<version>`,
    });
  }
  if (settings.toolsImageBuild.enabled && context.registryMode === "none") {
    problems.push({
      path: [...path, "toolsImageBuild", "enabled"],
      message: 'the tools images are pushed to the farm\'s registry and services.registry.mode is "none"; set it to "own" or "platform", or turn toolsImageBuild off',
    });
  }
  const workspace = tryParseQuantity(settings.workspaceSize);
  const quota = context.quotaStorage === undefined ? undefined : tryParseQuantity(context.quotaStorage);
  if (workspace !== undefined && quota !== undefined && workspace > quota) {
    problems.push({
      path: [...path, "workspaceSize"],
      message: `${settings.workspaceSize} is more than a namespace may claim (tenancy.quota.storage ${context.quotaStorage}); no run could start`,
    });
  }
  if (!isValidTimeZone(settings.timeZone)) {
    problems.push({ path: [...path, "timeZone"], message: `"${settings.timeZone}" is not an IANA time zone such as "Etc/UTC" or "America/Toronto"` });
  }
  return problems;
}

function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The four images of StarlingX's build containers, as stx-init-env names them. */
export function toolImageRefs(settings: BuildSettings): { builder: string; pkgbuilder: string; lat: string; aptly: string } {
  const ref = (image: string) => `${settings.toolsImages.prefix}${image}:${settings.toolsImages.tag}`;
  return { builder: ref("stx-builder"), pkgbuilder: ref("stx-pkgbuilder"), lat: ref("stx-lat-tool"), aptly: ref("stx-aptly") };
}

/** The nodes that get sysbox: the configured list, or every known node. */
export function sysboxNodeNames(settings: BuildSettings, nodes: readonly string[]): string[] {
  if (settings.imageBuilds !== "sysbox") return [];
  return [...(settings.sysboxNodes ?? nodes)];
}


/** The tag the farm gives the images it builds: stx-init-env's scheme, with the commit as TAG_VER. */
export function builtToolsTag(settings: BuildSettings): string {
  return `master-debian-${BUILD_CODENAME}-amd64-${settings.toolsImageBuild.commit.slice(0, 12)}`;
}
