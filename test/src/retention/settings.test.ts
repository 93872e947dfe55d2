import { expect } from "chai";
import { parseSettings, SettingsError } from "../../../src/settings/schema";
import { stackFileConfig } from "../../../tools/mockedProgram";

/** The problems parseSettings reports for the cengn stack with `overrides` laid over it. */
function problems(overrides: Record<string, unknown>): string[] {
  try {
    parseSettings({ ...stackFileConfig("cengn"), ...overrides });
  } catch (error) {
    if (error instanceof SettingsError) return [...error.problems];
    throw error;
  }
  return [];
}

const base = parseSettings(stackFileConfig("cengn")).retention;

describe("retention and backup settings", () => {
  it("accept every stack file as it is", () => {
    for (const stack of ["minikube", "cengn", "starlingx"]) expect(() => parseSettings(stackFileConfig(stack))).not.to.throw();
  });

  it("reject zero and negative days, naming the setting", () => {
    const found = problems({ retention: { ...base, days: { ...base.days, master: 0, feature: -3 }, failedDays: 0 } });
    expect(found).to.include.members([
      'stx-build-cluster:retention.days.master: must be at least 1 day, or "forever"; 0 would delete builds as soon as they finish',
      'stx-build-cluster:retention.days.feature: must be at least 1 day, or "forever"; 0 would delete builds as soon as they finish',
      "stx-build-cluster:retention.failedDays: must be at least 1",
    ]);
  });

  it("reject a policy that would keep nothing", () => {
    const found = problems({ retention: { ...base, keepSuccessful: 0 } });
    expect(found).to.deep.equal([
      "stx-build-cluster:retention.keepSuccessful: must be at least 1; 0 would let retention delete every build, even the newest successful one",
    ]);
    expect(problems({ retention: { ...base, pipelineRuns: { keep: 0 } } })[0]).to.match(/^stx-build-cluster:retention.pipelineRuns.keep: must be at least 1/);
  });

  it("reject invalid cron schedules for every job", () => {
    const found = problems({
      retention: { ...base, schedule: "every night", registryGc: { schedule: "0 4 * *" } },
      backup: { enabled: false, schedule: "61 * * * *" },
    });
    expect(found.find((p) => p.startsWith("stx-build-cluster:retention.schedule:"))).to.contain('"every night" has 2 fields');
    expect(found.find((p) => p.startsWith("stx-build-cluster:retention.registryGc.schedule:"))).to.contain("has 4 fields");
    expect(found.find((p) => p.startsWith("stx-build-cluster:backup.schedule:"))).to.contain("not a valid schedule");
  });

  it("require a backup target when backups are on, on a known node, of a known kind", () => {
    expect(problems({ backup: { enabled: true } })).to.deep.equal([
      'stx-build-cluster:backup.target: is required when backup.enabled is true: kind "s3" or "volume"',
    ]);
    expect(problems({ backup: { enabled: true, target: { kind: "volume", node: "build-09", size: "1Ti" } } })).to.deep.equal([
      'stx-build-cluster:backup.target.node: "build-09" is not one of cluster.nodes (build-01, build-02, build-03)',
    ]);
    expect(problems({ backup: { enabled: true, target: { kind: "nfs" } } })[0]).to.match(/^stx-build-cluster:backup.target.kind: must have kind "s3"/);
    expect(problems({ retention: { ...base, days: { ...base.days, private: "never" } } })).to.deep.equal([
      'stx-build-cluster:retention.days.private: must be a whole number of days (1 or more) or "forever"',
    ]);
    expect(problems({ backup: { enabled: true, classes: ["releases"], target: { kind: "volume", node: "build-01", size: "1Ti" } } })[0]).to.match(
      /^stx-build-cluster:backup.classes\[0\]: is "releases"; it must be one of/,
    );
  });

  it("keep the platform registry out of garbage collection on starlingx", () => {
    expect(parseSettings(stackFileConfig("starlingx")).retention.registryGc.enabled).to.equal(false);
    expect(parseSettings(stackFileConfig("cengn")).retention.registryGc.enabled).to.equal(true);
  });

  it("report unknown retention keys", () => {
    expect(problems({ retention: { ...base, keepSucessful: 2 } })).to.deep.equal([
      "stx-build-cluster:retention.keepSucessful: unknown setting; check the spelling against the README's config reference",
    ]);
  });
});
