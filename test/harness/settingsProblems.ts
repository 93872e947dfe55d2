/**
 * Assertions on settings problems, shared by the settings tests: the lines a SettingsError lists,
 * and the one for a given setting path.
 */
import { expect } from "chai";
import { parseSettings, SettingsError } from "../../src/settings/schema";

/** The problems reported for `raw`; fails the test when the settings are accepted. */
export function problems(raw: Record<string, unknown>): string[] {
  try {
    parseSettings(raw);
  } catch (error) {
    expect(error).to.be.instanceOf(SettingsError);
    return [...(error as SettingsError).problems];
  }
  throw new Error("expected the settings to be rejected");
}

/** Fails unless `raw` is refused with a line for `path` matching `pattern`. */
export function expectProblem(raw: Record<string, unknown>, path: string, pattern: RegExp): void {
  const found = problems(raw);
  const line = found.find((p) => p.startsWith(`stx-build-cluster:${path}: `) || p.startsWith(`stx-build-cluster:${path} `));
  expect(line, `no problem for ${path} in:\n${found.join("\n")}`).to.not.equal(undefined);
  expect(line).to.match(pattern);
}
