/**
 * The registry gate in front of the real distribution server (built by `bash scripts/toolchain.sh
 * registry`), both on loopback, driven with the registry API v2 as docker and crane speak it:
 * blob uploads, manifest puts and gets, deletes, cross-repository mounts.
 */
import { expect } from "chai";
import { ChildProcess, execFileSync, spawn } from "child_process";
import { createHash, randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { RegistryRules, registryRules } from "../../../src/services/registryAccess";
import { renderRegistryConfig } from "../../../src/services/registryConfig";
import { programBundle } from "../../../src/retention/bundle";
import { GATE_BUNDLE_FILE, GATE_LOADER, GATE_LOADER_FILE, GateConfig, passwordDigest } from "../../../src/services/registryGate";
import { parseSettings } from "../../../src/settings/schema";
import { planTenants } from "../../../src/tenancy/tenants";
import { REPO_ROOT, stackFileConfig } from "../../../tools/mockedProgram";
import { freePort } from "../retention/servers";

/** The registry binary: $STX_REGISTRY_BINARY, or the toolchain's. */
function registryBinary(): string {
  if (process.env.STX_REGISTRY_BINARY) return process.env.STX_REGISTRY_BINARY;
  const binDir = execFileSync("bash", [path.join(REPO_ROOT, "scripts", "toolchain.sh"), "--bin-dir"], { encoding: "utf8" }).trim();
  return path.join(binDir, "registry");
}

const sha = (data: Buffer) => `sha256:${createHash("sha256").update(data).digest("hex")}`;

/** A registry API client for one login. */
function client(base: string, user: string, password: string) {
  const auth = `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
  const call = (method: string, url: string, body?: Buffer, type?: string) =>
    fetch(new URL(url, base), {
      method, body, redirect: "manual",
      // distribution answers 404 for an OCI manifest to a client that does not accept OCI manifests.
      headers: { authorization: auth, accept: "application/vnd.oci.image.manifest.v1+json", ...(type ? { "content-type": type } : {}) },
    });
  /** Monolithic upload (POST then PUT ?digest=); returns the status of the step that failed or the final 201. */
  const pushBlob = async (repo: string, data: Buffer): Promise<number> => {
    const start = await call("POST", `/v2/${repo}/blobs/uploads/`);
    if (start.status !== 202) return start.status;
    const location = new URL(start.headers.get("location")!, base);
    location.searchParams.set("digest", sha(data));
    return (await call("PUT", `${location.pathname}${location.search}`, data, "application/octet-stream")).status;
  };
  /** An OCI image (config and one layer) under `repo:tag`; returns the manifest put's status. */
  const pushImage = async (repo: string, tag: string, layer: Buffer): Promise<{ status: number; digest: string }> => {
    const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [sha(layer)] } }));
    for (const blob of [config, layer]) {
      const status = await pushBlob(repo, blob);
      if (status !== 201) return { status, digest: "" };
    }
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha(config), size: config.length },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: sha(layer), size: layer.length }],
    }));
    const put = await call("PUT", `/v2/${repo}/manifests/${tag}`, manifest, "application/vnd.oci.image.manifest.v1+json");
    return { status: put.status, digest: sha(manifest) };
  };
  return { call, pushBlob, pushImage };
}

describe("registry gate in front of the real registry (loopback)", function () {
  this.timeout(60_000);
  const settings = parseSettings(stackFileConfig("cengn"));
  const tenants = planTenants(settings);
  const rules: RegistryRules = registryRules(tenants, settings.retention.days, "stx-build");
  const passwords = Object.fromEntries(rules.logins.map((l) => [l.user, randomBytes(24).toString("base64url")]));
  const release = tenants.find((t) => t.releaseId === "release/stx.10.0")!.namespace;
  let registry: ChildProcess | undefined;
  let gate: ChildProcess | undefined;
  let dataDir = "";
  let base = "";
  const as = (namespace: string) => client(base, `tenant-${namespace}`, passwords[`tenant-${namespace}`]);

  before(async function () {
    const binary = registryBinary();
    if (!fs.existsSync(binary)) {
      console.warn(`    skipped: ${binary} is missing (bash scripts/toolchain.sh registry builds it)`);
      this.skip();
    }
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "stx-registry-"));
    fs.writeFileSync(path.join(dataDir, "config.yml"), renderRegistryConfig({ kind: "filesystem" }));
    const [upstreamPort, debugPort, gatePort] = [await freePort(), await freePort(), await freePort()];
    // The rendered config as deployed; only where it listens and stores differs on this machine.
    registry = spawn(binary, ["serve", path.join(dataDir, "config.yml")], {
      env: {
        ...process.env,
        REGISTRY_HTTP_ADDR: `127.0.0.1:${upstreamPort}`,
        REGISTRY_HTTP_DEBUG_ADDR: `127.0.0.1:${debugPort}`,
        REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: path.join(dataDir, "data"),
        OTEL_TRACES_EXPORTER: "none",
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    registry.stderr?.on("data", (c) => (stderr += c));
    const config: GateConfig = {
      upstream: `http://127.0.0.1:${upstreamPort}`, realm: "stx-build-cluster", rules,
      passwords: Object.fromEntries(Object.entries(passwords).map(([u, p]) => [u, passwordDigest(p)])),
    };
    // The gate as deployed: the bundled program and its loader, as the ConfigMap holds them.
    const programDir = path.join(dataDir, "gate");
    fs.mkdirSync(programDir);
    fs.writeFileSync(path.join(programDir, GATE_BUNDLE_FILE), programBundle("registryGateMain", "services").gzipped);
    fs.writeFileSync(path.join(programDir, GATE_LOADER_FILE), GATE_LOADER);
    fs.writeFileSync(path.join(dataDir, "gate.json"), JSON.stringify(config));
    gate = spawn(process.execPath, [path.join(programDir, GATE_LOADER_FILE)], {
      env: { PATH: process.env.PATH, GATE_CONFIG: path.join(dataDir, "gate.json"), GATE_PORT: String(gatePort), TMPDIR: dataDir },
      stdio: ["ignore", "ignore", "pipe"],
    });
    gate.stderr?.on("data", (c) => (stderr += c));
    base = `http://127.0.0.1:${gatePort}`;
    for (const deadline = Date.now() + 20_000; ;) {
      if (registry.exitCode !== null || gate.exitCode !== null) throw new Error(`registry or gate exited: ${stderr}`);
      const up = (url: string) => fetch(url).then((r) => r.ok, () => false);
      if ((await up(`http://127.0.0.1:${debugPort}/debug/health`)) && (await up(`${base}/healthz`))) break;
      if (Date.now() > deadline) throw new Error(`registry not ready: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  after(async () => {
    gate?.kill("SIGTERM");
    registry?.kill("SIGTERM");
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("asks for a login and refuses a wrong password", async () => {
    const anonymous = await fetch(`${base}/v2/`);
    expect(anonymous.status).to.equal(401);
    expect(anonymous.headers.get("www-authenticate")).to.equal('Basic realm="stx-build-cluster"');
    expect((await client(base, "tenant-user-dpenney", "wrong").call("GET", "/v2/")).status).to.equal(401);
    expect((await as("user-dpenney").call("GET", "/v2/")).status).to.equal(200);
  });

  it("lets a user push and pull under its own prefix and refuses another user's", async () => {
    const alice = as("user-dpenney");
    const pushed = await alice.pushImage("user-dpenney/app", "v1", randomBytes(512));
    expect(pushed.status).to.equal(201);
    const got = await alice.call("GET", "/v2/user-dpenney/app/manifests/v1");
    expect(got.status).to.equal(200);
    expect(got.headers.get("docker-content-digest")).to.equal(pushed.digest);
    expect((await alice.pushImage("user-slittle/app", "v1", randomBytes(64))).status).to.equal(403);
    const bob = as("user-slittle");
    expect((await bob.call("GET", "/v2/user-dpenney/app/manifests/v1")).status).to.equal(403);
    expect((await bob.call("GET", "/v2/_catalog")).status).to.equal(403);
  });

  it("lets a maintainer's branch login push under the branch prefix, readable by all tenants", async () => {
    const master = as("build-starlingx-master");
    expect((await master.pushImage("build-starlingx-master/stx-builder", "latest", randomBytes(256))).status).to.equal(201);
    expect((await as("user-slittle").call("GET", "/v2/build-starlingx-master/stx-builder/manifests/latest")).status).to.equal(200);
    expect((await master.pushImage(`${release}/stx-builder`, "latest", randomBytes(64))).status).to.equal(403);
  });

  it("keeps release images: a new tag is accepted, overwriting or deleting it is refused", async () => {
    const rel = as(release);
    const first = await rel.pushImage(`${release}/stx-builder`, "20260301", randomBytes(256));
    expect(first.status).to.equal(201);
    expect((await rel.pushImage(`${release}/stx-builder`, "20260301", randomBytes(256))).status).to.equal(403);
    expect((await rel.call("DELETE", `/v2/${release}/stx-builder/manifests/${first.digest}`)).status).to.equal(403);
    const still = await rel.call("GET", `/v2/${release}/stx-builder/manifests/20260301`);
    expect(still.headers.get("docker-content-digest")).to.equal(first.digest);
    // Deletes are enabled in the registry: an unprotected prefix's owner may delete there.
    const alice = as("user-dpenney");
    const temp = await alice.pushImage("user-dpenney/tmp", "x", randomBytes(64));
    expect((await alice.call("DELETE", `/v2/user-dpenney/tmp/manifests/${temp.digest}`)).status).to.equal(202);
  });

  it("turns a mount from another user's repository into a plain upload", async () => {
    const secret = randomBytes(128);
    expect(await as("user-slittle").pushBlob("user-slittle/secret", secret)).to.equal(201);
    const alice = as("user-dpenney");
    const mount = await alice.call("POST", `/v2/user-dpenney/app/blobs/uploads/?mount=${sha(secret)}&from=user-slittle/secret`);
    // 201 would mean the blob was mounted (obtained without uploading it); 202 starts an upload.
    expect(mount.status).to.equal(202);
    expect((await alice.call("HEAD", `/v2/user-dpenney/app/blobs/${sha(secret)}`)).status).to.equal(404);
    // The same mount by a login that may pull the source is done by the registry (201): the 202 above is the gate's.
    const platform = client(base, "stx-build", passwords["stx-build"]);
    const mounted = await platform.call("POST", `/v2/build-starlingx-master/app/blobs/uploads/?mount=${sha(secret)}&from=user-slittle/secret`);
    expect(mounted.status).to.equal(201);
  });
});
