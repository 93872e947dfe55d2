/**
 * The plain Pulumi CLI path, as a reviewer runs it: `pulumi preview` and `pulumi up` from a
 * directory with this repo's Pulumi.yaml, so the CLI starts the Node.js language host
 * (tools/test-doubles/pulumi-language-nodejs, a stand-in that starts @pulumi/pulumi's own program
 * runner) and the SDK resolves the program itself (package.json's main, src/main.js, which loads
 * src/index.ts through esbuild). File backend, passphrase
 * secrets, the minikube stack against a throwaway control plane on loopback.
 *
 * The same check runs with a Pulumi.yaml whose `main` is src/index.ts, and must fail: under that
 * layout the CLI once compiled the program non-strict from src/ (issue 11).
 */
import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CliOptions, CliResult, projectCopy, pulumi, pulumiOk, REPO_ROOT, selectStack } from "../../tools/pulumiCli";
import { LoopbackCluster, loopbackOverrides, requireTools, startLoopbackCluster, toolchainBinDir } from "../../tools/loopback/cluster";

const STACK = "minikube";
const PROJECT = "stx-build-cluster";

describe("cluster: the Pulumi CLI runs Pulumi.yaml (language host, tsconfig, main)", function () {
  this.timeout(10 * 60_000);
  const binDir = toolchainBinDir();
  let cluster: LoopbackCluster;
  let work: string;

  before(async function () {
    requireTools(binDir);
    work = fs.mkdtempSync(path.join(os.tmpdir(), "stx-cli-"));
    cluster = await startLoopbackCluster(binDir, STACK);
  });

  after(async function () {
    await cluster?.stop();
    if (work && !process.env.STX_KEEP_CLUSTER_DIR) fs.rmSync(work, { recursive: true, force: true });
  });

  /** A project copy with the given Pulumi.yaml, its stack selected and the loopback overrides set. */
  async function project(name: string, pulumiYaml?: string): Promise<CliOptions> {
    const opts: CliOptions = {
      projectDir: projectCopy(path.join(work, name), STACK, pulumiYaml),
      backendDir: path.join(work, `${name}-state`),
      pulumiHome: path.join(work, `${name}-home`),
      binDir,
      passphrase: "cli-tests",
      env: { KUBECONFIG: cluster.kubeconfig },
      echo: Boolean(process.env.STX_CLUSTER_VERBOSE),
    };
    await selectStack(STACK, opts);
    const config = { ...(await loopbackOverrides(STACK, cluster)), apiServer: cluster.server };
    for (const [key, value] of Object.entries(config)) {
      await pulumiOk(["config", "set", "--path", `${PROJECT}:${key}`, value], opts);
    }
    return opts;
  }

  it("fails the same check when Pulumi.yaml's main points back at src/index.ts", async function () {
    const committed = fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8");
    expect(committed, "Pulumi.yaml sets no main").not.to.match(/^main:/m);
    const opts = await project("main-in-src", `${committed.trimEnd()}\nmain: src/index.ts\n`);
    const result = await pulumi(["preview"], opts);
    expect(result.code, output(result)).not.to.equal(0);
  });

  it("prints a settings error alone: the setting and what is allowed, no stack trace", async function () {
    const bad = await project("bad-settings");
    await pulumiOk(["config", "set", "--path", `${PROJECT}:cluster.sharedNamespace`, "kube-system"], bad);
    const result = await pulumi(["preview"], bad);
    const text = output(result);
    expect(result.code, text).not.to.equal(0);
    expect(text).to.contain("stx-build-cluster:cluster.sharedNamespace: \"kube-system\" belongs to Kubernetes or the platform");
    // SettingsError is a pulumi.RunError, which the SDK's runner prints without its stack.
    expect(text, "a stack frame in the CLI's output").not.to.match(/^\s+at .+:\d+:\d+\)?$/m);
    expect(text).not.to.contain("failed with an unhandled exception");
  });

  let opts: CliOptions;

  it("pulumi preview of the new stack plans the tenants", async function () {
    opts = await project("repo");
    const result = await pulumiOk(["preview", "--json"], opts);
    const plan = JSON.parse(result.stdout) as { changeSummary?: Record<string, number> };
    expect(plan.changeSummary?.create ?? 0, output(result)).to.be.greaterThan(20);
  });

  it("pulumi up creates the stack, and the cluster has the tenants", async function () {
    await pulumiOk(["up", "--yes", "--skip-preview"], opts);
    const outputs = JSON.parse((await pulumiOk(["stack", "output", "--json"], opts)).stdout) as Record<string, unknown>;
    expect(outputs.sharedNamespace).to.equal("stx-system");
    for (const ns of Object.values(outputs.tenantNamespaces as Record<string, string>)) {
      expect(cluster.kubectl(["get", "namespace", ns, "-o", "name"])).to.equal(`namespace/${ns}`);
    }
  });

  it("a second pulumi preview through the CLI shows no changes", async function () {
    await pulumiOk(["preview", "--expect-no-changes"], opts);
  });
});

function output(result: CliResult): string {
  return `${result.stdout}\n${result.stderr}`.slice(-4000);
}
