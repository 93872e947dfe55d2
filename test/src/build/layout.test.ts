import { expect } from "chai";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  buildPrefix,
  formatBuildDate,
  latestBuildKey,
  markerKey,
  privateReleaseId,
  releaseIdAllowedIn,
  releaseIdForBranch,
  sectionPrefix,
} from "../../../src/artifacts";
import { LAYOUT_SHELL } from "../../../src/build/layout";
import { SCRIPTS } from "../../../src/build/scripts";

const location = { releaseId: "release/stx.10.0", distro: "debian", buildDate: "20260301T020304Z" };

function shell(script: string, env: Record<string, string>): string {
  return execFileSync("sh", ["-c", `${LAYOUT_SHELL}\n${script}`], { env: { PATH: process.env.PATH, ...env }, encoding: "utf8" });
}

/** Runs the record-result step's script with a fake rclone; returns what it wrote where. */
function recordResult(status: string): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "finish-"));
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  fs.mkdirSync(path.join(dir, ".stx", "logs"), { recursive: true });
  for (const [file, text] of [["build-date", location.buildDate], ["release-id", location.releaseId], ["distro", location.distro], ["build-needed", "true"]]) {
    fs.writeFileSync(path.join(dir, ".stx", file), text);
  }
  fs.writeFileSync(path.join(bin, "rclone"), `#!/bin/sh\necho "$*" >> "${dir}/calls"\ncat > /dev/null 2>&1 || true\n`, { mode: 0o755 });
  execFileSync("sh", ["-c", SCRIPTS.finish], {
    env: { PATH: `${bin}:${process.env.PATH}`, WORKSPACE: dir, DRY_RUN: "false", AGGREGATE_STATUS: status, OBJECT_STORE_ENDPOINT: "http://s3", ARTIFACTS_BUCKET: "b", ACCESS_KEY: "a", SECRET_KEY: "s" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const calls = fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n");
  fs.rmSync(dir, { recursive: true });
  return calls.filter((c) => c.startsWith("rcat")).map((c) => c.replace(/^rcat store:b\//, ""));
}

describe("the pipeline's shell twin of src/artifacts.ts", () => {
  it("computes the same keys as src/artifacts.ts", () => {
    for (const releaseId of ["master", "release/stx.10.0", privateReleaseId("alice", "fix-1"), releaseIdForBranch("x/y z"), releaseIdForBranch("dev-x-0123abcd")]) {
      const build = { ...location, releaseId };
      const env = { RELEASE_ID: releaseId, DISTRO: build.distro, BUILD_DATE: build.buildDate };
      expect(shell("stx_build_prefix", env)).to.equal(buildPrefix(build));
      expect(shell("stx_outputs_key logs", env)).to.equal(`${sectionPrefix(build, "outputs")}logs`);
      expect(shell("stx_marker_key success", env)).to.equal(markerKey(build, "success"));
      expect(shell("stx_marker_key fail", env)).to.equal(markerKey(build, "fail"));
      expect(shell("stx_latest_build_key", env)).to.equal(latestBuildKey(build.releaseId, build.distro));
    }
  });

  it("writes the marker always and moves latest_build (to the build-date) only after a success", () => {
    expect(recordResult("Succeeded")).to.deep.equal([markerKey(location, "success"), latestBuildKey(location.releaseId, location.distro)]);
    expect(recordResult("Failed")).to.deep.equal([markerKey(location, "fail")]);
  });

  it("formats the UTC start time like formatBuildDate", () => {
    const epoch = Date.UTC(2026, 0, 2, 3, 4, 5) / 1000;
    expect(shell("stx_build_date", { BUILD_EPOCH: String(epoch), TZ: "America/Toronto" }).trim()).to.equal(
      formatBuildDate(new Date(epoch * 1000)),
    );
  });

  it("refuses what src/artifacts.ts refuses", () => {
    const bad = [
      { RELEASE_ID: "private/alice/../x", DISTRO: "debian", BUILD_DATE: location.buildDate },
      { RELEASE_ID: "nightly", DISTRO: "debian", BUILD_DATE: location.buildDate },
      { RELEASE_ID: "master", DISTRO: "Debian", BUILD_DATE: location.buildDate },
      { RELEASE_ID: "master", DISTRO: "debian", BUILD_DATE: "2026-03-01" },
    ];
    for (const env of bad) {
      expect(() => buildPrefix({ releaseId: env.RELEASE_ID, distro: env.DISTRO, buildDate: env.BUILD_DATE }), JSON.stringify(env)).to.throw();
      expect(() => shell("stx_build_prefix 2>/dev/null", env), JSON.stringify(env)).to.throw();
      expect(() => shell("stx_outputs_key logs 2>/dev/null", env), JSON.stringify(env)).to.throw();
    }
  });

  it("lets runs in a user's namespace publish only under that user's private prefix, like releaseIdAllowedIn", () => {
    for (const [ns, id] of [["user-alice", "private/alice/fix-1"], ["user-alice", "master"], ["user-al", "private/alice/x"], ["build-x", "master"]]) {
      const env = { RUN_NAMESPACE: ns, RELEASE_ID: id, DISTRO: "debian", BUILD_DATE: location.buildDate };
      let ok = true;
      try {
        shell("stx_check_namespace 2>/dev/null", env);
      } catch {
        ok = false;
      }
      expect(ok, `${ns} ${id}`).to.equal(releaseIdAllowedIn(ns, id));
    }
  });
});
