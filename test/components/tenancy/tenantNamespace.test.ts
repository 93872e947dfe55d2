import { expect } from "chai";
import { REGISTRY_SECRET } from "../../../components/services/registry";
import { planTenants } from "../../../src/tenancy/tenants";
import { parseSettings } from "../../../src/settings/schema";
import { ProgramRun, runStack, stackFileConfig } from "../../../tools/mockedProgram";

const STACKS = ["minikube", "cengn", "starlingx"] as const;

for (const stack of STACKS) {
  describe(`tenant namespaces on the ${stack} stack`, () => {
    let run: ProgramRun;
    const settings = parseSettings(stackFileConfig(stack));
    const plans = planTenants(settings);

    before(async () => {
      run = await runStack(stack);
    });

    it("declares a namespace for every user and every project branch", () => {
      const declared = run.ofType("kubernetes:core/v1:Namespace").map((ns) => ns.inputs.metadata.name);
      expect(plans.length).to.be.greaterThan(0);
      for (const plan of plans) expect(declared).to.include(plan.namespace);
    });

    it("has at least one user and, on shared farms, several users and projects", () => {
      const users = plans.filter((p) => p.kind === "user");
      const builds = plans.filter((p) => p.kind === "build");
      expect(users.length).to.be.at.least(1);
      if (stack === "cengn") {
        expect(users.length).to.be.at.least(3);
        expect(builds.length).to.be.at.least(2);
      }
    });

    it("gives every tenant namespace Pod Security labels", () => {
      for (const plan of plans) {
        const ns = run.object("kubernetes:core/v1:Namespace", plan.namespace);
        expect(ns.inputs.metadata.labels["pod-security.kubernetes.io/enforce"]).to.equal(plan.podSecurity);
        expect(ns.inputs.metadata.labels["pod-security.kubernetes.io/audit"]).to.equal("restricted");
      }
    });

    it("limits every container by default, defaultRequest and max for cpu, memory and ephemeral-storage", () => {
      for (const plan of plans) {
        const limitRange = run.object("kubernetes:core/v1:LimitRange", "container-limits", plan.namespace);
        const container = limitRange.inputs.spec.limits.find((l: { type: string }) => l.type === "Container");
        for (const field of ["min", "default", "defaultRequest", "max"]) {
          expect(Object.keys(container[field])).to.have.members(["cpu", "memory", "ephemeral-storage"], field);
        }
        expect(container.max.cpu).to.equal(plan.limits.max.cpu);
        // No swarm of 1m/1Mi pods, and no small request carrying a node-sized limit.
        expect(container.min.cpu).to.equal(plan.limits.min.cpu);
        expect(container.maxLimitRequestRatio).to.deep.equal({
          cpu: String(plan.limits.maxLimitRequestRatio.cpu),
          memory: String(plan.limits.maxLimitRequestRatio.memory),
        });
      }
    });

    it("caps requests, limits, pods, volumes and PipelineRuns with a ResourceQuota, and allows no NodePort or LoadBalancer", () => {
      for (const plan of plans) {
        const quota = run.object("kubernetes:core/v1:ResourceQuota", "build-quota", plan.namespace);
        expect(quota.inputs.spec.hard).to.include({
          "limits.cpu": plan.quota.limits.cpu,
          "limits.memory": plan.quota.limits.memory,
          "limits.ephemeral-storage": plan.quota.limits.ephemeralStorage,
          pods: String(plan.quota.pods),
          "services.nodeports": "0",
          "services.loadbalancers": "0",
        });
        expect(quota.inputs.spec.hard).to.include.all.keys(
          "requests.cpu",
          "requests.memory",
          "requests.ephemeral-storage",
          "persistentvolumeclaims",
          "requests.storage",
          "count/pipelineruns.tekton.dev",
        );
        expect(quota.inputs.spec.hard["count/pipelineruns.tekton.dev"]).to.equal(String(plan.quota.pipelineRuns));
      }
    });

    it("creates the owner and pipeline ServiceAccounts; build pods pull with the namespace's registry login", () => {
      for (const plan of plans) {
        const owner = run.object("kubernetes:core/v1:ServiceAccount", "owner", plan.namespace);
        const pipeline = run.object("kubernetes:core/v1:ServiceAccount", "pipeline", plan.namespace);
        // Tools images the farm built sit in its registry, whose pulls need a login (docs/build.md).
        const pulls = settings.services.registry.mode === "none" ? undefined : [{ name: REGISTRY_SECRET }];
        expect(pipeline.inputs.imagePullSecrets).to.deep.equal(pulls);
        expect(owner.inputs.imagePullSecrets).to.equal(undefined);
      }
    });

    it("binds roles only inside the tenant namespace, to its members", () => {
      for (const plan of plans) {
        const owners = run.object("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "tenant-owners", plan.namespace);
        expect(owners.inputs.roleRef.kind).to.equal("ClusterRole");
        const subjects = (owners.inputs.subjects ?? []).map((s: { namespace: string }) => s.namespace);
        expect(subjects).to.have.members(plan.members.map((m) => `user-${m}`));
      }
      // Cluster-wide grants exist only for system components (the sysbox installer), never for tenants.
      const tenantNamespaces = new Set(plans.map((p) => p.namespace));
      for (const binding of run.ofType("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")) {
        for (const subject of binding.inputs.subjects ?? []) expect(tenantNamespaces.has(subject.namespace)).to.equal(false);
      }
    });

    it("lets every tenant read the shared Tasks and Pipelines", () => {
      for (const plan of plans) {
        const binding = run.object(
          "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
          `read-shared-pipelines-${plan.namespace}`,
          "stx-system",
        );
        expect(binding.inputs.roleRef).to.deep.include({ kind: "Role", name: "stx-shared-pipeline-reader" });
      }
    });

    it("isolates tenants on the network but allows DNS and the shared services", () => {
      for (const plan of plans) {
        const ingress = run.object("kubernetes:networking.k8s.io/v1:NetworkPolicy", "deny-from-other-namespaces", plan.namespace);
        expect(ingress.inputs.spec.ingress).to.deep.equal([{ from: [{ podSelector: {} }] }]);
        const egress = run.object("kubernetes:networking.k8s.io/v1:NetworkPolicy", "allowed-egress", plan.namespace);
        const rules = JSON.stringify(egress.inputs.spec.egress);
        expect(rules).to.contain('"port":53').and.to.contain('"kubernetes.io/metadata.name":"stx-system"');
        const internet = egress.inputs.spec.egress.find((r: any) => r.to?.[0]?.ipBlock?.cidr === "0.0.0.0/0");
        const ex = settings.cluster.egressExclusions;
        expect(internet.to[0].ipBlock.except).to.have.members([
          settings.cluster.podCidr, settings.cluster.serviceCidr, "169.254.0.0/16",
          ...ex.nodeCidrs, ...ex.apiServerEndpoints.map((e) => `${e.split(":")[0]}/32`), ...ex.platformCidrs,
        ]);
        // Pulp's API needs a login no tenant holds: no rule opens it.
        expect(rules).not.to.contain('"pulp-api"');
      }
    });

    it("hands every user a kubeconfig as a secret output, for their own namespace only", () => {
      const kubeconfigs = run.outputs.kubeconfigs as Record<string, string>;
      const users = plans.filter((p) => p.issuesKubeconfig);
      expect(Object.keys(kubeconfigs)).to.have.members(users.map((u) => u.owner));
      for (const user of users) {
        const config = JSON.parse(kubeconfigs[user.owner]);
        expect(config.contexts[0].context.namespace).to.equal(user.namespace);
        expect(config.users[0].user.token).to.equal(`token-of-${user.namespace}/owner-token`);
      }
    });
  });
}
