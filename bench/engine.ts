/**
 * The real engine on a loopback control plane: the cengn stack with `size` users and `size` project
 * branches, through the Pulumi CLI (language host, Kubernetes provider, real API server).
 * - a fresh `pulumi up` (then, for each bigger size, the `up` that grows the stack to it);
 * - a no-op `pulumi preview` against `kubectl apply --server-side --dry-run=server` of the same
 *   objects (the inputs of every Kubernetes resource in the stack's state), as a ratio;
 * - peak memory (VmHWM) of the engine (pulumi), the provider (pulumi-resource-kubernetes) and the
 *   program (node), sampled from /proc while each command runs.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import { performance } from "perf_hooks";
import { parseSettings } from "../src/settings";
import { JENKINS_CHART, missingMessage, upstreamArtifact } from "../tools/upstreamArtifacts";
import { LoopbackCluster, loopbackOverrides, requireTools, startLoopbackCluster, toolchainBinDir } from "../tools/loopback/cluster";
import { CliOptions, projectCopy, pulumiOk, selectStack, startPulumi } from "../tools/pulumiCli";
import { syntheticConfig } from "./programCost";

const STACK = "cengn";

export interface PeakMemory {
  /** Highest VmHWM seen per process kind, MiB. */
  engineMiB: number;
  providerMiB: number;
  programMiB: number;
}

export interface EngineRun {
  stack: string;
  size: number;
  resources: number;
  /** `pulumi up` that brought the stack to this size (fresh for the first size; a growing up skips intermediate checkpoints). */
  up: { fromSize: number; wallMs: number; memory: PeakMemory };
  noopPreview: { wallMs: number; changes: number; memory: PeakMemory };
  kubectlDryRun: { wallMs: number; objects: number };
  /** noopPreview.wallMs / kubectlDryRun.wallMs; the target is at most 2. */
  ratio: number;
}

/** Every descendant of `root`, by reading the parent of each process in /proc. */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift()!;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Samples VmHWM of the process tree under `root` every 250 ms until stopped. */
function sampleMemory(root: number): { stop: () => PeakMemory } {
  const peak: PeakMemory = { engineMiB: 0, providerMiB: 0, programMiB: 0 };
  const sample = () => {
    for (const pid of descendants(root)) {
      try {
        const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
        const name = /^Name:\s+(\S+)/m.exec(status)?.[1] ?? "";
        const hwm = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) / 1024;
        const kind = name === "pulumi" ? "engineMiB" : name.startsWith("pulumi-resource") ? "providerMiB" : name === "node" ? "programMiB" : undefined;
        if (kind) peak[kind] = Math.max(peak[kind], hwm);
      } catch {
        /* exited between listing and reading */
      }
    }
  };
  const timer = setInterval(sample, 250);
  return { stop: () => (clearInterval(timer), sample(), peak) };
}

async function timedPulumi(args: string[], opts: CliOptions): Promise<{ wallMs: number; memory: PeakMemory; stdout: string }> {
  const started = performance.now();
  const run = startPulumi(args, opts);
  const sampler = sampleMemory(run.pid);
  const result = await run.done;
  const memory = sampler.stop();
  if (result.code !== 0) throw new Error(`pulumi ${args.join(" ")} exited ${result.code}\n${result.stdout.slice(-3000)}\n${result.stderr.slice(-3000)}`);
  return { wallMs: performance.now() - started, memory, stdout: result.stdout };
}

/** The stack file for `size`, with the loopback overrides merged into the structured settings. */
async function stackFile(size: number, cluster: LoopbackCluster): Promise<string> {
  const config: Record<string, unknown> = { ...syntheticConfig(STACK, size), apiServer: cluster.server };
  for (const [key, value] of Object.entries(await loopbackOverrides(STACK, cluster))) {
    const parts = key.split(".");
    let node = config as Record<string, unknown>;
    for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
    node[parts[parts.length - 1]] = value === "false" ? false : value;
  }
  return yaml.dump({ config: Object.fromEntries(Object.entries(config).map(([k, v]) => [`stx-build-cluster:${k}`, v])) });
}

/** What `pulumi preview --json` prints that the benchmark reads. */
interface PreviewJson {
  changeSummary?: Record<string, number>;
  steps?: { op: string; urn: string; diffs?: string[] }[];
}

interface StateResource { type: string; inputs?: Record<string, unknown> }

/** The Kubernetes objects of the stack as declared (resource inputs), for kubectl. */
async function declaredObjects(opts: CliOptions): Promise<object[]> {
  const state = JSON.parse((await pulumiOk(["stack", "export", "--show-secrets"], opts)).stdout) as { deployment: { resources?: StateResource[] } };
  return (state.deployment.resources ?? [])
    .filter((r) => /^kubernetes:[^:]+:[A-Za-z]+$/.test(r.type) && !r.type.endsWith("Patch") && !r.type.startsWith("kubernetes:yaml") && r.inputs?.kind)
    .map((r) => Object.fromEntries(Object.entries(plain(r.inputs) as object).filter(([k]) => !k.startsWith("__"))));
}

/** Pulumi's exported secrets ({<sig>: <secret sig>, plaintext: "<json>"}) as their plain values. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (value === null || typeof value !== "object") return value;
  const o = value as Record<string, unknown>;
  if (SECRET_SIG in o) return typeof o.plaintext === "string" ? plain(JSON.parse(o.plaintext)) : plain(o.value);
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, plain(v)]));
}

async function kubectlDryRun(binDir: string, kubeconfig: string, file: string): Promise<number> {
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(path.join(binDir, "kubectl"), [
      `--kubeconfig=${kubeconfig}`, "apply", "--server-side", "--dry-run=server", "--force-conflicts",
      "--field-manager=pulumi-kubernetes", "-f", file, "-o", "name",
    ], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c));
    child.once("close", (code) => (code === 0 ? resolve() : reject(new Error(`kubectl apply --dry-run=server exited ${code}: ${stderr.slice(-2000)}`))));
  });
  return performance.now() - started;
}

/** Runs the engine benchmark for each size in turn, growing one stack on one cluster. */
export async function engineBench(sizes: readonly number[], log: (line: string) => void, measured: (runs: readonly EngineRun[]) => void = () => undefined): Promise<EngineRun[]> {
  const binDir = toolchainBinDir();
  requireTools(binDir);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "stx-bench-engine-"));
  const cluster = await startLoopbackCluster(binDir, STACK, parseSettings(syntheticConfig(STACK, sizes[0])).cluster.nodes);
  const runs: EngineRun[] = [];
  try {
    const opts: CliOptions = {
      projectDir: projectCopy(path.join(work, "project"), STACK),
      backendDir: path.join(work, "state"),
      pulumiHome: path.join(work, "home"),
      binDir,
      passphrase: "bench",
      env: { KUBECONFIG: cluster.kubeconfig },
    };
    await selectStack(STACK, opts);
    // Without the chart, cengn runs without Jenkins (loopbackOverrides): the figures are not comparable.
    const jenkinsMissing = missingMessage(await upstreamArtifact(JENKINS_CHART));
    if (jenkinsMissing) log(`  engine: Jenkins left out, so these figures are not comparable: ${jenkinsMissing}`);
    let fromSize = 0;
    for (const size of sizes) {
      fs.writeFileSync(path.join(opts.projectDir, `Pulumi.${STACK}.yaml`), await stackFile(size, cluster));
      log(`  engine: pulumi up (${fromSize ? `${fromSize} -> ${size}` : `fresh, ${size}`} users and branches)...`);
      // The file backend rewrites the whole state after every step, so an up's cost grows with the
      // square of the stack. The fresh up is measured as users run it; an up that only grows the
      // stack for the next preview writes its state once, at the end.
      const growth = fromSize ? { ...opts, env: { ...opts.env, PULUMI_SKIP_CHECKPOINTS: "true" } } : opts;
      const up = await timedPulumi(["up", "--yes", "--skip-preview"], growth);
      log(`  engine: no-op pulumi preview at ${size}...`);
      const preview = await timedPulumi(["preview", "--json"], opts);
      const planned = JSON.parse(preview.stdout) as PreviewJson;
      const summary = planned.changeSummary ?? {};
      const changes = Object.entries(summary).filter(([op]) => op !== "same" && op !== "read").reduce((n, [, c]) => n + c, 0);
      for (const step of (planned.steps ?? []).filter((st) => st.op !== "same" && st.op !== "read").slice(0, 5)) {
        log(`  engine: not a no-op: ${step.op} ${step.urn} (${(step.diffs ?? []).join(", ") || "no property named"})`);
      }
      const objects = await declaredObjects(opts);
      const file = path.join(work, `objects-${size}.json`);
      fs.writeFileSync(file, JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }));
      log(`  engine: kubectl apply --server-side --dry-run=server of ${objects.length} objects...`);
      const kubectlMs = await kubectlDryRun(binDir, cluster.kubeconfig, file);
      runs.push({
        stack: STACK, size, resources: Object.values(summary).reduce((n, c) => n + c, 0),
        up: { fromSize, wallMs: up.wallMs, memory: up.memory },
        noopPreview: { wallMs: preview.wallMs, changes, memory: preview.memory },
        kubectlDryRun: { wallMs: kubectlMs, objects: objects.length },
        ratio: preview.wallMs / kubectlMs,
      });
      log(engineTable(runs.slice(-1)).slice(1).map((row) => `  engine: ${row}`).join("\n"));
      measured(runs);
      fromSize = size;
    }
  } finally {
    await cluster.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
  return runs;
}

export function engineTable(runs: readonly EngineRun[]): string[] {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const rows = ["stack  size  resources  up (from)          no-op preview  kubectl dry-run (objects)  ratio  peak MiB engine/provider/program (up; preview)"];
  for (const r of runs) {
    const m = (p: PeakMemory) => `${p.engineMiB.toFixed(0)}/${p.providerMiB.toFixed(0)}/${p.programMiB.toFixed(0)}`;
    rows.push([
      r.stack.padEnd(6), String(r.size).padStart(4), String(r.resources).padStart(10),
      `${s(r.up.wallMs)} (${r.up.fromSize || "fresh"})`.padEnd(18),
      `${s(r.noopPreview.wallMs)}${r.noopPreview.changes ? ` (${r.noopPreview.changes} changes!)` : ""}`.padStart(13),
      `${s(r.kubectlDryRun.wallMs)} (${r.kubectlDryRun.objects})`.padStart(26),
      `${r.ratio.toFixed(2)}x`.padStart(6),
      `  ${m(r.up.memory)}; ${m(r.noopPreview.memory)}`,
    ].join(" "));
  }
  return rows;
}
