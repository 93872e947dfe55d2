/**
 * Code review through the loopback cluster: the minikube stack is deployed with the admin
 * kubeconfig, then everything a review does runs with the reviewer identity's kubeconfig (the
 * stack output `reviewerKubeconfig`): `pulumi preview --diff` and `--refresh` work, `pulumi up` is
 * refused by the API server, and four changes are previewed and rendered (adding a user, renaming a
 * branch, changing a quota, a change that replaces volume claims). With STX_RECORD_REVIEW=1 their
 * `--json` previews are recorded into test/fixtures/review/ for the unit tests
 * (test/src/review/render.test.ts). Last, the render commands of playbooks/review/run.yaml run as
 * the Zuul job would run them.
 */
import { execFileSync } from "child_process";
import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { policyViolations } from "../../src/review/events";
import { renderPlan } from "../../src/review/markdown";
import { PreviewJson } from "../../src/review/preview";
import { CliOptions, CliResult, projectCopy, pulumi, pulumiOk, REPO_ROOT, selectStack } from "../../tools/pulumiCli";
import { LoopbackCluster, loopbackOverrides, requireTools, startLoopbackCluster, toolchainBinDir } from "../../tools/loopback/cluster";
import { parsePreview, previewArgs, withEventLog } from "../../tools/review";
import { playbookCommands } from "../harness/playbook";

const STACK = "minikube";
const PROJECT = "stx-build-cluster";
export const FIXTURES = path.join(REPO_ROOT, "test", "fixtures", "review");

describe("cluster: review with the reviewer identity (preview, render, playbook)", function () {
  this.timeout(15 * 60_000);
  const binDir = toolchainBinDir();
  let cluster: LoopbackCluster;
  let work: string;
  let admin: CliOptions;
  let reviewer: CliOptions;
  let reviewerKubeconfig: string;

  before(async function () {
    requireTools(binDir);
    work = fs.mkdtempSync(path.join(os.tmpdir(), "stx-review-"));
    cluster = await startLoopbackCluster(binDir, STACK);
    admin = {
      projectDir: projectCopy(path.join(work, "project"), STACK),
      backendDir: path.join(work, "state"),
      pulumiHome: path.join(work, "home"),
      binDir,
      passphrase: "review-tests",
      env: { KUBECONFIG: cluster.kubeconfig },
      echo: Boolean(process.env.STX_CLUSTER_VERBOSE),
    };
    await selectStack(STACK, admin);
    for (const [key, value] of Object.entries({ ...(await loopbackOverrides(STACK, cluster)), apiServer: cluster.server })) {
      await setConfig(admin, key, value);
    }
    await pulumiOk(["up", "--yes", "--skip-preview"], admin);
    reviewerKubeconfig = path.join(work, "reviewer.kubeconfig");
    fs.writeFileSync(reviewerKubeconfig, (await pulumiOk(["stack", "output", "reviewerKubeconfig", "--show-secrets"], admin)).stdout, { mode: 0o600 });
    reviewer = { ...admin, env: { KUBECONFIG: reviewerKubeconfig } };
  });

  after(async function () {
    await cluster?.stop();
    if (work && !process.env.STX_KEEP_CLUSTER_DIR) fs.rmSync(work, { recursive: true, force: true });
  });

  it("the reviewer is the stx-reviewer ServiceAccount and may read but not write, nor read other Secrets", function () {
    const as = (args: string[]) => canI(cluster, reviewerKubeconfig, args);
    const me = JSON.parse(cluster.kubectl(["auth", "whoami", "-o", "json"], undefined, reviewerKubeconfig));
    expect(me.status.userInfo.username).to.equal("system:serviceaccount:stx-system:stx-reviewer");
    const expected: [string[], string][] = [
      [["list", "limitranges", "-n", "user-developer"], "yes"],
      // Pods and runs are not declared by the program, so not in the role (exactly the declared kinds).
      [["list", "pods", "-n", "user-developer"], "no"],
      [["list", "tasks.tekton.dev", "-n", "stx-system"], "yes"],
      [["list", "resourcequotas", "-A"], "yes"],
      [["list", "pipelineruns.tekton.dev", "-n", "build-starlingx-master"], "no"],
      [["create", "pods", "-n", "user-developer"], "no"],
      [["patch", "resourcequotas", "-n", "user-developer"], "no"],
      [["delete", "namespaces"], "no"],
      [["list", "secrets", "-n", "stx-system"], "no"],
      [["get", "secrets/owner-token", "-n", "user-developer"], "yes"],
      [["get", "secrets/something-else", "-n", "kube-system"], "no"],
    ];
    for (const [args, answer] of expected) expect(as(args), args.join(" ")).to.equal(answer);
  });

  const scenarios: { name: string; config: Record<string, string>; check: (p: PreviewJson, md: string, blocked: boolean) => void }[] = [
    {
      name: "add-user",
      config: { "users[1].name": "reviewer-test" },
      check: (p, md, blocked) => {
        const ops = new Set((p.steps ?? []).filter((s) => s.op !== "same").map((s) => s.op));
        expect([...ops]).to.include("create").and.not.include("delete");
        expect(md).to.contain("| user-reviewer-test |");
        expect(blocked).to.equal(false);
      },
    },
    {
      name: "rename-branch",
      config: { "projects[0].branches[0].name": "main" },
      check: (_p, md, blocked) => {
        expect(md).to.match(/\*\*delete Namespace build-starlingx-master\*\*/);
        expect(md).to.contain("| build-starlingx-main |");
        expect(blocked).to.equal(false);
      },
    },
    {
      name: "change-quota",
      config: { "users[0].quota.pipelineRuns": "7" },
      check: (_p, md, blocked) => {
        expect(md).to.contain("update ResourceQuota user-developer/build-quota");
        expect(md).to.contain("count/pipelineruns.tekton.dev");
        expect(blocked).to.equal(false);
      },
    },
    {
      name: "replace-volumes",
      config: { "cluster.storageClass": "fast-ssd" },
      check: (_p, md, blocked) => {
        expect(md).to.match(/\*\*replace PersistentVolumeClaim /);
        expect(blocked, "protected data volumes would be replaced").to.equal(true);
      },
    },
  ];

  for (const scenario of scenarios) {
    it(`previews and renders a change: ${scenario.name}`, async function () {
      const before = fs.readFileSync(path.join(admin.projectDir, `Pulumi.${STACK}.yaml`), "utf8");
      try {
        for (const [key, value] of Object.entries(scenario.config)) await setConfig(reviewer, key, value);
        const eventLog = path.join(work, `${scenario.name}.events.jsonl`);
        const result = await pulumi(previewArgs({ refresh: false, policyPacks: [path.join(REPO_ROOT, "policy")] }, eventLog), withEventLog(reviewer));
        const preview = parsePreview(result.stdout);
        const policyEvents = fs.readFileSync(eventLog, "utf8").split("\n").filter((l) => l.includes('"policyEvent"')).join("\n");
        const policy = policyViolations(policyEvents);
        expect(policy.filter((v) => v.policy === "images-pinned-by-digest"), "advisory findings reach the plan").not.to.be.empty;
        const rendered = renderPlan(preview, { stack: STACK, tenantNamespaces: ["user-developer", "build-starlingx-master"], policy });
        scenario.check(preview, rendered.markdown, rendered.blocked);
        expect(rendered.blocked || result.code === 0, output(result)).to.equal(true);
        if (process.env.STX_RECORD_REVIEW) record(scenario.name, preview, policyEvents, rendered.markdown);
      } finally {
        fs.writeFileSync(path.join(admin.projectDir, `Pulumi.${STACK}.yaml`), before);
      }
    });
  }

  it("pulumi preview --diff with the reviewer kubeconfig shows no changes", async function () {
    // The provider reads KUBECONFIG into its own inputs, so the only change is the provider's kubeconfig path.
    const result = await pulumiOk(["preview", "--diff", "--json"], reviewer);
    const changed = (parsePreview(result.stdout).steps ?? []).filter((s) => s.op !== "same");
    expect(changed.map((s) => s.urn.split("::").pop()), output(result)).to.deep.equal(["kubernetes"]);
  });

  it("pulumi preview --refresh with the reviewer kubeconfig works (it reads every object and the managed Secrets)", async function () {
    // A refresh may find what controllers changed (drift), so only success is asserted.
    await pulumiOk(["preview", "--refresh"], reviewer);
  });

  it("pulumi up with the reviewer kubeconfig is refused by the API server", async function () {
    const before = fs.readFileSync(path.join(admin.projectDir, `Pulumi.${STACK}.yaml`), "utf8");
    try {
      await setConfig(reviewer, "users[0].quota.pipelineRuns", "7");
      const result = await pulumi(["up", "--yes", "--skip-preview"], reviewer);
      expect(result.code, output(result)).not.to.equal(0);
      expect(output(result)).to.match(/forbidden/i);
      const quota = JSON.parse(cluster.kubectl(["get", "resourcequota", "build-quota", "-n", "user-developer", "-o", "json"]));
      expect(quota.spec.hard["count/pipelineruns.tekton.dev"]).to.not.equal("7");
    } finally {
      fs.writeFileSync(path.join(admin.projectDir, `Pulumi.${STACK}.yaml`), before);
    }
  });

  policyPackTests(() => ({ work, binDir, kubeconfig: cluster.kubeconfig }));

  it("the Zuul playbook's render commands produce the plan with the reviewer kubeconfig", function () {
    const out = path.join(work, "zuul-review");
    fs.mkdirSync(out, { recursive: true });
    fs.symlinkSync(path.join(REPO_ROOT, "bin"), path.join(admin.projectDir, "bin"));
    const vars: Record<string, string> = {
      src: admin.projectDir,
      out,
      stx_review_stack: STACK,
      stx_review_policy_pack: path.join(REPO_ROOT, "policy"),
      "stx_review.backend_url": `file://${admin.backendDir}`,
      "stx_review.passphrase": admin.passphrase,
    };
    const commands = playbookCommands(path.join(REPO_ROOT, "playbooks", "review", "run.yaml"), "render", vars)
      .filter((c) => !/^npm run build\b/.test(c.cmd)); // compiled already (bin/ is linked)
    expect(commands.map((c) => c.cmd).join("\n")).to.contain("bin/tools/review.js");
    for (const c of commands) {
      const run = spawnShell(c.cmd, c.chdir, {
        ...process.env, ...c.environment, PULUMI_HOME: admin.pulumiHome!, STX_USE_TOOLCHAIN: "1", STX_TOOLCHAIN_BIN: binDir,
      });
      const plan = path.join(out, "plan.md");
      expect(run.code, `${c.cmd}\n${run.output}\n${fs.existsSync(plan) ? fs.readFileSync(plan, "utf8").slice(0, 3000) : ""}`).to.equal(0);
    }
    const plan = fs.readFileSync(path.join(out, "plan.md"), "utf8");
    expect(plan).to.contain("## Pulumi plan for stack `minikube`");
    expect(plan).to.contain("No data-bearing resource is replaced or deleted.");
    // The stack as the earlier tests left it: nothing is replaced or deleted (the provider's kubeconfig
    // path, from KUBECONFIG, always differs; the earlier quota scenario may leave its quota to update).
    const steps = JSON.parse(fs.readFileSync(path.join(out, "preview.json"), "utf8")).steps as { op: string; urn: string }[];
    expect(steps.length).to.be.greaterThan(0);
    expect(steps.filter((st) => /replace|delete/.test(st.op)).map((st) => st.urn)).to.deep.equal([]);
  });
});

/** One preview of test/fixtures/policy-violations per rule, with the policy pack, on the same cluster. */
export function policyPackTests(get: () => { work: string; binDir: string; kubeconfig: string }): void {
  const cases: { violation: string; fails: boolean; message: RegExp }[] = [
    { violation: "none", fails: false, message: /stx-build-cluster/ },
    { violation: "privileged", fails: true, message: /no-privileged-outside-minikube[\s\S]*privileged container/ },
    { violation: "unprotected", fails: true, message: /data-volumes-protected[\s\S]*not protected/ },
    { violation: "quota", fails: true, message: /tenant-quota[\s\S]*user-policy-check/ },
    { violation: "digest", fails: false, message: /images-pinned-by-digest[\s\S]*busybox:1\.36/ },
  ];
  for (const c of cases) {
    it(`the policy pack ${c.fails ? "fails" : "passes"} a preview that ${c.violation === "none" ? "breaks no rule" : `breaks ${c.violation}`}`, async function () {
      const { work, binDir, kubeconfig } = get();
      const dir = path.join(work, `policy-${c.violation}`);
      fs.mkdirSync(dir, { recursive: true });
      for (const f of ["Pulumi.yaml", "index.js"]) fs.copyFileSync(path.join(REPO_ROOT, "test", "fixtures", "policy-violations", f), path.join(dir, f));
      fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(dir, "node_modules"));
      const opts: CliOptions = {
        projectDir: dir, backendDir: path.join(dir, ".state"), pulumiHome: path.join(dir, ".home"), binDir,
        passphrase: "policy-tests", env: { KUBECONFIG: kubeconfig },
      };
      await selectStack("cengn", opts);
      await pulumiOk(["config", "set", "violation", c.violation], opts);
      await pulumiOk(["config", "set", "stx-build-cluster:profile", "cengn"], opts);
      const result = await pulumi(["preview", "--policy-pack", path.join(REPO_ROOT, "policy")], opts);
      expect(result.code !== 0, output(result)).to.equal(c.fails);
      expect(output(result)).to.match(c.message);
    });
  }
}

function setConfig(opts: CliOptions, key: string, value: string): Promise<CliResult> {
  return pulumiOk(["config", "set", "--path", `${PROJECT}:${key}`, value], opts);
}

function canI(cluster: LoopbackCluster, kubeconfig: string, args: string[]): string {
  try {
    return cluster.kubectl(["auth", "can-i", ...args], undefined, kubeconfig);
  } catch (e) {
    return (e as { stdout?: string }).stdout?.trim() || "error";
  }
}

/**
 * Keeps recorded previews small: steps that change nothing are dropped (the renderer ignores them),
 * and of the event log only the policy events are kept. The rendered Markdown is kept beside them.
 */
function record(name: string, preview: PreviewJson, policyEvents: string, markdown: string): void {
  fs.mkdirSync(FIXTURES, { recursive: true });
  const kept = { ...preview, steps: (preview.steps ?? []).filter((s) => s.op !== "same") };
  fs.writeFileSync(path.join(FIXTURES, `${name}.json`), `${JSON.stringify(kept, null, 2)}\n`);
  fs.writeFileSync(path.join(FIXTURES, `${name}.policy.jsonl`), `${policyEvents}\n`);
  fs.writeFileSync(path.join(FIXTURES, `${name}.md`), markdown);
}

function spawnShell(cmd: string, cwd: string, env: NodeJS.ProcessEnv): { code: number; output: string } {
  try {
    const output = execFileSync("bash", ["-c", cmd], { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 10 * 60_000 });
    return { code: 0, output };
  } catch (e) {
    const err = e as { status?: number; stdout?: string; stderr?: string };
    return { code: err.status ?? 1, output: `${err.stdout ?? ""}\n${err.stderr ?? ""}`.slice(-4000) };
  }
}

function output(result: CliResult): string {
  return `${result.stdout}\n${result.stderr}`.slice(-4000);
}
