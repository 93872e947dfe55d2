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
import { LOCALDISK, SERVICES, TOOLS } from "../../../src/build/contract";
import { TASK_TOOLS } from "../../../src/build/services";
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
  ];
  return `#!/bin/sh
# stand-in for ${contract.tool}
fail() { echo "stand-in ${contract.tool}: $*" >&2; exit 97; }
${checks.join("\n")}
echo "${contract.tool} $*" >> "${disk}/.calls"
`;
}

/** Runs every builder step of a Task with stand-ins; returns the tools called. */
function runTask(name: string, params: Record<string, string> = {}): string[] {
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
  fs.mkdirSync(path.join(disk, ".stx"), { recursive: true });
  fs.writeFileSync(path.join(disk, ".stx", "build-date"), "20260301T010203Z");
  fs.writeFileSync(path.join(disk, ".stx", "base-image-ref"), "registry/starlingx/stx-debian:x");
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
    step.env = saved.filter((e: any) => e.name !== "STX_MIRROR");
    try {
      expect(() => runTask("stx-download-prerequisites")).to.throw(/STX_MIRROR/);
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
