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
function start(env: Record<string, string>, runs: object[] | object[][], finalStatus = "True", needed = "true", waitMinutes?: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "starter-"));
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  // A list of lists: successive "get pipelineruns" calls see successive states (the last one stays).
  const states = (Array.isArray(runs[0]) ? runs : [runs]) as object[][];
  states.forEach((items, i) => fs.writeFileSync(path.join(dir, `list-${i}.json`), JSON.stringify({ items })));
  fs.writeFileSync(path.join(dir, "template.json"), JSON.stringify({ kind: "PipelineRun", spec: { params: [{ name: "BUILD_ISO", value: "true" }] } }));
  fs.writeFileSync(
    path.join(bin, "kubectl"),
    `#!/bin/sh
echo "$*" >> "${dir}/calls"
case "$*" in
  "get pipelineruns"*)
    n="$(cat "${dir}/n" 2>/dev/null || echo 0)"
    if [ -f "${dir}/list-$n.json" ]; then cat "${dir}/list-$n.json"; echo $((n + 1)) > "${dir}/n"; else cat "${dir}/list-${states.length - 1}.json"; fi ;;
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
    distro: "debian", keepRuns: 2, dashboardUrl: "http://dash", artifactsUrl: "http://s3/stx-artifacts", pollSeconds: 0, waitMinutes,
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
    // Links a person can open: the anonymously readable published/ prefix, the listing and the logs.
    expect(result.output).to.contain("Artifacts: http://s3/stx-artifacts/published/release/stx.10.0/debian/20260301T010000Z/outputs/index.html");
    expect(result.output).to.contain("Logs: http://s3/stx-artifacts/published/release/stx.10.0/debian/20260301T010000Z/outputs/logs/");
  });

  it("does not start a scheduled build while one of the branch is still running", () => {
    const result = start({}, [{ metadata: { name: "busy", creationTimestamp: "2026-01-01T00:00:00Z" }, status: {} }]);
    expect(result.failed).to.equal(false);
    expect(result.output).to.contain("still running");
    expect(result.created).to.equal(undefined);
  });

  it("starts a manual build only after the running build of the branch finished (one writer on its state volume)", () => {
    const busy = { metadata: { name: "busy", creationTimestamp: "2026-01-01T00:00:00Z" }, status: {} };
    const done = finished("busy", "2026-01-01T00:00:00Z");
    // prune listing, first check: running; second check: still running; third: finished.
    const result = start({ TRIGGER: "manual" }, [[busy], [busy], [busy], [done]]);
    expect(result.failed, result.output).to.equal(false);
    expect(result.output).to.contain("waiting for it to finish");
    expect(result.created).to.not.equal(undefined);
    const creates = result.calls.findIndex((c) => c.startsWith("create"));
    expect(result.calls.slice(0, creates).filter((c) => c.startsWith("get pipelineruns"))).to.have.length(4);
  });

  it("refuses a manual build while the branch's build is still running after the wait", () => {
    const busy = { metadata: { name: "busy", creationTimestamp: "2026-01-01T00:00:00Z" }, status: {} };
    const result = start({ TRIGGER: "manual" }, [busy], "True", "true", 0);
    expect(result.failed).to.equal(true);
    expect(result.output).to.contain("not starting another on its state volume");
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
