import { expect } from "chai";
import { cell, escapeHtml, parsePropertyPath, redact, valueAt } from "../../../src/review/values";
import { changesOf, parseUrn } from "../../../src/review/preview";
import { policyViolations, plainText } from "../../../src/review/events";

describe("review values", () => {
  it("parses Pulumi's property paths", () => {
    expect(parsePropertyPath('spec.hard["requests.cpu"]')).to.deep.equal(["spec", "hard", "requests.cpu"]);
    expect(parsePropertyPath("spec.template.spec.containers[0].image")).to.deep.equal(["spec", "template", "spec", "containers", "0", "image"]);
    expect(parsePropertyPath('metadata.labels["app.kubernetes.io/name"]')).to.deep.equal(["metadata", "labels", "app.kubernetes.io/name"]);
    expect(valueAt({ a: [{ b: 1 }] }, ["a", "0", "b"])).to.equal(1);
  });

  it("redacts Secret data, random values, credential-named keys and Pulumi's secret envelope", () => {
    expect(redact("kubernetes:core/v1:Secret", ["data"], { token: "abc" })).to.equal("[secret]");
    expect(redact("random:index/randomPassword:RandomPassword", ["result"], "hunter2")).to.equal("[secret]");
    expect(redact("kubernetes:core/v1:ConfigMap", ["data"], { "db-password": "x", host: "h" })).to.deep.equal({ "db-password": "[secret]", host: "h" });
    expect(redact("kubernetes:core/v1:ConfigMap", [], { v: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", plaintext: "x" } })).to.deep.equal({ v: "[secret]" });
  });

  it("escapes what could break out of a table cell or inject HTML", () => {
    expect(escapeHtml("<script>|`x`\n")).to.equal("&lt;script&gt;&#124;&#96;x&#96; ");
    expect(cell("a".repeat(200), 10)).to.equal("<code>aaaaaaaaaa…</code>");
  });

  it("reads URNs and refuses what is not one", () => {
    expect(parseUrn("urn:pulumi:minikube::stx-build-cluster::stx:cluster:BuildCluster$kubernetes:core/v1:Namespace::stx-shared"))
      .to.deep.equal({ types: ["stx:cluster:BuildCluster", "kubernetes:core/v1:Namespace"], name: "stx-shared" });
    expect(() => parseUrn("nope")).to.throw(/not a Pulumi URN/);
  });

  it("counts a replacement once (not its create-replacement and delete-replaced steps)", () => {
    const urn = "urn:pulumi:s::p::stx:cluster:BuildCluster$stx:services:Pulp$kubernetes:core/v1:PersistentVolumeClaim::db";
    const state = { urn, type: "kubernetes:core/v1:PersistentVolumeClaim", protect: true, inputs: { metadata: { name: "pulp-database", namespace: "stx-system" } } };
    const changes = changesOf({ steps: ["create-replacement", "replace", "delete-replaced"].map((op) => ({ op, urn, oldState: state, newState: state, replaceReasons: ["spec.storageClassName"] })) });
    expect(changes).to.have.length(1);
    expect(changes[0]).to.deep.include({ op: "replace", protect: true, owner: { kind: "service", name: "Pulp" }, reason: "replaced because `spec.storageClassName` changed" });
  });

  it("reads policy violations from an event log and strips colour markup", () => {
    const log = [
      JSON.stringify({ sequence: 1, diagnosticEvent: { message: "x" } }),
      JSON.stringify({ policyEvent: { policyName: "tenant-quota", policyPackName: "stx", enforcementLevel: "mandatory", message: "<{%fg 1%}>no quota<{%reset%}>" } }),
      JSON.stringify({ policyEvent: { policyName: "images-pinned-by-digest", policyPackName: "stx", enforcementLevel: "warning", message: "tag" } }),
    ].join("\n");
    expect(policyViolations(log).map((v) => [v.policy, v.level, v.message])).to.deep.equal([
      ["tenant-quota", "mandatory", "no quota"], ["images-pinned-by-digest", "advisory", "tag"],
    ]);
    expect(plainText("\u001b[31mred\u001b[0m")).to.equal("red");
    expect(() => policyViolations("{oops")).to.throw(/line 1/);
  });
});

describe("review owners", () => {
  const tenants = new Set(["user-alice", "user-al"]);
  const chain = ["stx:cluster:BuildCluster", "stx:tenancy:TenantNamespace", "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"];
  it("gives a tenant's object in the shared namespace to the tenant, by its component's name", async () => {
    const { ownerOf } = await import("../../../src/review/preview");
    expect(ownerOf(chain, "user-alice-shared-pipelines", chain[2], { name: "read-shared-pipelines-user-alice", namespace: "stx-system" }, tenants))
      .to.deep.equal({ kind: "tenant", name: "user-alice" });
    expect(ownerOf(["stx:cluster:BuildCluster", "stx:services:Registry", "kubernetes:core/v1:Secret"], "x", "kubernetes:core/v1:Secret", { name: "registry-credentials", namespace: "user-al" }, tenants))
      .to.deep.equal({ kind: "tenant", name: "user-al" });
    expect(ownerOf(["stx:cluster:BuildCluster", "stx:services:Pulp", "kubernetes:apps/v1:Deployment"], "x", "kubernetes:apps/v1:Deployment", { name: "pulp-api", namespace: "stx-system" }, tenants))
      .to.deep.equal({ kind: "service", name: "Pulp" });
  });
});
