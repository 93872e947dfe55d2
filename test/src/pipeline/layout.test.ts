import { expect } from "chai";
import { execFileSync } from "child_process";
import * as fc from "fast-check";
import {
  buildPrefix,
  formatBuildDate,
  LAYOUT_SHELL,
  latestBuildKey,
  markerKey,
  outputsKey,
  privateReleaseId,
  publicationPlan,
  releaseIdAllowedIn,
  releaseIdForBranch,
} from "../../../src/pipeline/layout";

const location = { releaseId: "release/stx.10.0", distro: "debian", buildDate: "20260301T020304Z" };

function shell(script: string, env: Record<string, string>): string {
  return execFileSync("sh", ["-c", `${LAYOUT_SHELL}\n${script}`], { env: { PATH: process.env.PATH, ...env }, encoding: "utf8" });
}

describe("artifact layout of a build", () => {
  it("puts each build under <release-id>/<distro>/<UTC timestamp>/", () => {
    expect(formatBuildDate(new Date(Date.UTC(2026, 2, 1, 2, 3, 4, 567)))).to.equal("20260301T020304Z");
    expect(buildPrefix(location)).to.equal("release/stx.10.0/debian/20260301T020304Z/");
    expect(outputsKey(location, "iso")).to.equal("release/stx.10.0/debian/20260301T020304Z/outputs/iso");
    expect(outputsKey(location, "CONTEXT")).to.equal("release/stx.10.0/debian/20260301T020304Z/outputs/CONTEXT");
    expect(markerKey(location, "fail")).to.equal("release/stx.10.0/debian/20260301T020304Z/outputs/fail");
  });

  it("keeps latest_build per release-id and distro, and moves it only on success", () => {
    expect(latestBuildKey(location)).to.equal("release/stx.10.0/debian/latest_build");
    expect(publicationPlan(location, true)).to.deep.equal([
      { key: "release/stx.10.0/debian/20260301T020304Z/outputs/success", body: "" },
      { key: "release/stx.10.0/debian/latest_build", body: "20260301T020304Z\n" },
    ]);
    const failed = publicationPlan(location, false);
    expect(failed.map((o) => o.key)).to.deep.equal(["release/stx.10.0/debian/20260301T020304Z/outputs/fail"]);
  });

  it("maps git branches to release-ids", () => {
    expect(releaseIdForBranch("master")).to.equal("master");
    expect(releaseIdForBranch("r/stx.10.0")).to.equal("release/stx.10.0");
    expect(releaseIdForBranch("f/debian")).to.equal("feature/debian");
    expect(releaseIdForBranch("wip")).to.equal("feature/wip");
    expect(releaseIdForBranch("a/b")).to.not.equal(releaseIdForBranch("a-b"));
  });

  it("puts private builds under private/<user>/ and refuses other names", () => {
    expect(buildPrefix({ ...location, releaseId: privateReleaseId("alice", "fix-123") })).to.equal("private/alice/fix-123/debian/20260301T020304Z/");
    expect(() => privateReleaseId("Alice", "x")).to.throw(/private release-id/);
    expect(() => buildPrefix({ ...location, releaseId: "private/alice/../master" })).to.throw(/not a release-id/);
    expect(() => buildPrefix({ ...location, buildDate: "2026-03-01" })).to.throw(/not a build-date/);
  });

  it("gives every branch a distinct, valid release-id", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 30 }), fc.string({ minLength: 1, maxLength: 30 }), (a, b) => {
        const ra = releaseIdForBranch(a);
        expect(() => buildPrefix({ ...location, releaseId: ra })).to.not.throw();
        if (a !== b) expect(ra).to.not.equal(releaseIdForBranch(b));
      }),
      { numRuns: 300 },
    );
  });

  it("lets runs in a user's namespace publish only under that user's private prefix", () => {
    expect(releaseIdAllowedIn("user-alice", "private/alice/fix-1")).to.equal(true);
    expect(releaseIdAllowedIn("user-alice", "master")).to.equal(false);
    expect(releaseIdAllowedIn("user-alice", "private/bob/fix-1")).to.equal(false);
    expect(releaseIdAllowedIn("user-al", "private/alice/x")).to.equal(false);
    expect(releaseIdAllowedIn("build-starlingx-master", "master")).to.equal(true);
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

  describe("shell twin used by the publish steps", () => {
    it("computes the same keys as the TypeScript functions", () => {
      for (const releaseId of ["master", "release/stx.10.0", "private/alice/fix-1", releaseIdForBranch("x/y z")]) {
        const loc = { ...location, releaseId };
        const env = { RELEASE_ID: releaseId, DISTRO: loc.distro, BUILD_DATE: loc.buildDate };
        expect(shell('stx_build_prefix', env)).to.equal(buildPrefix(loc));
        expect(shell('stx_outputs_key logs', env)).to.equal(outputsKey(loc, "logs"));
        expect(shell('stx_marker_key success', env)).to.equal(markerKey(loc, "success"));
        expect(shell('stx_latest_build_key', env)).to.equal(latestBuildKey(loc));
      }
    });

    it("formats the UTC start time like formatBuildDate", () => {
      const epoch = Date.UTC(2026, 0, 2, 3, 4, 5) / 1000;
      expect(shell("stx_build_date", { BUILD_EPOCH: String(epoch), TZ: "America/Toronto" }).trim()).to.equal(
        formatBuildDate(new Date(epoch * 1000)),
      );
    });

    it("refuses a release-id outside the layout", () => {
      expect(() => shell("stx_build_prefix 2>/dev/null", { RELEASE_ID: "private/alice/../x", DISTRO: "debian", BUILD_DATE: location.buildDate })).to.throw();
      expect(() => shell("stx_build_prefix 2>/dev/null", { RELEASE_ID: "nightly", DISTRO: "debian", BUILD_DATE: location.buildDate })).to.throw();
    });
  });
});
