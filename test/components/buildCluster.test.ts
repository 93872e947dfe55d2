import { expect } from "chai";
import { ProgramRun, runStack, stackFileConfig } from "../../tools/mockedProgram";

const CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole";

describe("BuildCluster", () => {
  let run: ProgramRun;
  before(async () => {
    run = await runStack("cengn");
  });

  it("creates the shared services namespace with Pod Security restricted enforced", () => {
    const shared = run.object("kubernetes:core/v1:Namespace", "stx-system");
    expect(shared.inputs.metadata.labels["pod-security.kubernetes.io/enforce"]).to.equal("restricted");
  });

  it("creates nothing in the shared namespace before the namespace itself", () => {
    const inShared = run.resources.filter((r) => r.custom && r.inputs.metadata?.namespace === "stx-system");
    expect(inShared.length).to.be.greaterThan(20);
    for (const resource of inShared) expect(resource.options.dependsOn, resource.name).to.include("stx-shared");
  });

  it("makes each object wait only for what it needs, so the graph grows linearly with tenants", async () => {
    const widest = (r: ProgramRun) => Math.max(...r.resources.map((resource) => resource.options.dependsOn.length));
    const users = [...stackFileConfig("cengn").users as object[], ...Array.from({ length: 30 }, (_, i) => ({ name: `extra${i}` }))];
    const bigger = await runStack("cengn", { users });
    expect(bigger.ofType("stx:tenancy:TenantNamespace").length).to.equal(run.ofType("stx:tenancy:TenantNamespace").length + 30);
    expect(widest(bigger)).to.equal(widest(run));
  });

  it("creates every tenant's objects after the shared namespace", () => {
    const tenants = run.ofType("stx:tenancy:TenantNamespace");
    expect(tenants.length).to.be.greaterThan(5);
    const rolebindings = run.ofType("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding").filter((r) => r.name.endsWith("-shared-pipelines"));
    expect(rolebindings).to.have.length(tenants.length);
    for (const binding of rolebindings) expect(binding.options.dependsOn).to.include("stx-shared");
  });

  it("gives tenants no way to raise their own rights or limits", () => {
    // The reviewer's role only reads (test/components/review/reviewer.test.ts) and no tenant is bound to it.
    for (const role of run.ofType(CLUSTER_ROLE).filter((r) => r.inputs.metadata.name !== "stx-reviewer")) {
      for (const rule of role.inputs.rules) {
        expect(rule.apiGroups, role.name).to.not.include("rbac.authorization.k8s.io");
        expect(rule.resources, role.name).to.not.include.members(["namespaces", "nodes"]);
        expect(rule.verbs, role.name).to.not.include.members(["*", "escalate", "bind", "impersonate"]);
        if (rule.resources.includes("resourcequotas") || rule.resources.includes("limitranges")) {
          expect(rule.verbs).to.have.members(["get", "list", "watch"]);
        }
      }
    }
  });

  it("lets owners run pipelines and read logs in their namespace", () => {
    const owner = run.object(CLUSTER_ROLE, "stx-tenant-owner");
    const tekton = owner.inputs.rules.find((r: { apiGroups: string[] }) => r.apiGroups.includes("tekton.dev"));
    expect(tekton.resources).to.include("pipelineruns");
    expect(tekton.verbs).to.include("create");
    expect(JSON.stringify(owner.inputs.rules)).to.contain("pods/log");
  });
});
