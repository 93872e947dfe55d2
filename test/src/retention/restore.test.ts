/**
 * The restore drill, against a real MinIO: back up a release build to the second location,
 * delete the original (and its latest_build alias), restore it with the command documented in
 * docs/retention.md, compare every object byte for byte, and check that retention treats it as
 * the release build it was (kept forever, still what latest_build points at).
 */
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { expect } from "chai";
import { execFile } from "child_process";
import { createHash, randomBytes } from "crypto";
import * as path from "path";
import { promisify } from "util";
import { BuildRef, buildPrefix, contextKey, formatBuildDate, latestBuildKey, markerKey } from "../../../src/artifacts";
import { runBackup } from "../../../src/retention/backup";
import { RetentionPolicy } from "../../../src/retention/policy";
import { runRetention } from "../../../src/retention/runner";
import { listObjects, s3Client } from "../../../src/retention/store";
import { REPO_ROOT } from "../../../tools/mockedProgram";
import { Minio, minioBinary, startMinio } from "./servers";

const DAY = 24 * 60 * 60 * 1000;
const POLICY: RetentionPolicy = { days: { master: 14, feature: 7, private: 3, milestone: 180, release: "forever" }, failedDays: 3, keepSuccessful: 1 };
const STORE = "stx-artifacts";
const BACKUP = "stx-backup";

describe("restore drill: a release build back from the backup, byte for byte", function () {
  this.timeout(60000);
  let minio: Minio | undefined;
  let s3: S3Client;

  before(async function () {
    minio = await startMinio(minioBinary());
    s3 = s3Client({ endpoint: minio.endpoint, accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey });
    for (const bucket of [STORE, BACKUP]) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  after(async () => minio?.stop());

  it("backs up, loses, restores with `cli.js restore`, and retention still keeps it as the release build", async () => {
    const now = Date.now();
    // Two years old: only "release forever" (and latest_build) can keep it.
    const release: BuildRef = { releaseId: "release/stx.10.0", distro: "debian", buildDate: formatBuildDate(new Date(now - 730 * DAY)) };
    const prefix = buildPrefix(release);
    const objects: Record<string, Buffer> = {
      [`${prefix}outputs/iso/starlingx-intel-x86-64-cd.iso`]: randomBytes(3 * 1024 * 1024 + 17),
      [`${prefix}outputs/std/stx-fm_1.0-1_amd64.deb`]: randomBytes(40_000),
      [`${prefix}outputs/logs/build-pkgs.log`]: Buffer.from("build-pkgs: 1423 packages built\n".repeat(100)),
      [`${prefix}inputs/downloads/qemu-8.2.tar.xz`]: randomBytes(5000),
      [contextKey(release)]: Buffer.from("starlingx/manifest r/stx.10.0 4f1c2e\n"),
      [markerKey(release, "success")]: Buffer.alloc(0),
    };
    const alias = latestBuildKey(release.releaseId, release.distro);
    for (const [key, body] of Object.entries({ ...objects, [alias]: Buffer.from(`${release.buildDate}\n`) })) {
      await s3.send(new PutObjectCommand({ Bucket: STORE, Key: key, Body: body, ContentLength: body.length }));
    }
    const digests = Object.fromEntries(Object.entries(objects).map(([k, b]) => [k, sha256(b)]));

    const backup = await runBackup({ s3, bucket: STORE, target: { kind: "s3", s3, bucket: BACKUP }, classes: ["release"], log: () => undefined });
    expect(backup.failures).to.deep.equal([]);
    expect(backup.copied).to.equal(Object.keys(objects).length + 1);

    // The loss: every object of the build and its alias.
    for (const key of [...Object.keys(objects), alias]) await s3.send(new DeleteObjectCommand({ Bucket: STORE, Key: key }));
    expect(await keysUnder(s3, STORE, prefix)).to.deep.equal([]);

    // The documented command (docs/retention.md, "Restoring a build").
    const { stdout } = await promisify(execFile)("node", [path.join(REPO_ROOT, "bin", "src", "retention", "cli.js"), "restore", prefix.replace(/\/$/, "")], {
      env: {
        PATH: process.env.PATH,
        S3_ENDPOINT: minio!.endpoint, S3_BUCKET: STORE, AWS_ACCESS_KEY_ID: minio!.accessKeyId, AWS_SECRET_ACCESS_KEY: minio!.secretAccessKey,
        BACKUP_S3_ENDPOINT: minio!.endpoint, BACKUP_S3_BUCKET: BACKUP,
        BACKUP_AWS_ACCESS_KEY_ID: minio!.accessKeyId, BACKUP_AWS_SECRET_ACCESS_KEY: minio!.secretAccessKey,
      },
    });
    console.log(stdout.trim().split("\n").map((l) => `      ${l}`).join("\n"));
    expect(stdout).to.match(/"restored":6,"skipped":0,.*"alias":true,"failures":\[\]/);

    // Byte for byte.
    expect(await keysUnder(s3, STORE, prefix)).to.deep.equal(Object.keys(objects).sort());
    for (const key of Object.keys(objects)) expect(sha256(await read(s3, STORE, key)), key).to.equal(digests[key]);
    expect((await read(s3, STORE, alias)).toString()).to.equal(`${release.buildDate}\n`);

    // Retention sees the release build it was: kept forever, and latest_build points at it.
    const lines: string[] = [];
    const summary = await runRetention({ s3, bucket: STORE, policy: POLICY, dryRun: false, log: (l) => lines.push(l) });
    expect(summary.deleted).to.equal(0);
    expect(lines.find((l) => l.startsWith(`keep   ${prefix}`)), lines.join("\n")).to.be.a("string");
    expect(summary.verdicts["kept-forever"] + summary.verdicts["latest-build"]).to.equal(1);
    expect(await keysUnder(s3, STORE, prefix)).to.have.length(Object.keys(objects).length);

    // A second restore changes nothing.
    const again = await runRestoreCli(prefix);
    expect(again).to.match(/"restored":0,"skipped":6/);
  });

  async function runRestoreCli(prefix: string): Promise<string> {
    const { stdout } = await promisify(execFile)("node", [path.join(REPO_ROOT, "bin", "src", "retention", "cli.js"), "restore", prefix], {
      env: {
        PATH: process.env.PATH,
        S3_ENDPOINT: minio!.endpoint, S3_BUCKET: STORE, AWS_ACCESS_KEY_ID: minio!.accessKeyId, AWS_SECRET_ACCESS_KEY: minio!.secretAccessKey,
        BACKUP_S3_ENDPOINT: minio!.endpoint, BACKUP_S3_BUCKET: BACKUP,
        BACKUP_AWS_ACCESS_KEY_ID: minio!.accessKeyId, BACKUP_AWS_SECRET_ACCESS_KEY: minio!.secretAccessKey,
      },
    });
    return stdout;
  }
});

function sha256(b: Buffer): string {
  return createHash("sha256").update(b).digest("hex");
}

async function read(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const o = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await o.Body!.transformToByteArray());
}

async function keysUnder(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of listObjects(s3, bucket, prefix)) keys.push(o.key);
  return keys.sort();
}
