/**
 * The tenant admission policy: each CEL expression evaluated (cel-js) against the objects a
 * tenant might send, and the objects each stack declares. The live check (a tenant's externalIPs
 * Service refused by the API server) is in test/cluster/stacks.test.ts.
 */
import { expect } from "chai";
import { ADMISSION_POLICY_NAME, admissionPolicySpec, hasAdmissionPolicyV1, VALIDATIONS } from "../../../src/tenancy/admission";
import { TENANT_LABEL } from "../../../src/labels";
import { runStack } from "../../../tools/mockedProgram";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const cel = require("@marcbachmann/cel-js") as { evaluate: (expression: string, context: object) => unknown };

/** JSON as the API server hands it to CEL: integers are CEL ints. */
function typed(value: unknown): unknown {
  if (typeof value === "number" && Number.isInteger(value)) return BigInt(value);
  if (Array.isArray(value)) return value.map(typed);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typed(v)]));
  return value;
}

/** The messages of the validations `object` fails. */
function refusals(object: object): string[] {
  return VALIDATIONS.filter((v) => cel.evaluate(v.expression, { object: typed(object) }) !== true).map((v) => v.message);
}

const service = (spec: object) => ({ apiVersion: "v1", kind: "Service", metadata: { name: "s" }, spec: { ports: [{ port: 80 }], ...spec } });
const pod = (spec: object) => ({ apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: { containers: [{ name: "c", image: "busybox", ports: [{ containerPort: 8080 }] }], ...spec } });

describe("the tenant admission policy", () => {
  it("lets through what builds create: ClusterIP and headless Services, ordinary and privileged pods, emptyDir and PVC volumes", () => {
    expect(refusals(service({}))).to.deep.equal([]);
    expect(refusals(service({ type: "ClusterIP", clusterIP: "None", externalIPs: [] }))).to.deep.equal([]);
    expect(refusals(pod({}))).to.deep.equal([]);
    expect(refusals(pod({
      hostNetwork: false,
      volumes: [{ name: "w", emptyDir: {} }, { name: "s", persistentVolumeClaim: { claimName: "x" } }],
      containers: [{ name: "dind", image: "docker", securityContext: { privileged: true } }],
      initContainers: [{ name: "i", image: "busybox", ports: [{ containerPort: 1, hostPort: 0 }] }],
    }))).to.deep.equal([]);
  });

  const refused: [string, object, RegExp][] = [
    ["a Service with externalIPs", service({ externalIPs: ["10.0.0.1"] }), /externalIPs \(CVE-2020-8554/],
    ["a NodePort Service", service({ type: "NodePort" }), /must be of type ClusterIP/],
    ["a LoadBalancer Service", service({ type: "LoadBalancer" }), /must be of type ClusterIP/],
    ["an ExternalName Service", service({ type: "ExternalName", externalName: "kubernetes.default" }), /must be of type ClusterIP/],
    ["a hostNetwork pod", pod({ hostNetwork: true }), /hostNetwork, hostPID, hostIPC/],
    ["a hostPID pod", pod({ hostPID: true }), /hostNetwork, hostPID, hostIPC/],
    ["a hostIPC pod", pod({ hostIPC: true }), /hostNetwork, hostPID, hostIPC/],
    ["a hostPath volume", pod({ volumes: [{ name: "root", hostPath: { path: "/" } }] }), /hostPath volumes/],
    ["a hostPort", pod({ containers: [{ name: "c", image: "x", ports: [{ containerPort: 80, hostPort: 80 }] }] }), /host ports/],
    ["a hostPort on an init container", pod({ initContainers: [{ name: "i", image: "x", ports: [{ containerPort: 80, hostPort: 8080 }] }] }), /host ports/],
  ];
  for (const [what, object, message] of refused) {
    it(`refuses ${what}`, () => {
      const found = refusals(object);
      expect(found).to.have.length(1);
      expect(found[0]).to.match(message);
    });
  }

  it("matches Services and Pods on create and update", () => {
    const rules = (admissionPolicySpec().matchConstraints as any).resourceRules;
    expect(rules.map((r: any) => [r.resources[0], r.operations])).to.deep.equal([["services", ["CREATE", "UPDATE"]], ["pods", ["CREATE", "UPDATE"]]]);
  });

  it("is declared with a Deny binding for tenant namespaces where the cluster has the v1 API (1.30+), and not on 1.29", async () => {
    expect(hasAdmissionPolicyV1("1.29")).to.equal(false);
    expect(hasAdmissionPolicyV1("1.30")).to.equal(true);
    const run = await runStack("minikube");
    const policy = run.object("kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy", ADMISSION_POLICY_NAME);
    expect(policy.inputs.spec.failurePolicy).to.equal("Fail");
    expect(policy.inputs.spec.validations).to.have.length(VALIDATIONS.length);
    const binding = run.object("kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding", ADMISSION_POLICY_NAME);
    expect(binding.inputs.spec).to.deep.equal({
      policyName: ADMISSION_POLICY_NAME,
      validationActions: ["Deny"],
      matchResources: { namespaceSelector: { matchExpressions: [{ key: TENANT_LABEL, operator: "Exists" }] } },
    });
    // Every tenant namespace carries the label the binding selects; the shared one does not.
    const namespaces = run.ofType("kubernetes:core/v1:Namespace");
    expect(namespaces.filter((n) => n.inputs.metadata.labels?.[TENANT_LABEL]).map((n) => n.inputs.metadata.name)).to.include("user-developer");
    const starlingx = await runStack("starlingx");
    expect(starlingx.ofType("kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy")).to.deep.equal([]);
  });
});
