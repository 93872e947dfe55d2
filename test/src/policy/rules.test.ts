import { expect } from "chai";
import { imagesWithoutDigest, PolicyObject, privilegedViolation, tenantsWithoutQuota, unprotectedVolume } from "../../../src/policy/rules";
import { runStack } from "../../../tools/mockedProgram";

const STACKS = ["minikube", "cengn", "starlingx"] as const;
const ns = (name: string, labels: Record<string, string> = {}): PolicyObject => ({ type: "kubernetes:core/v1:Namespace", props: { metadata: { name, labels } }, protect: false });
const pod = (privileged: boolean, image = "busybox:1"): PolicyObject => ({
  type: "kubernetes:apps/v1:Deployment",
  props: { metadata: { name: "d", namespace: "x" }, spec: { template: { spec: { containers: [{ name: "c", image, securityContext: { privileged } }] } } } },
  protect: false,
});
const pvc = (protect: boolean, component = "pulp"): PolicyObject => ({
  type: "kubernetes:core/v1:PersistentVolumeClaim",
  props: { metadata: { name: "data", namespace: "stx-system", labels: { "app.kubernetes.io/component": component } } },
  protect,
});

describe("policy rules", () => {
  it("refuse privileged containers and privileged namespaces outside minikube only", () => {
    expect(privilegedViolation(pod(true), "cengn")).to.match(/privileged container\(s\) at spec\.template\.spec\.containers\[0\]/);
    expect(privilegedViolation(pod(true), "minikube")).to.equal(undefined);
    expect(privilegedViolation(pod(false), "starlingx")).to.equal(undefined);
    expect(privilegedViolation(ns("user-a", { "pod-security.kubernetes.io/enforce": "privileged" }), "cengn")).to.match(/allows privileged pods/);
  });

  it("let the sysbox installer alone be privileged", () => {
    const installer = pod(true);
    installer.props.metadata = { name: "sysbox-deploy-k8s", namespace: "kube-system" };
    expect(privilegedViolation(installer, "cengn")).to.equal(undefined);
    installer.props.metadata = { name: "sysbox-deploy-k8s", namespace: "user-mallory" };
    expect(privilegedViolation(installer, "cengn")).to.be.a("string");
  });

  it("require every data volume to be protected, except branch state caches", () => {
    expect(unprotectedVolume(pvc(false))).to.match(/not protected/);
    expect(unprotectedVolume(pvc(true))).to.equal(undefined);
    expect(unprotectedVolume(pvc(false, "build-state"))).to.equal(undefined);
  });

  it("list images without a digest", () => {
    expect(imagesWithoutDigest(pod(false, "busybox:1"))).to.deep.equal(["busybox:1"]);
    expect(imagesWithoutDigest(pod(false, `busybox@sha256:${"a".repeat(64)}`))).to.deep.equal([]);
  });

  it("find tenant namespaces without a quota", () => {
    const quota = { type: "kubernetes:core/v1:ResourceQuota", props: { metadata: { name: "q", namespace: "user-a" } }, protect: false };
    const objects = [ns("user-a", { "stx.starlingx.io/tenant": "user-a" }), ns("user-b", { "stx.starlingx.io/tenant": "user-b" }), ns("stx-system"), quota];
    expect(tenantsWithoutQuota(objects)).to.deep.equal(["user-b"]);
  });

  for (const stack of STACKS) {
    it(`hold for every object of the ${stack} stack (the images rule is advisory: tags today)`, async () => {
      const run = await runStack(stack);
      const objects: PolicyObject[] = run.resources.filter((r) => r.id === undefined).map((r) => ({ type: r.type, props: r.inputs, protect: r.options.protect }));
      const profile = String(run.outputs.profile);
      expect(objects.map((o) => privilegedViolation(o, profile)).filter(Boolean)).to.deep.equal([]);
      expect(objects.map(unprotectedVolume).filter(Boolean)).to.deep.equal([]);
      expect(tenantsWithoutQuota(objects)).to.deep.equal([]);
      expect(objects.some((o) => o.type === "kubernetes:core/v1:PersistentVolumeClaim" && o.protect)).to.equal(true);
      expect(objects.flatMap(imagesWithoutDigest).length, "src/versions.ts pins tags, not digests").to.be.greaterThan(0);
      if (stack === "minikube") expect(objects.some((o) => privilegedViolation(o, "cengn") !== undefined), "minikube declares docker-in-docker").to.equal(true);
    });
  }
});
