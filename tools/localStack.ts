/**
 * Runs this project's Pulumi program against a local file backend with passphrase secrets, through
 * the Automation API. The program runs inline (in this Node process, from the compiled bin/), which
 * needs no pulumi-language-nodejs plugin: that plugin cannot be built here (see docs/cluster-tests.md).
 *
 *   node bin/tools/localStack.js <up|preview|destroy|refresh> <stack> [--diff]
 *
 * Used by the cluster tests (test/cluster/stacks.test.ts).
 */
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import * as fs from "fs";
import * as path from "path";
import { offlineEnv, PROJECT, REPO_ROOT, toolchainBinDir } from "./pulumiCli";

export { PROJECT, REPO_ROOT };

export interface LocalStackOptions {
  readonly stack: string;
  /** Directory holding Pulumi.yaml and Pulumi.<stack>.yaml; the repo by default. */
  readonly workDir?: string;
  /** Directory of the file:// backend. */
  readonly backendDir: string;
  /** Directory with the pulumi CLI and plugins (scripts/toolchain.sh --bin-dir). */
  readonly binDir: string;
  readonly passphrase: string;
  /** Extra environment for the engine and its plugins (e.g. KUBECONFIG). */
  readonly env?: Record<string, string>;
}

/** The program, loaded afresh on every run so a changed stack config or source is picked up. */
export function inlineProgram(root = REPO_ROOT): () => Promise<Record<string, unknown>> {
  const compiled = path.join(root, "bin");
  return async () => {
    for (const key of Object.keys(require.cache)) {
      if (key.startsWith(path.join(compiled, "src")) || key.startsWith(path.join(compiled, "components"))) delete require.cache[key];
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return { ...require(path.join(compiled, "src", "index.js")) };
  };
}

export async function localStack(opts: LocalStackOptions): Promise<Stack> {
  fs.mkdirSync(opts.backendDir, { recursive: true });
  const pulumiHome = path.join(opts.backendDir, ".pulumi-home");
  return LocalWorkspace.createOrSelectStack(
    { stackName: opts.stack, projectName: PROJECT, program: inlineProgram() },
    {
      workDir: opts.workDir ?? REPO_ROOT,
      pulumiHome,
      pulumiCommand: await PulumiCommand.get({ root: path.dirname(opts.binDir) }),
      envVars: offlineEnv(opts),
    },
  );
}

async function main(argv: string[]): Promise<void> {
  const [command, stackName, ...flags] = argv;
  if (!command || !stackName || !["up", "preview", "destroy", "refresh"].includes(command)) {
    throw new Error("usage: localStack.js <up|preview|destroy|refresh> <stack> [--diff]");
  }
  const env = process.env;
  const stack = await localStack({
    stack: stackName,
    backendDir: (env.PULUMI_BACKEND_URL ?? `file://${path.join(REPO_ROOT, ".pulumi-state")}`).replace(/^file:\/\//, ""),
    binDir: toolchainBinDir(),
    passphrase: env.PULUMI_CONFIG_PASSPHRASE ?? "",
  });
  const onOutput = (out: string) => process.stdout.write(out);
  const diff = flags.includes("--diff");
  if (command === "up") await stack.up({ onOutput, diff });
  if (command === "preview") await stack.preview({ onOutput, diff });
  if (command === "destroy") await stack.destroy({ onOutput });
  if (command === "refresh") await stack.refresh({ onOutput });
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
