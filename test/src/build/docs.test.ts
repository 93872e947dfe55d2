import { expect } from "chai";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { privateRunManifest } from "../../../src/build/runs";
import { REPO_ROOT } from "../../../tools/mockedProgram";
import { pipelineParams } from "../../../src/build/params";
import { FARM_DEFAULTS } from "./fixtures";

describe("the private-build command in docs/build.md", () => {
  const text = fs.readFileSync(path.join(REPO_ROOT, "docs", "build.md"), "utf8");
  const match = /kubectl create -f - <<'EOF'\n([\s\S]*?)\nEOF\n/.exec(text);

  it("is the PipelineRun the code would write for that user (sysbox stacks)", () => {
    expect(match, "the heredoc of the private-build command").to.not.equal(null);
    const documented = yaml.load(match![1]) as any;
    const generated = privateRunManifest({
      user: "alice",
      topic: "fix-912345",
      manifestUrl: "https://opendev.org/starlingx/manifest.git",
      branch: "master",
      patch: { project: "cgcs-root/stx/config", ref: "refs/changes/45/912345/3" },
      base: { sharedNamespace: "stx-system", imageBuilds: "sysbox", workspaceSize: "150Gi", serviceAccount: "pipeline", timeoutMinutes: 600 },
    }) as any;
    expect(documented.metadata.namespace).to.equal(generated.metadata.namespace);
    expect(documented.metadata.annotations).to.deep.equal(generated.metadata.annotations);
    for (const key of ["pipelineRef", "taskRunTemplate", "taskRunSpecs", "workspaces"]) {
      expect(documented.spec[key], key).to.deep.equal(generated.spec[key]);
    }
    const params = (run: any) => Object.fromEntries(run.spec.params.map((p: any) => [p.name, p.value]));
    expect(params(documented)).to.deep.include(params(generated));
    expect(params(documented).BUILD_ISO).to.equal("false");
  });
});

describe("the parameters table of docs/build.md", () => {
  const text = fs.readFileSync(path.join(REPO_ROOT, "docs", "build.md"), "utf8");
  it("has a row for every pipeline parameter, and says CLEAN_REPOMGR cleans aptly, not Pulp", () => {
    for (const p of pipelineParams(FARM_DEFAULTS)) expect(text, p.name).to.contain(`| \`${p.name}\` |`);
    const row = text.split("\n").find((l) => l.startsWith("| `CLEAN_REPOMGR` |"))!;
    expect(row).to.match(/aptly/).and.to.match(/Pulp is not touched/);
    expect(text).to.not.match(/into the shared Pulp/);
  });
});
