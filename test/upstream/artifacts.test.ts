/**
 * tools/upstreamArtifacts.ts: where an upstream artifact is found (../shared/upstream, the cache,
 * the official download checked against its pin), and that a clone without them is told which file
 * is missing, quickly, instead of failing or hanging. The download is tested against a Helm
 * repository served on loopback, laid out as charts.jenkins.io is (index.yaml naming the archive).
 */
import { expect } from "chai";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { CHARTS } from "../../src/versions";
import {
  ArtifactDirs, chartArchiveUrl, DOWNLOAD_TIMEOUT_MS, JENKINS_CHART, localArtifact, missingMessage, SHARED_UPSTREAM_DIR,
  STARLINGX_SNAPSHOTS, UpstreamArtifact, upstreamArtifact,
} from "../../tools/upstreamArtifacts";

const ARCHIVE = Buffer.from("a chart archive stands in here");
const sha256 = (data: Buffer) => crypto.createHash("sha256").update(data).digest("hex");

/** A Helm repository on loopback: index.yaml names the archive by a relative URL, as chart-releaser's may. */
async function helmRepo(handler?: http.RequestListener): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer(handler ?? ((req, res) => {
    requests.push(req.url ?? "");
    if (req.url === "/index.yaml") res.end("apiVersion: v1\nentries:\n  demo:\n  - version: 1.2.3\n    urls: [archives/demo-1.2.3.tgz]\n");
    else if (req.url === "/archives/demo-1.2.3.tgz") res.end(ARCHIVE);
    else res.writeHead(404).end();
  }));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url, requests,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

const demo = (repo: string, pin = sha256(ARCHIVE)): UpstreamArtifact => ({
  file: "demo-1.2.3.tgz",
  download: { sha256: pin, locate: (signal) => chartArchiveUrl(repo, "demo", "1.2.3", signal) },
});

describe("upstream artifacts (tools/upstreamArtifacts.ts)", function () {
  let dirs: ArtifactDirs;

  beforeEach(function () {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "stx-artifacts-"));
    dirs = { shared: path.join(root, "shared", "upstream"), cache: path.join(root, "cache") };
  });

  afterEach(function () {
    fs.rmSync(path.dirname(dirs.cache), { recursive: true, force: true });
  });

  it("src/versions.ts pins the SHA-256 of ../shared/upstream's Jenkins chart", function () {
    const file = path.join(SHARED_UPSTREAM_DIR, JENKINS_CHART.file);
    if (!fs.existsSync(file)) {
      console.log(`      skipped: upstream file ${JENKINS_CHART.file} is missing (not in ${SHARED_UPSTREAM_DIR})`);
      this.skip();
    }
    expect(JENKINS_CHART.file).to.equal(`jenkins-${CHARTS.jenkins.version}.tgz`);
    expect(sha256(fs.readFileSync(file))).to.equal(CHARTS.jenkins.sha256);
  });

  it("takes ../shared/upstream first, then the cache, and trusts a cached file only with the pinned checksum", function () {
    const artifact = demo("http://127.0.0.1:9");
    fs.mkdirSync(dirs.cache, { recursive: true });
    fs.writeFileSync(path.join(dirs.cache, artifact.file), "tampered");
    expect(missingMessage(localArtifact(artifact, dirs))).to.include(`${path.join(dirs.cache, artifact.file)} differs from the pinned sha256`);
    fs.writeFileSync(path.join(dirs.cache, artifact.file), ARCHIVE);
    expect(localArtifact(artifact, dirs)).to.deep.equal({ path: path.join(dirs.cache, artifact.file), source: "cache" });
    fs.mkdirSync(dirs.shared, { recursive: true });
    fs.writeFileSync(path.join(dirs.shared, artifact.file), ARCHIVE);
    expect(localArtifact(artifact, dirs)).to.deep.equal({ path: path.join(dirs.shared, artifact.file), source: "shared" });
  });

  it("downloads through the repository's index, checks the pin, caches the file and asks once", async function () {
    const repo = await helmRepo();
    try {
      const artifact = demo(repo.url);
      const got = await upstreamArtifact(artifact, dirs);
      expect(got).to.deep.equal({ path: path.join(dirs.cache, artifact.file), source: "download" });
      expect(fs.readFileSync(path.join(dirs.cache, artifact.file)).equals(ARCHIVE)).to.equal(true);
      expect(fs.readdirSync(dirs.cache), "no partial file left").to.deep.equal([artifact.file]);
      expect(await upstreamArtifact(artifact, dirs)).to.have.property("source", "cache");
      expect(repo.requests).to.deep.equal(["/index.yaml", "/archives/demo-1.2.3.tgz"]);
    } finally {
      await repo.close();
    }
  });

  it("refuses a download whose checksum differs from the pin, naming both, and caches nothing", async function () {
    const repo = await helmRepo();
    try {
      const pin = "0".repeat(64);
      const got = await upstreamArtifact(demo(repo.url, pin), dirs);
      expect(missingMessage(got)).to.include("demo-1.2.3.tgz").and.include(pin).and.include(sha256(ARCHIVE));
      expect(fs.existsSync(path.join(dirs.cache, "demo-1.2.3.tgz"))).to.equal(false);
    } finally {
      await repo.close();
    }
  });

  it("offline, says which file is missing and why, at once when nothing listens", async function () {
    const repo = await helmRepo();
    await repo.close();
    const started = Date.now();
    const got = await upstreamArtifact(demo(repo.url), dirs);
    expect(Date.now() - started).to.be.below(2_000);
    expect(missingMessage(got)).to.match(/^upstream file demo-1\.2\.3\.tgz is missing \(not in .* nor .*; download failed: .*ECONNREFUSED\)$/);
  });

  it("gives up after DOWNLOAD_TIMEOUT_MS when the server never answers", async function () {
    this.timeout(DOWNLOAD_TIMEOUT_MS + 10_000);
    const repo = await helmRepo(() => undefined);
    try {
      const started = Date.now();
      const got = await upstreamArtifact(demo(repo.url), dirs);
      expect(Date.now() - started).to.be.within(DOWNLOAD_TIMEOUT_MS - 500, DOWNLOAD_TIMEOUT_MS + 3_000);
      expect(missingMessage(got)).to.include("demo-1.2.3.tgz").and.match(/download failed/);
    } finally {
      await repo.close();
    }
  });

  it("names a StarlingX snapshot that is nowhere, saying it has no single-file download", async function () {
    const got = await upstreamArtifact(STARLINGX_SNAPSHOTS.tools, dirs);
    expect(missingMessage(got)).to.include(STARLINGX_SNAPSHOTS.tools.file).and.include("no official single-file download");
  });
});
