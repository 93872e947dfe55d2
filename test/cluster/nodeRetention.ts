/**
 * Retention and backup on the real node (issue 17): the farm's own CronJobs, triggered as Jobs
 * (`kubectl create job --from=cronjob/...`), run in the stand-in `node` image on the node against
 * the farm's MinIO, Pulp and API server. The builds are seeded from this machine through the
 * NodePorts with the keys the jobs use (the root keys of the shared namespace), in the artifact
 * layout of src/artifacts.ts, with the PipelineRuns and Pulp repositories the build-id contract
 * names (docs/retention.md).
 *
 * The clock is not moved: a build's age is its build-date (part of its key), so the seeds are
 * dated in the past. Nothing but a Job's environment could move it, and nothing needs to.
 *
 * The backup needs `backup.enabled` before `pulumi up`: a `before` hook sets it in the stack's
 * config (an S3 target: the shared MinIO's backups bucket; a volume on the only node would be
 * Pending by design, as it must not share the store's node).
 */
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Stack } from "@pulumi/pulumi/automation";
import { expect } from "chai";
import { execFile } from "child_process";
import { createHash, randomBytes } from "crypto";
import * as path from "path";
import { promisify } from "util";
import { ACCESS_KEY_ID, CREDENTIALS_SECRET, SECRET_ACCESS_KEY } from "../../components/services/objectStore";
import { PULP_ADMIN_PASSWORD_KEY, PULP_ADMIN_USER } from "../../components/services/pulp";
import { BUILD_ID_LABEL, BuildRef, buildId, buildPrefix, buildPulpName, contextKey, formatBuildDate, latestBuildKey, markerKey } from "../../src/artifacts";
import { NODE_PORTS, SERVICE_PORTS } from "../../src/services/serviceEndpoints";
import { Settings } from "../../src/settings";
import { TenantPlan } from "../../src/tenancy/tenants";
import { LoopbackCluster } from "../../tools/loopback/cluster";
import { PROJECT } from "../../tools/localStack";
import { REPO_ROOT } from "../../tools/pulumiCli";

/** What the tests need from test/cluster/node.test.ts, read when they run (after its `before`). */
export interface NodeContext {
  readonly cluster: LoopbackCluster;
  readonly stack: Stack;
  readonly settings: Settings;
  readonly plans: readonly TenantPlan[];
  /** The real node's name. */
  readonly node: string;
  readonly nodeAddress: string;
}

const SHARED = "stx-system";
const DAY = 24 * 60 * 60 * 1000;
/** Pulp's admin password lives in its settings Secret (components/services/pulp.ts). */
const PULP_SETTINGS_SECRET = "pulp-settings";

interface Seed {
  readonly build: BuildRef;
  readonly objects: Record<string, Buffer>;
}

interface JobRun {
  readonly node: string;
  readonly phase: string;
  readonly log: string;
}

export function retentionOnTheNode(ctx: () => NodeContext): void {
  const now = Date.now();
  const dated = (days: number) => formatBuildDate(new Date(now - days * DAY));
  // Past the master limit (14 days): only latest_build keeps it.
  const latest = seed({ releaseId: "master", distro: "debian", buildDate: dated(20) }, "success");
  // Failed and past failedDays (3): deleted, with its PipelineRun and Pulp content.
  const expired = seed({ releaseId: "master", distro: "debian", buildDate: dated(30) }, "fail");
  // Two years old; release builds are kept forever and backed up.
  const release = seed({ releaseId: "release/stx.10.0", distro: "debian", buildDate: dated(730) }, "success");
  const runsNamespace = () => ctx().plans[0]!.namespace;
  let s3: S3Client;
  let bucket: string;
  let backups: string;

  before(async function () {
    const { stack, settings } = ctx();
    // Before `pulumi up` (this hook runs after node.test.ts's own): the stx-release-backup CronJob.
    const target = {
      kind: "s3",
      endpoint: `http://minio.${SHARED}.svc:${SERVICE_PORTS.objectStore}`,
      bucket: settings.services.objectStore.buckets.backups,
      credentialsSecretName: CREDENTIALS_SECRET,
    };
    await stack.setConfig(`${PROJECT}:backup`, { value: JSON.stringify({ enabled: true, target }) });
  });

  it("retention: seeded builds in MinIO, their PipelineRuns and Pulp content", async function () {
    const { cluster, settings, nodeAddress } = ctx();
    s3 = rootS3(cluster, settings, nodeAddress);
    bucket = settings.services.objectStore.buckets.artifacts;
    backups = settings.services.objectStore.buckets.backups;
    for (const s of [latest, expired, release]) {
      for (const [key, body] of Object.entries(s.objects)) await put(s3, bucket, key, body);
    }
    for (const s of [latest, release]) await put(s3, bucket, latestBuildKey(s.build.releaseId, s.build.distro), Buffer.from(`${s.build.buildDate}\n`));
    for (const s of [latest, expired, release]) cluster.kubectl(["create", "-f", "-"], JSON.stringify(pendingRun(runsNamespace(), s.build)));
    const pulp = pulpApi(cluster, nodeAddress);
    for (const s of [latest, expired]) await pulp.createRepoAndDistribution(buildPulpName(s.build, "std"));
    expect(await pulp.names("repositories", buildPulpName(expired.build, "std"))).to.have.length(1);
  });

  it("retention: the CronJob's Job runs on the real node and removes only the expired build, with its runs and Pulp content", async function () {
    this.timeout(8 * 60_000);
    const { cluster, node, nodeAddress } = ctx();
    const run = await runJob(cluster, "stx-artifact-retention", "retention-now");
    console.log(indent(run.log));
    expect(run.node, "the Job's pod ran on the real node").to.equal(node);
    expect(run.phase).to.equal("Succeeded");
    const summary = summaryOf(run.log);
    expect(summary).to.include({ dryRun: false, deleted: 1, pipelineRunsDeleted: 1, pulpObjectsDeleted: 2 });
    expect(summary.failures).to.deep.equal([]);
    expect(run.log).to.match(new RegExp(`^keep +${escape(buildPrefix(latest.build))} \\(latest_build`, "m"));
    expect(run.log).to.match(new RegExp(`^delete ${escape(buildPrefix(expired.build))} \\(failed master build`, "m"));

    expect(await keysUnder(s3, bucket, buildPrefix(expired.build))).to.deep.equal([]);
    for (const s of [latest, release]) await expectSameObjects(s3, bucket, s);
    const runs = cluster.kubectl(["get", "pipelineruns.tekton.dev", "-n", runsNamespace(), "-o", "jsonpath={.items[*].metadata.name}"]).split(/\s+/);
    expect(runs).to.include.members([runName(latest.build), runName(release.build)]);
    expect(runs).to.not.include(runName(expired.build));
    const pulp = pulpApi(cluster, nodeAddress);
    for (const kind of ["repositories", "distributions"] as const) {
      expect(await pulp.names(kind, buildPulpName(expired.build, "std")), `expired build's ${kind}`).to.deep.equal([]);
      expect(await pulp.names(kind, buildPulpName(latest.build, "std")), `latest build's ${kind}`).to.have.length(1);
    }
  });

  it("backup: the CronJob's Job copies the release build to the backup bucket on the real node", async function () {
    this.timeout(8 * 60_000);
    const { cluster, node } = ctx();
    const run = await runJob(cluster, "stx-release-backup", "backup-now");
    console.log(indent(run.log));
    expect(run.node, "the Job's pod ran on the real node").to.equal(node);
    expect(run.phase).to.equal("Succeeded");
    await expectSameObjects(s3, backups, release);
    expect((await read(s3, backups, latestBuildKey(release.build.releaseId, release.build.distro))).toString()).to.equal(`${release.build.buildDate}\n`);
    // Only release builds are backed up (backup.classes defaults to [release]).
    expect(await keysUnder(s3, backups, buildPrefix(latest.build))).to.deep.equal([]);
  });

  it("restore: a lost release build comes back byte for byte, in the cluster (docs/services.md) and with `cli.js restore`", async function () {
    this.timeout(8 * 60_000);
    const { cluster, node, settings, nodeAddress } = ctx();
    const name = buildPrefix(release.build).replace(/\/$/, "");
    await lose(s3, bucket, release);
    const inCluster = await runJob(cluster, "stx-release-backup", "restore-now", (job) => {
      // The documented jq edit: the backup Job's command with `restore <build>` instead of `backup`.
      const container = job.spec.template.spec.containers[0];
      container.command[container.command.length - 1] = "restore";
      container.args = [name];
    });
    console.log(indent(inCluster.log));
    expect(inCluster.node).to.equal(node);
    expect(inCluster.phase).to.equal("Succeeded");
    await expectSameObjects(s3, bucket, release);

    await lose(s3, bucket, release);
    const keys = rootKeys(cluster);
    const endpoint = `http://${nodeAddress}:${NODE_PORTS.objectStore}`;
    const { stdout } = await promisify(execFile)("node", [path.join(REPO_ROOT, "bin", "src", "retention", "cli.js"), "restore", name], {
      env: {
        PATH: process.env.PATH,
        S3_ENDPOINT: endpoint, S3_BUCKET: bucket, S3_REGION: settings.services.objectStore.region,
        AWS_ACCESS_KEY_ID: keys.accessKeyId, AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
        BACKUP_S3_ENDPOINT: endpoint, BACKUP_S3_BUCKET: backups, BACKUP_S3_REGION: settings.services.objectStore.region,
        BACKUP_AWS_ACCESS_KEY_ID: keys.accessKeyId, BACKUP_AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
      },
    });
    console.log(indent(stdout));
    await expectSameObjects(s3, bucket, release);
    expect((await read(s3, bucket, latestBuildKey(release.build.releaseId, release.build.distro))).toString()).to.equal(`${release.build.buildDate}\n`);
  });
}

/** A build's objects in the layout: packages, a log, CONTEXT and its result marker. */
function seed(build: BuildRef, result: "success" | "fail"): Seed {
  const prefix = buildPrefix(build);
  return {
    build,
    objects: {
      [`${prefix}outputs/std/stx-fm_1.0-1_amd64.deb`]: randomBytes(300_000 + 17),
      [`${prefix}outputs/logs/build-pkgs.log`]: Buffer.from(`build-pkgs ${build.buildDate}\n`.repeat(200)),
      [`${prefix}inputs/downloads/qemu-8.2.tar.xz`]: randomBytes(5000),
      [contextKey(build)]: Buffer.from(`starlingx/manifest ${build.releaseId} 4f1c2e\n`),
      [markerKey(build, result)]: Buffer.alloc(0),
    },
  };
}

function runName(build: BuildRef): string {
  return `build-${createHash("sha256").update(buildId(build)).digest("hex").slice(0, 10)}`;
}

/** A PipelineRun of the build as the pipelines label it, pending so that nothing starts. */
function pendingRun(namespace: string, build: BuildRef): object {
  return {
    apiVersion: "tekton.dev/v1", kind: "PipelineRun",
    metadata: { name: runName(build), namespace, labels: { [BUILD_ID_LABEL]: buildId(build) } },
    spec: { status: "PipelineRunPending", pipelineRef: { name: "not-started" } },
  };
}

function secretData(cluster: LoopbackCluster, name: string): Record<string, string> {
  const data = JSON.parse(cluster.kubectl(["get", "secret", name, "-n", SHARED, "-o", "jsonpath={.data}"])) as Record<string, string>;
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]));
}

/** The root keys the retention and backup Jobs get (object-store-credentials in the shared namespace). */
function rootKeys(cluster: LoopbackCluster): { accessKeyId: string; secretAccessKey: string } {
  const data = secretData(cluster, CREDENTIALS_SECRET);
  return { accessKeyId: data[ACCESS_KEY_ID]!, secretAccessKey: data[SECRET_ACCESS_KEY]! };
}

function rootS3(cluster: LoopbackCluster, settings: Settings, nodeAddress: string): S3Client {
  return new S3Client({
    endpoint: `http://${nodeAddress}:${NODE_PORTS.objectStore}`, region: settings.services.objectStore.region,
    forcePathStyle: true, credentials: rootKeys(cluster),
  });
}

async function put(s3: S3Client, bucket: string, key: string, body: Buffer): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: body.length }));
}

async function read(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await got.Body!.transformToByteArray());
}

async function keysUnder(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((c) => c.Key!));
    token = page.NextContinuationToken;
  } while (token);
  return keys.sort();
}

/** Exactly the seeded keys under the build's prefix, each with the seeded bytes. */
async function expectSameObjects(s3: S3Client, bucket: string, s: Seed): Promise<void> {
  const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
  expect(await keysUnder(s3, bucket, buildPrefix(s.build)), `${bucket}/${buildPrefix(s.build)}`).to.deep.equal(Object.keys(s.objects).sort());
  for (const [key, body] of Object.entries(s.objects)) expect(sha(await read(s3, bucket, key)), key).to.equal(sha(body));
}

/** The loss a restore repairs: every object of the build and its alias. */
async function lose(s3: S3Client, bucket: string, s: Seed): Promise<void> {
  for (const key of [...Object.keys(s.objects), latestBuildKey(s.build.releaseId, s.build.distro)]) {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }
  expect(await keysUnder(s3, bucket, buildPrefix(s.build))).to.deep.equal([]);
}

/**
 * A Job made from the CronJob (`kubectl create job --from`, optionally edited as the docs' jq does),
 * waited for until it succeeds or fails; returns where its pod ran, how it ended and its log.
 */
async function runJob(cluster: LoopbackCluster, cronJob: string, name: string, edit?: (job: JobObject) => void): Promise<JobRun> {
  const job = JSON.parse(cluster.kubectl(["create", "job", name, `--from=cronjob/${cronJob}`, "-n", SHARED, "--dry-run=client", "-o", "json"])) as JobObject;
  edit?.(job);
  cluster.kubectl(["create", "-f", "-"], JSON.stringify(job));
  const deadline = Date.now() + 6 * 60_000;
  let status: { succeeded?: number; failed?: number } = {};
  while (!status.succeeded && !status.failed) {
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 2000));
    status = JSON.parse(cluster.kubectl(["get", "job", name, "-n", SHARED, "-o", "jsonpath={.status}"]) || "{}");
  }
  const pods = JSON.parse(cluster.kubectl(["get", "pods", "-n", SHARED, "-l", `job-name=${name}`, "-o", "json"])).items as JobPod[];
  const pod = pods[0];
  if (!pod) throw new Error(`Job ${name} (from ${cronJob}) made no pod in 6 minutes: ${JSON.stringify(status)}`);
  const log = pod.status.phase === "Pending" ? "" : cluster.kubectl(["logs", "-n", SHARED, pod.metadata.name, "--all-containers"]);
  if (!status.succeeded) {
    throw new Error(`Job ${name} (from ${cronJob}) did not succeed (${JSON.stringify(status)}); pod ${pod.metadata.name} ${pod.status.phase} on ${pod.spec.nodeName ?? "no node"}: ${JSON.stringify(pod.status.conditions ?? [])}\n${log}`);
  }
  return { node: pod.spec.nodeName ?? "", phase: pod.status.phase, log };
}

interface JobObject {
  spec: { template: { spec: { containers: { command: string[]; args?: string[] }[] } } };
}

interface JobPod {
  metadata: { name: string };
  spec: { nodeName?: string };
  status: { phase: string; conditions?: unknown[] };
}

/** Pulp's REST API at its NodePort with the admin login, as an administrator uses it. */
function pulpApi(cluster: LoopbackCluster, nodeAddress: string) {
  const base = `http://${nodeAddress}:${NODE_PORTS.pulpApi}`;
  const password = secretData(cluster, PULP_SETTINGS_SECRET)[PULP_ADMIN_PASSWORD_KEY]!;
  const headers = { authorization: `Basic ${Buffer.from(`${PULP_ADMIN_USER}:${password}`).toString("base64")}`, "content-type": "application/json" };
  const call = async (method: string, url: string, body?: object) => {
    const response = await fetch(`${base}${url}`, { method, headers, body: body && JSON.stringify(body) });
    const text = await response.text();
    if (!response.ok) throw new Error(`Pulp ${method} ${url}: ${response.status} ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  const waitTask = async (href: string) => {
    for (let i = 0; i < 120; i++) {
      const task = await call("GET", href);
      if (task.state === "completed") return;
      if (task.state === "failed" || task.state === "canceled") throw new Error(`Pulp task ${href} ${String(task.state)}: ${JSON.stringify(task.error)}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    throw new Error(`Pulp task ${href} did not finish in 2 minutes`);
  };
  return {
    async createRepoAndDistribution(name: string): Promise<void> {
      const repo = await call("POST", "/pulp/api/v3/repositories/deb/apt/", { name });
      const created = await call("POST", "/pulp/api/v3/distributions/deb/apt/", { name, base_path: name, repository: repo.pulp_href });
      await waitTask(created.task as string);
    },
    async names(kind: "repositories" | "distributions", name: string): Promise<string[]> {
      const page = await call("GET", `/pulp/api/v3/${kind}/?name=${encodeURIComponent(name)}`);
      return (page.results as { name: string }[]).map((r) => r.name);
    },
  };
}

function summaryOf(log: string): Record<string, unknown> & { failures: unknown[] } {
  const line = log.split("\n").find((l) => l.startsWith("summary "));
  if (!line) throw new Error(`no summary line in the job's log:\n${log}`);
  return JSON.parse(line.slice("summary ".length));
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

function indent(text: string): string {
  return text.trim().split("\n").map((l) => `      ${l}`).join("\n");
}
