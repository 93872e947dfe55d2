import { expect } from "chai";
import fc from "fast-check";
import { formatBuildDate, ReleaseClass, releaseClass, seriesKey } from "../../../src/artifacts";
import { FoundBuild, planRetention, policyProblems, RetentionPolicy } from "../../../src/retention/policy";

const DAY = 24 * 60 * 60 * 1000;
const NOW = new Date("2026-06-30T12:00:00Z");
const daysAgo = (days: number) => formatBuildDate(new Date(NOW.getTime() - days * DAY));

const POLICY: RetentionPolicy = {
  days: { master: 14, feature: 7, private: 3, milestone: 180, release: "forever" },
  failedDays: 3,
  keepSuccessful: 3,
};

const build = (releaseId: string, age: number, result?: "success" | "fail"): FoundBuild => ({
  releaseId,
  distro: "debian",
  buildDate: daysAgo(age),
  ...(result ? { result } : {}),
});

describe("retention policy: examples", () => {
  it("deletes master builds older than 14 days but keeps the 3 newest successful ones", () => {
    const builds = Array.from({ length: 30 }, (_, day) => build("master", day + 0.5, "success"));
    const plan = planRetention(builds, new Map(), POLICY, NOW);
    expect(plan.keep.map((d) => d.build.buildDate)).to.have.members(builds.slice(0, 14).map((b) => b.buildDate));
    expect(plan.delete).to.have.length(16);
    expect(plan.delete[0].reason).to.match(/successful master build 14 days old; master builds are kept 14 days/);
  });

  it("keeps release builds forever, failed ones included", () => {
    const builds = [build("release/stx.9.0", 900, "success"), build("release/stx.9.0", 800, "fail"), build("release/stx.9.0", 700)];
    const plan = planRetention(builds, new Map(), { ...POLICY, keepSuccessful: 1 }, NOW);
    expect(plan.delete).to.be.empty;
  });

  it("keeps the build latest_build points at, whatever its age", () => {
    const old = build("feature/x", 100, "success");
    const builds = [old, build("feature/x", 1, "success"), build("feature/x", 2, "success"), build("feature/x", 3, "success")];
    const plan = planRetention(builds, new Map([[seriesKey(old), old.buildDate]]), POLICY, NOW);
    expect(plan.keep.find((d) => d.build === old)?.verdict).to.equal("latest-build");
  });

  it("expires failed builds after failedDays and keeps young unmarked builds", () => {
    const failed = build("master", 4, "fail");
    const running = build("master", 10);
    const abandoned = build("master", 15);
    const plan = planRetention([failed, running, abandoned, build("master", 5, "success")], new Map(), POLICY, NOW);
    expect(plan.delete.map((d) => [d.build, d.verdict])).to.deep.equal([
      [failed, "failed-expired"],
      [abandoned, "expired"],
    ]);
    expect(plan.keep.find((d) => d.build === running)?.reason).to.match(/unfinished/);
  });

  it("refuses policies that would keep nothing, naming the setting", () => {
    const bad = { days: { ...POLICY.days, master: 0, feature: -1 }, failedDays: 0, keepSuccessful: 0 } as RetentionPolicy;
    const problems = policyProblems(bad);
    expect(problems.join("\n")).to.match(/retention.days.master is 0/).and.match(/retention.days.feature is -1/);
    expect(problems.join("\n")).to.match(/retention.failedDays is 0/).and.match(/retention.keepSuccessful is 0.*keep nothing/);
    expect(() => planRetention([], new Map(), bad, NOW)).to.throw(/refusing to apply the retention policy/);
  });
});

// Random histories: a few series, builds on random days over 60 days, random results and aliases.
const releaseIds = ["master", "release/stx.9.0", "milestone/stx.10.0.b1", "feature/foo", "private/alice/x"];
const periodArb = fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constant("forever" as const));
const policyArb: fc.Arbitrary<RetentionPolicy> = fc.record({
  days: fc.record({ master: periodArb, release: periodArb, milestone: periodArb, feature: periodArb, private: periodArb }),
  failedDays: fc.integer({ min: 1, max: 20 }),
  keepSuccessful: fc.integer({ min: 1, max: 5 }),
});
const historyArb = fc
  .uniqueArray(
    fc.record({
      releaseId: fc.constantFrom(...releaseIds),
      distro: fc.constantFrom("debian", "centos"),
      ageMinutes: fc.integer({ min: -60, max: 60 * 24 * 60 }),
      result: fc.constantFrom("success", "fail", undefined),
    }),
    { selector: (b) => `${b.releaseId}/${b.distro}/${b.ageMinutes}`, maxLength: 60 },
  )
  .map((list) =>
    list.map(
      (b): FoundBuild => ({
        releaseId: b.releaseId,
        distro: b.distro,
        buildDate: formatBuildDate(new Date(NOW.getTime() - b.ageMinutes * 60000)),
        ...(b.result ? { result: b.result as "success" | "fail" } : {}),
      }),
    ),
  )
  .filter((list) => new Set(list.map((b) => `${seriesKey(b)}/${b.buildDate}`)).size === list.length);
const scenarioArb = historyArb.chain((builds) =>
  fc.record({
    builds: fc.constant(builds),
    policy: policyArb,
    // Some series get an alias, pointing at one of their builds or at nothing found.
    aliases: fc
      .array(fc.tuple(fc.nat(), fc.boolean()), { maxLength: 5 })
      .map((picks) => new Map(picks.filter(() => builds.length > 0).map(([i, dangling]) => {
        const b = builds[i % builds.length];
        return [seriesKey(b), dangling ? "19990101T000000Z" : b.buildDate] as [string, string];
      }))),
  }),
);
const ageDays = (b: FoundBuild) => (NOW.getTime() - Date.parse(b.buildDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, "$1-$2-$3T$4:$5:$6Z"))) / DAY;
const limitOf = (policy: RetentionPolicy, cls: ReleaseClass) => policy.days[cls];

describe("retention policy: properties on random histories", () => {
  const runs = { numRuns: 300 };

  it("decides every build exactly once", () => {
    fc.assert(
      fc.property(scenarioArb, ({ builds, policy, aliases }) => {
        const plan = planRetention(builds, aliases, policy, NOW);
        const decided = [...plan.keep, ...plan.delete].map((d) => d.build);
        expect(decided).to.have.members(builds);
        expect(decided).to.have.length(builds.length);
      }),
      runs,
    );
  });

  it("never deletes the build latest_build points at", () => {
    fc.assert(
      fc.property(scenarioArb, ({ builds, policy, aliases }) => {
        for (const d of planRetention(builds, aliases, policy, NOW).delete) {
          expect(aliases.get(seriesKey(d.build))).not.to.equal(d.build.buildDate);
        }
      }),
      runs,
    );
  });

  it("keeps the N newest successful builds of every series", () => {
    fc.assert(
      fc.property(scenarioArb, ({ builds, policy, aliases }) => {
        const deleted = new Set(planRetention(builds, aliases, policy, NOW).delete.map((d) => d.build));
        const series = new Set(builds.map(seriesKey));
        for (const s of series) {
          const newest = builds
            .filter((b) => seriesKey(b) === s && b.result === "success")
            .sort((a, b) => b.buildDate.localeCompare(a.buildDate))
            .slice(0, policy.keepSuccessful);
          for (const b of newest) expect(deleted.has(b), `${s} ${b.buildDate}`).to.equal(false);
        }
      }),
      runs,
    );
  });

  it("never deletes a build of a class kept forever, nor any build within its age limit", () => {
    fc.assert(
      fc.property(scenarioArb, ({ builds, policy, aliases }) => {
        for (const d of planRetention(builds, aliases, policy, NOW).delete) {
          const limit = limitOf(policy, releaseClass(d.build.releaseId));
          expect(limit).not.to.equal("forever");
          const effective = d.build.result === "fail" ? Math.min(limit as number, policy.failedDays) : (limit as number);
          expect(ageDays(d.build)).to.be.greaterThan(effective);
        }
      }),
      runs,
    );
  });

  it("never deletes an unmarked (in-progress) build younger than its class limit", () => {
    fc.assert(
      fc.property(scenarioArb, ({ builds, policy, aliases }) => {
        for (const d of planRetention(builds, aliases, policy, NOW).delete) {
          if (d.build.result !== undefined) continue;
          expect(ageDays(d.build)).to.be.greaterThan(limitOf(policy, releaseClass(d.build.releaseId)) as number);
        }
      }),
      runs,
    );
  });

  it("deletes every build past its limit that no keep rule protects", () => {
    fc.assert(
      fc.property(scenarioArb, ({ builds, policy, aliases }) => {
        const plan = planRetention(builds, aliases, policy, NOW);
        for (const d of plan.keep) {
          if (d.verdict !== "young") continue;
          const limit = limitOf(policy, releaseClass(d.build.releaseId)) as number;
          const effective = d.build.result === "fail" ? Math.min(limit, policy.failedDays) : limit;
          expect(ageDays(d.build)).to.be.at.most(effective);
        }
      }),
      runs,
    );
  });

  it("is stable: applying the plan and planning again deletes nothing more", () => {
    fc.assert(
      fc.property(scenarioArb, ({ builds, policy, aliases }) => {
        const first = planRetention(builds, aliases, policy, NOW);
        const remaining = first.keep.map((d) => d.build);
        expect(planRetention(remaining, aliases, policy, NOW).delete).to.be.empty;
      }),
      runs,
    );
  });
});
