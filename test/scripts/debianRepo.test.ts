import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { pypiDir, serveDirectory } from "../../tools/loopback/debianRepo";
import { toolchainVersion } from "../../tools/loopback/controlPlane";

describe("tools/loopback/debianRepo.ts: what the real-node tests serve on loopback", () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), "stx-served-")); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("serves files and a directory's index.html (pip's PEP 503 pages), records who asked, and nothing outside", async () => {
    fs.mkdirSync(path.join(dir, "root", "simple", "flask"), { recursive: true });
    fs.writeFileSync(path.join(dir, "root", "simple", "flask", "index.html"), "<a href=x>x</a>\n");
    fs.writeFileSync(path.join(dir, "secret"), "outside\n");
    fs.symlinkSync(path.join(dir, "secret"), path.join(dir, "root", "link"));
    const served = await serveDirectory(path.join(dir, "root"), "127.0.0.1");
    try {
      const get = async (p: string) => { const r = await fetch(new URL(p, served.url)); return [r.status, r.status === 200 ? await r.text() : ""]; };
      expect(await get("simple/flask/")).to.deep.equal([200, "<a href=x>x</a>\n"]);
      expect((await fetch(new URL("simple/flask/", served.url))).headers.get("content-type")).to.equal("text/html");
      expect(await get("link")).to.deep.equal([404, ""]);
      expect(await get("%2e%2e/secret")).to.deep.equal([404, ""]);
      expect(await get("simple/none/")).to.deep.equal([404, ""]);
      expect(served.requests.map((r) => [r.path, r.from])).to.deep.include(["/simple/flask/", "127.0.0.1"]);
    } finally {
      await served.close();
    }
  });

  it("finds the trixie archive only when node-setup.sh made it from today's pins, naming the command otherwise", () => {
    const stamp = path.join(dir, "trixie", ".packages");
    fs.mkdirSync(path.dirname(stamp), { recursive: true });
    const pins = ["TRIXIE_APTLY_PACKAGES", "TRIXIE_PKGBUILDER_PACKAGES", "TEST_PYPI_PACKAGES"].map(toolchainVersion);
    fs.writeFileSync(stamp, `recipe 2 | ${pins.join(" | ")}\n`);
    expect(pypiDir(dir)).to.equal(path.join(dir, "trixie", "pypi"));
    fs.writeFileSync(stamp, `recipe 2 | ${pins.slice(0, 2).join(" | ")} | Flask==0.1\n`);
    expect(() => pypiDir(dir)).to.throw(/trixie test archive .* is missing or stale; run: bash scripts\/node-setup\.sh tools-images/);
  });
});
