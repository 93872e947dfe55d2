// Prints the executor arguments of one step of the tools-image Task (src/build/toolsImages.ts,
// compiled to bin/ by `npm run build`), one per line, with its $(params.X) replaced by the values
// given as X=VALUE arguments and the Task's defaults otherwise, $(context.taskRun.namespace) and
// $(results.<name>.path) by NAMESPACE= and RESULTS_DIR=: what kaniko runs in a TaskRun.
//
//   node tools/images/kanikoTaskArgs.js STEP [X=VALUE ...]
const path = require("path");
const { toolsImagesTask } = require(path.join(__dirname, "..", "..", "bin", "src", "build", "toolsImages.js"));
const { IMAGES, STX_TOOLS_SOURCE } = require(path.join(__dirname, "..", "..", "bin", "src", "versions.js"));

const [step, ...pairs] = process.argv.slice(2);
const given = Object.fromEntries(pairs.map((p) => [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)]));
const task = toolsImagesTask({
  namespace: "stx-system", labels: {}, kanikoImage: IMAGES.kaniko, gitUrl: STX_TOOLS_SOURCE.url, gitRef: STX_TOOLS_SOURCE.ref,
  commit: STX_TOOLS_SOURCE.commit, registry: "registry.invalid:5000", registryInsecure: false, registrySecret: "registry-credentials",
  repository: "starlingx-tools/", tag: "smoke", codename: "trixie", osMirrorUrl: "http://", osMirrorDistPath: "", debianSnapshot: "20260516T111458Z",
});
const params = Object.fromEntries(task.spec.params.map((p) => [p.name, given[p.name] ?? p.default]));
const found = task.spec.steps.find((s) => s.name === step);
if (!found) throw new Error(`no step ${step} in ${task.metadata.name}`);
const resolve = (text) => text
  .replace(/\$\(params\.([A-Z_]+)\)/g, (_, name) => params[name])
  .replace(/\$\(context\.taskRun\.namespace\)/g, given.NAMESPACE)
  .replace(/\$\(results\.([a-z-]+)\.path\)/g, (_, name) => `${given.RESULTS_DIR}/${name}`);
for (const arg of found.args) console.log(resolve(arg));
for (const e of found.env) console.error(`env ${e.name}=${resolve(e.value)}`);
