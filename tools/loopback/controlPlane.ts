/**
 * A throwaway Kubernetes control plane on loopback for the cluster tests: etcd, kube-apiserver,
 * kube-controller-manager (token and namespace controllers are what the program relies on),
 * kube-scheduler, and kwok playing the kubelet of simulated nodes. Certificates and the
 * service-account key are generated into a temp dir; every process runs in its own process group
 * so `stop()` (and the exit hook, should a test crash) takes down whatever it spawned.
 */
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";

export interface SimulatedNode {
  readonly name: string;
  readonly cpu: string;
  readonly memory: string;
  readonly ephemeralStorage: string;
  readonly labels?: Record<string, string>;
}

export interface ControlPlaneOptions {
  /** Directory holding etcd, kube-apiserver, ... (scripts/toolchain.sh --bin-dir). */
  readonly binDir: string;
  /** Context names written into the admin kubeconfig, all pointing at this cluster. */
  readonly contexts: readonly string[];
  /**
   * Objects (e.g. CRDs) applied before the controllers start: the quota controller only counts
   * resources it discovered at start-up or at its slow periodic resync.
   */
  readonly preload?: readonly object[];
  /** Range kwok gives pod IPs from. @default "10.244.0.0/16" */
  readonly podCidr?: string;
  /** More addresses the API server's certificate is valid for (e.g. the end of a veth it is forwarded to). */
  readonly apiServerAddresses?: readonly string[];
  /**
   * More kwok Stages (kwok.x-k8s.io/v1alpha1). kwok drops its default stages of a kind once any
   * stage of that kind is given, so for Pods the defaults (read from the kwok module) come first.
   */
  readonly kwokStages?: readonly KwokStage[];
  /**
   * Node selectors the API server adds to pods by namespace (its PodNodeSelector admission plugin);
   * the key "" is the default for every other namespace. With a real node beside simulated ones,
   * this keeps pods whose images cannot run here on the simulated nodes.
   */
  readonly podNodeSelectors?: Record<string, string>;
  /** Range kwok hands pod IPs out of, when only part of podCidr is kwok's. @default podCidr */
  readonly kwokCidr?: string;
}

export interface KwokStage {
  readonly apiVersion: "kwok.x-k8s.io/v1alpha1";
  readonly kind: "Stage";
  readonly metadata: { readonly name: string };
  readonly spec: { readonly resourceRef: { readonly apiGroup: string; readonly kind: string } } & Record<string, unknown>;
}

export class ControlPlane {
  readonly dir: string;
  readonly kubeconfig: string;
  server = "";
  private readonly procs: ChildProcess[] = [];
  private readonly onExit = () => this.killAll("SIGKILL");
  /**
   * Node dies of these signals without an "exit" event when nothing listens. A caller that listens
   * (npm start) owns the teardown and calls stop(); otherwise exit, so that every "exit" handler
   * (the processes here, Tekton's network namespaces) still runs.
   */
  private readonly onSignal = (signal: NodeJS.Signals) => {
    if (process.listenerCount(signal) > 0) return;
    this.killAll("SIGKILL");
    process.exit(128 + (os.constants.signals[signal] ?? 0));
  };

  constructor(protected readonly opts: ControlPlaneOptions) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "stx-cluster-"));
    this.kubeconfig = path.join(this.dir, "admin.kubeconfig");
    process.on("exit", this.onExit);
    process.once("SIGTERM", this.onSignal);
    process.once("SIGINT", this.onSignal);
  }

  async start(): Promise<void> {
    const [etcdClient, etcdPeer, apiPort, cmPort, schedPort, kwokPort] = await freePorts(6);
    this.server = `https://127.0.0.1:${apiPort}`;
    this.generateCertificates();
    this.writeKubeconfig();
    const f = (name: string) => path.join(this.dir, name);

    this.run("etcd", [
      `--data-dir=${f("etcd")}`, "--name=default", "--unsafe-no-fsync", "--log-level=warn",
      `--listen-client-urls=http://127.0.0.1:${etcdClient}`, `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
    ]);
    this.run("kube-apiserver", [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`, "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
      `--secure-port=${apiPort}`, `--tls-cert-file=${f("apiserver.crt")}`, `--tls-private-key-file=${f("apiserver.key")}`,
      `--client-ca-file=${f("ca.crt")}`, "--authorization-mode=Node,RBAC", "--allow-privileged=true",
      `--service-account-key-file=${f("sa.pub")}`, `--service-account-signing-key-file=${f("sa.key")}`,
      "--service-account-issuer=https://kubernetes.default.svc", "--service-cluster-ip-range=10.96.0.0/12",
      // The "kubernetes" Service cannot point at a loopback address; nothing here needs it.
      "--endpoint-reconciler-type=none", "--profiling=false", "--v=0",
      // Webhooks (and CRD conversion) are called at a Service's endpoint (pod) IPs, not its
      // ClusterIP: nothing here implements Services, but a pod IP can be routed to a process.
      "--enable-aggregator-routing=true",
      // A real node's kubelet is reached at its InternalIP, as the admin (logs, exec, port-forward).
      "--kubelet-preferred-address-types=InternalIP", `--kubelet-client-certificate=${f("admin.crt")}`, `--kubelet-client-key=${f("admin.key")}`,
      ...this.admissionArgs(),
    ]);
    await this.waitFor("the API server", () => this.kubectl(["get", "--raw", "/readyz"]) === "ok");
    for (const obj of this.opts.preload ?? []) this.kubectl(["apply", "-f", "-"], JSON.stringify(obj));
    if (this.opts.preload?.length) this.kubectl(["wait", "--for=condition=Established", "crd", "--all", "--timeout=60s"]);
    const kube = [`--kubeconfig=${this.kubeconfig}`, "--bind-address=127.0.0.1", "--leader-elect=false", "--profiling=false"];
    this.run("kube-controller-manager", [
      ...kube, `--secure-port=${cmPort}`, `--service-account-private-key-file=${f("sa.key")}`, `--root-ca-file=${f("ca.crt")}`,
      // No cloud and no real network: the controllers that would need them stay off.
      "--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-route", "--cluster-name=stx-test",
      // A quota's usage of a resource discovered after start-up (Tekton's CRDs, created by `up`) is
      // first counted at the next full resync: 5 minutes by default.
      "--resource-quota-sync-period=15s",
    ]);
    this.run("kube-scheduler", [...kube, `--secure-port=${schedPort}`]);
    this.run("kwok", [
      `--kubeconfig=${this.kubeconfig}`, "--manage-all-nodes=false",
      "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake", `--server-address=127.0.0.1:${kwokPort}`,
      "--node-ip=127.0.0.1", `--cidr=${this.opts.kwokCidr ?? this.opts.podCidr ?? "10.244.0.0/16"}`, ...this.kwokConfig(),
      // Heartbeats through Leases, as kubelets do; without them the node controller sees nodes flap.
      "--node-lease-duration-seconds=40",
    ]);
    // The token controller (controller-manager) fills the default ServiceAccount's namespace first.
    await this.waitFor("the controller manager", () => this.kubectl(["get", "serviceaccount", "default", "-o", "name"]) !== "");
  }

  /** Registers simulated nodes with kwok and waits until they report Ready. */
  async addNodes(nodes: readonly SimulatedNode[]): Promise<void> {
    const items = nodes.map((n) => {
      const capacity = { cpu: n.cpu, memory: n.memory, "ephemeral-storage": n.ephemeralStorage, pods: "110" };
      return {
        apiVersion: "v1",
        kind: "Node",
        metadata: {
          name: n.name,
          annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
          labels: { "kubernetes.io/hostname": n.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", type: "kwok", ...n.labels },
        },
        status: { capacity, allocatable: capacity },
      };
    });
    this.kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items }));
    for (const n of nodes) {
      await this.waitFor(`node ${n.name}`, () =>
        this.kubectl(["get", "node", n.name, "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}"]) === "True");
    }
  }

  /** Runs kubectl as cluster admin (or with another kubeconfig) and returns its trimmed stdout. */
  kubectl(args: readonly string[], input?: string, kubeconfig = this.kubeconfig): string {
    try {
      return execFileSync(path.join(this.opts.binDir, "kubectl"), [`--kubeconfig=${kubeconfig}`, ...args], {
        input, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"], timeout: 60_000,
      }).trim();
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string; message: string };
      throw new KubectlError(args, err.stdout ?? "", err.stderr ?? err.message);
    }
  }

  async stop(): Promise<void> {
    this.killAll("SIGTERM");
    const deadline = Date.now() + 10_000;
    while (this.procs.some((p) => p.exitCode === null && p.signalCode === null) && Date.now() < deadline) {
      await sleep(200);
    }
    this.killAll("SIGKILL");
    process.off("exit", this.onExit);
    process.off("SIGTERM", this.onSignal);
    process.off("SIGINT", this.onSignal);
    if (!process.env.STX_KEEP_CLUSTER_DIR) fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** The PodNodeSelector admission plugin and its per-namespace selectors, when any are given. */
  private admissionArgs(): string[] {
    const selectors = this.opts.podNodeSelectors;
    if (!selectors) return [];
    const { "": clusterDefault = "", ...byNamespace } = selectors;
    const config = path.join(this.dir, "admission.yaml");
    const pluginConfig = path.join(this.dir, "podnodeselector.yaml");
    fs.writeFileSync(pluginConfig, JSON.stringify({ podNodeSelectorPluginConfig: { clusterDefaultNodeSelector: clusterDefault, ...byNamespace } }));
    fs.writeFileSync(config, JSON.stringify({
      apiVersion: "apiserver.config.k8s.io/v1", kind: "AdmissionConfiguration",
      plugins: [{ name: "PodNodeSelector", path: pluginConfig }],
    }));
    return ["--enable-admission-plugins=PodNodeSelector", `--admission-control-config-file=${config}`];
  }

  /** kwok's --config: the extra stages, after its default Pod stages when any Pod stage is given. */
  private kwokConfig(): string[] {
    const extra = this.opts.kwokStages ?? [];
    if (extra.length === 0) return [];
    const docs: string[] = [];
    if (extra.some((s) => s.spec.resourceRef.kind === "Pod")) {
      const dir = path.join(goModuleDir("sigs.k8s.io/kwok", `v${toolchainVersion("KWOK_VERSION")}`), "kustomize", "stage", "pod", "fast");
      for (const f of ["pod-ready.yaml", "pod-complete.yaml", "pod-delete.yaml"]) docs.push(fs.readFileSync(path.join(dir, f), "utf8"));
    }
    docs.push(...extra.map((s) => JSON.stringify(s)));
    const file = path.join(this.dir, "kwok-stages.yaml");
    fs.writeFileSync(file, docs.join("\n---\n"));
    return [`--config=${file}`];
  }

  /** Runs a process of the test's own (e.g. a controller) the way the control plane's components run: own process group, log in the temp dir, killed by stop(). */
  spawn(name: string, command: string, args: readonly string[], env?: NodeJS.ProcessEnv): ChildProcess {
    return this.run(name, args, command, env, false);
  }

  /** Last lines of a component's log, for failure messages. */
  logTail(name: string, lines = 20): string {
    const file = path.join(this.dir, `${name}.log`);
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n") : "";
  }

  private run(name: string, args: readonly string[], command = path.join(this.opts.binDir, name), env?: NodeJS.ProcessEnv, reportExit = true): ChildProcess {
    const log = fs.openSync(path.join(this.dir, `${name}.log`), "a");
    const proc = spawn(command, args, { detached: true, stdio: ["ignore", log, log], env: env ?? process.env });
    fs.closeSync(log);
    proc.on("exit", (code, signal) => {
      if (!this.stopping && reportExit) console.error(`control plane: ${name} exited (${code ?? signal})\n${this.logTail(name)}`);
    });
    // A CI trap can kill these process groups even if this Node process is killed first.
    if (process.env.STX_CLUSTER_PGIDS) fs.appendFileSync(process.env.STX_CLUSTER_PGIDS, `${proc.pid}\n`);
    this.procs.push(proc);
    return proc;
  }

  private stopping = false;
  /** True once stop() (or the exit hook) began: supervisors stop restarting what they run. */
  get isStopping(): boolean {
    return this.stopping;
  }

  private killAll(signal: NodeJS.Signals): void {
    this.stopping = true;
    // Reverse order: nothing is left talking to a dead API server or etcd.
    for (const p of [...this.procs].reverse()) {
      if (p.pid !== undefined && p.exitCode === null && p.signalCode === null) {
        try {
          process.kill(-p.pid, signal);
        } catch {
          /* already gone */
        }
      }
    }
  }

  private async waitFor(what: string, ready: () => boolean, timeoutMs = 120_000): Promise<void> {
    const last = await pollUntil(ready, timeoutMs);
    if (last === undefined) return;
    throw new Error(`timed out waiting for ${what}: ${last}\n${this.procs.length ? this.logTail("kube-apiserver") : ""}`);
  }

  private generateCertificates(): void {
    const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: this.dir, stdio: ["ignore", "ignore", "pipe"] });
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=stx-test-ca");
    const leaf = (name: string, subject: string, ext: string) => {
      fs.writeFileSync(path.join(this.dir, `${name}.ext`), ext);
      openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject);
      openssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", `${name}.crt`, "-days", "2", "-extfile", `${name}.ext`);
    };
    const extra = (this.opts.apiServerAddresses ?? []).map((a) => `,IP:${a}`).join("");
    leaf("apiserver", "/CN=kube-apiserver",
      `subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes.default.svc,DNS:kubernetes.default${extra}\nextendedKeyUsage=serverAuth\n`);
    // One admin identity (system:masters) for the test, the controllers, the scheduler and kwok.
    leaf("admin", "/O=system:masters/CN=stx-test-admin", "extendedKeyUsage=clientAuth\n");
    openssl("genrsa", "-out", "sa.key", "2048");
    openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub");
  }

  private writeKubeconfig(): void {
    const b64 = (name: string) => fs.readFileSync(path.join(this.dir, name)).toString("base64");
    const contexts = [...new Set(["stx-test", ...this.opts.contexts])];
    fs.writeFileSync(this.kubeconfig, JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "stx-test", cluster: { server: this.server, "certificate-authority-data": b64("ca.crt") } }],
      users: [{ name: "admin", user: { "client-certificate-data": b64("admin.crt"), "client-key-data": b64("admin.key") } }],
      contexts: contexts.map((name) => ({ name, context: { cluster: "stx-test", user: "admin" } })),
      "current-context": "stx-test",
    }), { mode: 0o600 });
  }
}

export class KubectlError extends Error {
  constructor(readonly args: readonly string[], readonly stdout: string, readonly stderr: string) {
    super(`kubectl ${args.join(" ")} failed: ${stderr.trim()}`);
  }
}

/** A pinned version from scripts/toolchain.versions. */
export function toolchainVersion(name: string): string {
  const file = path.resolve(__dirname, "..", "..", "..", "scripts", "toolchain.versions");
  // A word, or a quoted list of words (DEBIAN_NODE_PACKAGES="a=1 b=2").
  const m = new RegExp(`^${name}=(?:"([^"\\n]*)"|(\\S+))$`, "m").exec(fs.readFileSync(file, "utf8"));
  const value = m?.[1] ?? m?.[2];
  if (!value) throw new Error(`${name} is not set in ${file}`);
  return value;
}

/** Where Go keeps an (already downloaded) module's files: upstream artifacts the tests read, never copied into the repo. */
export function goModuleDir(module: string, version: string): string {
  const out = execFileSync("go", ["mod", "download", "-json", `${module}@${version}`], { encoding: "utf8", env: { ...process.env, GOFLAGS: "-mod=mod" } });
  return (JSON.parse(out) as { Dir: string }).Dir;
}

/**
 * Calls `ready` every 500 ms until it returns true (resolves undefined) or `timeoutMs` has passed
 * (resolves the last error it threw, or "").
 */
export async function pollUntil(ready: () => boolean, timeoutMs: number): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      if (ready()) return undefined;
    } catch (e) {
      last = String(e);
    }
    await sleep(500);
  }
  return last;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Ports the kernel hands out for port 0; closed again right away, then used by the components. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise<net.Server>((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => resolve(s));
  })));
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}
