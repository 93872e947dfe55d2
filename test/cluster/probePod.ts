/**
 * Runs a short Node.js script in a pod on the real node and returns what it printed: the cluster
 * tests' way of acting as a build or a person inside the cluster (connections, S3 and registry
 * clients). The image is the farm's own `node` image (the retention jobs'), so nothing extra is
 * loaded; the pod is restricted, as a tenant's pods must be.
 */
import { ControlPlane } from "../../tools/loopback/controlPlane";
import { IMAGES } from "../../src/versions";

export interface ProbeOptions {
  readonly serviceAccount?: string;
  readonly env?: { name: string; value?: string; valueFrom?: object }[];
  readonly labels?: Record<string, string>;
  readonly volumes?: object[];
  readonly volumeMounts?: object[];
  readonly timeoutMs?: number;
  /** Run this instead of `node -e script` (script is then unused). */
  readonly command?: readonly string[];
  /**
   * As root with a writable root file system and the runtime's default capabilities, as a build's
   * apt and sbuild run (a tenant namespace's Pod Security level, baseline or privileged, admits it).
   */
  readonly asRoot?: boolean;
}

/** Creates the pod, waits until it ends, returns its log (throws with the log when it failed). */
export async function runProbe(cluster: ControlPlane, namespace: string, name: string, script: string, opts: ProbeOptions = {}): Promise<string> {
  cluster.kubectl(["delete", "pod", name, "-n", namespace, "--ignore-not-found", "--wait=true"]);
  cluster.kubectl(["apply", "-f", "-"], JSON.stringify(probePod(namespace, name, script, opts)));
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  let phase = "";
  while (Date.now() < deadline) {
    phase = cluster.kubectl(["get", "pod", name, "-n", namespace, "-o", "jsonpath={.status.phase}"]);
    if (phase === "Succeeded" || phase === "Failed") break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const log = phase ? cluster.kubectl(["logs", name, "-n", namespace]) : "";
  if (phase !== "Succeeded") {
    const describe = cluster.kubectl(["get", "pod", name, "-n", namespace, "-o", "jsonpath={.status}"]);
    throw new Error(`probe pod ${namespace}/${name} ended ${phase || "never started"}:\n${log}\n${describe}`);
  }
  cluster.kubectl(["delete", "pod", name, "-n", namespace, "--wait=false"]);
  return log;
}

export function probePod(namespace: string, name: string, script: string, opts: ProbeOptions): object {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels: { "stx-test/probe": name, ...opts.labels } },
    spec: {
      restartPolicy: "Never",
      serviceAccountName: opts.serviceAccount ?? "default",
      automountServiceAccountToken: opts.serviceAccount !== undefined,
      securityContext: opts.asRoot
        ? { runAsUser: 0, seccompProfile: { type: "RuntimeDefault" } }
        : { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
      containers: [{
        name: "probe",
        image: IMAGES.node,
        imagePullPolicy: "IfNotPresent",
        command: opts.command ?? ["node", "-e", script],
        env: opts.env ?? [],
        // No resources: a tenant namespace's LimitRange gives its defaults, as it does to a build's pods.
        securityContext: opts.asRoot
          ? { allowPrivilegeEscalation: false }
          : { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, readOnlyRootFilesystem: true },
        volumeMounts: opts.volumeMounts ?? [],
      }],
      volumes: opts.volumes ?? [],
    },
  };
}

/**
 * A script that tries each TCP target (host:port, names resolved by the cluster's DNS) once and
 * prints one JSON object: target -> "open" | "refused" | "timeout" | "dns: ...". It first waits (up
 * to 60 s) until `ready`, a target the pod may reach, opens: the NetworkPolicy enforcer
 * (kube-router) adds a new pod to its address sets a few seconds after it starts, and until then
 * the pod's traffic is not yet judged by its own policies (nor admitted by its peers').
 */
export function connectScript(targets: readonly string[], ready: string, timeoutMs = 3000): string {
  return `
const net = require("net"), dns = require("dns").promises;
const targets = ${JSON.stringify(targets)};
const once = async (t) => {
  const i = t.lastIndexOf(":"); const host = t.slice(0, i), port = Number(t.slice(i + 1));
  let address = host;
  if (!net.isIP(host)) { try { address = (await dns.lookup(host)).address; } catch (e) { return "dns: " + e.code; } }
  return new Promise((resolve) => {
    const s = net.connect({ host: address, port, timeout: ${timeoutMs} });
    s.on("connect", () => { s.destroy(); resolve("open"); });
    s.on("timeout", () => { s.destroy(); resolve("timeout"); });
    s.on("error", (e) => resolve(e.code === "ECONNREFUSED" ? "refused" : e.code));
  });
};
(async () => {
  const until = Date.now() + 60000;
  while ((await once(${JSON.stringify(ready)})) !== "open" && Date.now() < until) await new Promise((r) => setTimeout(r, 1000));
  const out = {};
  await Promise.all(targets.map(async (t) => { out[t] = await once(t); }));
  console.log(JSON.stringify(out));
})();`;
}
