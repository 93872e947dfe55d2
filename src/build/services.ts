/**
 * The services StarlingX's tools talk to, as Tekton sidecars of the Task that needs them: they
 * start with the stage's pod, share its loopback and its state volume (mounted at /localdisk like
 * upstream's hostPath), and stop with it, so nothing idles between builds. Which Task gets which
 * sidecar follows from src/build/contract.ts (TOOLS[].services).
 */
import { ImageBuildMode } from "../settings/build";
import { LOCALDISK, PATHS, SERVICES, ServiceName, TOOLS } from "./contract";

type Obj = Record<string, unknown>;

/** Tools each Task runs: the services it needs are those of its tools. */
export const TASK_TOOLS: Readonly<Record<string, readonly string[]>> = {
  "stx-download-prerequisites": ["downloader", "repo_manage.py"],
  "stx-build-packages": ["build-pkgs"],
  "stx-build-iso": ["build-image"],
  "stx-build-base-image": ["build-stx-base.sh"],
  "stx-build-wheels": ["build-wheel-tarball.sh"],
  "stx-build-app-images": ["build-stx-images.sh"],
  "stx-build-helm-charts": ["build-helm-charts.sh"],
};

/** The services a Task's tools need, from the contract. */
export function servicesOf(task: string): ServiceName[] {
  const tools = TASK_TOOLS[task] ?? [];
  const names = new Set<ServiceName>();
  for (const tool of tools) {
    const contract = TOOLS.find((t) => t.tool === tool);
    if (!contract) throw new Error(`no contract for tool "${tool}" of ${task}`);
    contract.services.forEach((s) => names.add(s));
  }
  return [...names];
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
  return sidecars;
}

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

/** stx-pkgbuilder: upstream's Flask app, on SERVICES.pkgbuilder.port (its own 80 is aptly's nginx here). */
function pkgbuilder(env: Obj[]): Obj {
  return {
    name: "pkgbuilder",
    image: "$(params.PKGBUILDER_IMAGE)",
    workingDir: "/opt",
    command: ["python3", "-c", `import app; app.app.run(host='0.0.0.0', port=${SERVICES.pkgbuilder.port}, debug=False)`],
    // The chart gives pkgbuilder the builder's localrc (stx_control.py copies stx-localrc to it).
    env,
    ...tcpReady(SERVICES.pkgbuilder.port),
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
