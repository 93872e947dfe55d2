/**
 * The services StarlingX's tools talk to, as Tekton sidecars of the Task that needs them: they
 * start with the stage's pod, share its loopback and its state volume (mounted at /localdisk like
 * upstream's hostPath), and stop with it, so nothing idles between builds. Which Task gets which
 * sidecar follows from its stage record (src/build/stages.ts), checked against the tools' contract.
 */
import { ImageBuildMode } from "../settings/build";
import { LOCALDISK, PATHS, SERVICES, ServiceName, STAGE_SERVICE } from "./contract";
import { recordOfTask } from "./stages";

type Obj = Record<string, unknown>;

/** The services of a Task's pod, from its stage record. */
export function servicesOf(task: string): ServiceName[] {
  return [...recordOfTask(task).services];
}

const tcpReady = (port: number) => ({ readinessProbe: { tcpSocket: { port }, periodSeconds: 2, failureThreshold: 150 } });

/** The sidecars for a Task, in a stable order; aptly's two endpoints are one container. */
export function sidecarsFor(task: string, mode: ImageBuildMode, env: Obj[]): Obj[] {
  const wanted = servicesOf(task);
  // Only minikube's fallback runs privileged; under sysbox the same containers need no privileges.
  const security: Obj = mode === "docker-in-docker" ? { securityContext: { privileged: true } } : {};
  const sidecars: Obj[] = [];
  if (wanted.includes("aptlyApi") || wanted.includes("aptlyDeploy")) sidecars.push(aptly());
  if (wanted.includes("pkgbuilder")) sidecars.push({ ...pkgbuilder(env), ...security });
  if (wanted.includes("lat")) sidecars.push({ ...lat(env), ...security });
  if (wanted.includes("docker")) sidecars.push({ ...docker(), ...security });
  if (wanted.includes("files")) sidecars.push(files());
  return sidecars;
}

/**
 * pkgbuilder reads its settings from the file STX_LOCALRC, never from its environment
 * (starlingx/tools stx/debian/trixie/toCOPY/pkgbuilder/debbuilder.py: set_environ_vars,
 * set_extra_repos, assemble_extra_repo); upstream's chart mounts the builder's stx-localrc there.
 * These are the lines it greps for, written as localrc.sample writes them (unquoted: set_extra_repos
 * keeps quotes).
 */
export const STX_LOCALRC = "/usr/local/bin/stx/stx-localrc";
export const LOCALRC_VARS = [
  "PROJECT", "MYUNAME", "MY_RELEASE", "DIST_ID", "DIST", "DIST_ARCH", "OS", "OS_CODENAME", "OS_ARCH", "BUILD_STREAM", "STX_DIST",
  "OS_MIRROR_URL", "OS_MIRROR_DIST_PATH", "OS_MIRROR_DL_PATH", "STX_MIRROR_STRATEGY", "REPOMGR_TYPE", "REPOMGR_URL",
  "REPOMGR_DEPLOY_URL", "REPOMGR_ORIGIN", "BUILDER_URL", "OSTREE_OSNAME", "DEBIAN_SNAPSHOT", "DEBIAN_SECURITY_SNAPSHOT",
  "DEBIAN_DISTRIBUTION", "DEBIAN_VERSION", "MAX_CPUS",
] as const;

/** Shell that writes STX_LOCALRC from the container's environment; a value with blanks or quotes is refused. */
export const WRITE_LOCALRC = `set -eu
mkdir -p "$(dirname ${STX_LOCALRC})"
: > ${STX_LOCALRC}.new
for name in ${LOCALRC_VARS.join(" ")}; do
  value="$(printenv "$name" || true)"
  case "$value" in *[[:space:]\\"\\']*) echo "$name has blanks or quotes, which stx-localrc cannot carry: $value" >&2; exit 1;; esac
  printf 'export %s=%s\n' "$name" "$value" >> ${STX_LOCALRC}.new
done
mv ${STX_LOCALRC}.new ${STX_LOCALRC}`;

/**
 * stx-aptly: its own entrypoint (supervisord: aptly API on 8080, nginx on 80), with aptly's rootDir
 * and nginx's document root moved from /var/aptly onto the state volume, so a branch's
 * repositories survive between stages and between daily builds.
 */
function aptly(): Obj {
  return {
    name: "aptly",
    image: "$(params.APTLY_IMAGE)",
    script: `#!/bin/bash
set -eu
mkdir -p ${PATHS.aptly}
for conf in /etc/aptly.conf /etc/nginx/nginx.conf /etc/nginx/nginx.conf.template /etc/nginx/conf.d/*.conf; do
  if [ -f "$conf" ]; then sed -i 's#/var/aptly#${PATHS.aptly}#g' "$conf"; fi
done
exec /bin/entrypoint.sh
`,
    ...tcpReady(SERVICES.aptlyApi.port),
  };
}

/**
 * stx-pkgbuilder: upstream's Flask app on SERVICES.pkgbuilder.port (its own 80 is aptly's nginx
 * here), started through `args` so the image's tini entrypoint stays (stx-pkgbuilder.Dockerfile
 * ENTRYPOINT ["/usr/bin/tini", "--"]), after writing the stx-localrc it reads.
 */
function pkgbuilder(env: Obj[]): Obj {
  return {
    name: "pkgbuilder",
    image: "$(params.PKGBUILDER_IMAGE)",
    workingDir: "/opt",
    args: ["/bin/bash", "-c", `${WRITE_LOCALRC}
exec ionice -c 3 nice -n 15 python3 -c "import app; app.app.run(host='0.0.0.0', port=${SERVICES.pkgbuilder.port}, debug=False)"`],
    env,
    ...tcpReady(SERVICES.pkgbuilder.port),
  };
}

/**
 * The builder files server (upstream's stx-builder-files-http: nginx serving /localdisk/designer
 * and /localdisk/loadbuild on 8088): build-stx-images.sh hands loci the wheels tarball as
 * BUILDER_FILES_URL + its path. The builder image's Python serves exactly /localdisk.
 */
function files(): Obj {
  return {
    name: "files",
    image: "$(params.BUILDER_IMAGE)",
    args: ["/bin/sh", "-c", `mkdir -p /tmp/files && ln -sfn ${LOCALDISK} /tmp/files${LOCALDISK} && exec python3 -m http.server ${SERVICES.files.port} --directory /tmp/files`],
    ...tcpReady(SERVICES.files.port),
  };
}

/** stx-lat-tool: latd as its image starts it, watching the channel directory on the shared volume. */
function lat(env: Obj[]): Obj {
  return { name: "lat", image: "$(params.LAT_IMAGE)", env: [...env, { name: "WORKSPACE_DIR", value: LOCALDISK }] };
}

/**
 * The Docker daemon, reachable only on the pod's loopback. `--insecure-registry` only where the
 * build's registry speaks plain HTTP (REGISTRY_INSECURE: our own in-cluster registry; the stx-docker
 * chart's insecureRegistries is the same switch upstream), never for a TLS registry.
 */
function docker(): Obj {
  return {
    name: "docker-daemon",
    image: "$(params.DOCKER_IMAGE)",
    env: [
      // Set and empty (no TLS): without `value`, since the API server drops an empty one and the
      // provider would then show a change on every preview.
      { name: "DOCKER_TLS_CERTDIR" },
      { name: "DOCKER_MTU", value: "$(params.DOCKER_MTU)" },
      { name: "REGISTRY", value: "$(params.REGISTRY)" },
      { name: "REGISTRY_INSECURE", value: "$(params.REGISTRY_INSECURE)" },
    ],
    script: `#!/bin/sh
set -eu
set -- --host=${SERVICES.docker.url} --mtu="\${DOCKER_MTU}" --data-root=${PATHS.docker}
if [ "\${REGISTRY_INSECURE}" = "true" ] && [ -n "\${REGISTRY}" ]; then set -- "$@" --insecure-registry="\${REGISTRY}"; fi
exec dockerd-entrypoint.sh dockerd "$@"
`,
    ...tcpReady(SERVICES.docker.port),
  };
}

/**
 * The Service of every build namespace that `docker build` reaches the running image stage's
 * aptly (nginx, 80) and files server (8088) by (STAGE_SERVICE). It selects the label the image
 * Tasks carry (Tekton copies a Task's labels onto its pods); not-ready addresses are published
 * because a Tekton pod reports ready only while all its containers run.
 */
export function stageServiceSpec(namespace: string, labels: Record<string, string>): { metadata: Obj; spec: Obj } {
  return {
    metadata: { name: STAGE_SERVICE.name, namespace, labels },
    spec: {
      selector: { [STAGE_SERVICE.label.key]: STAGE_SERVICE.label.value },
      publishNotReadyAddresses: true,
      ports: [
        { name: "aptly", port: SERVICES.aptlyDeploy.port, targetPort: SERVICES.aptlyDeploy.port },
        { name: "files", port: SERVICES.files.port, targetPort: SERVICES.files.port },
      ],
    },
  };
}
