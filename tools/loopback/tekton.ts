/**
 * Tekton Pipelines for real in the cluster tests: the release objects of the pinned
 * tektoncd/pipeline module (its config/, as upstream's release.yaml is made from it), and its
 * controller, admission webhook and resolvers (built by scripts/toolchain.sh) running as processes
 * against the test API server, as their Deployments' containers would.
 *
 * kwok plays the kubelet of those Deployments' pods, so their Services get endpoints at pod IPs
 * from the control plane's pod range. The API server calls webhooks at endpoint IPs
 * (--enable-aggregator-routing) and Endpoints may not name loopback, so each process runs in a
 * network namespace of its own, joined to the host by a bridge on a link-local /24; the webhook's
 * namespace accepts every address of the pod range (a `local` route) and the host routes the pod
 * range there. The processes reach the API server through a forwarder on the bridge address.
 * Needs root and iproute2 (`ip`); .ci/cluster.sh installs it.
 */
import { ChildProcess, execFileSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { ControlPlane, goModuleDir, KwokStage, toolchainVersion } from "./controlPlane";

export const TEKTON_BINARIES = ["tekton-controller", "tekton-webhook", "tekton-resolvers"] as const;
const PIPELINES_NS = "tekton-pipelines";
const RESOLVERS_NS = "tekton-pipelines-resolvers";
/** PROBES_PORT of the webhook's container (config/webhook.yaml). */
const WEBHOOK_PROBES_PORT = 8080;

/** The pinned Tekton Pipelines version (scripts/toolchain.versions; src/versions.ts pins the same release). */
export function tektonVersion(): string {
  return `v${toolchainVersion("TEKTON_PIPELINE_VERSION")}`;
}

/**
 * Writes `tekton-pipelines.yaml` into `dir` from the module's config/ the way the release is made:
 * every YAML file in path order, `ko://` images replaced by image names of the version (never
 * pulled: kwok runs no containers), and the `devel` version labels set to the version.
 */
export function writePipelinesRelease(dir: string): string {
  const version = tektonVersion();
  const config = path.join(goModuleDir("github.com/tektoncd/pipeline", version), "config");
  const files: string[] = [];
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(entry.name)) files.push(p);
    }
  };
  walk(config);
  const text = files.map((f) => fs.readFileSync(f, "utf8")).join("\n---\n")
    .replace(/ko:\/\/github\.com\/tektoncd\/pipeline\/cmd\/([a-z]+)/g, `ghcr.io/tektoncd/pipeline/cmd/$1:${version}`)
    .replace(/((?:release|version)): "devel"/g, `$1: "${version}"`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "tekton-pipelines.yaml"), text);
  return dir;
}

/** One Tekton process: which release Deployment's container it plays, and as which ServiceAccount. */
interface Role {
  readonly name: (typeof TEKTON_BINARIES)[number];
  readonly namespace: string;
  readonly deployment: string;
  readonly serviceAccount: string;
}

const ROLES: readonly Role[] = [
  { name: "tekton-webhook", namespace: PIPELINES_NS, deployment: "tekton-pipelines-webhook", serviceAccount: "tekton-pipelines-webhook" },
  { name: "tekton-controller", namespace: PIPELINES_NS, deployment: "tekton-pipelines-controller", serviceAccount: "tekton-pipelines-controller" },
  { name: "tekton-resolvers", namespace: RESOLVERS_NS, deployment: "tekton-pipelines-remote-resolvers", serviceAccount: "tekton-pipelines-resolvers" },
];

/** Addresses of one run: a link-local /24 for the bridge and a /16 pod range, both unused on this host. */
export interface TektonNetwork {
  readonly id: number;
  readonly podCidr: string;
  /** Host end of the bridge: the API server's certificate must name it. */
  readonly hostAddress: string;
}

/** Which process owns network `id` (a file beside the other temp files): lets a later run clean up after a killed one. */
function ownerFile(id: number): string {
  return path.join(os.tmpdir(), `stx-net-${id}.owner`);
}

/**
 * Removes the namespaces, bridge and route of every network whose owning process is gone. A process
 * killed with SIGKILL (or a timeout in CI) cannot clean up after itself; the next run does.
 */
export function sweepStaleNetworks(): string[] {
  const swept: string[] = [];
  for (const entry of fs.readdirSync(os.tmpdir())) {
    const id = /^stx-net-(\d+)\.owner$/.exec(entry)?.[1];
    if (!id) continue;
    if (alive(Number(fs.readFileSync(ownerFile(Number(id)), "utf8")))) continue;
    removeNetwork(Number(id));
    swept.push(`stxbr${id}`);
  }
  return swept;
}

/** True while process `pid` exists (EPERM: it exists, as another user's). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Deletes network `id`'s namespaces (stx<id>-*), its bridge (and the routes through it) and its owner file. */
function removeNetwork(id: number): void {
  const quiet = (...args: string[]) => {
    try {
      execFileSync("ip", args, { stdio: "ignore" });
    } catch {
      /* gone */
    }
  };
  const namespaces = execFileSync("ip", ["netns", "list"], { encoding: "utf8" }).split("\n").map((l) => l.split(" ")[0]);
  for (const ns of namespaces.filter((n) => n.startsWith(`stx${id}-`))) quiet("netns", "del", ns);
  quiet("link", "del", `stxbr${id}`);
  fs.rmSync(ownerFile(id), { force: true });
}

export function pickNetwork(): TektonNetwork {
  sweepStaleNetworks();
  const routes = execFileSync("ip", ["-4", "route", "show", "table", "all"], { encoding: "utf8" });
  const links = execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" });
  for (let attempt = 0; attempt < 50; attempt++) {
    const id = 100 + Math.floor(Math.random() * 150); // 10.100-249.0.0/16; 169.254.100-249.0/24
    // 192.168.<id>.0/30 is the real node's link (tools/loopback/nodeConfig.ts).
    const taken = [`10.${id}.`, `169.254.${id}.`, `192.168.${id}.`].some((prefix) => routes.includes(prefix));
    if (!taken && !links.includes(`stxbr${id}:`)) {
      return { id, podCidr: `10.${id}.0.0/16`, hostAddress: `169.254.${id}.1` };
    }
  }
  throw new Error("no free address range for the Tekton test network");
}

/**
 * What a kubelet and Tekton's entrypoint would report for a TaskRun's pod: every step exits 0,
 * and each step's termination message holds the Task's results (the names its entrypoint gets
 * with `-results`), all "true", so a pipeline's result references and `when` expressions resolve.
 * Nothing runs: this is how far a dry run gets without a container runtime.
 */
export function tektonKwokStages(): KwokStage[] {
  const statusTemplate = [
    "{{ $now := Now }}",
    "containerStatuses:",
    "{{ range $item := .spec.containers }}",
    "{{ $names := \"\" }}{{ $prev := \"\" }}",
    "{{ range $item.args }}{{ if eq $prev \"-results\" }}{{ $names = . }}{{ end }}{{ $prev = . }}{{ end }}",
    "{{ $results := list }}",
    "{{ range splitList \",\" $names }}{{ if . }}{{ $results = append $results (dict \"key\" . \"value\" \"true\" \"type\" 1) }}{{ end }}{{ end }}",
    "- image: {{ $item.image | Quote }}",
    "  name: {{ $item.name | Quote }}",
    "  ready: false",
    "  restartCount: 0",
    "  started: false",
    "  state:",
    "    terminated:",
    "      exitCode: 0",
    "      reason: Completed",
    "      startedAt: {{ $now | Quote }}",
    "      finishedAt: {{ $now | Quote }}",
    "      message: {{ toJson $results | Quote }}",
    "{{ end }}",
    "phase: Succeeded",
  ].join("\n");
  return [WEBHOOK_POD_STARTED, {
    apiVersion: "kwok.x-k8s.io/v1alpha1",
    kind: "Stage",
    metadata: { name: "tekton-taskrun-pod-complete" },
    spec: {
      resourceRef: { apiGroup: "v1", kind: "Pod" },
      selector: {
        matchExpressions: [
          { key: ".metadata.deletionTimestamp", operator: "DoesNotExist" },
          { key: ".status.phase", operator: "In", values: ["Running"] },
          { key: ".metadata.ownerReferences.[].kind", operator: "In", values: ["TaskRun"] },
        ],
      },
      delay: { durationMilliseconds: 2000 },
      next: { statusTemplate },
    },
  }];
}

/** Labels of the webhook Deployment's pods (config/webhook.yaml). */
const WEBHOOK_POD = { "app.kubernetes.io/component": "webhook", "app.kubernetes.io/part-of": "tekton-pipelines" };

/**
 * The webhook's pods start (an IP, so its Service has an endpoint) but are not Ready: kwok's
 * default stage would mark them Ready at once, before the process serves, and the Deployment await
 * that our Tasks and Pipeline wait for would then prove nothing. TektonProcesses marks them Ready
 * when the process answers its readiness probe, as a kubelet would. Weight 1 beats the default
 * stages (weight 0) that match the same pods.
 */
const WEBHOOK_POD_STARTED: KwokStage = {
  apiVersion: "kwok.x-k8s.io/v1alpha1",
  kind: "Stage",
  metadata: { name: "tekton-webhook-pod-started" },
  spec: {
    resourceRef: { apiGroup: "v1", kind: "Pod" },
    weight: 1,
    selector: {
      matchLabels: WEBHOOK_POD,
      matchExpressions: [
        { key: ".metadata.deletionTimestamp", operator: "DoesNotExist" },
        { key: ".status.podIP", operator: "DoesNotExist" },
      ],
    },
    next: {
      statusTemplate: [
        "{{ $now := Now }}",
        "conditions:",
        "- { type: Initialized, status: \"True\", lastTransitionTime: {{ $now | Quote }} }",
        "- { type: Ready, status: \"False\", lastTransitionTime: {{ $now | Quote }} }",
        "- { type: ContainersReady, status: \"False\", lastTransitionTime: {{ $now | Quote }} }",
        "containerStatuses:",
        "{{ range .spec.containers }}",
        "- { image: {{ .image | Quote }}, name: {{ .name | Quote }}, ready: false, restartCount: 0, state: { running: { startedAt: {{ $now | Quote }} } } }",
        "{{ end }}",
        "hostIP: {{ NodeIPWith .spec.nodeName | Quote }}",
        "podIP: {{ PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid \"\" ) ( or .metadata.name \"\" ) ( or .metadata.namespace \"\" ) | Quote }}",
        "phase: Running",
        "startTime: {{ $now | Quote }}",
      ].join("\n"),
    },
  },
};

/**
 * Runs the three processes against the control plane, each restarted (after 2 s) whenever it exits,
 * as a kubelet restarts a container: they start once the release's ServiceAccounts and ConfigMaps
 * exist and fail while a stack's destroy has removed them.
 */
export class TektonProcesses {
  private readonly procs = new Map<string, ChildProcess>();
  private readonly netns: string[] = [];
  private forwarder?: ChildProcess;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  /** Each process's exits, for failure messages. */
  readonly restarts: Record<string, number> = {};

  constructor(private readonly cluster: ControlPlane, private readonly binDir: string, private readonly net: TektonNetwork) {}

  async start(): Promise<void> {
    const { id, podCidr, hostAddress } = this.net;
    const ip = (...args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "pipe", "pipe"] });
    const bridge = `stxbr${id}`;
    process.on("exit", this.cleanup);
    fs.writeFileSync(ownerFile(id), String(process.pid));
    ip("link", "add", bridge, "type", "bridge");
    ip("addr", "add", `${hostAddress}/24`, "dev", bridge);
    ip("link", "set", bridge, "up");
    ROLES.forEach((role, i) => {
      const ns = `stx${id}-${role.name.replace("tekton-", "")}`;
      ip("netns", "add", ns);
      this.netns.push(ns);
      ip("link", "add", `stx${id}v${i}`, "type", "veth", "peer", "name", "eth0", "netns", ns);
      ip("link", "set", `stx${id}v${i}`, "master", bridge, "up");
      ip("-n", ns, "addr", "add", `169.254.${id}.${10 + i}/24`, "dev", "eth0");
      ip("-n", ns, "link", "set", "eth0", "up");
      ip("-n", ns, "link", "set", "lo", "up");
      if (role.name === "tekton-webhook") {
        // Every pod IP is the webhook's: the API server picks an endpoint of its Service.
        ip("-n", ns, "route", "add", "local", podCidr, "dev", "lo");
        ip("route", "add", podCidr, "via", `169.254.${id}.${10 + i}`, "dev", bridge);
      }
    });
    const port = new URL(this.cluster.server).port;
    this.forwarder = this.cluster.spawn("tekton-apiserver-forwarder", process.execPath,
      [path.join(__dirname, "tcpForward.js"), hostAddress, port, "127.0.0.1", port]);
    this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const p of this.procs.values()) kill(p);
    if (this.forwarder) kill(this.forwarder);
    await new Promise((resolve) => setTimeout(resolve, 500));
    this.cleanup();
    process.off("exit", this.cleanup);
  }

  private readonly cleanup = () => {
    for (const p of this.procs.values()) kill(p, "SIGKILL");
    removeNetwork(this.net.id);
  };

  /** Starts whatever is not running and can run now. */
  private tick(): void {
    if (this.stopped || this.cluster.isStopping) return;
    ROLES.forEach((role, i) => {
      const running = this.procs.get(role.name);
      if (running && running.exitCode === null && running.signalCode === null) {
        // A process of the previous stack keeps retrying with the token of a ServiceAccount that
        // `destroy` deleted ("Unauthorized"): stop it, so it starts again as the new one.
        if (this.serviceAccountUid(role) === this.launchedAs[role.name]) return;
        kill(running, "SIGKILL");
        return;
      }
      try {
        this.launch(role, i);
      } catch {
        /* the release is not (or no longer) there: try again */
      }
    });
    void this.markWebhookReady().finally(() => {
      if (this.stopped || this.cluster.isStopping) return;
      this.timer = setTimeout(() => this.tick(), 2000);
      this.timer.unref();
    });
  }

  /** The kubelet's readiness probe of the webhook's pods: Ready once the process answers /readiness. */
  private async markWebhookReady(): Promise<void> {
    const index = ROLES.findIndex((r) => r.name === "tekton-webhook");
    const proc = this.procs.get("tekton-webhook");
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const port = WEBHOOK_PROBES_PORT;
    const ok = await new Promise<boolean>((resolve) => {
      const req = http.get({ host: `169.254.${this.net.id}.${10 + index}`, port, path: "/readiness", timeout: 1500 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on("timeout", () => req.destroy());
      req.on("error", () => resolve(false));
    });
    if (!ok) return;
    try {
      const selector = Object.entries(WEBHOOK_POD).map(([k, v]) => `${k}=${v}`).join(",");
      const pods = JSON.parse(this.cluster.kubectl(["get", "pods", "-n", PIPELINES_NS, "-l", selector, "-o", "json"])).items as
        { metadata: { name: string }; status?: { podIP?: string; conditions?: { type: string; status: string }[] } }[];
      for (const pod of pods.filter((p) => p.status?.podIP && p.status.conditions?.find((c) => c.type === "Ready")?.status !== "True")) {
        const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
        const conditions = ["Ready", "ContainersReady"].map((type) => ({ type, status: "True", lastTransitionTime: now }));
        this.cluster.kubectl(["patch", "pod", pod.metadata.name, "-n", PIPELINES_NS, "--subresource=status", "--type=strategic", "-p", JSON.stringify({ status: { conditions } })]);
      }
    } catch {
      /* the API server is busy or the namespace is going away: next round */
    }
  }

  private launch(role: Role, index: number): void {
    const deployment = JSON.parse(this.cluster.kubectl(["get", "deployment", role.deployment, "-n", role.namespace, "-o", "json"]));
    const token = this.cluster.kubectl(["create", "token", role.serviceAccount, "-n", role.namespace, "--duration=6h"]);
    this.launchedAs[role.name] = this.serviceAccountUid(role);
    const container = deployment.spec.template.spec.containers[0];
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: this.cluster.dir, KUBECONFIG: this.kubeconfig(role, token) };
    for (const e of container.env ?? []) {
      if (e.value !== undefined) env[e.name] = e.value;
      else if (e.valueFrom?.fieldRef?.fieldPath === "metadata.namespace") env[e.name] = role.namespace;
    }
    // Files of the container image that a process on the host does not have.
    delete env.SSL_CERT_FILE;
    delete env.SSL_CERT_DIR;
    const ns = this.netns[index];
    if (!ns) throw new Error("network not ready");
    const args = ["netns", "exec", ns, path.join(this.binDir, role.name), ...(container.args ?? [])];
    this.restarts[role.name] = (this.restarts[role.name] ?? -1) + 1;
    this.procs.set(role.name, this.cluster.spawn(role.name, "ip", args, env));
  }

  private readonly launchedAs: Record<string, string | undefined> = {};

  private serviceAccountUid(role: Role): string | undefined {
    try {
      return this.cluster.kubectl(["get", "serviceaccount", role.serviceAccount, "-n", role.namespace, "--ignore-not-found", "-o", "jsonpath={.metadata.uid}"]) || undefined;
    } catch {
      return this.launchedAs[role.name]; // the API server is busy: leave the process alone
    }
  }

  /** A kubeconfig with the ServiceAccount's token, so the release's own RBAC is what the process gets. */
  private kubeconfig(role: Role, token: string): string {
    const admin = JSON.parse(fs.readFileSync(this.cluster.kubeconfig, "utf8"));
    const server = `https://${this.net.hostAddress}:${new URL(this.cluster.server).port}`;
    const file = path.join(this.cluster.dir, `${role.name}.kubeconfig`);
    fs.writeFileSync(file, yaml.dump({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "test", cluster: { server, "certificate-authority-data": admin.clusters[0].cluster["certificate-authority-data"] } }],
      users: [{ name: role.serviceAccount, user: { token } }],
      contexts: [{ name: "test", context: { cluster: "test", user: role.serviceAccount, namespace: role.namespace } }],
      "current-context": "test",
    }), { mode: 0o600 });
    return file;
  }
}

function kill(p: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): void {
  if (p.pid === undefined || p.exitCode !== null || p.signalCode !== null) return;
  try {
    process.kill(-p.pid, signal);
  } catch {
    /* gone */
  }
}

