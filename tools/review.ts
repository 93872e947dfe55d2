/**
 * `npm run review -- <stack>`: the plan of a change as a reviewer reads it. Runs
 * `pulumi preview --json` for the stack through the Pulumi CLI (as scripts/up.sh does: an installed
 * CLI with the official plugins, else the toolchain's, offline), renders it as Markdown
 * (src/review/markdown.ts) and exits non-zero when a protected resource would be deleted or the
 * preview failed.
 *
 *   node bin/tools/review.js <stack> [--out plan.md] [--json-out preview.json] [--refresh]
 *        [--policy-pack DIR] [--from-json preview.json] [--cwd PROJECT_DIR]
 *
 * Exit status: 0 plan rendered, 1 blocked (protected deletion, failed preview or policy violation),
 * 2 bad usage or no plan at all. State: PULUMI_BACKEND_URL (default: the repo's .pulumi-state/),
 * PULUMI_CONFIG_PASSPHRASE (default stx-local); the cluster: KUBECONFIG (the reviewer's, see
 * docs/review.md).
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as os from "os";
import { policyViolations } from "../src/review/events";
import { renderPlan, RenderedPlan } from "../src/review/markdown";
import { PreviewJson } from "../src/review/preview";
import { CliOptions, pulumi, REPO_ROOT, toolchainBinDir } from "./pulumiCli";

export interface ReviewArgs {
  readonly stack: string;
  readonly out?: string;
  readonly jsonOut?: string;
  readonly refresh: boolean;
  readonly policyPacks: string[];
  readonly fromJson?: string;
  /** The project directory (Pulumi.yaml); the repository by default. */
  readonly cwd?: string;
}

const USAGE = "usage: npm run review -- <stack> [--out FILE] [--json-out FILE] [--refresh] [--policy-pack DIR] [--from-json FILE] [--cwd PROJECT_DIR]";

export function parseArgs(argv: readonly string[]): ReviewArgs {
  const args: { stack?: string; out?: string; jsonOut?: string; refresh: boolean; policyPacks: string[]; fromJson?: string; cwd?: string } = { refresh: false, policyPacks: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) throw new Error(`${a} needs a value; ${USAGE}`);
      return v;
    };
    if (a === "--out") args.out = value();
    else if (a === "--json-out") args.jsonOut = value();
    else if (a === "--from-json") args.fromJson = value();
    else if (a === "--cwd") args.cwd = value();
    else if (a === "--policy-pack") args.policyPacks.push(value());
    else if (a === "--refresh") args.refresh = true;
    else if (!a.startsWith("-") && args.stack === undefined) args.stack = a;
    else throw new Error(`unknown argument ${a}; ${USAGE}`);
  }
  if (!args.stack || !/^[A-Za-z0-9_.-]+$/.test(args.stack)) throw new Error(`a stack name (letters, digits, '-', '_', '.') is required; ${USAGE}`);
  return { ...args, stack: args.stack };
}

/** The `pulumi preview` arguments of a review; policy events go to the event log (not in --json). */
export function previewArgs(args: Pick<ReviewArgs, "refresh" | "policyPacks">, eventLog?: string): string[] {
  return [
    "preview", "--json", ...(args.refresh ? ["--refresh"] : []), ...args.policyPacks.flatMap((p) => ["--policy-pack", p]),
    ...(eventLog ? ["--event-log", eventLog] : []),
  ];
}

/** `--event-log` exists only with PULUMI_DEBUG_COMMANDS set (the Automation API sets it too). */
export function withEventLog(opts: CliOptions): CliOptions {
  return { ...opts, env: { ...opts.env, PULUMI_DEBUG_COMMANDS: "true" } };
}

/** Reads the plan from a preview's stdout: the JSON document, even when the preview failed. */
export function parsePreview(stdout: string): PreviewJson {
  const start = stdout.indexOf("{");
  if (start < 0) throw new Error("pulumi preview --json printed no JSON");
  return JSON.parse(stdout.slice(start)) as PreviewJson;
}

/** Runs the preview for an already selected stack and renders it. */
export async function review(args: ReviewArgs, opts: CliOptions): Promise<RenderedPlan & { json: PreviewJson; stderr: string }> {
  const eventLog = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "stx-review-")), "events.jsonl");
  const result = await pulumi(previewArgs(args, eventLog), withEventLog(opts));
  const policy = fs.existsSync(eventLog) ? policyViolations(fs.readFileSync(eventLog, "utf8")) : [];
  fs.rmSync(path.dirname(eventLog), { recursive: true, force: true });
  let json: PreviewJson;
  try {
    json = parsePreview(result.stdout);
  } catch (e) {
    throw new Error(`pulumi preview exited ${result.code} without a plan (${(e as Error).message})\n${result.stderr.slice(-3000)}`);
  }
  const outputs = await pulumi(["stack", "output", "tenantNamespaces", "--json"], opts);
  const tenants = outputs.code === 0 ? Object.values(JSON.parse(outputs.stdout || "{}") as Record<string, string>) : [];
  // A preview that failed without an error diagnostic (a policy pack that did not start) blocks too.
  const previewError = result.code !== 0 ? result.stderr : undefined;
  const rendered = renderPlan(json, { stack: args.stack, tenantNamespaces: tenants, policy, previewError });
  return { ...rendered, json, stderr: result.stderr };
}

/** Which CLI runs the preview: an installed one (official plugins) unless STX_USE_TOOLCHAIN is set, else the toolchain's. */
function cliOptions(projectDir: string): CliOptions {
  const backend = process.env.PULUMI_BACKEND_URL ?? `file://${path.join(REPO_ROOT, ".pulumi-state")}`;
  const installed = spawnSync("bash", ["-c", "command -v pulumi"], { encoding: "utf8" }).stdout.trim();
  const binDir = !process.env.STX_USE_TOOLCHAIN && installed ? path.dirname(installed) : toolchainBinDir();
  // Builds what is missing, as up.sh does, unless the caller names its toolchain (STX_TOOLCHAIN_BIN: tests, CI).
  if (binDir !== path.dirname(installed) && !process.env.STX_TOOLCHAIN_BIN) execFileSync("bash", [path.join(REPO_ROOT, "scripts", "toolchain.sh"), "pulumi", "pulumi-language-nodejs", "pulumi-resource-kubernetes", "pulumi-resource-random"], { stdio: "inherit" });
  return {
    projectDir,
    backendDir: backend.startsWith("file://") ? backend.slice("file://".length) : path.join(REPO_ROOT, ".pulumi-state"),
    binDir,
    passphrase: process.env.PULUMI_CONFIG_PASSPHRASE ?? "stx-local",
    // An installed CLI fetches the official plugins; the toolchain never downloads.
    env: { PULUMI_BACKEND_URL: backend, ...(binDir === path.dirname(installed) ? { PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "false" } : {}) },
  };
}

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  let plan: RenderedPlan;
  if (args.fromJson) {
    plan = renderPlan(JSON.parse(fs.readFileSync(args.fromJson, "utf8")) as PreviewJson, { stack: args.stack });
  } else {
    // The project is where the command runs (npm run review: the repo; Zuul's playbook: its chdir).
    const opts = cliOptions(path.resolve(args.cwd ?? process.cwd()));
    const select = await pulumi(["stack", "select", "--create", args.stack], opts);
    if (select.code !== 0) throw new Error(`pulumi stack select ${args.stack} failed: ${select.stderr}`);
    const result = await review(args, opts);
    if (args.jsonOut) fs.writeFileSync(args.jsonOut, JSON.stringify(result.json, null, 2));
    if (result.stderr.trim()) process.stderr.write(result.stderr);
    plan = result;
  }
  if (args.out) fs.writeFileSync(args.out, plan.markdown);
  else process.stdout.write(plan.markdown);
  if (plan.blocked) console.error(`review: blocked (${args.out ?? "see the plan"})`);
  return plan.blocked ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (e: Error) => {
    console.error(`review: ${e.message}`);
    process.exit(2);
  });
}
