import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { checkStageRecords, STAGE_RECORDS, stageTable, StageRecord } from "../../../src/build/stages";
import { buildPipelineObjects } from "../../../src/build/definition";
import { stageServiceSpec } from "../../../src/build/services";
import { STAGE_SERVICE } from "../../../src/build/contract";
import { IMAGES } from "../../../src/versions";
import { REPO_ROOT } from "../../../tools/mockedProgram";
import { FARM_DEFAULTS } from "./fixtures";

describe("the stage records (one record per stage)", () => {
  it("agree with the tools' contract and never run two aptly on the state volume at once", () => {
    expect(checkStageRecords()).to.deep.equal([]);
  });

  it("find two aptly stages that could run at once, a missing service and an unknown runAfter", () => {
    const records: StageRecord[] = STAGE_RECORDS.map((r) => ({ ...r }));
    const base = records.findIndex((r) => r.name === "build-base-image");
    records[base] = { ...records[base], runAfter: ["build-packages-rt"] };
    const iso = records.findIndex((r) => r.name === "build-iso");
    records[iso] = { ...records[iso], services: ["aptlyApi", "aptlyDeploy"] };
    records[1] = { ...records[1], runAfter: ["no-such-stage"] };
    const problems = checkStageRecords(records);
    expect(problems).to.include("build-iso and build-base-image may run at once, each with an aptly on the same state volume");
    expect(problems).to.include("build-iso: build-image needs lat, which the stage does not run");
    expect(problems).to.include('download-prerequisites: runs after "no-such-stage", which is not an earlier stage');
  });

  it("are the Pipeline: its stages, order, switches and each Task's sidecars", () => {
    const { tasks, pipeline } = buildPipelineObjects({ namespace: "stx-system", defaults: FARM_DEFAULTS, images: IMAGES, imageBuilds: "sysbox", labels: {} });
    const uses = (pipeline.spec as any).tasks;
    expect(uses.map((u: any) => [u.name, u.runAfter ?? []])).to.deep.equal(STAGE_RECORDS.map((r) => [r.name, [...r.runAfter]]));
    for (const record of STAGE_RECORDS.filter((r) => r.step)) {
      const task = tasks.find((t: any) => t.metadata.name === record.task) as any;
      const names = (task.spec.sidecars ?? []).map((s: any) => s.name).sort();
      const expected = [...new Set(record.services.map((s) => ({ aptlyApi: "aptly", aptlyDeploy: "aptly", docker: "docker-daemon" } as Record<string, string>)[s] ?? s))].sort();
      expect(names, record.name).to.deep.equal(expected);
      expect(task.spec.steps.map((s: any) => s.name), record.name).to.include(record.step!.name);
    }
  });

  it("label the image Tasks for the namespace's Service, which selects them", () => {
    const { tasks } = buildPipelineObjects({ namespace: "stx-system", defaults: FARM_DEFAULTS, images: IMAGES, imageBuilds: "sysbox", labels: {} });
    const labelled = tasks.filter((t: any) => t.metadata.labels[STAGE_SERVICE.label.key] === STAGE_SERVICE.label.value).map((t: any) => t.metadata.name);
    expect(labelled).to.deep.equal(["stx-build-base-image", "stx-build-wheels", "stx-build-app-images"]);
    const service = stageServiceSpec("build-x", {}) as any;
    expect(service.metadata.name).to.equal(STAGE_SERVICE.name);
    expect(service.spec.selector).to.deep.equal({ [STAGE_SERVICE.label.key]: STAGE_SERVICE.label.value });
    expect(service.spec.ports.map((p: any) => p.port)).to.deep.equal([80, 8088]);
    expect(STAGE_SERVICE.publishUrl).to.equal(`http://${STAGE_SERVICE.name}:80`);
  });

  it("are the stage table of docs/build.md", () => {
    const docs = fs.readFileSync(path.join(REPO_ROOT, "docs", "build.md"), "utf8");
    expect(docs).to.contain(stageTable());
  });
});
