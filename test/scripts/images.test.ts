import { expect } from "chai";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { IMAGES } from "../../src/versions";

const repo = path.resolve(__dirname, "..", "..", "..");
// Plain JavaScript run by scripts/images.sh; no types to import.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const archive = require(path.join(repo, "scripts", "images", "archive.js")) as {
  verify(file: string, ref: string): string[];
  pinned(versionsTs: string, key: string): string;
};

/** scripts/images.versions as a map (shell assignments, values unquoted or double-quoted). */
function imageVersions(): Map<string, string> {
  const text = fs.readFileSync(path.join(repo, "scripts", "images.versions"), "utf8");
  return new Map([...text.matchAll(/^([A-Za-z_][A-Za-z0-9_]*)=(?:"([^"]*)"|(\S*))$/gm)].map((m) => [m[1], m[2] ?? m[3]]));
}

/** The image names scripts/images.sh builds (its ALL list, as --names prints it). */
function builtNames(): string[] {
  return execFileSync("bash", [path.join(repo, "scripts", "images.sh"), "--names"], { encoding: "utf8" }).trim().split("\n");
}

describe("scripts/images.versions: a test double for every pinned image", () => {
  const versions = imageVersions();
  const skipped = (versions.get("IMAGES_SKIPPED") ?? "").split(/\s+/).filter(Boolean);

  it("names each image of src/versions.ts exactly as pinned, or lists it as skipped", () => {
    const missing = Object.entries(IMAGES)
      .filter(([key, ref]) => !skipped.includes(key) && versions.get(`IMAGE_${key}`) !== ref)
      .map(([key, ref]) => `IMAGE_${key}=${ref}`);
    expect(missing, "scripts/images.versions lacks (or differs from) these pins").to.deep.equal([]);
  });

  it("skips only images that exist, and only the documented ones", () => {
    expect(skipped.filter((key) => !(key in IMAGES))).to.deep.equal([]);
    const docs = fs.readFileSync(path.join(repo, "docs", "cluster-tests.md"), "utf8");
    expect(skipped.filter((key) => !docs.includes(IMAGES[key as keyof typeof IMAGES]))).to.deep.equal([]);
  });

  it("has no stand-in for an image the program no longer pins", () => {
    const stale = [...versions.keys()].filter((k) => k.startsWith("IMAGE_") && !(k.slice("IMAGE_".length) in IMAGES));
    expect(stale).to.deep.equal([]);
  });

  it("is built by scripts/images.sh under each key", () => {
    const names = builtNames();
    expect(Object.keys(IMAGES).filter((key) => !skipped.includes(key) && !names.includes(key))).to.deep.equal([]);
  });

  it("reads the pins the way scripts/images.sh checks them", () => {
    for (const [key, ref] of Object.entries(IMAGES)) expect(archive.pinned(path.join(repo, "src", "versions.ts"), key)).to.equal(ref);
    expect(() => archive.pinned(path.join(repo, "src", "versions.ts"), "noSuchImage")).to.throw(/IMAGES has no noSuchImage/);
  });
});

describe("scripts/images/archive.js: docker-archive tarballs", () => {
  let dir: string;
  const script = path.join(repo, "scripts", "images", "archive.js");
  const ref = "docker.io/library/example:1.0";

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "stx-archive-"));
    fs.mkdirSync(path.join(dir, "root", "etc"), { recursive: true });
    fs.writeFileSync(path.join(dir, "root", "etc", "hello"), "hello\n");
    execFileSync("tar", ["-C", path.join(dir, "root"), "-cf", path.join(dir, "layer.tar"), "etc"]);
    fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({ Entrypoint: ["/bin/true"] }));
    execFileSync("node", [script, "write", path.join(dir, "image.tar"), ref, path.join(dir, "config.json"), path.join(dir, "layer.tar")]);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("writes an archive that verifies under its own name, with manifest, config and repositories", () => {
    expect(archive.verify(path.join(dir, "image.tar"), ref)).to.deep.equal([]);
    const names = execFileSync("tar", ["-tf", path.join(dir, "image.tar")], { encoding: "utf8" }).split("\n");
    expect(names).to.include.members(["manifest.json", "repositories"]);
    const manifest = JSON.parse(execFileSync("tar", ["-xOf", path.join(dir, "image.tar"), "manifest.json"], { encoding: "utf8" }));
    expect(manifest[0].RepoTags).to.deep.equal([ref]);
    expect(manifest[0].Layers).to.have.length(1);
  });

  it("refuses the archive under another name", () => {
    expect(archive.verify(path.join(dir, "image.tar"), "docker.io/library/example:2.0").join()).to.match(/RepoTags/);
  });

  it("notices a layer whose content does not match its diff_id", () => {
    const bad = path.join(dir, "bad.tar");
    fs.copyFileSync(path.join(dir, "image.tar"), bad);
    const bytes = fs.readFileSync(bad);
    const at = bytes.indexOf("hello\n");
    bytes.write("HELLO\n", at); // same size, so every header stays valid
    fs.writeFileSync(bad, bytes);
    expect(archive.verify(bad, ref).join()).to.match(/does not match diff_id/);
  });

  it("names a digest reference without a repositories entry (it has no tag)", () => {
    const digestRef = `cgr.dev/chainguard/busybox@sha256:${"0".repeat(64)}`;
    const out = path.join(dir, "digest.tar");
    execFileSync("node", [script, "write", out, digestRef, path.join(dir, "config.json"), path.join(dir, "layer.tar")]);
    expect(archive.verify(out, digestRef)).to.deep.equal([]);
    expect(execFileSync("tar", ["-tf", out], { encoding: "utf8" })).not.to.include("repositories");
  });
});
