import { expect } from "chai";
import { registryRules } from "../../../src/services/registryAccess";
import { GateConfig, passwordDigest } from "../../../src/services/registryGate";
import { planTenants } from "../../../src/tenancy/tenants";
import { parseSettings } from "../../../src/settings/schema";
import { IMAGES } from "../../../src/versions";
import { ProgramRun, runStack, stackFileConfig } from "../../../tools/mockedProgram";
import { expectProbes, expectResources, expectRestricted, podSpec, secretValue, SHARED } from "./serviceChecks";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const SECRET = "kubernetes:core/v1:Secret";

for (const stack of ["minikube", "cengn"] as const) {
  describe(`own registry on the ${stack} stack`, () => {
    let run: ProgramRun;
    before(async () => {
      run = await runStack(stack);
    });

    it("runs pinned distribution with its config at /etc/distribution/config.yml", () => {
      const registry = run.object(DEPLOYMENT, "registry", SHARED);
      const container = podSpec(registry).containers[0];
      expect(container.image).to.equal(IMAGES.registry);
      expect(IMAGES.registry).to.match(/^docker\.io\/library\/registry:3\.\d+\.\d+$/);
      expect(container.volumeMounts).to.deep.include({ name: "config", mountPath: "/etc/distribution/config.yml", subPath: "config.yml", readOnly: true });
      expectRestricted(registry);
      expectResources(registry);
      expectProbes(registry);
    });

    it("puts the gate in front: a login per tenant, rules from the plan, only digests in the gate's config", () => {
      const pod = podSpec(run.object(DEPLOYMENT, "registry", SHARED));
      expect(pod.containers.map((c: any) => c.name)).to.deep.equal(["registry", "gate"]);
      expect(pod.containers[1].image).to.equal(IMAGES.node);
      expect(pod.containers[1].ports).to.deep.equal([{ name: "registry", containerPort: 5000 }]);
      // distribution itself is on the pod's loopback: the Service's port 5000 is the gate's.
      expect(pod.containers[0].ports.map((p: any) => p.containerPort)).to.deep.equal([5001]);
      const configMap = run.object("kubernetes:core/v1:ConfigMap", "registry-config", SHARED).inputs.data["config.yml"];
      expect(JSON.parse(configMap.replace(/^#.*\n/, "")).http.addr).to.equal("127.0.0.1:5002");
      const plans = planTenants(parseSettings(stackFileConfig(stack)));
      const gate = JSON.parse(secretValue(run.object(SECRET, "registry-gate", SHARED).inputs.stringData)["config.json"]) as GateConfig;
      expect(gate.rules).to.deep.equal(registryRules(plans, parseSettings(stackFileConfig(stack)).retention.days, "stx-build"));
      const platform = JSON.parse(secretValue(run.object(SECRET, "registry-credentials", SHARED).inputs.stringData)[".dockerconfigjson"]);
      const platformPassword = platform.auths[run.outputs.registryHost as string].password as string;
      expect(gate.passwords["stx-build"]).to.equal(passwordDigest(platformPassword));
      for (const plan of plans) {
        const tenantSecret = run.object(SECRET, "registry-credentials", plan.namespace);
        expect(tenantSecret.inputs.type).to.equal("kubernetes.io/dockerconfigjson");
        expect(tenantSecret.options.dependsOn).to.include(plan.namespace);
        const text = secretValue(tenantSecret.inputs.stringData)[".dockerconfigjson"];
        const tenantConfig = JSON.parse(text);
        expect(Object.keys(tenantConfig.auths).sort()).to.deep.equal([run.outputs.registryHost as string, "registry.stx-system.svc:5000"].sort());
        const { username, password } = tenantConfig.auths["registry.stx-system.svc:5000"];
        expect(username).to.equal(`tenant-${plan.namespace}`);
        expect(gate.passwords[username]).to.equal(passwordDigest(password));
        expect(text).to.not.contain(platformPassword);
      }
      // No password in clear in the gate's config or the registry's.
      expect(JSON.stringify(gate)).not.to.contain("random-");
      expect(configMap).not.to.contain("random-");
    });

    it(`stores images ${stack === "cengn" ? "on S3" : "on a protected volume"}, with deletes enabled`, () => {
      const config = JSON.parse(run.object("kubernetes:core/v1:ConfigMap", "registry-config", SHARED).inputs.data["config.yml"].replace(/^#.*\n/, ""));
      expect(config.storage.delete).to.deep.equal({ enabled: true });
      const volumes = run.objects("kubernetes:core/v1:PersistentVolumeClaim", SHARED).filter((v) => v.inputs.metadata.name === "registry-data");
      if (stack === "cengn") {
        expect(config.storage.s3.bucket).to.equal("stx-registry");
        expect(volumes).to.be.empty;
        const env = podSpec(run.object(DEPLOYMENT, "registry", SHARED)).containers[0].env.map((e: any) => e.name);
        expect(env).to.include.members(["REGISTRY_STORAGE_S3_ACCESSKEY", "REGISTRY_STORAGE_S3_SECRETKEY"]);
        expect(run.object(DEPLOYMENT, "registry", SHARED).inputs.spec.replicas).to.equal(2);
      } else {
        expect(config.storage.filesystem.rootdirectory).to.equal("/var/lib/registry");
        expect(volumes).to.have.length(1);
        expect(volumes[0].options.protect).to.equal(true);
      }
    });
  });
}

describe("platform registry on the starlingx stack", () => {
  let run: ProgramRun;
  const plans = planTenants(parseSettings(stackFileConfig("starlingx")));
  before(async () => {
    run = await runStack("starlingx");
  });

  it("deploys no registry of its own and points builds at registry.local:9001", () => {
    expect(run.objects(DEPLOYMENT, SHARED).map((d) => d.inputs.metadata.name)).not.to.include("registry");
    expect(run.outputs.registryHost).to.equal("registry.local:9001");
  });

  it("never reads the platform's login nor puts any registry login into a tenant namespace", () => {
    expect(run.resources.find((r) => r.type === SECRET && r.id === "kube-system/default-registry-key")).to.equal(undefined);
    expect(plans).to.not.be.empty;
    for (const plan of plans) {
      expect(run.objects(SECRET, plan.namespace).map((s) => s.inputs.metadata.name)).to.not.include("registry-credentials");
    }
  });
});
