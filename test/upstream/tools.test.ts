/**
 * StarlingX's own code, from the snapshots, run with the environment our Tasks give it: utils.py
 * and debrepack.py as downloader and build-pkgs load them, pkgbuilder's app.py and debbuilder.py
 * with the stx-localrc its sidecar writes, repo_manage.py against a recording aptly API on
 * loopback, and build-stx-base.sh / build-stx-images.sh with a recording docker. Each stops at the
 * network edge: nothing here reaches a real mirror, aptly, registry or Docker daemon.
 */
import { expect } from "chai";
import { execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { AddressInfo } from "net";
import { OS, STAGE_SERVICE } from "../../src/build/contract";
import { SCRIPTS } from "../../src/build/scripts";
import { buildTools, requireSnapshots, toolsRepo } from "./snapshots";
import { resolveEnv, sidecar, stageEnv, upstreamPython } from "./pythonEnv";

const stx = (dir: string) => path.join(buildTools(dir), "stx");

/** The tools log to files under /localdisk (utils.set_logger: /localdisk/builder.log): the state volume, here `disk`. */
const localdiskLogs = (disk: string) => `import logging
_fh = logging.FileHandler
logging.FileHandler = lambda f, *a, **k: _fh(f.replace("/localdisk", ${JSON.stringify(disk)}), *a, **k)
`;

function py(dir: string, env: Record<string, string>, code: string): { code: number; out: string; err: string } {
  // PWD as bash exports it to the tools (git_utils.py reads os.environ['PWD'] on import).
  const r = spawnSync(upstreamPython(), ["-c", code], { cwd: stx(dir), env: { ...env, PWD: stx(dir), PYTHONPATH: stx(dir), PATH: process.env.PATH! }, encoding: "utf8", timeout: 60000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

describe("upstream tools run with each stage's environment", function () {
  this.timeout(120000);
  let dir = "";
  let disk = "";
  before(function () {
    dir = requireSnapshots(this);
    upstreamPython();
  });
  beforeEach(() => {
    disk = fs.mkdtempSync(path.join(os.tmpdir(), "stx-localdisk-"));
  });
  afterEach(() => fs.rmSync(disk, { recursive: true, force: true }));

  for (const stage of ["download-prerequisites", "build-packages-std", "build-iso"]) {
    it(`${stage}: utils.get_download_url maps an upstream URL into OS_MIRROR_URL's layout (and NameError without it)`, () => {
      const env = stageEnv(stage, disk);
      const call = `import utils; print(utils.get_download_url("https://files.pythonhosted.org/p/x-1.0.tar.gz", "stx_mirror")[0])`;
      const ok = py(dir, env, call);
      expect(ok.err + ok.out).to.not.contain("Error");
      expect(ok.out.trim()).to.equal(`${env.OS_MIRROR_URL}${OS.mirrorDlPath}files.pythonhosted.org/p/x-1.0.tar.gz`);
      const { OS_MIRROR_URL: _dropped, ...without } = env;
      void _dropped;
      expect(py(dir, without, call).err).to.match(/NameError: name 'OS_MIRROR_BASE' is not defined/);
    });
  }

  it("build-packages-std: debrepack's Parser starts with the stage's env and counts revisions only in a full history", () => {
    const env = stageEnv("build-packages-std", disk);
    const repo = path.join(disk, "pkg");
    const git = (args: string[], cwd = repo) => execFileSync("git", args, { cwd, encoding: "utf8", env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@e", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@e" } }).trim();
    fs.mkdirSync(repo);
    git(["init", "-q"]);
    for (let i = 0; i < 4; i++) {
      fs.writeFileSync(path.join(repo, "f"), String(i));
      git(["add", "f"]);
      git(["commit", "-qm", `c${i}`]);
    }
    const base = git(["rev-list", "--max-parents=0", "HEAD"]);
    git(["clone", "-q", "--depth=1", `file://${repo}`, path.join(disk, "shallow")], disk);
    const count = (target: string) => py(dir, env, `${localdiskLogs(disk)}
import debrepack
p = debrepack.Parser("${disk}", "${disk}")
print(p.get_num_of_revision_commits("${target}", "${base}"))`);
    const full = count(repo);
    expect(full.code, full.err).to.equal(0);
    expect(full.out.trim().split("\n").pop()).to.equal("3");
    const shallow = count(path.join(disk, "shallow"));
    expect(shallow.code).to.not.equal(0);
    expect(shallow.err).to.match(/CalledProcessError: Command .git rev-list --count [0-9a-f]+\.\.HEAD/);
    expect(SCRIPTS.checkout).to.not.contain("--depth");
  });

  it("build-packages: pkgbuilder's app.py (Flask) starts with the stx-localrc its sidecar writes, and debbuilder takes aptly and the distro from it", () => {
    const side = sidecar("build-packages-std", "pkgbuilder");
    expect(side.command).to.equal(undefined);
    const env = resolveEnv(side.env, disk);
    const localrc = path.join(disk, "stx-localrc");
    const write = side.args[2].split("\nexec ")[0].split("/usr/local/bin/stx/stx-localrc").join(localrc);
    execFileSync("bash", ["-c", write], { env: { ...env, PATH: process.env.PATH! } });
    const conf = path.join(disk, "sbuild.conf");
    fs.copyFileSync(path.join(toolsRepo(dir), "stx/debian/trixie/toCOPY/pkgbuilder/debbuilder.conf"), conf);
    const pkgbuilder = path.join(toolsRepo(dir), "stx/debian/trixie/toCOPY/pkgbuilder");
    const r = spawnSync(upstreamPython(), ["-c", `
import logging, os, sys, json
logging.FileHandler = lambda *a, **k: logging.StreamHandler(sys.stderr)  # app.py logs to /localdisk/pkgbuilder.log
import debbuilder
debbuilder.STX_LOCALRC = ${JSON.stringify(localrc)}
debbuilder.SBUILD_CONF = ${JSON.stringify(conf)}
os.system = lambda cmd: 0 if cmd == '/opt/setup.sh' else os.popen(cmd).close() or 0
import app
client = app.app.test_client()
state = client.get('/pkgbuilder/state')
print(json.dumps({"status": state.status_code, "extra": app.dbuilder.assemble_extra_repo('0'), "dist": app.dbuilder.attrs['dist']}))`], { cwd: pkgbuilder, env: { PATH: process.env.PATH!, PYTHONPATH: pkgbuilder }, encoding: "utf8", timeout: 60000 });
    expect(r.status, r.stderr).to.equal(0);
    const result = JSON.parse(r.stdout.trim().split("\n").pop()!);
    expect(result.status).to.equal(200);
    expect(result.dist).to.equal(env.DEBIAN_DISTRIBUTION);
    expect(result.extra).to.equal(`deb [trusted=yes] ${env.REPOMGR_DEPLOY_URL}deb-local-build-0 ${env.DEBIAN_DISTRIBUTION} main`);
    const sbuild = fs.readFileSync(conf, "utf8");
    expect(sbuild).to.not.contain("http://stx-stx-repomgr:80/");
    expect(sbuild).to.contain(`${env.REPOMGR_DEPLOY_URL}deb-local-binary ${env.DEBIAN_DISTRIBUTION} main`);
    expect(sbuild).to.not.match(/@DEBIAN_DISTRIBUTION@/);
  });

  it("download-prerequisites: repo_manage.py clean talks to the aptly API at REPOMGR_URL (a recording fake on loopback)", async function () {
    if (py(dir, {}, "import aptly_api.parts.tasks").code !== 0) {
      console.log("    skipped: aptly_api.parts.tasks is only in StarlingX's git fork of aptly-api-client (stx-builder.Dockerfile), not in any PyPI release");
      this.skip();
    }
    const asked: string[] = [];
    const server = http.createServer((req, res) => {
      asked.push(`${req.method} ${req.url}`);
      res.setHeader("Content-Type", "application/json");
      res.end(req.url === "/api/version" ? JSON.stringify({ Version: "1.5.0" }) : "[]");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const env = stageEnv("download-prerequisites", disk);
      expect(env.REPOMGR_URL).to.equal("http://127.0.0.1:8080");
      // The sidecar's port, moved to the fake's (8080 may be taken on the machine running the test).
      const moved = { ...env, REPOMGR_URL: `http://127.0.0.1:${port}` };
      const r = await new Promise<{ code: number | null; err: string }>((resolve) => {
        const child = spawn(upstreamPython(), [path.join(stx(dir), "repo_manage.py"), "clean"], { cwd: stx(dir), env: { ...moved, PWD: stx(dir), PYTHONPATH: stx(dir), PATH: process.env.PATH! } });
        let err = "";
        child.stderr.on("data", (d: Buffer) => (err += d));
        child.stdout.on("data", (d: Buffer) => (err += d));
        child.on("close", (code: number | null) => resolve({ code, err }));
      });
      expect(r.code, r.err).to.equal(0);
      expect(asked).to.include.members(["GET /api/version", "GET /api/repos", "GET /api/publish"]);
    } finally {
      server.close();
    }
  });

  /** A fake docker on PATH that records its arguments; `docker info` succeeds. */
  function dockerShim(bin: string, log: string): void {
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, "docker"), `#!/bin/sh\necho "docker $*" >> "${log}"\nexit 0\n`, { mode: 0o755 });
  }

  it("build-base-image: build-stx-base.sh accepts the stage's arguments, renders aptly's repositories under the Service name and tags what the stage records", () => {
    const env = stageEnv("build-base-image", disk, { REGISTRY: "registry.example:5000" });
    const repoDir = env.MY_REPO;
    fs.mkdirSync(path.join(repoDir, "build-tools"), { recursive: true });
    fs.cpSync(buildTools(dir), path.join(repoDir, "build-tools"), { recursive: true });
    fs.mkdirSync(path.join(disk, ".stx", "logs"), { recursive: true });
    fs.writeFileSync(path.join(disk, ".stx", "build-date"), "20260301T010203Z");
    const bin = path.join(disk, ".bin");
    const log = path.join(disk, "docker.log");
    dockerShim(bin, log);
    const r = spawnSync("bash", ["-c", SCRIPTS.buildBaseImage], { env: { ...env, PATH: `${bin}:${env.PATH}`, DOCKER_CONFIG: path.join(disk, ".docker") }, encoding: "utf8", timeout: 60000 });
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    const apt = path.join(env.MY_WORKSPACE, "std/build-images/stx-debian-trixie/apt/stx.sources.list");
    const sources = fs.readFileSync(apt, "utf8");
    for (const repo of ["deb-local-binary-containers", "deb-local-binary", "deb-local-build"]) {
      expect(sources).to.contain(`deb [trusted=yes] ${STAGE_SERVICE.publishUrl}/${repo} trixie main`);
    }
    const recorded = fs.readFileSync(path.join(disk, ".stx", "base-image-ref"), "utf8");
    expect(recorded).to.equal("registry.example:5000/starlingx/stx-debian:trixie-amd64-stable-20260301T010203Z");
    expect(fs.readFileSync(log, "utf8")).to.contain(recorded);
  });

  it("build-wheels: build-wheel-tarball.sh builds the wheel builder as USER's image, with aptly under the Service name, into the dir the stage collects", () => {
    const env = stageEnv("build-wheels", disk, { REGISTRY: "registry.example:5000" });
    fs.mkdirSync(path.join(env.MY_REPO, "build-tools"), { recursive: true });
    fs.cpSync(buildTools(dir), path.join(env.MY_REPO, "build-tools"), { recursive: true });
    execFileSync("git", ["init", "-q", env.MY_REPO]);
    fs.mkdirSync(path.join(disk, ".stx", "logs"), { recursive: true });
    const bin = path.join(disk, ".bin");
    const log = path.join(disk, "docker.log");
    dockerShim(bin, log);
    const r = spawnSync("bash", ["-c", SCRIPTS.buildWheels], { env: { ...env, GIT_ALLOW_PROTOCOL: "file", CLEAN_DOCKER: "false", PATH: `${bin}:${env.PATH}`, DOCKER_CONFIG: path.join(disk, ".docker") }, encoding: "utf8", timeout: 60000 });
    const out = r.stdout + r.stderr;
    const wheels = path.join(env.MY_WORKSPACE, "std/build-wheels-debian-trixie-stable");
    expect(fs.readFileSync(log, "utf8")).to.contain(`-t ${env.USER}-stx-wheelbuilder:debian-stable`);
    expect(fs.readFileSync(path.join(wheels, "docker/debian-trixie/apt/stx.sources.list"), "utf8")).to.contain(`deb [trusted=yes] ${STAGE_SERVICE.publishUrl}/deb-local-binary trixie main`);
    expect(out).to.contain("All python3 wheels have been successfully built.");
    // It stops where an empty checkout has no <layer>/debian-trixie wheels.inc (a real manifest has them).
    expect(out).to.contain("Could not find debian-trixie wheels.inc files");
    expect(SCRIPTS.buildWheels).to.contain(`collect "\${MY_WORKSPACE}std/build-wheels-debian-\${DEBIAN_DISTRIBUTION}-stable"`);
  });

  it("build-app-images: build-stx-images.sh accepts --base and --wheels, pulls the recorded base and goes on to loci", () => {
    const env = stageEnv("build-app-images", disk, { REGISTRY: "registry.example:5000" });
    fs.mkdirSync(path.join(env.MY_REPO, "build-tools"), { recursive: true });
    fs.cpSync(buildTools(dir), path.join(env.MY_REPO, "build-tools"), { recursive: true });
    execFileSync("git", ["init", "-q", env.MY_REPO]);
    fs.mkdirSync(path.join(disk, ".stx", "logs"), { recursive: true });
    fs.writeFileSync(path.join(disk, ".stx", "base-image-ref"), "registry.example:5000/starlingx/stx-debian:trixie-amd64-stable-20260301T010203Z");
    const wheelsDir = path.join(env.MY_WORKSPACE, "std/build-wheels-debian-trixie-stable");
    fs.mkdirSync(wheelsDir, { recursive: true });
    fs.writeFileSync(path.join(wheelsDir, "stx-debian-trixie-stable-wheels.tar"), "");
    fs.writeFileSync(path.join(wheelsDir, "stx-debian-trixie-stable-wheels-py2.tar"), "");
    const bin = path.join(disk, ".bin");
    dockerShim(bin, path.join(disk, "docker.log"));
    const r = spawnSync("bash", ["-c", SCRIPTS.buildImages + "\n"], { env: { ...env, GIT_ALLOW_PROTOCOL: "file", CLEAN_DOCKER: "false", PATH: `${bin}:${env.PATH}`, DOCKER_CONFIG: path.join(disk, ".docker") }, encoding: "utf8", timeout: 60000 });
    const out = r.stdout + r.stderr;
    expect(out).to.not.match(/Base image must be specified|didn't specify --wheels|unrecognized option|Unsupported OS/);
    // It pulled the base by the reference build-base-image recorded, and stops at the network edge:
    // cloning loci from GitHub (refused here by GIT_ALLOW_PROTOCOL, never attempted).
    expect(fs.readFileSync(path.join(disk, "docker.log"), "utf8")).to.contain("docker pull registry.example:5000/starlingx/stx-debian:trixie-amd64-stable-20260301T010203Z");
    expect(out).to.contain("Failed to clone https://github.com/openstack/loci.git");
  });
});
