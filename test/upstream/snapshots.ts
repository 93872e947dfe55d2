/**
 * The upstream StarlingX snapshots (tools/upstreamArtifacts.ts finds them in ../shared/upstream or
 * the cache), unpacked once per test process into a temporary directory (never into the
 * repository). A suite that needs one and finds it missing skips, naming the file.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { localArtifact, missingMessage, STARLINGX_SNAPSHOTS as SNAPSHOTS } from "../../tools/upstreamArtifacts";

export { SNAPSHOTS };

let unpacked: string | undefined;

/** The directory both snapshots are unpacked in, or a reason to skip (the missing file). */
export function snapshots(): { dir: string } | { missing: string } {
  const files: string[] = [];
  for (const s of Object.values(SNAPSHOTS)) {
    const found = localArtifact(s);
    if ("missing" in found) return { missing: missingMessage(found) as string };
    files.push(found.path);
  }
  if (!unpacked) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stx-upstream-"));
    for (const file of files) execFileSync("tar", ["-xzf", file, "-C", dir]);
    unpacked = dir;
    process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  return { dir: unpacked };
}

/** Use in a describe's before(): skips the suite naming the missing snapshot. */
export function requireSnapshots(ctx: Mocha.Context): string {
  const found = snapshots();
  if ("missing" in found) {
    console.log(`    skipped: ${found.missing}`);
    ctx.skip();
  }
  return (found as { dir: string }).dir;
}

/** starlingx/root's build-tools directory inside the unpacked snapshots. */
export const buildTools = (dir: string) => path.join(dir, SNAPSHOTS.root.top, "build-tools");
export const toolsRepo = (dir: string) => path.join(dir, SNAPSHOTS.tools.top);
