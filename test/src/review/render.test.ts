/**
 * The rendered plan on previews recorded from the loopback cluster (test/cluster/review.test.ts,
 * STX_RECORD_REVIEW=1): the minikube stack with one change each, previewed by the reviewer identity
 * with the policy pack.
 */
import { execFileSync } from "child_process";
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { policyViolations } from "../../../src/review/events";
import { renderPlan, RenderedPlan } from "../../../src/review/markdown";
import { countOps, errorsOf, PreviewJson } from "../../../src/review/preview";
import { isSecretPath, SECRET } from "../../../src/review/values";
import { REPO_ROOT } from "../../../tools/mockedProgram";

const FIXTURES = path.join(REPO_ROOT, "test", "fixtures", "review");
const TENANTS = ["user-developer", "build-starlingx-master"];
const SCENARIOS = ["add-user", "rename-branch", "change-quota", "replace-volumes"] as const;

function load(name: string): { preview: PreviewJson; plan: RenderedPlan } {
  const preview = JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), "utf8")) as PreviewJson;
  const policy = policyViolations(fs.readFileSync(path.join(FIXTURES, `${name}.policy.jsonl`), "utf8"));
  return { preview, plan: renderPlan(preview, { stack: "minikube", tenantNamespaces: TENANTS, policy }) };
}

/** Every string value in `value` at a path the renderer treats as a credential, with the resource type. */
function secretValues(type: string, value: unknown, at: string[] = []): string[] {
  // Credential values: a Secret's data, a random value, a password or token (names of Secrets are not secrets).
  const credential = (type === "kubernetes:core/v1:Secret" && (at[0] === "data" || at[0] === "stringData")) || type.startsWith("random:")
    || /(password|token|htpasswd|privateKey|accessKey|secretKey)$/i.test(at[at.length - 1] ?? "");
  if (typeof value === "string") return credential && isSecretPath(type, at) && value !== SECRET && value.length > 3 ? [value] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => secretValues(type, v, [...at, String(i)]));
  if (value && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => secretValues(type, v, [...at, k]));
  return [];
}

const RECORD = 'npm run build && STX_RECORD_REVIEW=1 npx mocha --config .mocharc.cluster.json --grep "cluster: review"';

describe("the rendered plan of recorded previews", function () {
  before(function () {
    const missing = SCENARIOS.flatMap((n) => [`${n}.json`, `${n}.policy.jsonl`]).filter((f) => !fs.existsSync(path.join(FIXTURES, f)));
    if (missing.length) {
      console.warn(`    skipped: no recorded preview ${missing.join(", ")} in test/fixtures/review; record them with: ${RECORD}`);
      this.skip();
    }
  });

  for (const name of SCENARIOS) {
    it(`${name}: counts what Pulumi's own change summary counts`, () => {
      const { preview, plan } = load(name);
      // A preview the engine stopped (a protected resource) has no summary: nothing to compare.
      if (errorsOf(preview).length > 0 && !preview.changeSummary) return;
      const counts = countOps(plan.changes);
      for (const op of ["create", "update", "delete", "replace"] as const) {
        expect(counts[op], op).to.equal(preview.changeSummary?.[op] ?? 0);
      }
    });

    it(`${name}: shows no secret value of the preview, and no raw HTML from it`, () => {
      const { preview, plan } = load(name);
      const secrets = (preview.steps ?? []).flatMap((s) => [s.oldState, s.newState])
        .flatMap((state) => (state ? [...secretValues(state.type, state.inputs), ...secretValues(state.type, state.outputs)] : []));
      for (const secret of secrets) expect(plan.markdown, "a secret value leaked").not.to.contain(secret);
      expect(plan.markdown).not.to.match(/<(?!\/?(details|summary|code)>)[a-z]/i);
    });
  }

  it("adding a user creates only that tenant's objects (and its share of the shared services)", () => {
    const { plan } = load("add-user");
    // Nothing is deleted; the shared Secrets listing tenants (and what mounts them) are replaced, which holds no data.
    expect(plan.changes.filter((c) => c.op === "delete")).to.deep.equal([]);
    expect(plan.changes.filter((c) => c.op === "replace" && c.data !== undefined)).to.deep.equal([]);
    expect(plan.changes.filter((c) => c.op === "create" && c.owner.kind === "tenant").map((c) => c.owner.name)).to.include("user-reviewer-test");
    expect(plan.markdown).to.contain("| user-reviewer-test | ");
    expect(plan.markdown).to.contain("No data-bearing resource is replaced or deleted.");
    expect(plan.blocked).to.equal(false);
  });

  it("renaming a branch deletes its namespace, in bold at the top, with Pulumi's reason", () => {
    const { plan } = load("rename-branch");
    const top = plan.markdown.split("### Summary")[0];
    expect(top).to.contain("### Data at risk");
    expect(top).to.match(/\*\*delete Namespace build-starlingx-master\*\*: \*\*no longer declared by the program\*\*/);
    expect(plan.markdown).to.contain("| build-starlingx-main | ");
    expect(plan.blocked).to.equal(false);
  });

  it("changing a quota is one folded property diff with the old and new value", () => {
    const { plan } = load("change-quota");
    const quota = plan.changes.find((c) => c.label === "ResourceQuota user-developer/build-quota");
    expect(quota?.op).to.equal("update");
    expect(plan.markdown).to.match(/<details><summary>update ResourceQuota user-developer\/build-quota \(tenant user-developer\)<\/summary>/);
    expect(plan.markdown).to.match(/count\/pipelineruns\.tekton\.dev.*<code>5<\/code> \| <code>7<\/code>/);
    expect(plan.blocked).to.equal(false);
  });

  it("replacing protected volume claims blocks the review, in bold at the top", () => {
    const { plan } = load("replace-volumes");
    expect(plan.blocked).to.equal(true);
    const top = plan.markdown.split("### Summary")[0];
    expect(top).to.match(/\*\*Blocked|\*\*The preview failed/);
  });

  it("hides a credential even where Pulumi did not mark it secret", () => {
    const { preview } = load("change-quota");
    const step = (preview.steps ?? []).find((s) => s.op === "update")!;
    const leaked = "plain-text-password-4711";
    const secretStep = {
      ...step,
      urn: step.urn.replace(/kubernetes:core\/v1:ResourceQuota::[^:]*$/, "kubernetes:core/v1:Secret::leaky"),
      oldState: { ...step.oldState!, type: "kubernetes:core/v1:Secret", inputs: { metadata: { name: "leaky", namespace: "user-developer" }, stringData: { password: "old" } } },
      newState: { ...step.newState!, type: "kubernetes:core/v1:Secret", inputs: { metadata: { name: "leaky", namespace: "user-developer" }, stringData: { password: leaked } } },
      detailedDiff: { "stringData.password": { kind: "update" }, stringData: { kind: "update" } },
    };
    const plan = renderPlan({ ...preview, steps: [secretStep] }, { stack: "minikube" });
    expect(plan.markdown).to.contain("update Secret user-developer/leaky");
    expect(plan.markdown).not.to.contain(leaked);
  });

  it("npm run review --from-json exits 1 on the blocked plan and 0 on the others", () => {
    const run = (name: string) => {
      try {
        execFileSync("node", [path.join(REPO_ROOT, "bin", "tools", "review.js"), "minikube", "--from-json", path.join(FIXTURES, `${name}.json`)], { stdio: "pipe" });
        return 0;
      } catch (e) {
        return (e as { status: number }).status;
      }
    };
    expect(run("replace-volumes")).to.equal(1);
    expect(run("change-quota")).to.equal(0);
  });
});
