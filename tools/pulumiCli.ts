/**
 * The plain Pulumi CLI path: `pulumi preview | up | destroy | refresh` run as a user runs them, from
 * a directory with Pulumi.yaml, so the CLI starts the Node.js language host, which runs the program
 * with @pulumi/pulumi's own runner (package.json `main`, src/main.js, resolved by the SDK).
 * Local file backend, passphrase secrets, binaries from the toolchain (scripts/toolchain.sh).
 *
 * Used by `npm start` (tools/start.ts), the cluster tests and the benchmark.
 */
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");
/** The project name of Pulumi.yaml, which prefixes every config key. */
export const PROJECT = "stx-build-cluster";

export interface CliOptions {
  /** Directory holding Pulumi.yaml (the project root). */
  readonly projectDir: string;
  /** Directory of the file:// backend. */
  readonly backendDir: string;
  /** Directory with pulumi, pulumi-language-nodejs and the resource plugins. */
  readonly binDir: string;
  readonly passphrase: string;
  /** PULUMI_HOME; the user's own (~/.pulumi) when unset. */
  readonly pulumiHome?: string;
  /** Extra environment (e.g. KUBECONFIG). */
  readonly env?: Record<string, string>;
  /** Stream the CLI's output to this process's stdout/stderr as well. */
  readonly echo?: boolean;
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunningCli {
  readonly pid: number;
  readonly done: Promise<CliResult>;
}

/** Where scripts/toolchain.sh puts the binaries. */
export function toolchainBinDir(): string {
  return process.env.STX_TOOLCHAIN_BIN
    ?? execFileSync("bash", [path.join(REPO_ROOT, "scripts", "toolchain.sh"), "--bin-dir"], { encoding: "utf8" }).trim();
}

/**
 * Where scripts/toolchain.sh puts its test doubles (the random provider and the language host, which
 * cannot be built here): beside the binaries' directory, never inside it.
 */
export function doublesDir(binDir: string): string {
  return path.join(path.dirname(binDir), "test-doubles");
}

/** PATH for the Pulumi CLI offline: the toolchain, then its test doubles, then the caller's PATH. */
export function toolchainPath(binDir: string): string {
  return [binDir, doublesDir(binDir), process.env.PATH ?? ""].join(path.delimiter);
}

/** What the Pulumi CLI needs offline: a file backend, passphrase secrets, the toolchain on PATH. */
export function offlineEnv(opts: Pick<CliOptions, "backendDir" | "passphrase" | "binDir" | "env">): Record<string, string> {
  return {
    PULUMI_BACKEND_URL: `file://${opts.backendDir}`,
    PULUMI_CONFIG_PASSPHRASE: opts.passphrase,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    // Never download a plugin: the toolchain's and its test doubles are found on PATH.
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PATH: toolchainPath(opts.binDir),
    ...opts.env,
  };
}

export function cliEnv(opts: CliOptions): NodeJS.ProcessEnv {
  fs.mkdirSync(opts.backendDir, { recursive: true });
  return {
    ...process.env,
    PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
    ...(opts.pulumiHome ? { PULUMI_HOME: opts.pulumiHome } : {}),
    ...offlineEnv(opts),
  };
}

/** Starts `pulumi <args>` in the project directory; `done` resolves with its exit code and output. */
export function startPulumi(args: readonly string[], opts: CliOptions): RunningCli {
  const child = spawn(path.join(opts.binDir, "pulumi"), ["--non-interactive", ...args], {
    cwd: opts.projectDir, env: cliEnv(opts), stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk;
    if (opts.echo) process.stdout.write(chunk);
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk;
    if (opts.echo) process.stderr.write(chunk);
  });
  const done = new Promise<CliResult>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
  return { pid: child.pid ?? -1, done };
}

export async function pulumi(args: readonly string[], opts: CliOptions): Promise<CliResult> {
  return startPulumi(args, opts).done;
}

/** Like `pulumi`, but throws with the CLI's output when it fails. */
export async function pulumiOk(args: readonly string[], opts: CliOptions): Promise<CliResult> {
  const result = await pulumi(args, opts);
  if (result.code !== 0) {
    throw new Error(`pulumi ${args.join(" ")} exited ${result.code}\n${result.stdout}\n${result.stderr}`);
  }
  return result;
}

/** Selects the stack, creating it in the backend on first use. */
export async function selectStack(stack: string, opts: CliOptions): Promise<void> {
  await pulumiOk(["stack", "select", "--create", stack], opts);
}

/**
 * A throwaway project directory that is this repo as the CLI sees it: Pulumi.yaml (given, so a test
 * can try a broken one) and a copy of the stack file (so config changes never touch the repo), with
 * everything else linked to the repo.
 */
export function projectCopy(dir: string, stack: string, pulumiYaml?: string): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), pulumiYaml ?? fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8"));
  // Without the salt of a passphrase someone used locally.
  fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`),
    fs.readFileSync(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`), "utf8").replace(/^encryptionsalt:.*$/m, ""));
  for (const entry of ["package.json", "tsconfig.json", "src", "components", "node_modules"]) {
    fs.symlinkSync(path.join(REPO_ROOT, entry), path.join(dir, entry));
  }
  return dir;
}
