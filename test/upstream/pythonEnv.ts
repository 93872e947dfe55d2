/**
 * What test/upstream/ runs the tools' Python with (scripts/upstream-python.sh makes it; `npm test`
 * and .ci/run run that script before mocha), and the environment of a stage's builder step as the
 * pod would have it, with the state volume moved to a temporary directory.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { buildPipelineObjects } from "../../src/build/definition";
import { LOCALDISK } from "../../src/build/contract";
import { STAGE_RECORDS } from "../../src/build/stages";
import { IMAGES } from "../../src/versions";
import { FARM_DEFAULTS } from "../src/build/fixtures";

type Obj = Record<string, any>;

export function upstreamPython(): string {
  const python = process.env.STX_UPSTREAM_PYTHON ?? path.join(os.homedir(), ".cache", "stx-build-cluster", "upstream-venv", "bin", "python3");
  if (!fs.existsSync(python)) throw new Error(`no ${python}: run "bash scripts/upstream-python.sh" first (npm test does)`);
  return python;
}

const objects = buildPipelineObjects({ namespace: "stx-system", defaults: FARM_DEFAULTS, images: IMAGES, imageBuilds: "sysbox", labels: {} });
const defaults: Record<string, string> = Object.fromEntries(((objects.pipeline.spec as Obj).params as Obj[]).map((p) => [p.name, p.default ?? ""]));

/** A container's env list resolved: $(params.X) from the Pipeline's defaults, /localdisk to `disk`. */
export function resolveEnv(list: Obj[], disk: string, params: Record<string, string> = {}): Record<string, string> {
  const values = { ...defaults, ...params };
  const env: Record<string, string> = {};
  for (const e of list) {
    if (e.value === undefined) continue;
    env[e.name] = String(e.value)
      .replace(/\$\(params\.([A-Z_]+)\)/g, (_, p) => values[p] ?? "")
      .replace("$(workspaces.source.path)", disk)
      .split(LOCALDISK)
      .join(disk);
  }
  return env;
}

/** The builder step's environment of a stage. */
export function stageEnv(stage: string, disk: string, params: Record<string, string> = {}): Record<string, string> {
  const record = STAGE_RECORDS.find((r) => r.name === stage)!;
  const task = (objects.tasks as Obj[]).find((t) => t.metadata.name === record.task)!;
  const step = task.spec.steps.find((s: Obj) => s.name === record.step!.name);
  return resolveEnv(step.env, disk, { ...record.fixed, ...params });
}

/** A sidecar of a stage's Task, as generated. */
export function sidecar(stage: string, name: string): Obj {
  const record = STAGE_RECORDS.find((r) => r.name === stage)!;
  const task = (objects.tasks as Obj[]).find((t) => t.metadata.name === record.task)!;
  return task.spec.sidecars.find((s: Obj) => s.name === name);
}
