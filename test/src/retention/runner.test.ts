import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  BUILD_ID_LABEL,
  BuildRef,
  buildId,
  buildPrefix,
  contextKey,
  formatBuildDate,
  latestBuildKey,
  markerKey,
} from "../../../src/artifacts";
import { execFile } from "child_process";
import { promisify } from "util";
import { runBackup } from "../../../src/retention/backup";
import { BUNDLE_FILE, LOADER, LOADER_FILE, retentionBundle } from "../../../src/retention/bundle";
import { main } from "../../../src/retention/main";
import { RetentionPolicy } from "../../../src/retention/policy";
import { runRetention } from "../../../src/retention/runner";
import { listObjects, s3Client } from "../../../src/retention/store";
import { fakeKube, fakePulp, Minio, minioBinary, startFake, startMinio } from "./servers";

const DAY = 24 * 60 * 60 * 1000;
const POLICY: RetentionPolicy = {
  days: { master: 14, feature: 7, private: 3, milestone: 180, release: "forever" },
  failedDays: 3,
  keepSuccessful: 3,
};
const BUCKET = "builds";

type Seed = { releaseId: string; days: number; result?: "success" | "fail"; extraLogs?: number };

/** Builds of a history `days` (plus half a day, away from any boundary) before `now`. */
function history(now: number): Seed[] {
  const seeds: Seed[] = [];
  // master: daily for 35 days; today's still running, three failures, the rest successful.
  for (let d = 0; d <= 34; d++) {
    const result = d === 0 ? undefined : [1, 2, 5].includes(d) ? "fail" : "success";
    seeds.push({ releaseId: "master", days: d, result, extraLogs: d === 30 ? 1100 : 0 });
  }
  seeds.push({ releaseId: "master", days: 40 }); // died without a marker long ago
  seeds.push({ releaseId: "release/stx.9.0", days: 60, result: "success" });
  seeds.push({ releaseId: "release/stx.9.0", days: 50, result: "fail" });
  seeds.push({ releaseId: "release/stx.9.0", days: 45, result: "success" });
  for (const d of [250, 200, 190, 20]) seeds.push({ releaseId: "milestone/stx.10.0.b1", days: d, result: "success" });
  for (let d = 0; d <= 30; d += 2) seeds.push({ releaseId: "feature/foo", days: d, result: "success" });
  seeds.push({ releaseId: "private/alice/try", days: 10, result: "success" });
  seeds.push({ releaseId: "private/alice/try", days: 12, result: "fail" });
  void now;
  return seeds;
}

const ref = (now: number, s: Pick<Seed, "releaseId" | "days">): BuildRef => ({
  releaseId: s.releaseId,
  distro: "debian",
  buildDate: formatBuildDate(new Date(now - (s.days + 0.5) * DAY)),
});

/** What must remain after retention, by release-id → days. */
const EXPECTED_REMAINING: Record<string, number[]> = {
  // 0 running; 1, 2 failed within 3 days; 3, 4, 6..13 within 14 days; 20 is latest_build.
  master: [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 20],
  "release/stx.9.0": [60, 50, 45],
  "milestone/stx.10.0.b1": [200, 190, 20],
  "feature/foo": [0, 2, 4, 6],
  "private/alice/try": [10],
};
const FOREIGN = [
  "mirror/debian/pool/main/a/apt/apt_2.6.1_amd64.deb",
  "3rdparty/downloads/qemu-8.2.tar.xz",
  "master/README",
  "published/master/README",
  "published/release/stx.9.0/debian/notes.txt",
  "published/master/debian/19990101T000000Z/unexpected/file",
  // the old, pre-published/ layout is outside the layout now: never touched
  "master/debian/19990101T000000Z/outputs/success",
];

async function seed(s3: S3Client, now: number): Promise<{ bytes: Map<string, number> }> {
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const puts: { key: string; body: string }[] = [];
  const bytes = new Map<string, number>();
  for (const s of history(now)) {
    const build = ref(now, s);
    const prefix = buildPrefix(build);
    const objects = [
      { key: `${prefix}outputs/std/stx-fm_1.0_amd64.deb`, body: "d".repeat(300) },
      { key: `${prefix}outputs/rt/kernel-rt_6.6_amd64.deb`, body: "r".repeat(200) },
      { key: `${prefix}outputs/iso/starlingx.iso`, body: "i".repeat(1000) },
      { key: `${prefix}outputs/logs/build.log`, body: "log\n".repeat(10) },
      { key: `${prefix}inputs/downloads/foo.tar.gz`, body: "t".repeat(50) },
      { key: contextKey(build), body: `manifest revision of ${prefix}\n` },
      ...Array.from({ length: s.extraLogs ?? 0 }, (_, i) => ({ key: `${prefix}outputs/logs/pkg-${i}.log`, body: "l" })),
    ];
    if (s.result) objects.push({ key: markerKey(build, s.result), body: "" });
    puts.push(...objects);
    bytes.set(prefix, objects.reduce((n, o) => n + o.body.length, 0));
  }
  // latest_build of master points at a 20-day-old build (as if newer ones were not promoted).
  puts.push({ key: latestBuildKey("master", "debian"), body: `${ref(now, { releaseId: "master", days: 20 }).buildDate}\n` });
  puts.push({ key: latestBuildKey("release/stx.9.0", "debian"), body: ref(now, { releaseId: "release/stx.9.0", days: 45 }).buildDate });
  for (const key of FOREIGN) puts.push({ key, body: "third-party" });
  for (let i = 0; i < puts.length; i += 32) {
    await Promise.all(puts.slice(i, i + 32).map((p) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: p.key, Body: p.body, ContentLength: Buffer.byteLength(p.body) }))));
  }
  return { bytes };
}

async function keys(s3: S3Client, bucket = BUCKET): Promise<string[]> {
  const all: string[] = [];
  for await (const o of listObjects(s3, bucket)) all.push(o.key);
  return all.sort();
}

function remainingBuilds(allKeys: string[]): Record<string, string[]> {
  const builds: Record<string, Set<string>> = {};
  for (const key of allKeys) {
    // The layout's own grammar: published builds under published/, private ones outside it.
    const m = /^(?:published\/(?!private\/)|(?=private\/))(.*)\/debian\/(\d{8}T\d{6}Z)\/(outputs|inputs)\//.exec(key);
    if (m) (builds[m[1]] ??= new Set()).add(m[2]);
  }
  return Object.fromEntries(Object.entries(builds).map(([id, dates]) => [id, [...dates].sort()]));
}

/** Runs the job's entry point with its log lines captured instead of printed. */
async function runMain(args: string[], environment: Record<string, string>, lines: string[] = []): Promise<number> {
  const [log, error] = [console.log, console.error];
  console.log = (line: string) => lines.push(line);
  console.error = (line: string) => lines.push(line);
  try {
    return await main(args, environment);
  } finally {
    [console.log, console.error] = [log, error];
  }
}

describe("retention runner against a real S3 server (MinIO)", function () {
  this.timeout(600_000);
  let minio: Minio | undefined;
  let s3: S3Client;
  const now = Date.now();
  let seeded: { bytes: Map<string, number> };
  const stops: (() => Promise<void>)[] = [];
  const expected = Object.fromEntries(
    Object.entries(EXPECTED_REMAINING).map(([id, days]) => [id, days.map((d) => ref(now, { releaseId: id, days: d }).buildDate).sort()]),
  );
  const deletedBuilds = history(now)
    .map((s) => ref(now, s))
    .filter((b) => !expected[b.releaseId].includes(b.buildDate));
  // Pulp content and PipelineRuns of one expired and one kept build, plus a mirror that is never touched.
  const expiredMaster = ref(now, { releaseId: "master", days: 30 });
  const keptRelease = ref(now, { releaseId: "release/stx.9.0", days: 60 });
  const pulp = fakePulp({
    distributions: [`${buildId(expiredMaster)}-std`, `${buildId(expiredMaster)}-rt`, `${buildId(keptRelease)}-std`, "debian-bookworm-mirror"],
    repositories: [`${buildId(expiredMaster)}-std`, `${buildId(expiredMaster)}-rt`, buildId(keptRelease), "debian-bookworm-mirror"],
  });
  const kube = fakeKube([
    { namespace: "build-starlingx-master", name: "daily-30", labels: { [BUILD_ID_LABEL]: buildId(expiredMaster) }, created: "2026-01-01T00:00:00Z" },
    { namespace: "build-starlingx-master", name: "daily-60", labels: { [BUILD_ID_LABEL]: buildId(keptRelease) }, created: "2026-01-01T00:00:00Z" },
  ]);

  before(async function () {
    minio = await startMinio(minioBinary());
    stops.push(() => minio!.stop());
    s3 = s3Client({ endpoint: minio.endpoint, accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey });
    seeded = await seed(s3, now);
  });

  after(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  const env = (extra: Record<string, string>) => ({
    S3_ENDPOINT: minio!.endpoint,
    S3_BUCKET: BUCKET,
    AWS_ACCESS_KEY_ID: minio!.accessKeyId,
    AWS_SECRET_ACCESS_KEY: minio!.secretAccessKey,
    RETENTION_POLICY: JSON.stringify(POLICY),
    ...extra,
  });

  /** Every release build and every build a latest_build alias points at, with all its objects. */
  async function expectProtectedBuildsIntact(): Promise<void> {
    const all = await keys(s3);
    const protectedBuilds = [
      ...[60, 50, 45].map((d) => ref(now, { releaseId: "release/stx.9.0", days: d })),
      ref(now, { releaseId: "master", days: 20 }),
    ];
    for (const build of protectedBuilds) {
      const objects = all.filter((k) => k.startsWith(buildPrefix(build)));
      expect(objects.length, buildPrefix(build)).to.be.at.least(6);
      expect(objects).to.include(contextKey(build));
    }
  }

  afterEach(async function () {
    if (minio && this.currentTest?.state === "passed") await expectProtectedBuildsIntact();
  });

  it("changes nothing in a dry run, but reports what it would delete", async () => {
    const before = await keys(s3);
    const lines: string[] = [];
    const summary = await runRetention({ s3, bucket: BUCKET, policy: POLICY, dryRun: true, log: (l) => lines.push(l) });
    expect(await keys(s3)).to.deep.equal(before);
    expect(summary.deleted).to.equal(deletedBuilds.length);
    expect(summary.bytesFreed).to.equal(deletedBuilds.reduce((n, b) => n + seeded.bytes.get(buildPrefix(b))!, 0));
    expect(lines.filter((l) => l.startsWith("would delete"))).to.have.length(deletedBuilds.length);
  });

  it("deletes exactly the expired builds with their Pulp content and PipelineRuns, and nothing else", async () => {
    const pulpServer = await startFake(pulp.handler);
    const kubeServer = await startFake(kube.handler);
    stops.push(pulpServer.stop, kubeServer.stop);
    const code = await runMain(["artifacts"], env({ PULP_URL: pulpServer.url, PULP_USERNAME: "admin", PULP_PASSWORD: "pw", KUBE_API_URL: kubeServer.url, PIPELINERUN_NAMESPACES: "stx-system,build-starlingx-master" }));
    expect(code).to.equal(0);

    const after = await keys(s3);
    expect(remainingBuilds(after)).to.deep.equal(expected);
    for (const key of FOREIGN) expect(after).to.include(key);
    expect(after).to.include.members([latestBuildKey("master", "debian"), latestBuildKey("release/stx.9.0", "debian")]);
    // A kept build keeps every object; a deleted one leaves none.
    const kept = ref(now, { releaseId: "master", days: 20 });
    expect(after.filter((k) => k.startsWith(buildPrefix(kept)))).to.have.length(7);
    for (const b of deletedBuilds) expect(after.some((k) => k.startsWith(buildPrefix(b))), buildPrefix(b)).to.equal(false);

    expect(pulp.deleted).to.have.members([`${buildId(expiredMaster)}-std`, `${buildId(expiredMaster)}-rt`, `${buildId(expiredMaster)}-std`, `${buildId(expiredMaster)}-rt`]);
    expect(pulp.remaining()).to.include.members(["debian-bookworm-mirror", buildId(keptRelease), `${buildId(keptRelease)}-std`]);
    // Distributions go before repositories.
    const deletes = pulpServer.requests.filter((r) => r.startsWith("DELETE"));
    expect(deletes.slice(0, 2).every((r) => r.includes("/distributions/"))).to.equal(true);
    expect(kube.deleted).to.deep.equal(["build-starlingx-master/daily-30"]);
    const selector = encodeURIComponent(`${BUILD_ID_LABEL}=${buildId(expiredMaster)}`);
    expect(kubeServer.requests.some((r) => r.startsWith("GET /apis/tekton.dev/v1/namespaces/build-starlingx-master/pipelineruns") && r.includes(selector))).to.equal(true);
  });

  it("deletes nothing more when run again", async () => {
    const before = await keys(s3);
    const summary = await runRetention({ s3, bucket: BUCKET, policy: POLICY, dryRun: false, log: () => undefined });
    expect(summary.deleted).to.equal(0);
    expect(summary.untouchedObjects).to.equal(FOREIGN.length);
    expect(await keys(s3)).to.deep.equal(before);
  });

  it("changes nothing in a dry run started from the environment", async () => {
    const before = await keys(s3);
    expect(await runMain(["artifacts"], env({ DRY_RUN: "true", DELETE_PIPELINERUNS: "false" }))).to.equal(0);
    expect(await keys(s3)).to.deep.equal(before);
  });

  it("works as the bundled program a node image runs from the ConfigMap files", async () => {
    const bundle = retentionBundle();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stx-runner-"));
    stops.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    fs.mkdirSync(path.join(dir, "opt"));
    fs.writeFileSync(path.join(dir, "opt", LOADER_FILE), LOADER);
    fs.writeFileSync(path.join(dir, "opt", BUNDLE_FILE), bundle.gzipped);
    const before = await keys(s3);
    // A clean environment, as in the pod: only what the CronJob sets.
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(dir, "opt", LOADER_FILE), "artifacts"], {
      env: { ...env({ DRY_RUN: "true", DELETE_PIPELINERUNS: "false" }), TMPDIR: dir, PATH: process.env.PATH },
      cwd: dir,
    });
    const summary = JSON.parse(stdout.split("\n").find((l) => l.startsWith("summary "))!.slice("summary ".length));
    expect(summary).to.include({ dryRun: true, deleted: 0, untouchedObjects: FOREIGN.length });
    expect(summary.kept).to.equal(Object.values(EXPECTED_REMAINING).flat().length);
    expect(await keys(s3)).to.deep.equal(before);
    expect(bundle.gzipped.length).to.be.lessThan(300 * 1024);
  });

  it("refuses a policy that would keep nothing, naming the setting", async () => {
    const before = await keys(s3);
    const errors: string[] = [];
    const code = await runMain(["artifacts"], env({ RETENTION_POLICY: JSON.stringify({ ...POLICY, keepSuccessful: 0 }) }), errors);
    expect(code).to.equal(2);
    expect(errors.join("\n")).to.match(/retention.keepSuccessful is 0/);
    expect(await keys(s3)).to.deep.equal(before);
  });

  it("keeps every object of a build whose Pulp content could not be removed, and finishes next run", async () => {
    const late = ref(now, { releaseId: "feature/bar", days: 40 });
    const lateKeys = [`${buildPrefix(late)}outputs/iso/bar.iso`, markerKey(late, "success"), contextKey(late)];
    for (const key of lateKeys) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "x", ContentLength: 1 }));
    // Three younger successful builds, so the old one is not among the newest kept.
    const youngs = [1, 2, 3].map((d) => ref(now, { releaseId: "feature/bar", days: d }));
    for (const young of youngs) {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: markerKey(young, "success"), Body: "", ContentLength: 0 }));
    }
    const broken = await startFake(() => ({ status: 500, json: { detail: "database unavailable" } }));
    stops.push(broken.stop);
    const lines: string[] = [];
    expect(await runMain(["artifacts"], env({ PULP_URL: broken.url, DELETE_PIPELINERUNS: "false", RETENTION_POLICY: JSON.stringify(POLICY) }), lines)).to.equal(1);
    expect(lines.join("\n")).to.match(/error {2}published\/feature\/bar\/debian\/\d{8}T\d{6}Z\/: Pulp GET .* answered 500/);
    expect(await keys(s3)).to.include.members(lateKeys);

    const healthy = await startFake(fakePulp({ distributions: [], repositories: [] }).handler);
    stops.push(healthy.stop);
    expect(await runMain(["artifacts"], env({ PULP_URL: healthy.url, DELETE_PIPELINERUNS: "false", RETENTION_POLICY: JSON.stringify(POLICY) }))).to.equal(0);
    const after = await keys(s3);
    expect(after.filter((k) => k.startsWith(buildPrefix(late)))).to.be.empty;
    expect(after).to.include.members(youngs.map((y) => markerKey(y, "success")));
    expect(remainingBuilds(after)["milestone/stx.10.0.b1"]).to.deep.equal(expected["milestone/stx.10.0.b1"]);
  });

  it("backs up successful release builds to a second bucket and to a directory, once", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "backup" }));
    const target = { kind: "s3" as const, s3, bucket: "backup" };
    const first = await runBackup({ s3, bucket: BUCKET, target, classes: ["release"], log: () => undefined });
    const backedUp = await keys(s3, "backup");
    const releases = [60, 45].map((d) => buildPrefix(ref(now, { releaseId: "release/stx.9.0", days: d })));
    expect(remainingBuilds(backedUp)).to.deep.equal({ "release/stx.9.0": releases.map((p) => p.split("/")[4]).sort() });
    expect(backedUp).to.include(latestBuildKey("release/stx.9.0", "debian"));
    expect(first.copied).to.equal(2 * 7 + 1);
    const second = await runBackup({ s3, bucket: BUCKET, target, classes: ["release"], log: () => undefined });
    expect(second.copied).to.equal(1); // only the alias, which may change
    expect(second.skipped).to.equal(2 * 7);

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stx-backup-"));
    stops.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    expect(await runMain(["backup"], env({ BACKUP_DIR: dir }))).to.equal(0);
    const iso = path.join(dir, releases[0], "outputs/iso/starlingx.iso");
    expect(fs.readFileSync(iso, "utf8")).to.equal("i".repeat(1000));
  });
});
