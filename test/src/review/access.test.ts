import { expect } from "chai";
import { allows, defaultPlural, kubernetesKind, reviewerRules, secretRule } from "../../../src/review/access";

describe("review access rules", () => {
  it("reads the kind of a Pulumi Kubernetes type token, and nothing else", () => {
    expect(kubernetesKind("kubernetes:core/v1:Namespace")).to.deep.equal({ group: "", version: "v1", kind: "Namespace" });
    expect(kubernetesKind("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")?.group).to.equal("rbac.authorization.k8s.io");
    for (const t of ["kubernetes:yaml:ConfigFile", "kubernetes:helm.sh/v3:Release", "pulumi:providers:kubernetes", "stx:review:Reviewer", "random:index/randomPassword:RandomPassword"]) {
      expect(kubernetesKind(t), t).to.equal(undefined);
    }
  });

  it("pluralises as the API server does for the kinds used here", () => {
    const cases: Record<string, string> = {
      NetworkPolicy: "networkpolicies", Ingress: "ingresses", StorageClass: "storageclasses", RuntimeClass: "runtimeclasses",
      Deployment: "deployments", Endpoints: "endpoints", Gateway: "gateways", PodDisruptionBudget: "poddisruptionbudgets",
    };
    for (const [kind, plural] of Object.entries(cases)) expect(defaultPlural(kind), kind).to.equal(plural);
  });

  it("groups read rules by API group, leaves Secrets out, and prefers a CRD's plural", () => {
    const rules = reviewerRules(
      ["kubernetes:core/v1:Namespace", "kubernetes:core/v1:Secret", "kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Namespace", "kubernetes:example.org/v1:Octopus"],
      new Map([["example.org/Octopus", "octopi"]]),
    );
    expect(rules).to.deep.equal([
      { apiGroups: [""], resources: ["namespaces"], verbs: ["get", "list", "watch"] },
      { apiGroups: ["apps"], resources: ["deployments"], verbs: ["get", "list", "watch"] },
      { apiGroups: ["example.org"], resources: ["octopi"], verbs: ["get", "list", "watch"] },
    ]);
  });

  it("never grants every Secret: no names, no rule", () => {
    expect(secretRule([])).to.equal(undefined);
    expect(secretRule(["", ""])).to.equal(undefined);
    const rule = secretRule(["b", "a", "b"])!;
    expect(rule.resourceNames).to.deep.equal(["a", "b"]);
    expect(allows([rule], "kubernetes:core/v1:Secret", "get", "a")).to.equal(true);
    expect(allows([rule], "kubernetes:core/v1:Secret", "get", "c")).to.equal(false);
    expect(allows([rule], "kubernetes:core/v1:Secret", "list")).to.equal(false);
  });
});
