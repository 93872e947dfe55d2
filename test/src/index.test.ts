import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { SettingsError } from "../../src/settings/schema";
import { runProgramFailure, runStack, stackFileConfig } from "../../tools/mockedProgram";

describe("the program (src/index.ts)", () => {
  for (const stack of ["minikube", "cengn", "starlingx"]) {
    it(`creates exactly one Kubernetes provider on ${stack} and uses it for every object`, async () => {
      const run = await runStack(stack);
      const providers = run.ofType("pulumi:providers:kubernetes");
      expect(providers).to.have.length(1);
      const objects = run.resources.filter((r) => r.custom && r.type.startsWith("kubernetes:"));
      expect(objects.length).to.be.greaterThan(10);
      for (const object of objects) expect(object.provider, object.name).to.match(/pulumi:providers:kubernetes::kubernetes::/);
    });
  }

  it("points the provider at the stack's kubeconfig context", async () => {
    const run = await runStack("cengn");
    expect(run.ofType("pulumi:providers:kubernetes")[0].inputs.context).to.equal("cengn-build-admin");
  });

  it("exports the tenant namespaces and marks kubeconfigs secret", async () => {
    const run = await runStack("cengn");
    expect(run.outputs.sharedNamespace).to.equal("stx-system");
    expect(run.outputs.tenantNamespaces).to.include({ dpenney: "user-dpenney", "starlingx/master": "build-starlingx-master" });
    expect(run.secretOutputs).to.include("kubeconfigs");
    // Any output that carries a credential must be secret.
    const credentials = Object.keys(run.outputs).filter((key) => /password|kubeconfig|secret|token|key/i.test(key));
    expect(run.secretOutputs).to.include.members(credentials);
    expect(run.outputs.kubeconfigs).to.have.all.keys("build-team", "dpenney", "slittle", "hbai", "vgluzrom");
  });

  it("fails on bad settings before registering a single resource", async () => {
    const config = { ...stackFileConfig("cengn"), users: [{ name: "Not Valid" }] };
    const { error, declared } = await runProgramFailure("cengn", config);
    // The program's modules are loaded afresh for each run, so compare by name rather than class.
    expect(error.name).to.equal(SettingsError.name);
    expect(error.message).to.match(/stx-build-cluster:users\[0\]\.name: must be lower-case/);
    // The SDK's runner prints a RunError's message alone (cmd/run/run.js), other errors with their stack.
    expect(pulumi.RunError.isInstance(error), "SettingsError is a pulumi.RunError").to.equal(true);
    expect(declared.filter((r) => r.type.startsWith("kubernetes:") || r.type.startsWith("pulumi:providers:"))).to.be.empty;
  });
});
