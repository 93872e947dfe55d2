import { expect } from "chai";
import { planTenants } from "../../../src/tenancy/tenants";
import { parseSettings } from "../../../src/settings/schema";
import { IMAGES } from "../../../src/versions";
import { ProgramRun, runStack, stackFileConfig } from "../../harness/program";
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

    it("authenticates with an htpasswd bcrypt entry from a generated password, kept secret", () => {
      const auth = secretValue(run.object(SECRET, "registry-auth", SHARED).inputs.stringData);
      expect(auth.htpasswd).to.match(/^stx-build:\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}\n$/);
      const push = run.object(SECRET, "registry-credentials", SHARED);
      expect(push.inputs.type).to.equal("kubernetes.io/dockerconfigjson");
      const config = JSON.parse(secretValue(push.inputs.stringData)[".dockerconfigjson"]);
      expect(config.auths[run.outputs.registryHost as string].password).to.equal("random-stx-registry-password");
      const configMap = run.object("kubernetes:core/v1:ConfigMap", "registry-config", SHARED).inputs.data["config.yml"];
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

  it("copies the platform pull secret into every tenant namespace", () => {
    const source = run.resources.find((r) => r.type === SECRET && r.id === "kube-system/default-registry-key");
    expect(source, "platform secret read").to.not.equal(undefined);
    for (const plan of plans) {
      const copy = run.object(SECRET, "registry-credentials", plan.namespace);
      expect(secretValue(copy.inputs.data)).to.have.property("token");
      expect(copy.options.dependsOn).to.include(plan.namespace);
    }
  });
});
