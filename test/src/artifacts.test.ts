import { expect } from "chai";
import fc from "fast-check";
import {
  BuildRef,
  buildId,
  buildPrefix,
  contextKey,
  formatBuildDate,
  isBuildPulpName,
  isReleaseId,
  latestBuildKey,
  markerKey,
  markerResult,
  parseBuildDate,
  parseKey,
  privateReleaseId,
  releaseIdAllowedIn,
  releaseClass,
  releaseIdForBranch,
  tryParseBuildDate,
} from "../../src/artifacts";

const segment = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/).filter((s) => s !== "." && s !== "..");
const user = fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/);
export const releaseIdArb = fc.oneof(
  fc.constant("master"),
  segment.map((s) => `feature/${s}`),
  segment.map((s) => `release/${s}`),
  segment.map((s) => `milestone/${s}`),
  fc.tuple(user, segment).map(([u, s]) => `private/${u}/${s}`),
);
const distroArb = fc.constantFrom("debian", "centos", "debian-12");
// Whole seconds between 2000 and 2099, the precision of a build-date.
const timeArb = fc.integer({ min: 946684800, max: 4102444799 }).map((s) => new Date(s * 1000));
const buildArb: fc.Arbitrary<BuildRef> = fc.record({
  releaseId: releaseIdArb,
  distro: distroArb,
  buildDate: timeArb.map(formatBuildDate),
});

describe("artifact layout", () => {
  const build: BuildRef = { releaseId: "release/stx.9.0", distro: "debian", buildDate: "20260301T020304Z" };

  it("formats the prefix, marker, CONTEXT and alias keys of the seed's layout", () => {
    // Published (non-private) builds live under the anonymously readable published/ prefix.
    expect(buildPrefix(build)).to.equal("published/release/stx.9.0/debian/20260301T020304Z/");
    expect(markerKey(build, "success")).to.equal("published/release/stx.9.0/debian/20260301T020304Z/outputs/success");
    expect(markerKey(build, "fail")).to.equal("published/release/stx.9.0/debian/20260301T020304Z/outputs/fail");
    expect(contextKey(build)).to.equal("published/release/stx.9.0/debian/20260301T020304Z/outputs/CONTEXT");
    expect(latestBuildKey("release/stx.9.0", "debian")).to.equal("published/release/stx.9.0/debian/latest_build");
  });

  it("formats and parses UTC build-dates and rejects impossible ones", () => {
    expect(formatBuildDate(new Date("2026-03-01T02:03:04.567Z"))).to.equal("20260301T020304Z");
    expect(parseBuildDate("20260301T020304Z").toISOString()).to.equal("2026-03-01T02:03:04.000Z");
    for (const bad of ["20260231T000000Z", "20260301T250000Z", "2026-03-01", "20260301T020304", "latest_build"]) {
      expect(tryParseBuildDate(bad), bad).to.equal(undefined);
    }
    expect(() => parseBuildDate("20261301T000000Z")).to.throw(/not a build-date; expected YYYYMMDDTHHMMSSZ/);
  });

  it("round-trips every build-date", () => {
    fc.assert(fc.property(timeArb, (t) => parseBuildDate(formatBuildDate(t)).getTime() === t.getTime()));
  });

  it("knows the release class of every release-id and rejects others", () => {
    expect(releaseClass("master")).to.equal("master");
    expect(releaseClass("release/stx.10.0")).to.equal("release");
    expect(releaseClass("milestone/stx.10.0.b1")).to.equal("milestone");
    expect(releaseClass("feature/centos76")).to.equal("feature");
    expect(releaseClass("private/alice/try-1")).to.equal("private");
    for (const bad of ["", "main", "release/", "release/a/b", "feature/../x", "mirror/debian", "private/alice", "MASTER"]) {
      expect(() => releaseClass(bad), bad).to.throw(/is not a release-id/);
    }
  });

  it("maps git branches to release-ids", () => {
    expect(releaseIdForBranch("master")).to.equal("master");
    expect(releaseIdForBranch("r/stx.9.0")).to.equal("release/stx.9.0");
    expect(releaseIdForBranch("r/2018.10")).to.equal("release/2018.10");
    expect(releaseIdForBranch("f/centos76")).to.equal("feature/centos76");
    expect(releaseIdForBranch("bugfix")).to.equal("feature/bugfix");
    expect(releaseIdForBranch("dev/x")).to.match(/^feature\/dev-x-[0-9a-f]{8}$/);
    expect(releaseIdForBranch("dev/x")).not.to.equal(releaseIdForBranch("dev-x"));
  });

  it("gives every branch a valid release-id, distinct for distinct branches (but x and f/x)", () => {
    const branch = fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9._/-]{1,30}$/),
      fc.stringMatching(/^[a-z]{1,6}$/).chain((s) => fc.constantFrom(s, `f/${s}`, `r/${s}`, `${s}-0123abcd`, `release/${s}`)),
    );
    fc.assert(
      fc.property(branch, branch, (a, b) => {
        expect(isReleaseId(releaseIdForBranch(a)), a).to.equal(true);
        const conventionPair = a === `f/${b}` || b === `f/${a}`;
        if (a !== b && !conventionPair) expect(releaseIdForBranch(a), `${a} vs ${b}`).not.to.equal(releaseIdForBranch(b));
      }),
      { numRuns: 500 },
    );
    expect(releaseIdForBranch("foo")).to.equal(releaseIdForBranch("f/foo"));
    expect(releaseIdForBranch("dev-x-0123abcd")).to.match(/^feature\/dev-x-0123abcd-[0-9a-f]{8}$/);
  });

  it("puts private builds under private/<user>/ and refuses other names", () => {
    const base = { distro: "debian", buildDate: "20260301T020304Z" };
    expect(buildPrefix({ ...base, releaseId: privateReleaseId("alice", "fix-123") })).to.equal("private/alice/fix-123/debian/20260301T020304Z/");
    expect(() => privateReleaseId("Alice", "x")).to.throw(/private release-id/);
    expect(() => privateReleaseId("alice", "../master")).to.throw(/private release-id/);
    expect(() => buildPrefix({ ...base, releaseId: "private/alice/../master" })).to.throw(/not a release-id/);
    expect(() => buildPrefix({ ...base, releaseId: "master", buildDate: "2026-03-01" })).to.throw(/not a build-date/);
  });

  it("lets runs in a user's namespace publish only under that user's private prefix", () => {
    expect(releaseIdAllowedIn("user-alice", "private/alice/fix-1")).to.equal(true);
    expect(releaseIdAllowedIn("user-alice", "master")).to.equal(false);
    expect(releaseIdAllowedIn("user-alice", "private/bob/fix-1")).to.equal(false);
    expect(releaseIdAllowedIn("user-al", "private/alice/x")).to.equal(false);
    expect(releaseIdAllowedIn("build-starlingx-master", "master")).to.equal(true);
  });

  it("parses every key it formats back to the same build", () => {
    fc.assert(
      fc.property(buildArb, fc.constantFrom("outputs", "inputs"), fc.constantFrom("iso/a.iso", "std/x.deb", "logs/build.log", "CONTEXT"), (b, section, path) => {
        const parsed = parseKey(`${buildPrefix(b)}${section}/${path}`);
        expect(parsed).to.deep.equal({ kind: "build", build: b, section, path });
      }),
    );
  });

  it("parses markers and aliases, and leaves keys outside the layout undefined", () => {
    expect(markerResult(parseKey(markerKey(build, "fail"))!)).to.equal("fail");
    expect(markerResult(parseKey(contextKey(build))!)).to.equal(undefined);
    expect(parseKey("published/master/debian/latest_build")).to.deep.equal({ kind: "alias", releaseId: "master", distro: "debian" });
    expect(parseKey("private/alice/x/debian/latest_build")).to.deep.equal({ kind: "alias", releaseId: "private/alice/x", distro: "debian" });
    for (const outside of [
      // A published release-id outside published/, or a private one inside it, is not the layout.
      "master/debian/latest_build",
      "master/debian/20260301T020304Z/outputs/success",
      "published/private/alice/x/debian/20260301T020304Z/outputs/success",
      "published/published/master/debian/latest_build",
      "mirror/debian/pool/main/a/apt/apt_2.6.deb",
      "3rdparty/tarballs/foo.tar.gz",
      "published/master/debian/20260301T020304Z/",
      "published/master/debian/20260301T020304Z/other/file",
      "published/master/debian/notadate/outputs/iso/x.iso",
      "published/master/debian/20260301T020304Z/outputs/",
      "published/master/debian/latest_build/x",
      "published/release/stx.9.0/debian",
    ]) {
      expect(parseKey(outside), outside).to.equal(undefined);
    }
  });

  it("never parses a key outside a build's prefix as that build", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (key) => {
        const parsed = parseKey(key);
        if (parsed?.kind === "build") expect(key.startsWith(buildPrefix(parsed.build))).to.equal(true);
      }),
    );
  });

  it("derives a build id that is a valid, unique label value and names its Pulp objects", () => {
    expect(buildId(build)).to.equal("release.stx.9.0_debian_20260301T020304Z");
    expect(isBuildPulpName(build, "release.stx.9.0_debian_20260301T020304Z-std")).to.equal(true);
    expect(isBuildPulpName(build, "release.stx.9.0_debian_20260301T020304Z")).to.equal(true);
    expect(isBuildPulpName(build, "release.stx.9.0_debian_20260301T020304")).to.equal(false);
    expect(isBuildPulpName(build, "debian-mirror")).to.equal(false);
    fc.assert(
      fc.property(buildArb, buildArb, (a, b) => {
        expect(buildId(a)).to.match(/^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/);
        const same = a.releaseId === b.releaseId && a.distro === b.distro && a.buildDate === b.buildDate;
        if (!same) {
          expect(buildId(a)).not.to.equal(buildId(b));
          expect(isBuildPulpName(a, buildId(b))).to.equal(false);
        }
      }),
    );
  });
});
