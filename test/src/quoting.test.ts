/**
 * The escaping helpers, fed the names of issue 19 and random text: the shell word through bash,
 * the Groovy literal through Groovy's own parser and runtime (the jar from Maven Central, skipped
 * with the command to fetch it when absent) and through the string-literal grammar.
 */
import { expect } from "chai";
import { execFileSync, spawnSync } from "child_process";
import fc from "fast-check";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { groovyString, shellQuote } from "../../src/quoting";
import { jenkinsfile, jobDsl } from "../../components/build/jenkins";
import { starterScript } from "../../src/build/starter";
import { BranchJob } from "../../src/build/runs";
import { NASTY_NAMES } from "./nastyNames";

const GROOVY_VERSION = "4.0.24";
const GROOVY_JAR = path.join(os.homedir(), ".m2", "repository", "org", "apache", "groovy", "groovy", GROOVY_VERSION, `groovy-${GROOVY_VERSION}.jar`);
const GROOVY_FETCH = `mvn -q dependency:get -Dartifact=org.apache.groovy:groovy:${GROOVY_VERSION}`;

/**
 * Runs Groovy `source` with a stand-in for the Job DSL and the pipeline DSL: every call of an
 * unknown method is recorded with its string arguments (base64, one call a line) and its closures
 * run. An injected `Jenkins.instance...` fails (no such property) or shows up as a call.
 */
function runGroovy(source: string): { name: string; strings: string[] }[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "groovy-"));
  const file = path.join(dir, "dsl.groovy");
  fs.writeFileSync(file, [
    "calls = []",
    "def methodMissing(String name, Object args) {",
    "  def list = args as List",
    "  calls << (name + ' ' + list.findAll { it instanceof String }.collect { it.getBytes('UTF-8').encodeBase64().toString() }.join(' '))",
    "  list.findAll { it instanceof Closure }.each { it.call() }",
    "  null",
    "}",
    source,
    "calls.each { println(it) }",
  ].join("\n"));
  try {
    const out = execFileSync("java", ["-cp", GROOVY_JAR, "groovy.ui.GroovyMain", file], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return out.trim().split("\n").map((line) => {
      const [name, ...strings] = line.split(" ").filter((s, i) => i === 0 || s.length > 0);
      return { name, strings: strings.map((s) => Buffer.from(s, "base64").toString("utf8")) };
    });
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
}

/** A Groovy single-quoted string literal per the language grammar (SQ_STRING and its escapes). */
function parseGroovyLiteral(literal: string): string {
  const match = /^'((?:[^'\\\r\n]|\\[btnfr'"\\$]|\\u[0-9a-fA-F]{4})*)'$/.exec(literal);
  if (!match) throw new Error(`not one Groovy single-quoted literal: ${literal}`);
  const simple: Record<string, string> = { b: "\b", t: "\t", n: "\n", f: "\f", r: "\r", "'": "'", '"': '"', "\\": "\\", $: "$" };
  return match[1].replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, e: string) => (e.length === 5 ? String.fromCharCode(parseInt(e.slice(1), 16)) : simple[e]));
}

const job = (name: string): BranchJob => ({
  project: name, branch: name, namespace: "build-x-1a2b3c4d", releaseId: name, manifestUrl: "https://example.org/m.git",
  manifest: "default.xml", schedule: "0 1 * * *", jobName: name, canBuild: true,
});

describe("escaping for shell and Groovy", () => {
  it("a shell word reads back as exactly its text in bash and sh, for the nasty names and random text", () => {
    const names = [...NASTY_NAMES.filter((n) => !n.includes("\u0000")), ...fc.sample(fc.string({ unit: "binary", minLength: 0, maxLength: 30 }), 50).filter((n) => !n.includes("\u0000"))];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shell-"));
    try {
      for (const shell of ["bash", "sh"]) {
        const script = names.map((n) => `printf '%s\\0' ${shellQuote(n)}`).join("\n");
        const out = execFileSync(shell, ["-c", script], { cwd: dir, encoding: "utf8" });
        expect(out.split("\u0000").slice(0, -1)).to.deep.equal(names);
      }
      expect(fs.readdirSync(dir), "nothing was run").to.deep.equal([]);
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });

  it("a Groovy literal is one single-quoted string of the grammar that decodes to the text, with no $ or line break", () => {
    fc.assert(fc.property(fc.oneof(fc.constantFrom(...NASTY_NAMES), fc.string({ unit: "binary" })), (text) => {
      const literal = groovyString(text);
      expect(literal).not.to.match(/[$\n\r\u2028\u2029]/);
      expect(parseGroovyLiteral(literal)).to.equal(text);
    }));
  });

  it("the start script, run by bash with nasty names, runs nothing of them and prints them as they are", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "starter-nasty-"));
    try {
      fs.mkdirSync(path.join(dir, "bin"));
      fs.writeFileSync(path.join(dir, "bin", "kubectl"), `#!/bin/sh\ncase "$*" in "get pipelineruns"*) echo '{"items":[{"metadata":{"name":"r"},"status":{}}]}' ;; esac\n`, { mode: 0o755 });
      for (const name of NASTY_NAMES.filter((n) => !n.includes("\u0000"))) {
        const script = starterScript({ project: name, branch: name, namespace: name, releaseId: "master", distro: "debian", keepRuns: 2, dashboardUrl: name, artifactsUrl: name, pollSeconds: 0 });
        const result = spawnSync("bash", ["-c", script], { cwd: dir, encoding: "utf8", env: { PATH: `${path.join(dir, "bin")}:${process.env.PATH}` } });
        expect(result.status, result.stderr).to.equal(0);
        // A scheduled start with a run going prints the project and branch and stops.
        expect(result.stdout).to.equal(`a build of ${name} ${name} is still running; this scheduled start is skipped\n`);
        expect(fs.readdirSync(dir)).to.deep.equal(["bin"]);
      }
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });

  it("the Job DSL and the Jenkinsfile, run by Groovy with nasty names, call only the DSL with the names as given", function () {
    if (!fs.existsSync(GROOVY_JAR)) {
      console.log(`      skipped: ${GROOVY_JAR} is missing; fetch it with \`${GROOVY_FETCH}\``);
      this.skip();
    }
    this.timeout(120000);
    const dsl = NASTY_NAMES.map((name) => jobDsl(job(name))).join("\n");
    // JCasC resolves ${...} in its YAML before Groovy sees the script.
    expect(yaml.dump({ jobs: [{ script: dsl }] })).not.to.contain("${");
    const calls = runGroovy(dsl);
    expect(calls.filter((c) => c.name === "pipelineJob").map((c) => c.strings[0])).to.deep.equal(NASTY_NAMES);
    const descriptions = calls.filter((c) => c.name === "description").map((c) => c.strings[0]);
    NASTY_NAMES.forEach((name, i) => expect(descriptions[i]).to.equal(
      `StarlingX build of ${name} ${name}, published as ${name}; unchanged sources are skipped unless FORCE_BUILD is set`));
    const scripts = calls.filter((c) => c.name === "script").map((c) => c.strings[0]);
    expect(scripts).to.deep.equal(NASTY_NAMES.map((name) => jenkinsfile(job(name))));
    expect(new Set(calls.map((c) => c.name))).to.deep.equal(
      new Set(["pipelineJob", "description", "properties", "disableConcurrentBuilds", "pipelineTriggers", "triggers", "cron", "spec", "parameters", "booleanParam", "definition", "cps", "sandbox", "script"]),
    );
    // The Jenkinsfile itself, one level down: the agent pod's YAML arrives whole.
    const pipeline = runGroovy(scripts[0]);
    const pod = pipeline.find((c) => c.name === "yaml");
    expect(JSON.parse(pod!.strings[0]).spec.volumes[0].configMap.name).to.equal("jenkins-job-x-1a2b3c4d");
    expect(pipeline.find((c) => c.name === "sh")!.strings).to.deep.equal(["sh /run/build/start.sh"]);
  });
});
