import { expect } from "chai";
import { parseSettings } from "../../../src/settings/schema";
import { MIRROR_PREFIX } from "../../../src/services/pulpContent";
import { IMAGES } from "../../../src/versions";
import { ProgramRun, runStack, stackFileConfig } from "../../../tools/mockedProgram";
import {
  expectNoPlainCredentials,
  expectProbes,
  expectResources,
  expectRestricted,
  podSpec,
  secretValue,
  SHARED,
  workloads,
} from "./serviceChecks";

const STACKS = ["minikube", "cengn", "starlingx"] as const;
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const JOB = "kubernetes:batch/v1:Job";
const PVC = "kubernetes:core/v1:PersistentVolumeClaim";

for (const stack of STACKS) {
  describe(`Pulp on the ${stack} stack`, () => {
    let run: ProgramRun;
    const settings = parseSettings(stackFileConfig(stack));

    before(async () => {
      run = await runStack(stack);
    });

    it("runs api, content and worker from the pinned pulp-minimal image, sized by the profile", () => {
      for (const role of ["api", "content", "worker"]) {
        const deployment = run.object(DEPLOYMENT, `pulp-${role}`, SHARED);
        expect(podSpec(deployment).containers[0].image).to.equal(IMAGES.pulp);
        expect(podSpec(deployment).containers[0].command).to.deep.equal([`/usr/bin/pulp-${role}`]);
      }
      expect(run.object(DEPLOYMENT, "pulp-worker", SHARED).inputs.spec.replicas).to.equal(settings.services.pulp.workers);
      expect(run.object(DEPLOYMENT, "pulp-content", SHARED).inputs.spec.replicas).to.equal(settings.services.pulp.contentReplicas);
    });

    it("passes Pod Security restricted, with probes, requests and limits on every server", () => {
      const all = workloads(run, "pulp");
      expect(all.length).to.be.at.least(7);
      for (const workload of all) {
        expectRestricted(workload);
        expectResources(workload);
      }
      for (const workload of all.filter((w) => w.type === DEPLOYMENT)) expectProbes(workload);
      // PULP_* service-link variables would be read as Pulp settings.
      for (const workload of all.filter((w) => podSpec(w).containers[0].image === IMAGES.pulp)) {
        expect(podSpec(workload).enableServiceLinks, workload.inputs.metadata.name).to.equal(false);
      }
    });

    it("migrates the database before any Pulp server starts", () => {
      const migrate = run.objects(JOB, SHARED).find((j) => j.inputs.metadata.name.startsWith("pulp-migrate-"))!;
      expect(migrate, "migration job").to.not.equal(undefined);
      expect(podSpec(migrate).containers[0].command.join(" ")).to.contain("pulpcore-manager migrate --noinput");
      for (const role of ["api", "content", "worker"]) {
        expect(run.object(DEPLOYMENT, `pulp-${role}`, SHARED).options.dependsOn).to.include("stx-pulp-migrate");
      }
      expect(migrate.options.dependsOn).to.include("stx-pulp-database");
    });

    it("reads settings and the shared database-fields key from one Secret", () => {
      const secret = run.object("kubernetes:core/v1:Secret", "pulp-settings", SHARED);
      const data = secretValue(secret.inputs.stringData);
      const settingsPy: string = data["settings.py"];
      expect(settingsPy).to.match(/ALLOWED_CONTENT_CHECKSUMS = \["md5", "sha1"/);
      expect(settingsPy).to.contain(`CONTENT_ORIGIN = "${run.outputs.pulpContentUrl}`.replace(/\/pulp\/content\/$/, ""));
      expect(settingsPy).to.contain('PASSWORD": "random-stx-pulp-db-password"');
      expect(data["database_fields.symmetric.key"]).to.be.a("string").and.not.be.empty;
      for (const role of ["api", "content", "worker"]) {
        const mounts = podSpec(run.object(DEPLOYMENT, `pulp-${role}`, SHARED)).containers[0].volumeMounts.map((m: any) => m.mountPath);
        expect(mounts).to.include.members(["/etc/pulp/settings.py", "/etc/pulp/keys/database_fields.symmetric.key"]);
      }
      const key = run.ofType("random:index/randomBytes:RandomBytes").find((r) => r.name === "stx-pulp-db-fields-key")!;
      expect(key.options.protect).to.equal(true);
      // The database volume outlives a destroy, so the password its data was initialised with must too.
      const dbPassword = run.ofType("random:index/randomPassword:RandomPassword").find((r) => r.name === "stx-pulp-db-password")!;
      expect(dbPassword.options.protect).to.equal(true);
      expectNoPlainCredentials(run, ["random-stx-pulp-db-password", "random-stx-pulp-admin-password", "random-stx-pulp-secret-key"]);
    });

    it("gives the database a startup probe and distinct readiness (a query as Pulp) and liveness (the server accepting)", () => {
      const [postgres] = podSpec(run.object(DEPLOYMENT, "pulp-database", SHARED)).containers;
      const command = (probe: { exec: { command: string[] } }) => probe.exec.command.join(" ");
      expect(command(postgres.startupProbe)).to.match(/^pg_isready /);
      expect(postgres.startupProbe.periodSeconds * postgres.startupProbe.failureThreshold, "seconds for initdb or WAL recovery").to.be.at.least(600);
      expect(command(postgres.readinessProbe)).to.contain("psql -h 127.0.0.1 -U pulp -d pulp -tAc 'SELECT 1'");
      expect(command(postgres.livenessProbe)).to.match(/^pg_isready /);
      expect(command(postgres.readinessProbe)).not.to.equal(command(postgres.livenessProbe));
      expect(postgres.livenessProbe.initialDelaySeconds, "the startup probe holds liveness back").to.equal(undefined);
    });

    it("keeps its database on a protected volume and Redis without one", () => {
      const volume = run.object(PVC, "pulp-database", SHARED);
      expect(volume.options.protect).to.equal(true);
      expect(volume.options.retainOnDelete).to.equal(true);
      expect(volume.inputs.spec.resources.requests.storage).to.equal(settings.services.pulp.databaseSize);
      const redis = podSpec(run.object(DEPLOYMENT, "pulp-redis", SHARED));
      expect(redis.volumes[0].emptyDir).to.be.an("object");
    });

    const expected = stack === "cengn" ? "s3" : "pvc";
    it(`stores content on ${expected === "s3" ? "the object store" : "a protected volume"}`, () => {
      const settingsPy: string = secretValue(run.object("kubernetes:core/v1:Secret", "pulp-settings", SHARED).inputs.stringData)["settings.py"];
      const volumes = run.objects(PVC, SHARED).filter((v) => v.inputs.metadata.name === "pulp-content");
      if (expected === "s3") {
        expect(volumes).to.be.empty;
        expect(settingsPy).to.contain('"BACKEND": "storages.backends.s3.S3Storage"').and.contain('"bucket_name": "stx-pulp"');
        expect(settingsPy).to.contain("REDIRECT_TO_OBJECT_STORAGE = False");
        const api = podSpec(run.object(DEPLOYMENT, "pulp-api", SHARED)).containers[0];
        expect(api.envFrom).to.deep.equal([{ secretRef: { name: "object-store-credentials" } }]);
      } else {
        expect(volumes).to.have.length(1);
        expect(volumes[0].options.protect).to.equal(true);
        expect(volumes[0].inputs.spec.accessModes).to.deep.equal([stack === "starlingx" ? "ReadWriteMany" : "ReadWriteOnce"]);
        expect(settingsPy).to.contain('MEDIA_ROOT = "/var/lib/pulp/media"').and.not.contain("S3Storage");
      }
    });

    it("converges the declared mirrors with a Job named after their hash, after Pulp is up", () => {
      const jobs = run.objects(JOB, SHARED).filter((j) => j.inputs.metadata.name.startsWith("pulp-content-"));
      expect(jobs).to.have.length(1);
      const job = jobs[0];
      const config = run.object("kubernetes:core/v1:ConfigMap", job.inputs.metadata.name, SHARED);
      const spec = JSON.parse(config.inputs.data["spec.json"]);
      expect(spec.mirrors.map((m: any) => m.name)).to.deep.equal(settings.services.pulp.mirrors.map((m) => `${MIRROR_PREFIX}${m.name}`));
      expect(spec.mirrors.every((m: any) => m.remote.policy === "on_demand")).to.equal(true);
      expect(config.inputs.data["pulp_content.py"]).to.contain("def converge");
      expect(podSpec(job).containers[0].image).to.equal(IMAGES.pulp);
      expect(job.options.dependsOn).to.include.members(["stx-pulp-api", "stx-pulp-worker"]);
    });

    it("exports its URLs", () => {
      expect(run.outputs.pulpUrl).to.match(/^https?:\/\//);
      expect(run.outputs.pulpContentUrl).to.match(/\/pulp\/content\/$/);
      expect(run.outputs.pulpAdminPassword).to.equal("random-stx-pulp-admin-password");
      if (stack === "minikube") {
        expect(run.object("kubernetes:core/v1:Service", "pulp-content", SHARED).inputs.spec.ports[0].nodePort).to.equal(30816);
      } else {
        const ingress = run.object("kubernetes:networking.k8s.io/v1:Ingress", "pulp", SHARED);
        expect(ingress.inputs.spec.rules[0].host).to.equal(new URL(run.outputs.pulpUrl as string).host);
      }
    });
  });
}

describe("Pulp content Job", () => {
  it("gets a new name when the declared mirrors change, and keeps it when they do not", async () => {
    const name = (run: ProgramRun) => run.objects(JOB, SHARED).find((j) => j.inputs.metadata.name.startsWith("pulp-content-"))!.inputs.metadata.name;
    const base = await runStack("minikube");
    const same = await runStack("minikube");
    const changed = await runStack("minikube", {
      services: { pulp: { mirrors: [{ name: "stx-tools", type: "file", url: "https://mirror.example.org/stx/PULP_MANIFEST" }] } },
    });
    expect(name(same)).to.equal(name(base));
    expect(name(changed)).to.not.equal(name(base));
  });
});

describe("shared services footprint", () => {
  /** Sum of requests of the long-running shared-service containers (Jobs are short and excluded). */
  async function footprint(stack: string) {
    const { parseQuantity } = await import("../../../src/quantity");
    const run = await runStack(stack);
    let cpu = 0;
    let memory = 0;
    for (const d of run.objects(DEPLOYMENT, SHARED)) {
      for (const c of podSpec(d).containers) {
        cpu += parseQuantity(c.resources.requests.cpu) * d.inputs.spec.replicas;
        memory += parseQuantity(c.resources.requests.memory) * d.inputs.spec.replicas;
      }
    }
    return { cpu, memoryMi: memory / 2 ** 20, settings: parseSettings(stackFileConfig(stack)) };
  }

  it("fits a laptop next to a build on minikube (425m CPU, 1552Mi requested; see docs/services.md)", async () => {
    const { parseQuantity } = await import("../../../src/quantity");
    const { cpu, memoryMi, settings } = await footprint("minikube");
    // The registry gate (25m, 48Mi) is part of the registry's pod.
    expect(cpu).to.be.closeTo(0.425, 1e-9);
    expect(memoryMi).to.equal(1552);
    const node = settings.cluster.nodes[0];
    const build = settings.tenancy.quota.requests;
    expect(cpu + parseQuantity(build.cpu)).to.be.at.most(parseQuantity(node.cpu));
    expect(memoryMi * 2 ** 20 + parseQuantity(build.memory)).to.be.at.most(parseQuantity(node.memory));
  });

  it("is sized for many concurrent builds on cengn", async () => {
    const { cpu, memoryMi } = await footprint("cengn");
    expect(cpu).to.be.at.least(5);
    expect(memoryMi).to.be.at.least(10 * 1024);
  });
});
