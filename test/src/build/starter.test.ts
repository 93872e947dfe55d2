import { expect } from "chai";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { starterScript } from "../../../src/build/starter";

/**
 * Runs the start script against a fake kubectl that serves canned PipelineRun lists and records
 * every call; jq is the real one.
 */
function start(env: Record<string, string>, runs: object[], finalStatus = "True", needed = "true") {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "starter-"));
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(dir, "list.json"), JSON.stringify({ items: runs }));
  fs.writeFileSync(path.join(dir, "template.json"), JSON.stringify({ kind: "PipelineRun", spec: { params: [{ name: "BUILD_ISO", value: "true" }] } }));
  fs.writeFileSync(
    path.join(bin, "kubectl"),
    `#!/bin/sh
echo "$*" >> "${dir}/calls"
case "$*" in
  "get pipelineruns"*) cat "${dir}/list.json" ;;
  create*) cp "$3" "${dir}/created.json"; echo scheduled-abcde ;;
  *Succeeded*) echo ${finalStatus} ;;
  *build-date*) echo 20260301T010000Z ;;
  *build-needed*) echo ${needed} ;;
  delete*) ;;
esac
`,
    { mode: 0o755 },
  );
  const script = starterScript({
    project: "starlingx", branch: "r/stx.10.0", namespace: "build-starlingx-r-stx-10-0-1a2b3c4d", releaseId: "release/stx.10.0",
    distro: "debian", keepRuns: 2, dashboardUrl: "http://dash", artifactsUrl: "http://s3/stx-artifacts", pollSeconds: 0,
  });
  let output = "";
  let failed = false;
  try {
    output = execFileSync("sh", ["-c", script], {
      encoding: "utf8",
      env: { PATH: `${bin}:${process.env.PATH}`, RUN_TEMPLATE: path.join(dir, "template.json"), ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (error) {
    failed = true;
    output = String((error as { stdout?: string }).stdout ?? "") + String((error as { stderr?: string }).stderr ?? "");
  }
  const calls = fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n");
  const created = fs.existsSync(path.join(dir, "created.json")) ? JSON.parse(fs.readFileSync(path.join(dir, "created.json"), "utf8")) : undefined;
  fs.rmSync(dir, { recursive: true });
  return { output, failed, calls, created };
}

const finished = (name: string, created: string) => ({ metadata: { name, creationTimestamp: created }, status: { completionTime: created } });

describe("the start script shared by the CronJob and Jenkins", () => {
  it("keeps only the newest finished runs, starts one with the switches given, and links to the artifacts", () => {
    const result = start({ BUILD_ISO: "false", DRY_RUN: "true" }, [
      finished("old-1", "2026-01-01T00:00:00Z"),
      finished("old-3", "2026-01-03T00:00:00Z"),
      finished("old-2", "2026-01-02T00:00:00Z"),
    ]);
    expect(result.failed, result.output).to.equal(false);
    expect(result.calls.filter((c) => c.startsWith("delete"))).to.deep.equal(["delete pipelinerun -n build-starlingx-r-stx-10-0-1a2b3c4d old-1"]);
    const params = Object.fromEntries(result.created.spec.params.map((p: { name: string; value: string }) => [p.name, p.value]));
    expect(params).to.deep.equal({ BUILD_ISO: "false", DRY_RUN: "true", TRIGGER: "scheduled" });
    expect(result.output).to.contain("Tekton run: http://dash/#/namespaces/build-starlingx-r-stx-10-0-1a2b3c4d/pipelineruns/scheduled-abcde");
    expect(result.output).to.contain("Artifacts: http://s3/stx-artifacts/release/stx.10.0/debian/20260301T010000Z/outputs/");
    expect(result.output).to.contain("Logs: http://s3/stx-artifacts/release/stx.10.0/debian/20260301T010000Z/outputs/logs/");
  });

  it("does not start a scheduled build while one of the branch is still running", () => {
    const result = start({}, [{ metadata: { name: "busy", creationTimestamp: "2026-01-01T00:00:00Z" }, status: {} }]);
    expect(result.failed).to.equal(false);
    expect(result.output).to.contain("still running");
    expect(result.created).to.equal(undefined);
  });

  it("fails when the run fails, and says when a scheduled build was skipped", () => {
    expect(start({}, [], "False").failed).to.equal(true);
    const skipped = start({ TRIGGER: "manual" }, [], "True", "false");
    expect(skipped.output).to.contain("skipped: sources unchanged");
  });

  it("refuses a switch that is not true or false", () => {
    const result = start({ FORCE_BUILD: "yes" }, []);
    expect(result.failed).to.equal(true);
    expect(result.output).to.contain("FORCE_BUILD must be true or false");
  });
});
