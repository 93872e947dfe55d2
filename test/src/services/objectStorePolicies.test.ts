/**
 * The tenant policies enforced by the real MinIO server: the bucket Job's own script (bucketScript
 * and storeUsersScript) run with the real `mc` against a MinIO on loopback, then real S3 calls
 * with each tenant's keys and without any.
 */
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { expect } from "chai";
import { execFileSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { bucketScript } from "../../../components/services/objectStore";
import { storeUsersScript, tenantPolicy, tenantStoreUsers, TenantStoreUser } from "../../../src/services/objectStoreUsers";
import { parseSettings } from "../../../src/settings/schema";
import { planTenants } from "../../../src/tenancy/tenants";
import { REPO_ROOT, stackFileConfig } from "../../../tools/mockedProgram";
import { Minio, minioBinary, startMinio } from "../retention/servers";

function mcBinary(): string {
  if (process.env.STX_MC_BINARY) return process.env.STX_MC_BINARY;
  const binDir = execFileSync("bash", [path.join(REPO_ROOT, "scripts", "toolchain.sh"), "--bin-dir"], { encoding: "utf8" }).trim();
  return path.join(binDir, "mc");
}

/** S3's refusal: the SDK throws AccessDenied (403). */
async function refused(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return (err as { name: string }).name;
  }
  return "allowed";
}

describe("object store policies enforced by the real MinIO", function () {
  this.timeout(60_000);
  const settings = parseSettings(stackFileConfig("cengn"));
  const { objectStore } = settings.services;
  const bucket = objectStore.buckets.artifacts;
  const users = tenantStoreUsers(planTenants(settings), settings.retention.days);
  const keys = new Map(users.map((u) => [u.namespace, randomBytes(20).toString("hex")]));
  const release = users.find((u) => u.writePrefix === "published/release/stx.10.0/")!;
  let minio: Minio | undefined;
  let dir = "";
  const s3 = (user?: TenantStoreUser) => new S3Client({
    endpoint: minio!.endpoint, region: objectStore.region, forcePathStyle: true,
    credentials: user ? { accessKeyId: user.accessKey, secretAccessKey: keys.get(user.namespace)! } : { accessKeyId: minio!.accessKeyId, secretAccessKey: minio!.secretAccessKey },
  });
  const as = (namespace: string) => s3(users.find((u) => u.namespace === namespace)!);
  const put = (client: S3Client, key: string) => client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `body of ${key}` }));

  before(async function () {
    const mc = mcBinary();
    if (!fs.existsSync(mc)) {
      console.warn(`    skipped: ${mc} is missing (bash scripts/toolchain.sh mc builds it)`);
      this.skip();
    }
    minio = await startMinio(minioBinary());
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "stx-store-users-"));
    // The files the bucket Job mounts from the tenant-users Secret.
    fs.writeFileSync(path.join(dir, "users"), users.map((u) => `${u.accessKey}\n`).join(""));
    for (const u of users) {
      fs.writeFileSync(path.join(dir, `${u.accessKey}.secret`), keys.get(u.namespace)!);
      fs.writeFileSync(path.join(dir, `${u.accessKey}.json`), JSON.stringify(tenantPolicy(bucket, u)));
    }
    fs.mkdirSync(path.join(dir, "bin"));
    fs.symlinkSync(mc, path.join(dir, "bin", "mc"));
    execFileSync("sh", ["-ec", [bucketScript(objectStore), storeUsersScript(dir)].join("\n")], {
      env: {
        PATH: `${path.join(dir, "bin")}:${process.env.PATH}`, MC_CONFIG_DIR: path.join(dir, "mc"), S3_ENDPOINT: minio.endpoint,
        AWS_ACCESS_KEY_ID: minio.accessKeyId, AWS_SECRET_ACCESS_KEY: minio.secretAccessKey,
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    const root = s3();
    for (const key of ["private/slittle/x/debian/20260301T020304Z/outputs/logs/build.log", "published/master/debian/latest_build",
      "published/release/stx.10.0/debian/20260301T020304Z/outputs/iso/x.iso"]) await put(root, key);
  });

  after(async () => {
    await minio?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("refuses alice's key on bob's private prefix, and lets her use her own", async () => {
    const alice = as("user-dpenney");
    const bobs = "private/slittle/x/debian/20260301T020304Z/outputs/logs/build.log";
    expect(await refused(alice.send(new GetObjectCommand({ Bucket: bucket, Key: bobs })))).to.equal("AccessDenied");
    expect(await refused(alice.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "private/slittle/" })))).to.equal("AccessDenied");
    expect(await refused(alice.send(new ListObjectsV2Command({ Bucket: bucket })))).to.equal("AccessDenied");
    expect(await refused(alice.send(new DeleteObjectCommand({ Bucket: bucket, Key: bobs })))).to.equal("AccessDenied");
    expect(await refused(put(alice, "private/slittle/x/planted"))).to.equal("AccessDenied");
    // Her own prefix: write, list, read, delete; published builds: read.
    await put(alice, "private/dpenney/x/debian/20260302T000000Z/outputs/fail");
    const listed = await alice.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "private/dpenney/" }));
    expect(listed.Contents?.map((c) => c.Key)).to.deep.equal(["private/dpenney/x/debian/20260302T000000Z/outputs/fail"]);
    await alice.send(new DeleteObjectCommand({ Bucket: bucket, Key: "private/dpenney/x/debian/20260302T000000Z/outputs/fail" }));
    const latest = await alice.send(new GetObjectCommand({ Bucket: bucket, Key: "published/master/debian/latest_build" }));
    expect(await latest.Body!.transformToString()).to.equal("body of published/master/debian/latest_build");
  });

  it("lets a release branch's maintainers write new builds but delete none", async () => {
    expect(release.keepForever).to.equal(true);
    const maintainer = s3(release);
    const newBuild = "published/release/stx.10.0/debian/20260401T000000Z/outputs/success";
    await put(maintainer, newBuild);
    const old = "published/release/stx.10.0/debian/20260301T020304Z/outputs/iso/x.iso";
    expect(await refused(maintainer.send(new DeleteObjectCommand({ Bucket: bucket, Key: old })))).to.equal("AccessDenied");
    expect(await refused(maintainer.send(new DeleteObjectCommand({ Bucket: bucket, Key: newBuild })))).to.equal("AccessDenied");
    const still = await s3().send(new GetObjectCommand({ Bucket: bucket, Key: old }));
    expect(await still.Body!.transformToString()).to.equal(`body of ${old}`);
    // master is not kept forever: its branch deletes its own builds, and nothing of the release.
    const master = as("build-starlingx-master");
    await master.send(new DeleteObjectCommand({ Bucket: bucket, Key: "published/master/debian/latest_build" }));
    expect(await refused(master.send(new DeleteObjectCommand({ Bucket: bucket, Key: old })))).to.equal("AccessDenied");
  });

  it("serves published/ to anyone without credentials, and nothing else", async () => {
    const published = await fetch(`${minio!.endpoint}/${bucket}/published/release/stx.10.0/debian/20260301T020304Z/outputs/iso/x.iso`);
    expect(published.status).to.equal(200);
    expect(await published.text()).to.equal("body of published/release/stx.10.0/debian/20260301T020304Z/outputs/iso/x.iso");
    const privateBuild = await fetch(`${minio!.endpoint}/${bucket}/private/slittle/x/debian/20260301T020304Z/outputs/logs/build.log`);
    expect(privateBuild.status).to.equal(403);
    const anonymousDelete = await fetch(`${minio!.endpoint}/${bucket}/published/release/stx.10.0/debian/20260301T020304Z/outputs/iso/x.iso`, { method: "DELETE" });
    expect(anonymousDelete.status).to.equal(403);
  });
});
