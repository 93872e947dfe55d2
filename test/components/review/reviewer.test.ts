import { expect } from "chai";
import { allows, defaultPlural, kubernetesKind, PolicyRule, READ_VERBS } from "../../../src/review/access";
import { DeclaredResource, ProgramRun, runStack } from "../../../tools/mockedProgram";

const STACKS = ["minikube", "cengn", "starlingx"] as const;
const ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole";

/** Every Kubernetes object the run declared or read (not components, providers or Helm releases). */
function kubernetesObjects(run: ProgramRun): DeclaredResource[] {
  return run.resources.filter((r) => kubernetesKind(r.type) !== undefined);
}

function secretName(r: DeclaredResource): string {
  return r.inputs.metadata?.name ?? String(r.id).split("/").pop();
}

for (const stack of STACKS) {
  describe(`the reviewer identity on the ${stack} stack`, () => {
    let run: ProgramRun;
    let rules: PolicyRule[];

    before(async () => {
      run = await runStack(stack);
      rules = run.object(ROLE, "stx-reviewer").inputs.rules;
    });

    it("may get, list and watch every kind the stack declares", () => {
      const objects = kubernetesObjects(run).filter((r) => r.type !== "kubernetes:core/v1:Secret");
      expect(objects.length).to.be.greaterThan(50);
      for (const r of objects) {
        for (const verb of READ_VERBS) expect(allows(rules, r.type, verb), `${verb} ${r.type}`).to.equal(true);
      }
    });

    it("may read no kind the stack does not declare, and only read", () => {
      const declared = new Set(kubernetesObjects(run).map((r) => {
        const kind = kubernetesKind(r.type)!;
        return `${kind.group}/${defaultPlural(kind.kind)}`;
      }));
      for (const rule of rules) {
        for (const group of rule.apiGroups) {
          for (const resource of rule.resources) expect(declared, `${group}/${resource}`).to.include(`${group}/${resource}`);
        }
        expect(READ_VERBS, JSON.stringify(rule)).to.include.members(rule.verbs);
        expect(rule.apiGroups).not.to.include("*");
        expect(rule.resources).not.to.include("*");
      }
      // Roles the stack declares, which a reviewer reads but can never use to escalate.
      expect(allows(rules, ROLE, "escalate")).to.equal(false);
      expect(allows(rules, "kubernetes:core/v1:Pod", "create")).to.equal(false);
    });

    it("gets Secrets only by name, only those the stack declares or reads, and never lists them", () => {
      const secretRules = rules.filter((r) => r.resources.includes("secrets"));
      expect(secretRules).to.have.length(1);
      expect(secretRules[0].verbs).to.deep.equal(["get"]);
      const names = new Set(run.resources.filter((r) => r.type === "kubernetes:core/v1:Secret").map(secretName));
      expect(secretRules[0].resourceNames).to.have.members([...names]);
      expect(allows(rules, "kubernetes:core/v1:Secret", "get", "some-other-secret")).to.equal(false);
      expect(allows(rules, "kubernetes:core/v1:Secret", "list")).to.equal(false);
    });

    it("is a ServiceAccount in the shared namespace bound cluster-wide to that role alone", () => {
      run.object("kubernetes:core/v1:ServiceAccount", "stx-reviewer", "stx-system");
      const binding = run.object("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "stx-reviewer");
      expect(binding.inputs.roleRef).to.deep.include({ kind: "ClusterRole", name: "stx-reviewer" });
      expect(binding.inputs.subjects).to.deep.equal([{ kind: "ServiceAccount", name: "stx-reviewer", namespace: "stx-system" }]);
    });

    it("hands out its kubeconfig as a secret output, with the stack's context name", () => {
      expect(run.secretOutputs).to.include("reviewerKubeconfig");
      const config = JSON.parse(run.outputs.reviewerKubeconfig as string);
      const context = stack === "minikube" ? "minikube" : config["current-context"];
      expect(config["current-context"]).to.equal(context);
      expect(config.users[0].user.token).to.equal("token-of-stx-system/stx-reviewer-token");
      expect(config.contexts[0].context.namespace).to.equal("stx-system");
      const token = run.object("kubernetes:core/v1:Secret", "stx-reviewer-token", "stx-system");
      expect(token.inputs.type).to.equal("kubernetes.io/service-account-token");
      expect(token.inputs.metadata.annotations["kubernetes.io/service-account.name"]).to.equal("stx-reviewer");
    });
  });
}
