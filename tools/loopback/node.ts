/**
 * A real node for the loopback cluster: kubelet and kube-proxy at the control plane's version,
 * Debian's containerd + runc + CNI plugins, kube-router's NetworkPolicy firewall and CoreDNS (as a
 * pod, so policies that allow DNS by pod selector match it). The node lives in a network namespace
 * of its own (`stx<id>-node`, swept with the run's other namespaces), with a /30 link to the host and
 * its pods on a /24 of the run's pod range. Pods start for real: images are the stand-ins that
 * scripts/images.sh builds (test doubles, docs/cluster-tests.md), loaded into the node's containerd
 * under the exact references the program pins.
 *
 * What this machine needs (checked by `realNodeSupport`): root, cgroups, overlayfs and the packages
 * of scripts/node-setup.sh. kubelet writes a few fixed host paths (/var/log/containers), so one real
 * node runs on the machine at a time: a second waits for the first (an owner file names its pid).
 */
import { ChildProcess, execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ControlPlane, pollUntil } from "./controlPlane";
import { alive, TektonNetwork } from "./tekton";
import { corednsObjects, nodeConfigFiles, NodeLayout, nodeLayout } from "./nodeConfig";

/** One image for the node: the exact reference pods ask for, and the `docker save` archive that holds it. */
export interface NodeImage {
  readonly ref: string;
  readonly tar: string;
}

/** Toolchain binaries the real node runs (scripts/toolchain.sh). */
export const NODE_TOOLS = ["kubelet", "kube-proxy", "kube-router", "coredns"] as const;

const LOCK = "/run/stx-real-node.owner";
const CGROUP_ROOT = "/sys/fs/cgroup";

/** Why this machine cannot run a real node, or undefined when it can. */
export function realNodeSupport(): string | undefined {
  if (process.getuid?.() !== 0) return "the real node needs root (containerd, kubelet, network namespaces)";
  if (!fs.readFileSync("/proc/filesystems", "utf8").includes("overlay")) return "the kernel has no overlayfs (containerd's snapshotter)";
  if (!fs.existsSync(path.join(CGROUP_ROOT, "memory")) && !fs.existsSync(path.join(CGROUP_ROOT, "cgroup.controllers"))) {
    return `no cgroup hierarchy under ${CGROUP_ROOT}`;
  }
  try {
    execFileSync("bash", [path.resolve(__dirname, "..", "..", "..", "scripts", "node-setup.sh"), "--check"], { stdio: "pipe" });
  } catch (e) {
    return `${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`;
  }
  return undefined;
}

export class RealNode {
  readonly layout: NodeLayout;
  private readonly dir: string;
  private readonly netns: string;

  constructor(
    private readonly cluster: ControlPlane,
    private readonly binDir: string,
    net: TektonNetwork,
    readonly name: string,
    private readonly images: readonly NodeImage[],
    private readonly labels: Record<string, string> = {},
  ) {
    this.layout = nodeLayout(net);
    this.dir = path.join(cluster.dir, "node");
    this.netns = `stx${net.id}-node`;
  }

  /** Everything up, the node Ready and DNS answering; throws with the failing component's log. */
  async start(): Promise<void> {
    await takeLock();
    process.on("exit", this.cleanup);
    fs.mkdirSync(this.dir, { recursive: true });
    this.network();
    const files = nodeConfigFiles(this.cluster.dir, this.dir, this.layout, this.name);
    for (const [file, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, text, { mode: 0o600 });
    }
    this.certificates();
    this.cgroups();
    this.inNode("containerd", "/usr/bin/containerd", ["--config", this.layout.file(this.dir, "containerd.toml")]);
    await this.waitFor("containerd", () => fs.existsSync(this.layout.file(this.dir, "containerd.sock")));
    for (const image of this.images) this.ctr(["images", "import", "--all-platforms", "--no-unpack", image.tar]);
    this.inNode("kubelet", path.join(this.binDir, "kubelet"), [
      `--config=${this.layout.file(this.dir, "kubelet.yaml")}`, `--kubeconfig=${this.layout.file(this.dir, "kubelet.kubeconfig")}`,
      `--hostname-override=${this.name}`, `--node-ip=${this.layout.nodeAddress}`, `--root-dir=${path.join(this.dir, "kubelet")}`,
      `--cert-dir=${path.join(this.dir, "pki")}`, `--node-labels=${Object.entries({ type: "real", ...this.labels }).map(([k, v]) => `${k}=${v}`).join(",")}`,
      "--v=1",
    ]);
    await this.waitFor(`node ${this.name}`, () =>
      this.cluster.kubectl(["get", "node", this.name, "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}"]) === "True", 180_000);
    this.cluster.kubectl(["patch", "node", this.name, "--type=merge", "-p", JSON.stringify({ spec: { podCIDR: this.layout.podSubnet, podCIDRs: [this.layout.podSubnet] } })]);
    const kubeconfig = `--kubeconfig=${this.layout.file(this.dir, "admin.kubeconfig")}`;
    this.inNode("kube-proxy", path.join(this.binDir, "kube-proxy"), [
      kubeconfig, `--hostname-override=${this.name}`, "--proxy-mode=iptables", `--cluster-cidr=${this.layout.podSubnet}`,
      // A network namespace may not set the machine-wide conntrack table size: leave it as it is.
      "--conntrack-max-per-core=0", `--bind-address=${this.layout.nodeAddress}`, "--metrics-bind-address=127.0.0.1:10249",
    ]);
    this.inNode("kube-router", path.join(this.binDir, "kube-router"), [
      kubeconfig, `--hostname-override=${this.name}`, "--run-firewall=true", "--run-router=false", "--run-service-proxy=false",
      "--enable-ipv6=false", "--metrics-port=0", "--health-port=20244",
    ]);
    this.serviceEndpoints();
    await this.startDns();
  }

  async stop(): Promise<void> {
    this.cleanup();
    process.off("exit", this.cleanup);
  }

  /** Runs `ctr` against the node's containerd (k8s.io namespace: what kubelet sees). */
  ctr(args: readonly string[]): string {
    return execFileSync("ctr", ["--address", this.layout.file(this.dir, "containerd.sock"), "-n", "k8s.io", ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  }

  /** The node's own network namespace, a /30 to the host, forwarding on and the pod range routed to it. */
  private network(): void {
    const { id, hostLink, nodeAddress, podSubnet } = this.layout;
    const ip = (...args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "pipe", "pipe"] });
    ip("netns", "add", this.netns);
    ip("link", "add", `stx${id}n`, "type", "veth", "peer", "name", "eth0", "netns", this.netns);
    ip("addr", "add", `${hostLink}/30`, "dev", `stx${id}n`);
    ip("link", "set", `stx${id}n`, "up");
    ip("-n", this.netns, "addr", "add", `${nodeAddress}/30`, "dev", "eth0");
    ip("-n", this.netns, "link", "set", "eth0", "up");
    ip("-n", this.netns, "link", "set", "lo", "up");
    ip("-n", this.netns, "route", "add", "default", "via", hostLink);
    ip("route", "add", podSubnet, "via", nodeAddress);
    const port = new URL(this.cluster.server).port;
    this.procs.push(this.cluster.spawn("node-apiserver-forwarder", process.execPath,
      [path.join(__dirname, "tcpForward.js"), this.layout.apiAddress, port, "127.0.0.1", port]));
    for (const s of ["net.ipv4.ip_forward=1", "net.bridge.bridge-nf-call-iptables=1", "net.ipv4.conf.all.route_localnet=1"]) {
      try {
        execFileSync("ip", ["netns", "exec", this.netns, "sysctl", "-qw", s], { stdio: "pipe" });
      } catch (e) {
        if (!s.startsWith("net.bridge")) throw e; // appears once the first bridge exists; CNI sets it then
      }
    }
  }

  /** kubelet's client identity (system:node:<name>, what the Node authorizer expects) and its serving certificate. */
  private certificates(): void {
    const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: this.dir, stdio: ["ignore", "ignore", "pipe"] });
    const ca = ["-CA", path.join(this.cluster.dir, "ca.crt"), "-CAkey", path.join(this.cluster.dir, "ca.key"), "-CAcreateserial", "-days", "2"];
    const leaf = (name: string, subject: string, ext: string) => {
      fs.writeFileSync(path.join(this.dir, `${name}.ext`), ext);
      openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject);
      openssl("x509", "-req", "-in", `${name}.csr`, ...ca, "-out", `${name}.crt`, "-extfile", `${name}.ext`);
    };
    leaf("kubelet-client", `/O=system:nodes/CN=system:node:${this.name}`, "extendedKeyUsage=clientAuth\n");
    leaf("kubelet-serving", `/CN=${this.name}`, `subjectAltName=IP:${this.layout.nodeAddress},DNS:${this.name}\nextendedKeyUsage=serverAuth\n`);
  }

  /** The pods' cgroup parent, its own per run (cgroup v1 here: one directory per controller). */
  private cgroups(): void {
    for (const dir of cgroupDirs(this.layout.cgroupRoot)) {
      fs.mkdirSync(dir, { recursive: true });
      const parent = path.dirname(dir);
      for (const f of ["cpuset.cpus", "cpuset.mems"]) {
        if (fs.existsSync(path.join(dir, f)) && !fs.readFileSync(path.join(dir, f), "utf8").trim()) {
          fs.writeFileSync(path.join(dir, f), fs.readFileSync(path.join(parent, f), "utf8"));
        }
      }
    }
  }

  /**
   * The `kubernetes` Service points at the API server as the node reaches it (the control plane has
   * no endpoint reconciler: it listens on loopback), so pods that use the API find it.
   */
  private serviceEndpoints(): void {
    const port = Number(new URL(this.cluster.server).port);
    this.cluster.kubectl(["apply", "-f", "-"], JSON.stringify({
      apiVersion: "v1", kind: "Endpoints", metadata: { name: "kubernetes", namespace: "default" },
      subsets: [{ addresses: [{ ip: this.layout.apiAddress }], ports: [{ name: "https", port, protocol: "TCP" }] }],
    }));
  }

  /** CoreDNS as a pod (k8s-app=kube-dns in kube-system, like kubeadm's), behind the kube-dns Service at clusterDNS. */
  private async startDns(): Promise<void> {
    const items = corednsObjects(this.layout, corednsImage(this.images));
    this.cluster.kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items }));
    await this.waitFor("CoreDNS", () =>
      this.cluster.kubectl(["get", "pods", "-n", "kube-system", "-l", "k8s-app=kube-dns", "-o", "jsonpath={.items[*].status.containerStatuses[*].ready}"]) === "true", 180_000);
  }

  /** Starts a node process in the node's network namespace, in the host's mount namespace (`ip netns exec` would remount /sys and hide the cgroups). */
  private inNode(name: string, command: string, args: readonly string[]): void {
    this.procs.push(this.cluster.spawn(`node-${name}`, "nsenter", [`--net=/run/netns/${this.netns}`, command, ...args]));
  }

  private readonly procs: ChildProcess[] = [];

  private async waitFor(what: string, ready: () => boolean, timeoutMs = 60_000): Promise<void> {
    const last = await pollUntil(ready, timeoutMs);
    if (last === undefined) return;
    const logs = ["containerd", "kubelet", "kube-proxy", "kube-router"].map((n) => `--- ${n}\n${this.cluster.logTail(`node-${n}`, 15)}`).join("\n");
    throw new Error(`real node: timed out waiting for ${what}: ${last}\n${logs}`);
  }

  /**
   * Kills what the pods left (containerd's shims run in process groups of their own), unmounts what
   * kubelet and containerd mounted under the node's directory, removes the cgroups, frees the lock.
   */
  private readonly cleanup = () => {
    // kubelet and containerd first, or they start again what is killed below.
    for (const p of this.procs.reverse()) {
      try {
        if (p.pid !== undefined && p.exitCode === null) process.kill(-p.pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    const procs: number[] = [];
    for (const dir of cgroupDirs(this.layout.cgroupRoot)) procs.push(...cgroupProcs(dir));
    for (const pid of shimPids(this.dir)) procs.push(pid);
    for (const pid of procs) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    // A killed process leaves its cgroup a moment later; rmdir before that fails (EBUSY).
    const until = Date.now() + 5000;
    while (procs.some(alive) && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    const mounts = fs.readFileSync("/proc/mounts", "utf8").split("\n").map((l) => l.split(" ")[1]).filter((m): m is string => !!m && m.startsWith(this.dir));
    for (const m of mounts.reverse()) {
      try {
        execFileSync("umount", ["-l", m.replace(/\\040/g, " ")], { stdio: "ignore" });
      } catch {
        /* already gone */
      }
    }
    for (const dir of cgroupDirs(this.layout.cgroupRoot)) removeCgroupTree(dir);
    try {
      execFileSync("ip", ["route", "del", this.layout.podSubnet], { stdio: "ignore" });
    } catch {
      /* gone with the link */
    }
    if (fs.existsSync(LOCK) && fs.readFileSync(LOCK, "utf8").trim() === String(process.pid)) fs.rmSync(LOCK, { force: true });
  };
}

/** The CoreDNS stand-in among the node's images. */
function corednsImage(images: readonly NodeImage[]): string {
  const image = images.find((i) => i.ref.includes("/coredns/coredns:"));
  if (!image) throw new Error("no CoreDNS image among the node's images (bash scripts/images.sh coredns)");
  return image.ref;
}

/** One real node per machine: waits (up to 20 minutes) while another live process holds it. */
async function takeLock(): Promise<void> {
  const deadline = Date.now() + 20 * 60_000;
  for (;;) {
    try {
      fs.writeFileSync(LOCK, String(process.pid), { flag: "wx" });
      return;
    } catch {
      const owner = Number(fs.readFileSync(LOCK, "utf8"));
      if (!alive(owner)) {
        sweepStaleNode();
        fs.rmSync(LOCK, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`another real node (pid ${owner}) still runs on this machine (${LOCK})`);
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

/**
 * What a real node killed with SIGKILL left behind (its owner could not clean up): its containers'
 * shims and processes, its mounts under a cluster temp dir, its cgroups. Only ever called with
 * the lock's owner dead, so nothing of a live node is touched.
 */
function sweepStaleNode(): void {
  const nodeDir = /\/stx-cluster-[^/]+\/node(\/|$)/;
  // The node's own processes first (containerd, kubelet, kube-proxy, kube-router name its files), then the shims.
  for (const pid of pidsWhere((cmd) => nodeDir.test(cmd) && !cmd.includes("containerd-shim"))) killQuietly(pid);
  for (const pid of shimPids("/stx-cluster-")) killQuietly(pid);
  const roots = fs.readdirSync(path.join(CGROUP_ROOT, fs.existsSync(path.join(CGROUP_ROOT, "memory")) ? "memory" : "")).filter((n) => n.startsWith("stx-node-"));
  for (const root of roots) for (const dir of cgroupDirs(root)) cgroupProcs(dir).forEach(killQuietly);
  const mounts = fs.readFileSync("/proc/mounts", "utf8").split("\n").map((l) => l.split(" ")[1]).filter((m): m is string => !!m && nodeDir.test(m));
  for (const m of mounts.reverse()) {
    try {
      execFileSync("umount", ["-l", m], { stdio: "ignore" });
    } catch {
      /* gone */
    }
  }
  for (const root of roots) for (const dir of cgroupDirs(root)) removeCgroupTree(dir);
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    /* gone */
  }
}


function cgroupDirs(root: string): string[] {
  if (fs.existsSync(path.join(CGROUP_ROOT, "cgroup.controllers"))) return [path.join(CGROUP_ROOT, root)];
  return fs.readdirSync(CGROUP_ROOT, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.isSymbolicLink())
    .map((e) => path.join(CGROUP_ROOT, e.name, root));
}

function cgroupProcs(dir: string): number[] {
  if (!fs.existsSync(dir)) return [];
  const pids: number[] = [];
  const walk = (d: string) => {
    const procs = path.join(d, "cgroup.procs");
    if (fs.existsSync(procs)) pids.push(...fs.readFileSync(procs, "utf8").split("\n").filter(Boolean).map(Number));
    for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
  };
  walk(dir);
  return pids;
}

function removeCgroupTree(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeCgroupTree(path.join(dir, e.name));
  try {
    fs.rmdirSync(dir);
  } catch {
    /* a process is still exiting: the next run's sweep or a reboot removes it */
  }
}

/** containerd-shim processes started for this node (their command line names its state directory). */
function shimPids(dir: string): number[] {
  return pidsWhere((cmd) => cmd.includes("containerd-shim") && cmd.includes(dir));
}

/** Processes whose command line (arguments joined by spaces) passes `test`. */
function pidsWhere(test: (cmd: string) => boolean): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (test(fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").replace(/\0/g, " "))) pids.push(Number(entry));
    } catch {
      /* exited */
    }
  }
  return pids;
}


/**
 * The images a real node loads: the node's own (pause, CoreDNS: scripts/node-setup.sh) and the
 * stand-ins for the images the program pins (scripts/images.sh), each `<ref>\t<tarball>` from the
 * scripts' `--list`. Only tarballs that exist are returned; `missingImages` says what has none.
 */
export function nodeImages(): NodeImage[] {
  const scripts = path.resolve(__dirname, "..", "..", "..", "scripts");
  const lines: string[] = [];
  for (const script of ["node-setup.sh", "images.sh"]) {
    if (!fs.existsSync(path.join(scripts, script))) continue;
    lines.push(...execFileSync("bash", [path.join(scripts, script), "--list"], { encoding: "utf8" }).split("\n"));
  }
  return lines.map((l) => l.split("\t")).filter((p): p is [string, string] => p.length === 2 && fs.existsSync(p[1]!))
    .map(([ref, tar]) => ({ ref, tar }));
}
