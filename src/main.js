/**
 * What the Pulumi CLI runs: package.json's `main` (Pulumi.yaml has no `main` and `typescript: false`).
 * It loads the program, src/index.ts, and esbuild transpiles each TypeScript file as it is required.
 *
 * Why not the CLI's own TypeScript support: it compiles with ts-node's language service (4 s of CPU
 * for this program) and, like @pulumi/pulumi's runner itself (`source-map-support/register` in
 * cmd/run/index.js), maps every frame of every `new Error().stack` through source maps. The SDK
 * takes a stack for each promise it makes and for each resource, and the cengn stack has
 * thousands of both: the no-op preview at 50 users and 50 branches spent about a quarter of the
 * program's CPU mapping stacks (bench/engine.ts; figures in README "Benchmark"). esbuild writes no
 * source maps, so there is nothing to map for our files: V8's own stack formatting is restored.
 *
 * Type checking is `npm run lint` (strict tsconfig.json), which CI runs before any test; a preview
 * with a type error still runs, as with PULUMI_NODEJS_TRANSPILE_ONLY. Stack traces of the
 * program's own errors name transpiled lines.
 */
"use strict";
const esbuild = require("esbuild");
const fs = require("fs");

delete Error.prepareStackTrace;

require.extensions[".ts"] = (module, filename) => {
  const source = fs.readFileSync(filename, "utf8");
  const { code } = esbuild.transformSync(source, { loader: "ts", format: "cjs", target: "node20", sourcefile: filename });
  module._compile(code, filename);
};

module.exports = require("./index.ts");
