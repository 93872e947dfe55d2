import { expect } from "chai";
import { kubernetesMinor, SYSBOX_RELEASES, sysboxFor, SysboxRelease } from "../../../src/build/sysboxSupport";
import { IMAGES } from "../../../src/versions";

describe("sysbox installer per Kubernetes version (src/build/sysboxSupport.ts)", () => {
  it("reads only 1.<minor>", () => {
    expect(kubernetesMinor("1.30")).to.equal(30);
    for (const bad of ["1.30.2", "v1.30", "2.0", "1.", "1.030", "latest", ""]) expect(kubernetesMinor(bad), bad).to.equal(undefined);
  });

  it("gives the pinned v0.6.5 installer (CRI-O) for 1.27 to 1.30", () => {
    for (const version of ["1.27", "1.28", "1.29", "1.30"]) {
      const choice = sysboxFor(version);
      expect(choice.ok, version).to.equal(true);
      if (choice.ok) {
        expect(choice.image).to.equal(IMAGES.sysboxDeploy);
        expect(choice.release.runtime).to.equal("cri-o");
      }
    }
    expect(IMAGES.sysboxDeploy).to.match(/:v0\.6\.5$/);
  });

  it("refuses 1.32 to 1.35: known to v0.7's installer, but no confirmed image tag is pinned", () => {
    for (const version of ["1.32", "1.33", "1.35"]) {
      const choice = sysboxFor(version);
      expect(choice.ok).to.equal(false);
      if (!choice.ok) expect(choice.reason).to.match(/supported only by sysbox v0\.7 \(1\.32-1\.35\).*not confirmed upstream.*pinned installers cover 1\.27-1\.30/);
    }
  });

  it("refuses versions no release supports, and malformed ones", () => {
    for (const version of ["1.26", "1.31", "1.36"]) {
      const choice = sysboxFor(version);
      expect(choice.ok).to.equal(false);
      if (!choice.ok) expect(choice.reason).to.equal(`no sysbox-deploy-k8s release supports Kubernetes ${version}; pinned installers cover 1.27-1.30`);
    }
    const bad = sysboxFor("1.30.1");
    expect(bad.ok).to.equal(false);
  });

  it("picks the row that has an image when ranges overlap, and cites its evidence", () => {
    const rows: SysboxRelease[] = [
      { release: "a", minMinor: 29, maxMinor: 32, runtime: "cri-o", image: undefined, evidence: "x" },
      { release: "b", minMinor: 32, maxMinor: 35, runtime: "cri-o", image: "img:b", evidence: "y" },
    ];
    const choice = sysboxFor("1.32", rows);
    expect(choice.ok && choice.image).to.equal("img:b");
    for (const row of SYSBOX_RELEASES) expect(row.evidence).to.match(/nestybox\/sysbox/);
  });
});
