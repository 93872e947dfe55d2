/**
 * The review jobs that cannot run here (Zuul, GitHub Actions): their YAML parses, they refer to what
 * exists, and the render command they run is one the review tool accepts. The cluster test runs the
 * playbook's render commands for real (test/cluster/review.test.ts).
 */
import { expect } from "chai";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { parseArgs } from "../../../tools/review";
import { REPO_ROOT } from "../../../tools/mockedProgram";
import { playbookCommands, ZUUL_SCHEMA } from "../../harness/playbook";

const read = (file: string) => yaml.load(fs.readFileSync(path.join(REPO_ROOT, file), "utf8"), { schema: ZUUL_SCHEMA }) as any;

/** The review tool's arguments in a shell command line `node bin/tools/review.js ...`. */
function reviewArgs(command: string): string[] {
  // Shell words: runs of quoted and unquoted parts ('/out'/plan.md is one word).
  const words = (command.match(/(?:'[^']*'|"[^"]*"|[^\s'"])+/g) ?? []).map((w) => w.replace(/'([^']*)'|"([^"]*)"/g, "$1$2"));
  const at = words.findIndex((w) => w.endsWith("bin/tools/review.js"));
  expect(at, command).to.be.at.least(0);
  return words.slice(at + 1);
}

describe("the review jobs", () => {
  it("Zuul: the job runs playbooks that exist, with the secret the playbook reads", () => {
    const config = read(".zuul.yaml") as Record<string, any>[];
    const job = config.find((e) => e.job?.name === "stx-build-cluster-review")!.job;
    for (const playbook of [job.run, job["post-run"]]) expect(fs.existsSync(path.join(REPO_ROOT, playbook)), playbook).to.equal(true);
    const secret = config.find((e) => e.secret?.name === job.secrets[0].secret)!.secret;
    expect(Object.keys(secret.data)).to.have.members(["kubeconfig", "backend_url", "passphrase"]);
    expect(config.find((e) => e.project)!.project.check.jobs).to.include(job.name);
    const play = fs.readFileSync(path.join(REPO_ROOT, job.run), "utf8");
    for (const key of Object.keys(secret.data)) expect(play).to.contain(`${job.secrets[0].name}.${key}`);
    read(job["post-run"]);
  });

  it("Zuul: the render command is one the review tool accepts, with the reviewer kubeconfig", () => {
    const vars = { src: "/src", out: "/out", stx_review_stack: "cengn", stx_review_policy_pack: "policy", "stx_review.backend_url": "s3://b", "stx_review.passphrase": "p" };
    const commands = playbookCommands(path.join(REPO_ROOT, "playbooks", "review", "run.yaml"), "render", vars);
    const render = commands.find((c) => c.cmd.includes("bin/tools/review.js"))!;
    expect(parseArgs(reviewArgs(render.cmd))).to.deep.include({ stack: "cengn", out: "/out/plan.md", policyPacks: ["policy"] });
    expect(render.environment.KUBECONFIG).to.equal("/out/reviewer.kubeconfig");
  });

  it("GitHub: the workflow renders with the reviewer kubeconfig on pull requests and fails when blocked", () => {
    const workflow = read(".github/workflows/review.yaml");
    expect(workflow.on.pull_request).to.be.an("object");
    const steps = workflow.jobs.plan.steps as { name?: string; run?: string; env?: Record<string, string> }[];
    const render = steps.find((s) => s.run?.includes("bin/tools/review.js"))!;
    const args = parseArgs(reviewArgs(render.run!.split("\n").find((l) => l.includes("review.js"))!.replace(/"\$STACK"/, "cengn").replace(/"\$RUNNER_TEMP\/review\/plan.md"/, "/tmp/plan.md")));
    expect(args.policyPacks).to.deep.equal(["policy"]);
    expect(render.env?.KUBECONFIG).to.contain("reviewer.kubeconfig");
    expect(steps.some((s) => s.run?.includes("exit 1"))).to.equal(true);
  });

  it("the review tool refuses bad arguments with the usage", () => {
    expect(() => parseArgs([])).to.throw(/a stack name/);
    expect(() => parseArgs(["cengn", "--out"])).to.throw(/--out needs a value/);
    expect(() => parseArgs(["cengn", "--nope"])).to.throw(/unknown argument --nope/);
    expect(() => parseArgs(["cen gn;rm"])).to.throw(/a stack name/);
  });
});
