/**
 * Every environment variable each upstream tool reads (found in the snapshot's code, see
 * envReads.ts) is set by the stage that runs it, or waived in the stage's record with a reason.
 * A new snapshot that reads something new fails here, naming the variable, tool and stage.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { buildPipelineObjects } from "../../src/build/definition";
import { TOOLS } from "../../src/build/contract";
import { SHELL_PROVIDED, STAGE_RECORDS, StageRecord } from "../../src/build/stages";
import { SCRIPTS } from "../../src/build/scripts";
import { IMAGES } from "../../src/versions";
import { FARM_DEFAULTS } from "../src/build/fixtures";
import { pythonReads, shellReads } from "./envReads";
import { buildTools, requireSnapshots } from "./snapshots";

type Obj = Record<string, any>;

/** What a tool reads, from its files in the snapshot (missing files are an error: the contract names them). */
export function toolReads(dir: string, tool: string): Set<string> {
  const contract = TOOLS.find((t) => t.tool === tool);
  if (!contract) throw new Error(`no contract for ${tool}`);
  const python = new Set<string>();
  const shell: string[] = [];
  for (const file of contract.files) {
    const full = path.join(buildTools(dir), file);
    if (!fs.existsSync(full)) throw new Error(`${tool}: ${file} is not in the snapshot (src/build/contract.ts TOOLS files)`);
    const text = fs.readFileSync(full, "utf8");
    if (file.endsWith(".py") || /^#!.*python/.test(text)) pythonReads(text).forEach((v) => python.add(v));
    else shell.push(text);
  }
  return new Set([...python, ...shellReads(shell)]);
}

/** Variables a stage's builder step has: its env, what its script exports, and what the shell sets. */
export function stageProvides(tasks: Obj[], record: StageRecord): Set<string> {
  const task = tasks.find((t) => t.metadata.name === record.task)!;
  const step = task.spec.steps.find((s: Obj) => s.name === record.step!.name);
  const script = (SCRIPTS as Record<string, string>)[record.step!.script];
  const exported = [...script.matchAll(/\bexport\s+((?:[A-Z_][A-Z0-9_]*\s*)+)/g)].flatMap((m) => m[1].trim().split(/\s+/));
  return new Set([...step.env.map((e: Obj) => e.name), ...exported, ...Object.keys(SHELL_PROVIDED)]);
}

/** Reads that the stage neither provides nor waives: "<stage>: <tool> reads <VAR>". */
export function unprovided(dir: string, tasks: Obj[], records: readonly StageRecord[] = STAGE_RECORDS): string[] {
  const problems: string[] = [];
  for (const record of records.filter((r) => r.step)) {
    const provided = stageProvides(tasks, record);
    for (const tool of record.tools) {
      for (const name of [...toolReads(dir, tool)].sort()) {
        if (!provided.has(name) && !(record.waived && name in record.waived)) problems.push(`${record.name}: ${tool} reads ${name}, which the stage neither sets nor waives`);
      }
    }
  }
  return problems;
}

describe("upstream tools' environment reads (static, from the snapshots)", function () {
  let dir = "";
  before(function () {
    dir = requireSnapshots(this);
  });
  const tasksFor = () => buildPipelineObjects({ namespace: "stx-system", defaults: FARM_DEFAULTS, images: IMAGES, imageBuilds: "sysbox", labels: {} }).tasks as Obj[];

  it("finds the reads the issue names in the real code (utils.py OS_MIRROR_URL, build-pkgs BUILDER_URL, build-stx-images.sh USER)", () => {
    expect([...toolReads(dir, "downloader")]).to.include.members(["OS_MIRROR_URL", "OS_MIRROR_DL_PATH", "DIST", "REPOMGR_URL"]);
    expect([...toolReads(dir, "build-pkgs")]).to.include.members(["BUILDER_URL", "DEBIAN_SNAPSHOT", "STX_SHARED_REPO"]);
    expect([...toolReads(dir, "build-stx-images.sh")]).to.include.members(["USER", "BUILDER_FILES_URL"]);
    expect([...toolReads(dir, "build-wheel-tarball.sh")]).to.include.members(["USER", "REPOMGR_DEPLOY_URL", "DEBIAN_SNAPSHOT"]);
  });

  it("every read is set by its stage or waived with a reason", () => {
    expect(unprovided(dir, tasksFor())).to.deep.equal([]);
  });

  it("fails, naming the variable, when a stage loses one (OS_MIRROR_URL from download-prerequisites)", () => {
    const tasks = tasksFor();
    const task = tasks.find((t) => t.metadata.name === "stx-download-prerequisites")!;
    task.spec.steps[0].env = task.spec.steps[0].env.filter((e: Obj) => e.name !== "OS_MIRROR_URL");
    const problems = unprovided(dir, tasks);
    expect(problems).to.include("download-prerequisites: downloader reads OS_MIRROR_URL, which the stage neither sets nor waives");
    expect(problems.every((p) => p.startsWith("download-prerequisites: ") && p.includes(" reads OS_MIRROR_URL,"))).to.equal(true);
  });

  it("waives nothing a stage's tools do not read, and gives every waiver a reason", () => {
    for (const record of STAGE_RECORDS) {
      const reads = new Set(record.tools.flatMap((t) => [...toolReads(dir, t)]));
      for (const [name, reason] of Object.entries(record.waived ?? {})) {
        expect(reason.length, `${record.name}: ${name}`).to.be.greaterThan(10);
        expect(reads.has(name), `${record.name} waives ${name}, which none of ${record.tools.join(", ")} reads`).to.equal(true);
      }
    }
  });
});
