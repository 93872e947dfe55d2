/**
 * The upstream StarlingX snapshots in ../shared/upstream (see its README), unpacked once per test
 * process into a temporary directory (never into the repository). A suite that needs one and
 * finds it missing skips, naming the file.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT } from "../harness/program";

export const UPSTREAM_DIR = path.resolve(REPO_ROOT, "..", "shared", "upstream");
export const SNAPSHOTS = {
  root: { file: "starlingx-root-292f29cb.tar.gz", top: "starlingx-root" },
  tools: { file: "starlingx-tools-52d6081e.tar.gz", top: "starlingx-tools" },
} as const;

let unpacked: string | undefined;

/** The directory both snapshots are unpacked in, or a reason to skip (the missing file). */
export function snapshots(): { dir: string } | { missing: string } {
  for (const s of Object.values(SNAPSHOTS)) {
    const file = path.join(UPSTREAM_DIR, s.file);
    if (!fs.existsSync(file)) return { missing: file };
  }
  if (!unpacked) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stx-upstream-"));
    for (const s of Object.values(SNAPSHOTS)) execFileSync("tar", ["-xzf", path.join(UPSTREAM_DIR, s.file), "-C", dir]);
    unpacked = dir;
    process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  return { dir: unpacked };
}

/** Use in a describe's before(): skips the suite naming the missing snapshot. */
export function requireSnapshots(ctx: Mocha.Context): string {
  const found = snapshots();
  if ("missing" in found) {
    console.log(`    skipped: upstream snapshot ${found.missing} is missing`);
    ctx.skip();
  }
  return (found as { dir: string }).dir;
}

/** starlingx/root's build-tools directory inside the unpacked snapshots. */
export const buildTools = (dir: string) => path.join(dir, SNAPSHOTS.root.top, "build-tools");
export const toolsRepo = (dir: string) => path.join(dir, SNAPSHOTS.tools.top);
