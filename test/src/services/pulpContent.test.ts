import { expect } from "chai";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { canonicalJson, contentHash, contentSpec, convergeScript, MIRROR_PREFIX, PulpContentSpec, RETENTION_LABEL } from "../../../src/services/pulpContent";
import { MirrorSettings } from "../../../src/settings/services";

const DEBIAN: MirrorSettings = {
  name: "debian-bullseye",
  type: "deb",
  url: "http://deb.debian.org/debian",
  distributions: "bullseye",
  components: "main",
  architectures: "amd64",
  policy: "on_demand",
  basePath: "debian/bullseye",
};
const TOOLS: MirrorSettings = { name: "stx-tools", type: "file", url: "https://mirror.example.org/PULP_MANIFEST", policy: "on_demand" };

describe("Pulp content spec", () => {
  it("names every mirror with the keep-forever prefix and label", () => {
    const spec = contentSpec([DEBIAN, TOOLS]);
    expect(spec.mirrors.map((m) => m.name)).to.deep.equal(["mirror-debian-bullseye", "mirror-stx-tools"]);
    for (const m of spec.mirrors) {
      expect(m.name.startsWith(MIRROR_PREFIX)).to.equal(true);
      expect(m.labels[RETENTION_LABEL]).to.equal("forever");
    }
    expect(spec.mirrors[0].remote).to.deep.equal({
      url: DEBIAN.url, policy: "on_demand", distributions: "bullseye", components: "main", architectures: "amd64", sync_udebs: false,
    });
    expect(spec.mirrors[1].basePath).to.equal("mirror/stx-tools");
    expect(spec.mirrors[1].remote).to.deep.equal({ url: TOOLS.url, policy: "on_demand" });
  });

  it("hashes the same declaration the same way, whatever the key order, and differently when it changes", () => {
    const script = "print()";
    const a = contentSpec([DEBIAN]);
    const reversed = (v: any): any =>
      Array.isArray(v) ? v.map(reversed) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reversed(x)])) : v;
    const reordered = reversed(a) as PulpContentSpec;
    expect(JSON.stringify(reordered)).to.not.equal(JSON.stringify(a));
    expect(canonicalJson(reordered)).to.equal(canonicalJson(a));
    expect(contentHash(a, script)).to.match(/^[0-9a-f]{10}$/);
    expect(contentHash(contentSpec([DEBIAN]), script)).to.equal(contentHash(a, script));
    expect(contentHash(contentSpec([{ ...DEBIAN, components: "main contrib" }]), script)).to.not.equal(contentHash(a, script));
    expect(contentHash(a, "print(1)")).to.not.equal(contentHash(a, script));
  });
});

/** A fake of the few Pulp endpoints the converge script uses, recording every change it makes. */
function fakePulp() {
  const objects = new Map<string, Record<string, any>>();
  const changes: string[] = [];
  let counter = 0;
  const tasks = new Map<string, Record<string, any>>();
  const task = (created?: string) => {
    const href = `/pulp/api/v3/tasks/${++counter}/`;
    tasks.set(href, { pulp_href: href, state: "completed", created_resources: created ? [created] : [] });
    return { task: href };
  };
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const url = new URL(req.url!, "http://x");
      const send = (code: number, data: unknown) => {
        res.writeHead(code, { "Content-Type": "application/json" });
        res.end(JSON.stringify(data));
      };
      if (req.headers.authorization !== `Basic ${Buffer.from("admin:pw").toString("base64")}`) return send(401, {});
      const p = url.pathname;
      if (p === "/pulp/api/v3/status/") return send(200, { database_connection: { connected: true }, online_workers: [{}] });
      if (tasks.has(p)) return send(200, tasks.get(p));
      if (req.method === "GET" && url.searchParams.has("name")) {
        const found = [...objects.values()].filter((o) => o.pulp_href.startsWith(p) && o.name === url.searchParams.get("name"));
        return send(200, { count: found.length, results: found });
      }
      if (req.method === "GET" && objects.has(p)) return send(200, objects.get(p));
      const data = body ? JSON.parse(body) : {};
      changes.push(`${req.method} ${p}`);
      if (req.method === "PATCH" && objects.has(p)) {
        Object.assign(objects.get(p)!, data);
        return send(202, task());
      }
      if (req.method === "POST" && p.endsWith("/sync/")) {
        objects.get(p.replace(/sync\/$/, ""))!.latest_version_href = `${p.replace(/sync\/$/, "")}versions/1/`;
        return send(202, task());
      }
      if (req.method === "POST") {
        const href = `${p}${++counter}/`;
        const created = { ...data, pulp_href: href };
        if (p.includes("/repositories/")) created.latest_version_href = `${href}versions/0/`;
        objects.set(href, created);
        // Like Pulp: remotes and repositories answer at once, distributions and publications through a task.
        return p.includes("/distributions/") || p.includes("/publications/") ? send(202, task(href)) : send(201, created);
      }
      send(404, { detail: "not found" });
    });
  });
  return { server, changes, objects };
}

function runScript(url: string, specFile: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const script = path.join(os.tmpdir(), `pulp_content_${process.pid}.py`);
    fs.writeFileSync(script, convergeScript());
    const child = spawn("python3", [script], {
      env: { ...process.env, PULP_URL: url, PULP_USERNAME: "admin", PULP_PASSWORD: "pw", SPEC_FILE: specFile },
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, out }));
  });
}

describe("Pulp converge script (against a fake Pulp on 127.0.0.1)", function () {
  const fake = fakePulp();
  let url = "";
  const specFile = path.join(os.tmpdir(), `pulp-spec-${process.pid}.json`);

  before(function (done) {
    if (spawnFails()) this.skip();
    fake.server.listen(0, "127.0.0.1", () => {
      url = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
      done();
    });
  });
  after(() => fake.server.close());

  it("creates remotes, repositories and distributions, syncing and publishing each new repository once", async () => {
    fs.writeFileSync(specFile, canonicalJson(contentSpec([DEBIAN, TOOLS])));
    const first = await runScript(url, specFile);
    expect(first.code, first.out).to.equal(0);
    expect(fake.changes).to.deep.equal([
      "POST /pulp/api/v3/remotes/deb/apt/",
      "POST /pulp/api/v3/repositories/deb/apt/",
      `POST /pulp/api/v3/repositories/deb/apt/2/sync/`,
      "POST /pulp/api/v3/publications/deb/apt/",
      "POST /pulp/api/v3/distributions/deb/apt/",
      "POST /pulp/api/v3/remotes/file/file/",
      "POST /pulp/api/v3/repositories/file/file/",
      `POST /pulp/api/v3/repositories/file/file/${fileRepoId(fake.objects)}/sync/`,
      "POST /pulp/api/v3/publications/file/file/",
      "POST /pulp/api/v3/distributions/file/file/",
    ]);
    const dist = [...fake.objects.values()].find((o) => o.pulp_href.includes("/distributions/deb/"))!;
    expect(dist).to.include({ name: "mirror-debian-bullseye", base_path: "debian/bullseye" });
    expect(dist.pulp_labels).to.deep.include({ stx_retention: "forever" });
  });

  it("changes nothing when run again with the same spec", async () => {
    fake.changes.length = 0;
    const again = await runScript(url, specFile);
    expect(again.code, again.out).to.equal(0);
    expect(fake.changes).to.deep.equal([]);
  });

  it("patches only what changed", async () => {
    fs.writeFileSync(specFile, canonicalJson(contentSpec([{ ...DEBIAN, components: "main contrib" }, TOOLS])));
    const changed = await runScript(url, specFile);
    expect(changed.code, changed.out).to.equal(0);
    expect(fake.changes).to.deep.equal(["PATCH /pulp/api/v3/remotes/deb/apt/1/"]);
    expect(changed.out).to.contain("update remotes/deb/apt/mirror-debian-bullseye: components");
  });

  it("publishes a snapshot mirror verbatim (Debian's signed Release files) and re-syncs it when the pin moves", async () => {
    const snapshot = (ts: string) => ({ name: "debian-snapshot", type: "deb" as const, url: `http://snapshot.debian.org/archive/debian/${ts}`, distributions: "trixie", policy: "on_demand" as const, verbatim: true });
    fs.writeFileSync(specFile, canonicalJson(contentSpec([snapshot("20260516T111458Z")])));
    fake.changes.length = 0;
    const first = await runScript(url, specFile);
    expect(first.code, first.out).to.equal(0);
    expect(fake.changes.filter((c) => c.includes("publications"))).to.deep.equal(["POST /pulp/api/v3/publications/deb/verbatim/"]);
    fake.changes.length = 0;
    fs.writeFileSync(specFile, canonicalJson(contentSpec([snapshot("20260601T000000Z")])));
    const moved = await runScript(url, specFile);
    expect(moved.code, moved.out).to.equal(0);
    expect(moved.out).to.contain("re-sync (URL moved) of mirror-debian-snapshot");
    expect(fake.changes.filter((c) => c.includes("/sync/") || c.includes("publications")).length).to.equal(2);
    expect(fake.changes).to.include("POST /pulp/api/v3/publications/deb/verbatim/");
  });
});

function fileRepoId(objects: Map<string, Record<string, any>>): string {
  const repo = [...objects.keys()].find((href) => /repositories\/file\/file\/\d+\/$/.test(href))!;
  return repo.split("/").slice(-2)[0];
}

function spawnFails(): boolean {
  return spawnSync("python3", ["--version"]).error !== undefined;
}
