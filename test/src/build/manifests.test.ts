/**
 * Tekton's release files are applied only when their SHA-256 matches a pin: local copies and
 * downloads alike, checked before the program registers a single resource.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { expectedSha256, ManifestChecksumError, sha256, verifiedManifestFile, verifyAllManifests } from "../../../src/build/manifests";
import { MANIFEST_NAMES, MANIFESTS } from "../../../src/versions";
import { fixtureChecksums, runProgramFailure, stackFileConfig, TEKTON_FIXTURES } from "../../../tools/mockedProgram";

function copyOfFixtures(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stx-manifests-"));
  for (const name of MANIFEST_NAMES) fs.copyFileSync(path.join(TEKTON_FIXTURES, `${name}.yaml`), path.join(dir, `${name}.yaml`));
  return dir;
}

describe("Tekton release files checked against pinned checksums", () => {
  it("says which are unverified upstream, and asks for the site's pin naming the setting", () => {
    // Tekton publishes no checksum of its release files: every pin in src/versions.ts is open.
    for (const name of MANIFEST_NAMES) expect(MANIFESTS[name].sha256, name).to.equal(null);
    expect(() => expectedSha256("tekton-pipelines", {})).to.throw(ManifestChecksumError,
      /^stx-build-cluster:build\.tekton\.manifestSha256\["tekton-pipelines"\]: no SHA-256 is pinned .* download https:\/\/infra\.tekton\.dev\/.*\/v1\.15\.1\/release\.yaml/);
  });

  it("accepts local copies that match their pins and refuses a changed one, naming both checksums", () => {
    const dir = copyOfFixtures();
    try {
      const pins = fixtureChecksums(dir);
      expect(verifyAllManifests({ manifestDir: dir, manifestSha256: pins })["tekton-dashboard"]).to.equal(path.join(dir, "tekton-dashboard.yaml"));
      fs.appendFileSync(path.join(dir, "tekton-triggers.yaml"), "\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: injected}\n");
      const changed = sha256(fs.readFileSync(path.join(dir, "tekton-triggers.yaml")));
      expect(() => verifiedManifestFile("tekton-triggers", { manifestDir: dir, manifestSha256: pins }))
        .to.throw(ManifestChecksumError, new RegExp(`tekton-triggers from .* has SHA-256 ${changed}, not the pinned ${pins["tekton-triggers"]} \\(stx-build-cluster:build.tekton.manifestSha256\\["tekton-triggers"\\]\\); refusing to apply it`));
      expect(() => verifiedManifestFile("tekton-interceptors", { manifestDir: path.join(dir, "nowhere"), manifestSha256: pins })).to.throw(ManifestChecksumError, /manifestDir: .* is missing/);
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });

  it("uses a download from the cache named by its pin, without fetching it again", () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), "stx-manifest-cache-"));
    try {
      const data = fs.readFileSync(path.join(TEKTON_FIXTURES, "tekton-dashboard.yaml"));
      const pin = sha256(data);
      fs.writeFileSync(path.join(cache, `tekton-dashboard-${pin}.yaml`), data);
      expect(verifiedManifestFile("tekton-dashboard", { manifestSha256: { "tekton-dashboard": pin } }, cache)).to.equal(path.join(cache, `tekton-dashboard-${pin}.yaml`));
    } finally {
      fs.rmSync(cache, { recursive: true });
    }
  });

  it("stops the program before any resource when a manifest does not match, with the message alone", async () => {
    const config = stackFileConfig("minikube");
    const pins = { ...fixtureChecksums(), "tekton-pipelines": "0".repeat(64) };
    const { error, declared } = await runProgramFailure("minikube", { ...config, build: { tekton: { manifestDir: TEKTON_FIXTURES, manifestSha256: pins } } });
    expect(error.message).to.match(/tekton-pipelines from .* has SHA-256 [0-9a-f]{64}, not the pinned 0{64}/);
    expect(pulumi.RunError.isInstance(error)).to.equal(true);
    expect(declared.filter((r) => r.type.startsWith("kubernetes:") || r.type.startsWith("pulumi:providers:"))).to.be.empty;
  });
});
