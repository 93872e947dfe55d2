/**
 * The farm builds StarlingX's build containers itself (seed 001: "Docker images would be built
 * using kaniko ... appropriate for building Debian build tools images"): one Tekton Task whose
 * steps run kaniko, no Docker daemon and no privilege, on the Dockerfiles of a pinned
 * starlingx/tools commit, and push to the farm's registry. Pure: the Task is a plain object.
 *
 * What upstream builds and how (starlingx/tools at STX_TOOLS_SOURCE.commit, stx-init-env):
 * - DOCKER_IMAGES (stx-init-env:74) are stx-builder, stx-pkgbuilder, stx-lat-tool and stx-aptly;
 *   stx-lat-tool is left out: its Dockerfile downloads the LAT SDK from StarlingX's mirror
 *   (stx/debian/trixie/dockerfiles/stx-lat-tool.Dockerfile:19-25), a build context of its own.
 * - each is `docker buildx build -f stx/<os_id>/<codename>/dockerfiles/<image>.Dockerfile
 *   $STX_TOOLS_DIR` (stx-init-env:1055-1071): the repository's root is the build context, the
 *   Dockerfiles COPY from stx/debian/trixie/toCOPY/.
 * - build arguments os_mirror_url, os_mirror_dist_path, debian_snapshot_timestamp
 *   (stx-init-env:1013-1022; the LAT ones only matter to stx-lat-tool); the Dockerfiles join
 *   `${os_mirror_url}${os_mirror_dist_path}deb.debian.org/debian` into apt sources
 *   (stx-builder.Dockerfile:43-48, stx-pkgbuilder.Dockerfile:33-36, stx-aptly.Dockerfile:33-36), and
 *   stx-builder refuses to build without debian_snapshot_timestamp (stx-builder.Dockerfile:19-22).
 */
import { MirrorSettings } from "../settings/services";

export const TOOLS_IMAGES_TASK = "stx-tools-images";
/** The images the farm builds, in the order stx-init-env builds them (DOCKER_IMAGES). */
export const BUILT_TOOLS_IMAGES = ["stx-builder", "stx-pkgbuilder", "stx-aptly"] as const;
export type BuiltToolsImage = (typeof BUILT_TOOLS_IMAGES)[number];

/** kaniko's executor image has no shell: Docker's config is a mounted file, not a copied one. */
const KANIKO_DOCKER_CONFIG = "/kaniko/.docker";

export interface ToolsImagesTaskArgs {
  /** The shared namespace: build namespaces resolve the Task from here (cluster resolver). */
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly kanikoImage: string;
  /** starlingx/tools: http(s) URL, branch ref, and the commit built. */
  readonly gitUrl: string;
  readonly gitRef: string;
  readonly commit: string;
  /** host[:port] of the farm's registry as pods reach it. */
  readonly registry: string;
  /** The registry speaks plain HTTP (our own registry's Service inside the cluster). */
  readonly registryInsecure: boolean;
  /** dockerconfigjson Secret in the run's namespace (components/services/registry.ts REGISTRY_SECRET). */
  readonly registrySecret: string;
  /** Path under the run's own registry prefix (`<namespace>/`, the only one its login may push to). */
  readonly repository: string;
  readonly tag: string;
  readonly codename: string;
  readonly osMirrorUrl: string;
  readonly osMirrorDistPath: string;
  readonly debianSnapshot: string;
  /** kaniko's --registry-map ("" for none): where the Dockerfiles' FROM images are pulled. */
  readonly registryMap: string;
}

type Obj = Record<string, unknown>;

/**
 * kaniko's git build context (pkg/buildcontext/git.go of v1.24.0): `git://<host/path>#<ref>#<commit>`
 * clones <ref> and checks out <commit>; GIT_PULL_METHOD says http or https.
 */
export function kanikoGitContext(gitUrl: string, gitRef: string, commit: string): { context: string; pullMethod: string } {
  const url = new URL(gitUrl);
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`build.toolsImageBuild.gitUrl: kaniko clones over http or https only, not ${url.protocol}`);
  if (!/^[0-9a-f]{40}$/.test(commit)) throw new Error(`build.toolsImageBuild.commit: "${commit}" is not a full commit hash`);
  return { context: `git://${url.host}${url.pathname}#${gitRef}#${commit}`, pullMethod: url.protocol.slice(0, -1) };
}

/**
 * kaniko needs root inside its container (it unpacks the base image over its own root file system,
 * with every file's owner, and runs RUN commands there: apt, dpkg, chown) but no privilege: no
 * `privileged`, no host namespaces, no added capability beyond the runtime's defaults. Of those it
 * keeps what unpacking and dpkg use (CHOWN, DAC_OVERRIDE, FOWNER, FSETID: owners and set-id bits;
 * SETUID, SETGID: apt drops to _apt; SETFCAP: packages that set file capabilities; SYS_CHROOT:
 * stx-builder runs debootstrap's second stage with `RUN chroot $APT_CHROOT_DIR ...`,
 * stx-builder.Dockerfile:150, which Docker's default capabilities allow) and drops the rest
 * (NET_RAW, MKNOD, KILL, ...). No privilege escalation (nothing in the builds
 * needs a setuid binary to gain rights), the runtime's seccomp profile. All of it passes Pod
 * Security "baseline" (the build namespaces' level); "restricted" refuses any root container.
 */
export const KANIKO_SECURITY_CONTEXT = {
  runAsUser: 0,
  runAsNonRoot: false,
  privileged: false,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"], add: ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "SETUID", "SETGID", "SETFCAP", "SYS_CHROOT"] },
  seccompProfile: { type: "RuntimeDefault" },
} as const;

const PARAMS: readonly { name: string; description: string; key: keyof ToolsImagesTaskArgs | "gitContext" | "gitPullMethod" }[] = [
  { name: "GIT_CONTEXT", description: "kaniko's git context of starlingx/tools: git://<host/path>#<branch ref>#<commit>.", key: "gitContext" },
  { name: "GIT_PULL_METHOD", description: "http or https (kaniko's GIT_PULL_METHOD).", key: "gitPullMethod" },
  { name: "CODENAME", description: "Debian codename of the Dockerfiles (stx/debian/<codename>/dockerfiles/).", key: "codename" },
  { name: "REGISTRY", description: "host[:port] of the farm's registry.", key: "registry" },
  { name: "INSECURE_REGISTRY", description: "The registry again when it speaks plain HTTP, else empty.", key: "registryInsecure" },
  { name: "REGISTRY_SECRET", description: "dockerconfigjson Secret in the run's namespace whose login may push under <namespace>/.", key: "registrySecret" },
  { name: "REPOSITORY", description: "Path under <registry>/<namespace>/ the images go to, ending in /.", key: "repository" },
  { name: "TAG", description: "Tag of all three images (stx-init-env's scheme, the commit as version).", key: "tag" },
  { name: "OS_MIRROR_URL", description: "Build argument os_mirror_url (stx.conf repomgr.os_mirror_url).", key: "osMirrorUrl" },
  { name: "OS_MIRROR_DIST_PATH", description: "Build argument os_mirror_dist_path (stx.conf repomgr.os_mirror_dist_path).", key: "osMirrorDistPath" },
  { name: "DEBIAN_SNAPSHOT", description: "Build argument debian_snapshot_timestamp (stx.conf project.debian_snapshot_timestamp).", key: "debianSnapshot" },
  { name: "REGISTRY_MAP", description: "kaniko's --registry-map: where FROM images are pulled instead (e.g. index.docker.io=<mirror>/dockerhub/), empty for none.", key: "registryMap" },
];

/**
 * Where apt in the Dockerfiles goes. They join `${os_mirror_url}${os_mirror_dist_path}deb.debian.org/debian`
 * and `.../deb.debian.org/debian-security` (stx-aptly.Dockerfile:33-36): a mirror laid out by host
 * name, as StarlingX's is. When the stack mirrors Debian in Pulp under such base paths
 * (`<prefix>deb.debian.org/debian` with <codename>, `<prefix>deb.debian.org/debian-security` with
 * <codename>-security), the builds' apt goes through Pulp: os_mirror_url is Pulp's content URL and
 * os_mirror_dist_path the prefix. Undefined when no mirror has that layout.
 */
export function toolsAptMirror(mirrors: readonly MirrorSettings[], contentUrl: string, codename: string): { osMirrorUrl: string; osMirrorDistPath: string } | undefined {
  const suites = (m: MirrorSettings) => (m.distributions ?? "").split(/\s+/);
  const debian = mirrors.find((m) => m.type === "deb" && /(^|\/)deb\.debian\.org\/debian$/.test(m.basePath ?? "") && suites(m).includes(codename));
  if (!debian) return undefined;
  const prefix = debian.basePath!.slice(0, -"deb.debian.org/debian".length);
  const security = `${prefix}deb.debian.org/debian-security`;
  if (!mirrors.some((m) => m.type === "deb" && m.basePath === security && suites(m).includes(`${codename}-security`))) {
    throw new Error(`services.pulp.mirrors: "${debian.name}" (basePath ${debian.basePath}) is where the tools images' apt goes, and apt there also reads ${codename}-security under ${security} (stx-aptly.Dockerfile:36); declare a deb mirror with that basePath and distributions "${codename}-security"`);
  }
  return { osMirrorUrl: `${contentUrl.replace(/\/+$/, "")}/`, osMirrorDistPath: prefix };
}

/** Where the images go, as the run pushes them: its namespace is its registry prefix. */
export function toolsImageDestination(image: BuiltToolsImage): string {
  return `$(params.REGISTRY)/$(context.taskRun.namespace)/$(params.REPOSITORY)${image}:$(params.TAG)`;
}

function kanikoStep(image: BuiltToolsImage): Obj {
  return {
    name: image,
    image: "$(params.KANIKO_IMAGE)",
    // The executor's path in upstream's image (deploy/Dockerfile ENTRYPOINT): without a command,
    // Tekton reads the image's entry point from its registry while creating the pod, which fails
    // where the controller cannot reach or log in to that registry (found by the cluster tests).
    command: ["/kaniko/executor"],
    args: [
      "--context=$(params.GIT_CONTEXT)",
      `--dockerfile=stx/debian/$(params.CODENAME)/dockerfiles/${image}.Dockerfile`,
      `--destination=${toolsImageDestination(image)}`,
      "--build-arg=os_mirror_url=$(params.OS_MIRROR_URL)",
      "--build-arg=os_mirror_dist_path=$(params.OS_MIRROR_DIST_PATH)",
      "--build-arg=debian_snapshot_timestamp=$(params.DEBIAN_SNAPSHOT)",
      // Empty maps nothing (kaniko's multiKeyMultiValueArg.Set ignores "").
      "--registry-map=$(params.REGISTRY_MAP)",
      // An empty value names no registry: pushes then need TLS.
      "--insecure-registry=$(params.INSECURE_REGISTRY)",
      `--digest-file=$(results.${image}-digest.path)`,
      // Each step starts from an empty root; nothing of the previous image's build is reused.
      "--cleanup",
    ],
    env: [
      { name: "GIT_PULL_METHOD", value: "$(params.GIT_PULL_METHOD)" },
      { name: "DOCKER_CONFIG", value: `${KANIKO_DOCKER_CONFIG}/` },
    ],
    volumeMounts: [{ name: "registry-auth", mountPath: KANIKO_DOCKER_CONFIG, readOnly: true }],
    securityContext: KANIKO_SECURITY_CONTEXT,
    // Only the images the run asks for (IMAGES); a skipped step leaves its digest result unset.
    when: [{ input: image, operator: "in", values: ["$(params.IMAGES[*])"] }],
  };
}

/** The Task (shared namespace) a build namespace runs to build and push the three images. */
export function toolsImagesTask(args: ToolsImagesTaskArgs): Obj {
  const git = kanikoGitContext(args.gitUrl, args.gitRef, args.commit);
  const values: Record<string, string> = {
    ...Object.fromEntries(Object.entries(args).filter(([, v]) => typeof v === "string")),
    gitContext: git.context,
    gitPullMethod: git.pullMethod,
    registryInsecure: args.registryInsecure ? args.registry : "",
  };
  return {
    apiVersion: "tekton.dev/v1",
    kind: "Task",
    metadata: { name: TOOLS_IMAGES_TASK, namespace: args.namespace, labels: args.labels },
    spec: {
      description: "Build stx-builder, stx-pkgbuilder and stx-aptly with kaniko from starlingx/tools at a pinned commit and push them to <registry>/<namespace>/<repository>.",
      params: [
        { name: "KANIKO_IMAGE", type: "string", description: "kaniko's executor image.", default: args.kanikoImage },
        { name: "IMAGES", type: "array", description: `The images to build, of ${BUILT_TOOLS_IMAGES.join(", ")}.`, default: [...BUILT_TOOLS_IMAGES] },
        ...PARAMS.map((p) => ({ name: p.name, type: "string", description: p.description, default: values[p.key] })),
      ],
      results: BUILT_TOOLS_IMAGES.map((image) => ({ name: `${image}-digest`, description: `Digest of the pushed ${image} manifest.` })),
      // The run's login, as kaniko reads it: config.json in DOCKER_CONFIG. Optional, so a registry
      // without logins still works; kaniko never writes there.
      volumes: [{ name: "registry-auth", secret: { secretName: "$(params.REGISTRY_SECRET)", optional: true, items: [{ key: ".dockerconfigjson", path: "config.json" }] } }],
      steps: BUILT_TOOLS_IMAGES.map(kanikoStep),
    },
  };
}

