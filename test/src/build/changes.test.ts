import { expect } from "chai";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BuildDecisionInput, changedProjects, decideBuild, DECIDE_SHELL, formatContext, parseContext } from "../../../src/build/changes";

const A = formatContext(new Map([["cgcs-root/stx/config", "a".repeat(40)], ["cgcs-root/stx/utilities", "b".repeat(40)]]));
const B = formatContext(new Map([["cgcs-root/stx/config", "c".repeat(40)], ["cgcs-root/stx/utilities", "b".repeat(40)]]));
const base: BuildDecisionInput = { trigger: "scheduled", force: false, forcedWeekday: 0, weekday: 3, current: A, lastSuccessful: A };

function shellDecision(input: BuildDecisionInput): boolean {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "decide-"));
  fs.writeFileSync(path.join(dir, "current"), input.current);
  if (input.lastSuccessful !== undefined) fs.writeFileSync(path.join(dir, "last"), input.lastSuccessful);
  const out = execFileSync("sh", ["-c", `${DECIDE_SHELL}\nstx_decide_build`], {
    encoding: "utf8",
    env: {
      PATH: process.env.PATH,
      TRIGGER: input.trigger,
      FORCE_BUILD: String(input.force),
      FORCED_WEEKDAY: String(input.forcedWeekday),
      WEEKDAY: String(input.weekday),
      CURRENT_CONTEXT: path.join(dir, "current"),
      LAST_CONTEXT: path.join(dir, "last"),
    },
  });
  fs.rmSync(dir, { recursive: true });
  return out.split(" ")[0] === "true";
}

describe("skipping unchanged scheduled builds", () => {
  it("round-trips CONTEXT files and names changed projects", () => {
    expect(parseContext(A).get("cgcs-root/stx/config")).to.equal("a".repeat(40));
    expect(changedProjects(parseContext(B), parseContext(A))).to.deep.equal(["cgcs-root/stx/config"]);
    expect(() => parseContext("cd somewhere")).to.throw(/CONTEXT line 1/);
  });

  const cases: [string, Partial<BuildDecisionInput>, boolean][] = [
    ["skips a scheduled build when nothing changed", {}, false],
    ["builds when a project moved", { current: B }, true],
    ["builds when there is no successful build yet", { lastSuccessful: undefined }, true],
    ["builds when forced", { force: true }, true],
    ["builds on the weekly forced day", { weekday: 0 }, true],
    ["never forces when the weekly build is off", { weekday: 0, forcedWeekday: "never" }, false],
    ["always builds what a person started", { trigger: "manual" }, true],
    ["ignores the order of CONTEXT lines", { current: A.split("\n").reverse().join("\n") }, false],
  ];
  for (const [title, change, expected] of cases) {
    it(`${title} (and the shell step agrees)`, () => {
      const input = { ...base, ...change };
      expect(decideBuild(input).build).to.equal(expected, decideBuild(input).reason);
      expect(shellDecision(input)).to.equal(expected);
    });
  }
});
