/**
 * The retention jobs as one JavaScript file for a stock `node` image: bundled by esbuild from
 * src/retention/cli.ts (with the S3 client) at deployment time, so what runs in the cluster is
 * always what this checkout's tests ran. Gzipped, it stays far below the 1 MiB ConfigMap limit.
 */
import * as fs from "fs";
import * as path from "path";
import { createHash } from "crypto";
import { gzipSync } from "zlib";

/** ConfigMaps (like every object) must stay under 1 MiB; keep a wide margin for the rest. */
export const MAX_BUNDLE_BYTES = 512 * 1024;

/** File names inside the runner ConfigMap. */
export const BUNDLE_FILE = "retention.js.gz";
export const LOADER_FILE = "run.js";

/** Unpacks the bundle into the pod's writable temp dir (/tmp) and runs it with the container's arguments. */
export const LOADER = [
  "// Unpacks the bundled retention jobs and runs the one named by the arguments.",
  'const fs = require("fs");',
  'const path = require("path");',
  'const zlib = require("zlib");',
  'const file = path.join(require("os").tmpdir(), "stx-retention.js");',
  `fs.writeFileSync(file, zlib.gunzipSync(fs.readFileSync(path.join(__dirname, "${BUNDLE_FILE}"))));`,
  "require(file);",
  "",
].join("\n");

export interface RunnerBundle {
  /** The bundle, gzipped. */
  readonly gzipped: Buffer;
  /** Size of the JavaScript before compression. */
  readonly bytes: number;
  readonly sha256: string;
}

const cache = new Map<string, RunnerBundle>();

/** Bundles the jobs (once per process); throws when the result would not fit a ConfigMap comfortably. */
export function retentionBundle(): RunnerBundle {
  return programBundle("cli", "retention");
}

/**
 * One of our programs (`<dir of this file's sibling folder>/<entry>.ts`, or its compiled .js) as a
 * single gzipped JavaScript file for a stock node image; cached per process.
 */
export function programBundle(entry: string, folder: string): RunnerBundle {
  const dir = path.join(__dirname, "..", folder);
  const file = [`${entry}.ts`, `${entry}.js`].map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
  if (!file) throw new Error(`no ${entry} entry point in ${dir}`);
  const cached = cache.get(file);
  if (cached) return cached;
  // esbuild is needed only here; loading it lazily keeps it out of every other code path.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require("esbuild") as typeof import("esbuild");
  const result = esbuild.buildSync({
    entryPoints: [file],
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    minify: true,
    legalComments: "none",
    write: false,
    logLevel: "silent",
  });
  const code = Buffer.from(result.outputFiles[0].contents);
  // zlib writes no timestamp into the header, so the same code gives the same bytes (no spurious diffs).
  const gzipped = gzipSync(code, { level: 9 });
  if (gzipped.length > MAX_BUNDLE_BYTES) {
    throw new Error(`the ${folder}/${entry} bundle is ${gzipped.length} bytes gzipped; the limit is ${MAX_BUNDLE_BYTES}`);
  }
  const bundle = { gzipped, bytes: code.length, sha256: createHash("sha256").update(gzipped).digest("hex") };
  cache.set(file, bundle);
  return bundle;
}
