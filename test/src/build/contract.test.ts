/**
 * Runs each build Task's generated script against stand-in tools: shell scripts named like
 * StarlingX's tools, put first on PATH, that fail unless every variable, shared path and service
 * the real tool needs (src/build/contract.ts TOOLS, each with its upstream file) is there.
 */
import { expect } from "chai";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { buildPipelineObjects, WORKSPACE_MOUNT } from "../../../src/build/definition";
import { LOCALDISK, PATHS, REUSE, SERVICES, TOOLS } from "../../../src/build/contract";
import { SCRIPTS } from "../../../src/build/scripts";
import { privateRunManifest } from "../../../src/build/runs";
import { latestBuildKey, sharedRepoPrefix } from "../../../src/artifacts";
import { taskRecords } from "../../../src/build/stages";

const TASK_TOOLS = Object.fromEntries(taskRecords().filter((r) => r.tools.length).map((r) => [r.task, r.tools]));
import { IMAGES } from "../../../src/versions";
import { FARM_DEFAULTS } from "./fixtures";

const { tasks, pipeline } = buildPipelineObjects({ namespace: "stx-system", defaults: FARM_DEFAULTS, images: IMAGES, imageBuilds: "sysbox", labels: {} });
const defaults = Object.fromEntries(((pipeline.spec as any).params as any[]).map((p) => [p.name, p.default ?? ""]));
const taskNamed = (name: string) => tasks.find((t: any) => t.metadata.name === name) as any;

/** A stand-in for one tool: checks the contract, records the call, and creates no output. */
function standIn(contract: (typeof TOOLS)[number], disk: string): string {
  const checks = [
    ...contract.env.map((v) => `[ -n "\${${v}:-}" ] || fail "${v} is not set (${contract.source})"`),
    ...contract.mounts.map((m) => `[ -d "${m.replace(LOCALDISK, disk)}" ] || fail "${m} is not on the shared volume (${contract.source})"`),
    ...contract.services
      .filter((s) => s !== "lat")
      .map((s) => `grep -qx "${SERVICES[s].port}" "${disk}/.sidecar-ports" || fail "no ${s} service on port ${SERVICES[s].port} in this pod (${contract.source})"`),
    ...(contract.services.includes("lat") ? [`grep -qx lat "${disk}/.sidecar-names" || fail "no LAT container sharing ${LOCALDISK}/channel (${contract.source})"`] : []),
    // Variables read only with some flags (build-pkgs --reuse: STX_SHARED_REPO, STX_SHARED_SOURCE).
    ...(contract.whenFlags ?? []).map(
      (w) => `for a in "$@"; do case "$a" in ${w.flags.join("|")}) ${w.env.map((v) => `[ -n "\${${v}:-}" ] || fail "$a needs ${v} (${w.source})";`).join(" ")} ;; esac; done`,
    ),
  ];
  return `#!/bin/sh
# stand-in for ${contract.tool}
fail() { echo "stand-in ${contract.tool}: $*" >&2; exit 97; }
${checks.join("\n")}
echo "${contract.tool} $*" >> "${disk}/.calls"
`;
}

/** Runs every builder step of a Task with stand-ins; returns the tools called. */
function runTask(name: string, params: Record<string, string> = {}, files: Record<string, string> = {}): string[] {
  const task = taskNamed(name);
  const disk = fs.mkdtempSync(path.join(os.tmpdir(), "stx-contract-"));
  const bin = path.join(disk, ".bin");
  fs.mkdirSync(bin);
  // What the pod provides: the sidecars' ports and names, and the shared paths the services create.
  const sidecars: any[] = task.spec.sidecars ?? [];
  const ports = sidecars.flatMap((s) => (s.name === "aptly" ? [SERVICES.aptlyApi.port, SERVICES.aptlyDeploy.port] : s.readinessProbe ? [s.readinessProbe.tcpSocket.port] : []));
  fs.writeFileSync(path.join(disk, ".sidecar-ports"), ports.join("\n") + "\n");
  fs.writeFileSync(path.join(disk, ".sidecar-names"), sidecars.map((s) => s.name).join("\n") + "\n");
  for (const dir of ["pkgbuilder", "channel", "deploy", "loadbuild/builder/stx"]) fs.mkdirSync(path.join(disk, dir), { recursive: true });
  for (const contract of TOOLS) fs.writeFileSync(path.join(bin, contract.tool), standIn(contract, disk), { mode: 0o755 });
  for (const other of ["docker", "hostname"]) fs.writeFileSync(path.join(bin, other), "#!/bin/sh\necho 10.0.0.7\n", { mode: 0o755 });
  // The pod has the privileges its record asks for (sysbox): sudo may mount.
  fs.writeFileSync(path.join(bin, "sudo"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  fs.mkdirSync(path.join(disk, "loadbuild/builder/stx/std/build-wheels-debian-trixie-stable"), { recursive: true });
  fs.writeFileSync(path.join(disk, "loadbuild/builder/stx/std/build-wheels-debian-trixie-stable/stx-debian-trixie-stable-wheels.tar"), "");
  fs.mkdirSync(path.join(disk, ".stx"), { recursive: true });
  fs.writeFileSync(path.join(disk, ".stx", "build-date"), "20260301T010203Z");
  fs.writeFileSync(path.join(disk, ".stx", "base-image-ref"), "registry/starlingx/stx-debian:x");
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(disk, file), text);
  const values = { ...defaults, BUILD_TYPE: "std", ...params };
  for (const step of task.spec.steps.filter((s: any) => s.image === "$(params.BUILDER_IMAGE)")) {
    const env: Record<string, string> = {};
    for (const e of step.env as any[]) {
      if (e.value === undefined) continue;
      const value = String(e.value)
        .replace(/\$\(params\.([A-Z_]+)\)/g, (_, p) => values[p] ?? "")
        .replace("$(workspaces.source.path)", disk)
        .split(LOCALDISK)
        .join(disk);
      env[e.name] = value;
    }
    env.PATH = `${bin}:${env.PATH.split(":").filter((d) => !d.startsWith(disk)).join(":")}`;
    try {
      execFileSync("bash", ["-c", step.script], { env, stdio: ["ignore", "pipe", "pipe"] });
    } catch (e: any) {
      fs.rmSync(disk, { recursive: true, force: true });
      throw new Error(`${name}/${step.name} failed: ${e.stdout}${e.stderr}`);
    }
  }
  const calls = path.join(disk, ".calls");
  const called = fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").trim().split("\n") : [];
  fs.rmSync(disk, { recursive: true, force: true });
  return called;
}

describe("the tools' contract (stand-in tools on PATH)", () => {
  it("names the upstream file of every requirement", () => {
    for (const contract of TOOLS) expect(contract.source).to.match(/^starlingx\/(root|tools) \S+/, contract.tool);
  });

  it("mounts the build state where the tools share their disk", () => {
    expect(WORKSPACE_MOUNT).to.equal("/localdisk");
    for (const task of tasks as any[]) expect(task.spec.workspaces[0].mountPath).to.equal("/localdisk");
  });

  for (const [task, tools] of Object.entries(TASK_TOOLS)) {
    it(`${task}: runs ${tools.join(", ")} with every variable, shared path and service they need`, () => {
      const called = runTask(task, { CLEAN_REPOMGR: "true" }).map((c) => c.split(" ")[0]);
      expect(called).to.include.members([...tools]);
    });
  }

  it("a stand-in refuses to run when the pod lacks a service its tool needs", () => {
    const task = taskNamed("stx-build-packages");
    const pkgbuilder = task.spec.sidecars.findIndex((s: any) => s.name === "pkgbuilder");
    const saved = task.spec.sidecars.splice(pkgbuilder, 1);
    try {
      expect(() => runTask("stx-build-packages")).to.throw(/no pkgbuilder service on port 8081/);
    } finally {
      task.spec.sidecars.splice(pkgbuilder, 0, ...saved);
    }
  });

  it("a stand-in refuses to run when a variable its tool reads is missing", () => {
    const task = taskNamed("stx-download-prerequisites");
    const step = task.spec.steps[0];
    const saved = step.env;
    step.env = saved.filter((e: any) => e.name !== "OS_MIRROR_URL");
    try {
      expect(() => runTask("stx-download-prerequisites")).to.throw(/OS_MIRROR_URL is not set/);
    } finally {
      step.env = saved;
    }
  });

  it("uses the repository manager the tools support today (aptly), never pulp", () => {
    const step = taskNamed("stx-download-prerequisites").spec.steps[0];
    expect(step.env.find((e: any) => e.name === "REPOMGR_TYPE").value).to.equal("aptly");
    expect(JSON.stringify(tasks)).not.to.contain("REPOMGR_TYPE=pulp");
  });
});

/** Runs an object-store step's script with a fake rclone that serves `objects`; returns its calls and the workspace files. */
function runStoreStep(script: string, env: Record<string, string>, objects: Record<string, string>, dirs: string[] = []): { code: number; calls: string[]; files: Record<string, string>; stderr: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stx-reuse-"));
  const bin = path.join(dir, ".bin");
  fs.mkdirSync(bin);
  fs.mkdirSync(path.join(dir, ".stx", "logs"), { recursive: true });
  for (const [file, text] of [["build-date", "20260301T010203Z"], ["release-id", env.RELEASE_ID], ["distro", "debian"], ["CONTEXT", "(cd a && git checkout -f 1)\n"]]) {
    fs.writeFileSync(path.join(dir, ".stx", file), text);
  }
  for (const d of dirs) fs.mkdirSync(path.join(dir, d), { recursive: true });
  const served = Object.entries(objects).map(([key, body]) => `"store:b/${key}") printf '%s' '${body}' ;;`).join("\n    ");
  fs.writeFileSync(path.join(bin, "rclone"), `#!/bin/sh
echo "$*" >> "${dir}/.calls"
if [ "$1" = cat ]; then
  case "$2" in
    ${served}
    *) exit 3 ;;
  esac
fi
`, { mode: 0o755 });
  let code = 0;
  let stderr = "";
  try {
    execFileSync("sh", ["-c", script], {
      env: { PATH: `${bin}:${process.env.PATH}`, WORKSPACE: dir, DRY_RUN: "false", OBJECT_STORE_ENDPOINT: "http://minio.stx-system.svc:9000", ARTIFACTS_BUCKET: "b", ACCESS_KEY: "a", SECRET_KEY: "s", TRIGGER: "manual", FORCE_BUILD: "false", FORCED_WEEKDAY: "0", RESULT_BUILD_NEEDED: path.join(dir, ".result"), ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (e: any) {
    code = e.status;
    stderr = String(e.stderr);
  }
  const read = (f: string) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), "utf8") : "");
  const result = { code, stderr, calls: read(".calls").trim().split("\n").filter(Boolean), files: { repo: read(".stx/shared-repo"), source: read(".stx/shared-source") } };
  fs.rmSync(dir, { recursive: true, force: true });
  return result;
}

describe("a private build starts from its branch without writing to it (build-pkgs --reuse)", () => {
  const branchBuild = { releaseId: "master", distro: "debian", buildDate: "20260228T010000Z" };
  const latest = { [latestBuildKey("master", "debian")]: `${branchBuild.buildDate}\n` };
  const url = (repo: string) => `http://minio.stx-system.svc:9000/b/${sharedRepoPrefix(branchBuild, repo)}`;

  it("names the variables and flags as build-pkgs reads them", () => {
    expect(REUSE.env).to.deep.equal(["STX_SHARED_REPO", "STX_SHARED_SOURCE"]);
    expect(REUSE.flags).to.deep.equal(["--reuse", "--reuse_maximum"]);
    expect(REUSE.source).to.match(/^starlingx\/root build-tools\/stx\/build-pkgs /);
    expect(TOOLS.find((t) => t.tool === "build-pkgs")!.whenFlags).to.deep.equal([{ flags: REUSE.flags, env: REUSE.env, source: REUSE.source }]);
  });

  it("a private run's PipelineRun asks for its branch's build (REUSE_FROM, from the branch's release-id)", () => {
    const base = { sharedNamespace: "stx-system", imageBuilds: "sysbox" as const, workspaceSize: "150Gi", serviceAccount: "pipeline", timeoutMinutes: 600 };
    const params = (run: any) => Object.fromEntries(run.spec.params.map((p: any) => [p.name, p.value]));
    const run = (extra: object) => privateRunManifest({ user: "alice", topic: "t", manifestUrl: "https://x/manifest.git", base, ...extra } as any) as any;
    expect(params(run({ branch: "master" })).REUSE_FROM).to.equal("master");
    expect(params(run({ branch: "r/stx.10.0" })).REUSE_FROM).to.equal("release/stx.10.0");
    expect(params(run({ branch: "master", reuseFrom: false }))).not.to.have.property("REUSE_FROM");
    // A fresh volume of its own: the branch's state claim is never bound.
    expect(run({ branch: "master" }).spec.workspaces[0]).to.have.property("volumeClaimTemplate");
  });

  it("get-sources resolves REUSE_FROM through the branch's latest_build to its published repositories, reading only", () => {
    const step = runStoreStep(SCRIPTS.decide, { RELEASE_ID: "private/alice/t", REUSE_FROM: "master" }, latest);
    expect(step.code, step.stderr).to.equal(0);
    expect(step.files).to.deep.equal({ repo: url("deb-local-build"), source: url("deb-local-source") });
    expect(step.calls.every((c) => c.startsWith("cat "))).to.equal(true);
  });

  it("get-sources refuses a private or never-built REUSE_FROM, and leaves reuse off without one", () => {
    expect(runStoreStep(SCRIPTS.decide, { RELEASE_ID: "private/alice/t", REUSE_FROM: "private/bob/x" }, latest).stderr).to.match(/private builds publish no repositories/);
    expect(runStoreStep(SCRIPTS.decide, { RELEASE_ID: "private/alice/t", REUSE_FROM: "feature/none" }, latest).stderr).to.match(/no successful build \(no latest_build\)/);
    const none = runStoreStep(SCRIPTS.decide, { RELEASE_ID: "private/alice/t", REUSE_FROM: "" }, latest);
    expect([none.code, none.files.repo, none.files.source]).to.deep.equal([0, "", ""]);
  });

  it("build-pkgs of a private run gets --reuse with STX_SHARED_REPO and STX_SHARED_SOURCE (the stand-in refuses otherwise)", () => {
    const called = runTask("stx-build-packages", { RELEASE_ID: "private/alice/t", REUSE_FROM: "master" }, { ".stx/shared-repo": url("deb-local-build"), ".stx/shared-source": url("deb-local-source") });
    expect(called).to.deep.equal(["build-pkgs -a -b std --reuse"]);
    expect(runTask("stx-build-packages")).to.deep.equal(["build-pkgs -a -b std"]);
    const standInPath = path.join(os.tmpdir(), `stx-standin-${process.pid}`);
    fs.mkdirSync(standInPath, { recursive: true });
    const tool = path.join(standInPath, "build-pkgs");
    fs.writeFileSync(tool, standIn({ ...TOOLS.find((t) => t.tool === "build-pkgs")!, env: [], services: [], mounts: [] }, standInPath), { mode: 0o755 });
    try {
      expect(() => execFileSync(tool, ["-a", "--reuse"], { env: { PATH: process.env.PATH }, stdio: "pipe" })).to.throw(/--reuse needs STX_SHARED_REPO/);
      expect(() => execFileSync(tool, ["-a", "--reuse_maximum"], { env: { PATH: process.env.PATH, STX_SHARED_REPO: "http://x/" }, stdio: "pipe" })).to.throw(/--reuse_maximum needs STX_SHARED_SOURCE/);
    } finally {
      fs.rmSync(standInPath, { recursive: true, force: true });
    }
  });

  it("a branch build publishes aptly's deb-local-build and deb-local-source under its public outputs; a private one does not", () => {
    const published = PATHS.aptlyPublished.slice(LOCALDISK.length + 1);
    const dirs = [`${published}/deb-local-build/dists`, `${published}/deb-local-source/pool`];
    const own = { releaseId: "master", distro: "debian", buildDate: "20260301T010203Z" };
    const branch = runStoreStep(SCRIPTS.publish, { RELEASE_ID: "master" }, {}, dirs);
    expect(branch.code, branch.stderr).to.equal(0);
    for (const repo of ["deb-local-build", "deb-local-source"]) {
      expect(branch.calls).to.include(`copy ${published}/${repo} store:b/${sharedRepoPrefix(own, repo)}`);
      expect(sharedRepoPrefix(own, repo)).to.match(/^published\/master\/debian\/20260301T010203Z\/outputs\/aptly\//);
    }
    const privateRun = runStoreStep(SCRIPTS.publish, { RELEASE_ID: "private/alice/t" }, {}, dirs);
    expect(privateRun.calls.filter((c) => c.includes("aptly"))).to.deep.equal([]);
  });
});
