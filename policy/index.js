// What @pulumi/pulumi's run-policy-pack loads (the pack's directory, PulumiPolicy.yaml has
// `typescript: false`): the pack in TypeScript, transpiled by esbuild as src/main.js does.
"use strict";
const esbuild = require("esbuild");
const fs = require("fs");

require.extensions[".ts"] = (module, filename) => {
  const source = fs.readFileSync(filename, "utf8");
  const { code } = esbuild.transformSync(source, { loader: "ts", format: "cjs", target: "node20", sourcefile: filename });
  module._compile(code, filename);
};

module.exports = require("./pack.ts");
