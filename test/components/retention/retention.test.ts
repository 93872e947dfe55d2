import { expect } from "chai";
import { gunzipSync } from "zlib";
import { parseSettings } from "../../../src/settings/schema";
import { IMAGES } from "../../../src/versions";
import { DeclaredResource, ProgramRun, runStack, stackFileConfig } from "../../../tools/mockedProgram";

const CRONJOB = "kubernetes:batch/v1:CronJob";
const NS = "stx-system";
const STACKS = ["minikube", "cengn", "starlingx"] as const;
const EXPECTED_JOBS: Record<(typeof STACKS)[number], string[]> = {
  minikube: ["stx-artifact-retention", "stx-pipelinerun-pruner", "stx-registry-gc"],
  cengn: ["stx-artifact-retention", "stx-pipelinerun-pruner", "stx-registry-gc", "stx-release-backup"],
  // The platform registry is not ours to collect; an All-in-One host has no backup target by default.
  starlingx: ["stx-artifact-retention", "stx-pipelinerun-pruner"],
};

function podSpec(job: DeclaredResource) {
  return job.inputs.spec.jobTemplate.spec.template.spec;
}

function containers(job: DeclaredResource): any[] {
  const spec = podSpec(job);
  return [...(spec.initContainers ?? []), ...spec.containers];
}

function env(container: any): Record<string, any> {
  return Object.fromEntries((container.env ?? []).map((e: any) => [e.name, e.value ?? e.valueFrom]));
}

for (const stack of STACKS) {
  describe(`retention jobs on the ${stack} stack`, () => {
    let run: ProgramRun;
    const settings = parseSettings(stackFileConfig(stack));

    before(async () => {
      run = await runStack(stack);
    });

    it("declares the retention CronJobs the stack needs, and no others", () => {
      const names = run.objects(CRONJOB, NS).map((j) => j.inputs.metadata.name);
      expect(names).to.have.members(EXPECTED_JOBS[stack]);
    });

    it("never overlaps a run, keeps a short history and takes schedules from the settings", () => {
      const schedules: Record<string, string> = {
        "stx-artifact-retention": settings.retention.schedule,
        "stx-pipelinerun-pruner": settings.retention.pipelineRuns.schedule,
        "stx-registry-gc": settings.retention.registryGc.schedule,
        "stx-release-backup": settings.backup.schedule,
      };
      for (const job of run.objects(CRONJOB, NS)) {
        const spec = job.inputs.spec;
        expect(spec.concurrencyPolicy, job.name).to.equal("Forbid");
        expect(spec.successfulJobsHistoryLimit).to.be.within(1, 5);
        expect(spec.failedJobsHistoryLimit).to.be.within(1, 5);
        expect(spec.schedule).to.equal(schedules[job.inputs.metadata.name]);
        expect(spec.jobTemplate.spec.activeDeadlineSeconds).to.be.greaterThan(0);
      }
    });

    it("passes Pod Security restricted: non-root, no escalation, no capabilities, RuntimeDefault seccomp", () => {
      for (const job of run.objects(CRONJOB, NS)) {
        const spec = podSpec(job);
        expect(spec.securityContext.runAsNonRoot, job.name).to.equal(true);
        expect(spec.securityContext.seccompProfile).to.deep.equal({ type: "RuntimeDefault" });
        expect(spec.hostNetwork ?? false).to.equal(false);
        expect((spec.volumes ?? []).filter((v: any) => v.hostPath)).to.be.empty;
        for (const c of containers(job)) {
          expect(c.securityContext.allowPrivilegeEscalation, c.name).to.equal(false);
          expect(c.securityContext.capabilities.drop).to.deep.equal(["ALL"]);
          expect(c.securityContext.privileged ?? false).to.equal(false);
          expect(c.securityContext.runAsUser).to.be.greaterThan(0);
        }
      }
    });

    it("gives every container requests and limits for cpu, memory and ephemeral-storage, and a pinned image", () => {
      for (const job of run.objects(CRONJOB, NS)) {
        for (const c of containers(job)) {
          for (const kind of ["requests", "limits"]) {
            expect(Object.keys(c.resources[kind]), `${c.name} ${kind}`).to.have.members(["cpu", "memory", "ephemeral-storage"]);
          }
          expect(c.image).to.match(/:[0-9][^:]*$/).and.not.to.match(/:latest$/);
          expect(Object.values(IMAGES)).to.include(c.image);
        }
      }
    });

    it("runs the artifact job with the configured policy against the object store", () => {
      const job = run.object(CRONJOB, "stx-artifact-retention", NS);
      const [runner] = podSpec(job).containers;
      expect(runner.command).to.deep.equal(["node", "/opt/retention/run.js", "artifacts"]);
      const vars = env(runner);
      expect(JSON.parse(vars.RETENTION_POLICY)).to.deep.equal({
        days: settings.retention.days,
        failedDays: settings.retention.failedDays,
        keepSuccessful: settings.retention.keepSuccessful,
      });
      expect(vars.DRY_RUN).to.equal("false");
      expect(vars.S3_ENDPOINT).to.equal(`http://minio.${NS}.svc:9000`);
      expect(vars.AWS_SECRET_ACCESS_KEY).to.deep.equal({ secretKeyRef: { name: "object-store-credentials", key: "AWS_SECRET_ACCESS_KEY" } });
      expect(vars.PIPELINERUN_NAMESPACES.split(",")).to.include(NS).and.to.include("build-starlingx-master");
    });

    it("ships the bundled jobs in an immutable ConfigMap well under the 1 MiB limit", () => {
      const [configMap] = run.objects("kubernetes:core/v1:ConfigMap", NS).filter((c) => c.inputs.binaryData);
      expect(configMap.inputs.immutable).to.equal(true);
      const size = JSON.stringify(configMap.inputs).length;
      expect(size).to.be.lessThan(512 * 1024);
      const code = gunzipSync(Buffer.from(configMap.inputs.binaryData["retention.js.gz"], "base64")).toString();
      expect(code).to.contain("registry-readonly").and.to.contain("prune-runs");
      const job = run.object(CRONJOB, "stx-artifact-retention", NS);
      const volume = podSpec(job).volumes.find((v: any) => v.name === "runner");
      expect(volume.configMap.name).to.equal(configMap.inputs.metadata.name ?? `${configMap.name}-generated`);
    });

    it("lets the jobs delete PipelineRuns only through RoleBindings in the namespaces it searches", () => {
      const bindings = run.ofType("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding").filter((b) => b.inputs.metadata.name === "stx-retention-pipelineruns");
      const job = run.object(CRONJOB, "stx-pipelinerun-pruner", NS);
      const searched = env(podSpec(job).containers[0]).PIPELINERUN_NAMESPACES.split(",");
      expect(bindings.map((b) => b.inputs.metadata.namespace)).to.have.members(searched);
      expect(env(podSpec(job).containers[0]).KEEP_PIPELINERUNS).to.equal(String(settings.retention.pipelineRuns.keep));
      const clusterWide = run.ofType("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding");
      expect(JSON.stringify(clusterWide.map((b) => b.inputs.subjects))).to.not.contain("retention");
    });

    if (EXPECTED_JOBS[stack].includes("stx-registry-gc")) {
      it("collects registry garbage inside a read-only window that always closes", () => {
        const spec = podSpec(run.object(CRONJOB, "stx-registry-gc", NS));
        expect(spec.initContainers.map((c: any) => c.name)).to.deep.equal(["read-only-on", "garbage-collect"]);
        expect(spec.initContainers[0].command.slice(-2)).to.deep.equal(["registry-readonly", "on"]);
        expect(spec.initContainers[1].args[0]).to.match(/registry garbage-collect .*\/etc\/distribution\/config.yml; echo \$\? > \/tmp\/gc-status; exit 0$/);
        expect(spec.containers[0].command.slice(-2)).to.deep.equal(["registry-readonly", "off"]);
        expect(env(spec.containers[0]).GC_STATUS_FILE).to.equal("/tmp/gc-status");
      });
    }
  });
}

describe("release backup", () => {
  it("copies to a protected volume pinned to the configured node on cengn", async () => {
    const run = await runStack("cengn");
    const spec = podSpec(run.object(CRONJOB, "stx-release-backup", NS));
    expect(spec.nodeSelector).to.deep.equal({ "kubernetes.io/hostname": "build-02" });
    const pvc = run.object("kubernetes:core/v1:PersistentVolumeClaim", "stx-backup", NS);
    expect(pvc.options.protect).to.equal(true);
    expect(pvc.options.retainOnDelete).to.equal(true);
    expect(pvc.inputs.spec.resources.requests.storage).to.equal("2Ti");
    expect(env(spec.containers[0])).to.include({ BACKUP_DIR: "/backup", BACKUP_CLASSES: "release" });
    // Never on the object store's node: required anti-affinity to the pods of the MinIO Deployment.
    const minio = run.object("kubernetes:apps/v1:Deployment", "minio", NS).inputs.spec.template.metadata.labels;
    const [term] = spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution;
    expect(term.topologyKey).to.equal("kubernetes.io/hostname");
    expect(Object.entries(term.labelSelector.matchLabels).every(([k, v]) => minio[k] === v), "the selector matches MinIO's pods").to.equal(true);
    expect(spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution).to.have.length(1);
  });

  it("has no store to keep away from when the object store is external", async () => {
    const run = await runStack("cengn", {
      services: { exposure: { kind: "ingress", tlsSecret: "build-tls" }, objectStore: { mode: "external", endpoint: "https://s3.example.org" } },
      objectStoreAccessKey: "AKIAEXAMPLE",
      objectStoreSecretKey: "example",
    });
    expect(podSpec(run.object(CRONJOB, "stx-release-backup", NS)).affinity).to.equal(undefined);
  });

  it("copies to another S3 endpoint where the stack says so", async () => {
    const run = await runStack("starlingx", {
      backup: {
        enabled: true,
        classes: ["release", "milestone"],
        target: { kind: "s3", endpoint: "https://s3.backup.example.org", bucket: "stx-release-backup", credentialsSecretName: "backup-s3" },
      },
    });
    const vars = env(podSpec(run.object(CRONJOB, "stx-release-backup", NS)).containers[0]);
    expect(vars).to.include({ BACKUP_S3_ENDPOINT: "https://s3.backup.example.org", BACKUP_S3_BUCKET: "stx-release-backup", BACKUP_CLASSES: "release,milestone" });
    expect(vars.BACKUP_AWS_ACCESS_KEY_ID).to.deep.equal({ secretKeyRef: { name: "backup-s3", key: "AWS_ACCESS_KEY_ID" } });
    const claims = run.objects("kubernetes:core/v1:PersistentVolumeClaim", NS).map((c) => c.inputs.metadata.name);
    expect(claims).to.not.include("stx-backup");
    // The copy is on another endpoint: no anti-affinity to MinIO, which on a one-node host (the
    // All-in-One, minikube) would leave the backup Pending forever (found by the real node).
    expect(run.object("kubernetes:apps/v1:Deployment", "minio", NS), "starlingx runs MinIO").to.not.equal(undefined);
    expect(podSpec(run.object(CRONJOB, "stx-release-backup", NS)).affinity).to.equal(undefined);
  });
});
