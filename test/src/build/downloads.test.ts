import { expect } from "chai";
import { downloadSettings, OS_MIRROR_URL, snapshotUrls } from "../../../src/build/downloads";
import { DEBIAN_SNAPSHOT } from "../../../src/versions";
import { MirrorSettings } from "../../../src/settings/services";

describe("where the tools download from (one pinned Debian snapshot per build)", () => {
  it("defaults to upstream's tested snapshot, straight from snapshot.debian.org, and the StarlingX mirror", () => {
    const d = downloadSettings([], "stx-system");
    expect(DEBIAN_SNAPSHOT).to.equal("20260516T111458Z");
    expect(d).to.deep.equal({
      debianSnapshot: "http://snapshot.debian.org/archive/debian/20260516T111458Z",
      debianSecuritySnapshot: "http://snapshot.debian.org/archive/debian-security/20260516T111458Z",
      debianDistribution: "trixie",
      osMirrorUrl: OS_MIRROR_URL,
    });
  });

  it("goes through the farm's Pulp only for a declared mirror of exactly the pinned snapshot", () => {
    const mirror = (ts: string): MirrorSettings => ({ name: `debian-${ts}`, type: "deb", url: `${snapshotUrls(ts).debian}/`, distributions: "trixie", policy: "on_demand", verbatim: true, basePath: `debian/${ts}` });
    const pinned = downloadSettings([mirror("20260601T000000Z")], "stx-system", "20260601T000000Z");
    expect(pinned.debianSnapshot).to.equal("http://pulp-content.stx-system.svc:24816/pulp/content/debian/20260601T000000Z");
    // A mirror of another pin is not this build's source of truth.
    expect(downloadSettings([mirror("20260601T000000Z")], "stx-system").debianSnapshot).to.equal(snapshotUrls(DEBIAN_SNAPSHOT).debian);
    const files: MirrorSettings = { name: "stx", type: "file", url: OS_MIRROR_URL, policy: "on_demand", basePath: "stx" };
    expect(downloadSettings([files], "stx-system").osMirrorUrl).to.equal("http://pulp-content.stx-system.svc:24816/pulp/content/stx/");
  });

  it("refuses a snapshot that is not a timestamp", () => {
    expect(() => snapshotUrls("latest")).to.throw(/not a timestamp YYYYMMDDTHHMMSSZ/);
  });
});
