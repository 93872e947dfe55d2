import { expect } from "chai";
import { IMAGES } from "../../../src/versions";
import { ProgramRun, runStack } from "../../../tools/mockedProgram";
import { expectProbes, expectResources, expectRestricted, podSpec, secretValue, SHARED, workloads } from "./serviceChecks";

const STACKS = ["minikube", "cengn", "starlingx"] as const;
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const SECRET = "kubernetes:core/v1:Secret";

function bucketJob(run: ProgramRun) {
  const jobs = run.objects("kubernetes:batch/v1:Job", SHARED).filter((j) => j.inputs.metadata.name.startsWith("object-store-buckets-"));
  expect(jobs).to.have.length(1);
  return jobs[0];
}

for (const stack of STACKS) {
  describe(`object store on the ${stack} stack`, () => {
    let run: ProgramRun;
    before(async () => {
      run = await runStack(stack);
    });

    it("runs the pinned MinIO image on a protected volume, restricted, with probes and resources", () => {
      const minio = run.object(DEPLOYMENT, "minio", SHARED);
      expect(podSpec(minio).containers[0].image).to.equal(IMAGES.minio);
      expect(IMAGES.minio).to.match(/:RELEASE\.\d{4}-\d\d-\d\dT/);
      expectProbes(minio);
      for (const workload of workloads(run, "object-store")) {
        expectRestricted(workload);
        expectResources(workload);
      }
      const volume = run.object("kubernetes:core/v1:PersistentVolumeClaim", "minio-data", SHARED);
      expect(volume.options.protect).to.equal(true);
      expect(volume.options.retainOnDelete).to.equal(true);
    });

    it("protects every data volume of the shared services from deletion", () => {
      const volumes = run.objects("kubernetes:core/v1:PersistentVolumeClaim", SHARED);
      expect(volumes.length).to.be.at.least(stack === "cengn" ? 2 : 3);
      for (const volume of volumes) {
        expect(volume.options.protect, volume.inputs.metadata.name).to.equal(true);
        expect(volume.options.retainOnDelete, volume.inputs.metadata.name).to.equal(true);
      }
    });

    it("keeps generated root credentials in a Secret with the AWS key names", () => {
      const secret = run.object(SECRET, "object-store-credentials", SHARED);
      const data = secretValue(secret.inputs.stringData);
      expect(data).to.have.all.keys("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY");
      expect(data.AWS_SECRET_ACCESS_KEY).to.equal("random-stx-object-store-root-password");
      // MinIO's kept volume holds IAM data set up with these: a destroy must not regenerate them.
      const roots = run.ofType("random:index/randomPassword:RandomPassword").filter((r) => /-root-(user|password)$/.test(r.name));
      expect(roots.map((r) => r.name)).to.have.members(["stx-object-store-root-user", "stx-object-store-root-password"]);
      for (const root of roots) expect(root.options.protect, root.name).to.equal(true);
      const env = podSpec(run.object(DEPLOYMENT, "minio", SHARED)).containers[0].env;
      const root = env.find((e: any) => e.name === "MINIO_ROOT_PASSWORD");
      expect(root.valueFrom.secretKeyRef).to.deep.equal({ name: "object-store-credentials", key: "AWS_SECRET_ACCESS_KEY" });
      expect(JSON.stringify(env)).not.to.contain("random-");
    });

    it("creates the four buckets idempotently and opens only the published prefix", () => {
      const job = bucketJob(run);
      const container = podSpec(job).containers[0];
      expect(container.image).to.equal(IMAGES.minioClient);
      const script: string = container.command[2];
      for (const bucket of ["stx-artifacts", "stx-pulp", "stx-registry", "stx-backups"]) {
        expect(script).to.contain(`mc mb --ignore-existing store/${bucket}`);
        expect(script).to.contain(`mc anonymous set none store/${bucket}`);
      }
      const opened = script.split("\n").filter((line) => line.includes("anonymous set download"));
      expect(opened).to.deep.equal(["mc anonymous set download store/stx-artifacts/published/"]);
      expect(job.options.dependsOn).to.include("stx-object-store-minio");
    });

    it("exports the ObjectStore shape other components consume", () => {
      const store = run.outputs.objectStore as any;
      expect(store.endpoint).to.equal("http://minio.stx-system.svc:9000");
      expect(store.credentialsSecret).to.equal("object-store-credentials");
      expect(store.buckets).to.deep.equal({ artifacts: "stx-artifacts", pulp: "stx-pulp", registry: "stx-registry", backups: "stx-backups" });
      expect(store.publicUrl).to.match(stack === "minikube" ? /^http:\/\/192\.168\.49\.2:30900$/ : /^https?:\/\/s3\./);
    });
  });
}

/** What Pulumi.cengn.yaml sets under services; a test replacing `services` must keep it. */
const CENGN_TLS = { exposure: { kind: "ingress", tlsSecret: "build-starlingx-cengn-tls" } };

describe("object store in external S3 mode", () => {
  let run: ProgramRun;
  before(async () => {
    run = await runStack("cengn", {
      services: { ...CENGN_TLS, objectStore: { mode: "external", endpoint: "https://s3.example.org", region: "eu-west-1" } },
      objectStoreAccessKey: "AKIAEXAMPLE",
      objectStoreSecretKey: "s3cr3t-from-config",
    });
  });

  it("deploys no MinIO and points Pulp and the registry at the endpoint", () => {
    expect(run.objects(DEPLOYMENT, SHARED).map((d) => d.inputs.metadata.name)).not.to.include("minio");
    expect(run.objects("kubernetes:core/v1:PersistentVolumeClaim", SHARED).map((v) => v.inputs.metadata.name)).not.to.include("minio-data");
    const settingsPy: string = secretValue(run.object(SECRET, "pulp-settings", SHARED).inputs.stringData)["settings.py"];
    expect(settingsPy).to.contain('"endpoint_url": "https://s3.example.org"').and.contain('"region_name": "eu-west-1"');
    const registryConfig: string = run.object("kubernetes:core/v1:ConfigMap", "registry-config", SHARED).inputs.data["config.yml"];
    expect(registryConfig).to.contain('"regionendpoint": "https://s3.example.org"');
    expect((run.outputs.objectStore as any).endpoint).to.equal("https://s3.example.org");
  });

  it("takes the keys from secret config into the credentials Secret only", () => {
    const data = secretValue(run.object(SECRET, "object-store-credentials", SHARED).inputs.stringData);
    expect(data).to.deep.equal({ AWS_ACCESS_KEY_ID: "AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY: "s3cr3t-from-config" });
    const everythingElse = run.resources.filter((r) => !(r.type === SECRET && r.inputs.metadata?.name === "object-store-credentials"));
    expect(JSON.stringify(everythingElse.map((r) => r.inputs))).not.to.contain("s3cr3t-from-config");
    expect(podSpec(bucketJob(run)).containers[0].env[0]).to.deep.equal({ name: "S3_ENDPOINT", value: "https://s3.example.org" });
  });

  it("refuses to run without the keys, naming the settings to set", async () => {
    let error: Error | undefined;
    try {
      await runStack("cengn", { services: { ...CENGN_TLS, objectStore: { mode: "external", endpoint: "https://s3.example.org" } } });
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).to.contain("stx-build-cluster:objectStoreAccessKey");
  });
});

for (const stack of ["cengn", "minikube"] as const) {
  describe(`object store users of the tenant namespaces on the ${stack} stack`, () => {
    let run: ProgramRun;
    before(async () => {
      run = await runStack(stack);
    });
    const tenants = () => run.ofType("kubernetes:core/v1:Namespace").map((n) => n.inputs.metadata.name as string).filter((n) => /^(user|build)-/.test(n));

    it("gives every tenant namespace its own credentials Secret, never the root keys", () => {
      const root = secretValue(run.object(SECRET, "object-store-credentials", SHARED).inputs.stringData);
      expect(tenants().length).to.be.at.least(2);
      const keys = new Set<string>();
      for (const ns of tenants()) {
        const secret = run.object(SECRET, "object-store-credentials", ns);
        const data = secretValue(secret.inputs.stringData);
        expect(data).to.have.all.keys("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY");
        expect(data.AWS_ACCESS_KEY_ID, ns).to.not.equal(root.AWS_ACCESS_KEY_ID);
        expect(data.AWS_SECRET_ACCESS_KEY, ns).to.not.equal(root.AWS_SECRET_ACCESS_KEY);
        expect(data.AWS_SECRET_ACCESS_KEY).to.match(/^random-/);
        keys.add(data.AWS_SECRET_ACCESS_KEY);
        expect(secret.options.dependsOn, ns).to.include(ns);
      }
      expect(keys.size).to.equal(tenants().length);
      // No object in a tenant namespace carries a root key.
      const inTenants = run.resources.filter((r) => tenants().includes(r.inputs?.metadata?.namespace));
      const text = JSON.stringify(inTenants.map((r) => r.inputs));
      expect(text).to.not.contain(root.AWS_SECRET_ACCESS_KEY);
      expect(text).to.not.contain(root.AWS_ACCESS_KEY_ID);
    });

    it("hands the users to the bucket Job only through a Secret, and renames the Job when they change", async () => {
      const job = bucketJob(run);
      const pod = podSpec(job);
      const users = run.object(SECRET, "object-store-tenant-users", SHARED);
      const files = secretValue(users.inputs.stringData);
      const tenantKeys = tenants().map((ns) => secretValue(run.object(SECRET, "object-store-credentials", ns).inputs.stringData));
      expect(files.users.trim().split("\n").sort()).to.deep.equal(tenantKeys.map((k) => k.AWS_ACCESS_KEY_ID).sort());
      for (const k of tenantKeys) {
        expect(files[`${k.AWS_ACCESS_KEY_ID}.secret`]).to.equal(k.AWS_SECRET_ACCESS_KEY);
        expect(JSON.parse(files[`${k.AWS_ACCESS_KEY_ID}.json`]).Statement).to.have.length(4);
      }
      expect(pod.volumes).to.deep.include({ name: "tenant-users", secret: { secretName: "object-store-tenant-users", defaultMode: 0o440 } });
      expect(pod.containers[0].command[2]).to.contain("mc admin user add store");
      const spec = JSON.stringify(job.inputs);
      for (const k of tenantKeys) expect(spec).to.not.contain(k.AWS_SECRET_ACCESS_KEY);
      for (const cm of run.ofType("kubernetes:core/v1:ConfigMap")) {
        for (const k of tenantKeys) expect(JSON.stringify(cm.inputs)).to.not.contain(k.AWS_SECRET_ACCESS_KEY);
      }
      expect(job.options.dependsOn).to.include("stx-object-store-tenant-users");
      const userNames = tenants().filter((ns) => ns.startsWith("user-")).map((ns) => ns.slice("user-".length));
      const more = await runStack(stack, { users: [...userNames.map((name) => ({ name })), { name: "zed" }] });
      expect(bucketJob(more).inputs.metadata.name).to.not.equal(job.inputs.metadata.name);
      expect(() => run.object(SECRET, "object-store-credentials", "user-zed")).to.throw(/found 0/);
      expect(secretValue(more.object(SECRET, "object-store-credentials", "user-zed").inputs.stringData).AWS_SECRET_ACCESS_KEY).to.match(/^random-/);
    });
  });
}

describe("object store users in external S3 mode", () => {
  it("copies no keys into tenant namespaces (the site provides them)", async () => {
    const run = await runStack("cengn", {
      services: { ...CENGN_TLS, objectStore: { mode: "external", endpoint: "https://s3.example.org", region: "eu-west-1" } },
      objectStoreAccessKey: "AKIAEXAMPLE",
      objectStoreSecretKey: "s3cr3t-from-config",
    });
    const secrets = run.ofType(SECRET).filter((s) => s.inputs.metadata.name === "object-store-credentials");
    expect(secrets.map((s) => s.inputs.metadata.namespace)).to.deep.equal([SHARED]);
    expect(run.ofType(SECRET).map((s) => s.inputs.metadata.name)).to.not.include("object-store-tenant-users");
  });
});
