/**
 * `npm run bench`: how the program's cost grows with the farm, what each stack's shared services
 * ask of its nodes, and the real engine's cost on a loopback control plane (bench/engine.ts).
 * Prints tables and writes the figures to bench/results.json, so a change that slows the program
 * or grows the footprint shows up in review. `--mocks-only` / `--engine-only` run one part (the
 * other part's figures in results.json are kept).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { engineBench, EngineRun, engineTable } from "./engine";
import { footprint, Footprint } from "./footprint";
import { REPO_ROOT, runStack } from "../tools/mockedProgram";

const STACKS = ["minikube", "cengn", "starlingx"];
const SIZES = [10, 100, 400];
const RESULTS = path.join(REPO_ROOT, "bench", "results.json");

interface Cost {
  stack: string;
  size: number;
  tenants: number;
  resources: number;
  wallMs: number;
  peakRssMiB: number;
}

/** Each size in a fresh process: the peak memory of one run must not include another's. */
function measure(stack: string, size: number): Cost {
  const script = path.join(REPO_ROOT, "bin", "bench", "programCost.js");
  const out = execFileSync(process.execPath, [script, stack, String(size)], { encoding: "utf8" });
  return JSON.parse(out.trim().split("\n").pop()!) as Cost;
}

function costTable(costs: Cost[]): string[] {
  const rows = ["stack      size  tenants  resources  wall ms  ms/resource  peak RSS MiB  growth"];
  for (const stack of STACKS) {
    const mine = costs.filter((c) => c.stack === stack);
    for (const cost of mine) {
      const smallest = mine[0];
      const growth = perResource(cost) / perResource(smallest);
      rows.push(
        [
          stack.padEnd(9),
          String(cost.size).padStart(5),
          String(cost.tenants).padStart(8),
          String(cost.resources).padStart(10),
          cost.wallMs.toFixed(0).padStart(8),
          perResource(cost).toFixed(2).padStart(12),
          cost.peakRssMiB.toFixed(0).padStart(13),
          `${growth.toFixed(2)}x`.padStart(7),
        ].join(" "),
      );
    }
  }
  return rows;
}

/** ms per resource now against the figures in the committed results file. */
function comparison(costs: Cost[]): string[] {
  if (!fs.existsSync(RESULTS)) return ["  no earlier results"];
  const previous = (JSON.parse(fs.readFileSync(RESULTS, "utf8")) as { costs: Cost[] }).costs;
  return costs.map((cost) => {
    const before = previous.find((p) => p.stack === cost.stack && p.size === cost.size);
    if (!before) return `  ${cost.stack} ${cost.size}: new`;
    const change = (perResource(cost) / perResource(before) - 1) * 100;
    const resources = cost.resources - before.resources;
    return `  ${cost.stack.padEnd(9)} ${String(cost.size).padStart(4)}: ms/resource ${change >= 0 ? "+" : ""}${change.toFixed(0)}%, resources ${resources >= 0 ? "+" : ""}${resources}`;
  });
}

function perResource(cost: Cost): number {
  return cost.wallMs / cost.resources;
}

function footprintTable(prints: Footprint[]): string[] {
  const rows = ["stack      cpu req  cpu lim  mem req   mem lim   storage   node cpu  node mem  left for builds (cpu / mem)"];
  for (const f of prints) {
    rows.push(
      [
        f.stack.padEnd(9),
        f.requests.cpu.toFixed(2).padStart(8),
        f.limits.cpu.toFixed(2).padStart(8),
        gib(f.requests.memory).padStart(9),
        gib(f.limits.memory).padStart(9),
        gib(f.storage).padStart(9),
        f.capacity.cpu.toFixed(0).padStart(9),
        gib(f.capacity.memory).padStart(9),
        `  ${f.left.cpu.toFixed(2)} cpu / ${gib(f.left.memory)}`,
      ].join(" "),
    );
  }
  return rows;
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(2)}Gi`;
}

/** Sizes of the engine benchmark (users = branches; each grows the same stack); STX_BENCH_ENGINE_SIZES overrides, e.g. "50". */
const ENGINE_SIZES = (process.env.STX_BENCH_ENGINE_SIZES ?? "50,200").split(",").map(Number);

async function main(argv: string[]): Promise<void> {
  const mocks = !argv.includes("--engine-only");
  const engine = !argv.includes("--mocks-only");
  const previous = fs.existsSync(RESULTS) ? (JSON.parse(fs.readFileSync(RESULTS, "utf8")) as Record<string, unknown>) : {};
  let results: Record<string, unknown> = { ...previous, node: process.version, cpus: os.cpus().length };
  if (mocks) results = { ...results, ...(await mocksBench()) };
  if (engine) {
    console.log(`\nThe real engine on a loopback control plane (Pulumi CLI, language host, provider, kube-apiserver); sizes ${ENGINE_SIZES.join(", ")}`);
    // Written after each size too: the bigger sizes take long, and what was measured is kept.
    const save = (engineRuns: readonly EngineRun[]) => fs.writeFileSync(RESULTS, `${JSON.stringify({ ...results, engine: engineRuns }, null, 2)}\n`);
    const runs = await engineBench(ENGINE_SIZES, (line) => console.log(line), save);
    console.log(engineTable(runs).join("\n"));
    console.log("  ratio = no-op pulumi preview / kubectl apply --server-side --dry-run=server of the same objects (target <= 2x)");
    results = { ...results, engine: runs };
  }
  fs.writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwrote ${path.relative(process.cwd(), RESULTS)}`);
}

async function mocksBench(): Promise<{ costs: Cost[]; footprints: Footprint[] }> {
  const costs = STACKS.flatMap((stack) => SIZES.map((size) => measure(stack, size)));
  const prints: Footprint[] = [];
  for (const stack of STACKS) prints.push(footprint(stack, await runStack(stack)));
  console.log("Program cost under Pulumi mocks (growth = ms per resource relative to the smallest size; 1.00x is linear)");
  console.log(costTable(costs).join("\n"));
  console.log("\nShared-service footprint per stack (long-running pods; jobs listed separately)");
  console.log(footprintTable(prints).join("\n"));
  for (const f of prints) {
    if (f.jobs.length > 0) console.log(`  ${f.stack}: jobs/cronjobs not counted above: ${f.jobs.join(", ")}`);
    if (f.notExpanded.length > 0) console.log(`  ${f.stack}: not expanded under mocks: ${f.notExpanded.join(", ")}`);
  }
  console.log("\nChange against the last recorded run (bench/results.json)");
  console.log(comparison(costs).join("\n"));
  return { costs, footprints: prints };
}

main(process.argv.slice(2)).catch((error) => {
  console.error(error);
  process.exit(1);
});
