/**
 * The Tekton network of a killed run (SIGKILL gives it no chance to clean up) is removed by the
 * next run, and a live run's network is left alone. Needs root and iproute2, like every cluster test.
 */
import { expect } from "chai";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { sweepStaleNetworks } from "../../tools/loopback/tekton";

const ip = (...args: string[]) => execFileSync("ip", args, { encoding: "utf8" });

/** A network as TektonProcesses makes it (a bridge and a namespace), owned by `pid`. */
function fakeNetwork(id: number, pid: number): void {
  ip("link", "add", `stxbr${id}`, "type", "bridge");
  ip("netns", "add", `stx${id}-webhook`);
  fs.writeFileSync(path.join(os.tmpdir(), `stx-net-${id}.owner`), String(pid));
}

function exists(id: number): { bridge: boolean; netns: boolean } {
  return {
    bridge: ip("-o", "link", "show").includes(`stxbr${id}:`),
    netns: ip("netns", "list").split("\n").some((l) => l.startsWith(`stx${id}-webhook`)),
  };
}

describe("cluster: Tekton networks left by a killed run", function () {
  // Outside the range pickNetwork hands out (100-249), so a real run is never touched.
  const dead = 251;
  const live = 252;

  after(function () {
    for (const id of [dead, live]) {
      spawnSync("ip", ["netns", "del", `stx${id}-webhook`]);
      spawnSync("ip", ["link", "del", `stxbr${id}`]);
      fs.rmSync(path.join(os.tmpdir(), `stx-net-${id}.owner`), { force: true });
    }
  });

  it("are removed by the next run; a live owner's network stays", function () {
    const exited = spawnSync(process.execPath, ["-e", "process.exit(0)"]).pid;
    fakeNetwork(dead, exited);
    fakeNetwork(live, process.pid);
    const swept = sweepStaleNetworks();
    expect(swept).to.include(`stxbr${dead}`).and.not.include(`stxbr${live}`);
    expect(exists(dead)).to.deep.equal({ bridge: false, netns: false });
    expect(exists(live)).to.deep.equal({ bridge: true, netns: true });
  });
});
