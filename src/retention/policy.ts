/**
 * The retention policy as a pure function: the builds found in the object store and the
 * configured limits in, the exact builds to delete (and to keep) with a reason for each out.
 *
 * Rules, in the order they are applied to each build:
 * 1. the build a `latest_build` alias points at is kept;
 * 2. the `keepSuccessful` newest successful builds of each series (release-id + distro) are kept;
 * 3. a class kept "forever" keeps every build of it, whatever its result;
 * 4. a failed build is deleted once older than `failedDays` (or its class limit, if shorter);
 * 5. a successful build, or one with no result marker yet (running, or died without one), is
 *    deleted once older than its class limit; an unmarked build is never deleted while younger.
 * Builds are the only thing this considers: keys outside the layout never reach it.
 */
import { BuildRef, BuildResult, RELEASE_CLASSES, ReleaseClass, releaseClass, parseBuildDate, seriesKey } from "../artifacts";

/** Days, or "forever". */
export type RetentionPeriod = number | "forever";

/** The configured policy (the `retention` settings of a stack, without schedules). */
export interface RetentionPolicy {
  /** Age limit per release class. */
  readonly days: Readonly<Record<ReleaseClass, RetentionPeriod>>;
  /** Failed builds of classes with a finite limit go after this many days (if sooner). */
  readonly failedDays: number;
  /** The newest successful builds of every series kept whatever their age. */
  readonly keepSuccessful: number;
}

/** A build as found in the object store. */
export interface FoundBuild extends BuildRef {
  /** Its result marker; undefined when it has none (still running, or died). */
  readonly result?: BuildResult;
}

/** Why a build stays or goes. */
export type Verdict =
  | "latest-build"
  | "newest-successful"
  | "kept-forever"
  | "young"
  | "expired"
  | "failed-expired";

export interface Decision {
  readonly build: FoundBuild;
  readonly action: "keep" | "delete";
  readonly verdict: Verdict;
  /** One sentence for the log. */
  readonly reason: string;
}

export interface RetentionPlan {
  readonly keep: readonly Decision[];
  readonly delete: readonly Decision[];
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Raised for a policy that must not run; the message names the setting. */
export class PolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PolicyError";
  }
}

/** Every problem of a policy (empty when it may run), one line each naming the setting. */
export function policyProblems(policy: RetentionPolicy): string[] {
  const problems: string[] = [];
  const isDays = (value: unknown) => typeof value === "number" && Number.isInteger(value) && value >= 1;
  for (const cls of RELEASE_CLASSES) {
    const value = policy.days?.[cls];
    if (value !== "forever" && !isDays(value)) {
      problems.push(`retention.days.${cls} is ${JSON.stringify(value)}; it must be a whole number of days (1 or more) or "forever"`);
    }
  }
  if (!isDays(policy.failedDays)) {
    problems.push(`retention.failedDays is ${JSON.stringify(policy.failedDays)}; it must be a whole number of days (1 or more)`);
  }
  if (!isDays(policy.keepSuccessful)) {
    problems.push(
      `retention.keepSuccessful is ${JSON.stringify(policy.keepSuccessful)}; it must be 1 or more, ` +
        "otherwise the policy could keep nothing, not even the newest successful build",
    );
  }
  return problems;
}

/** Throws a PolicyError listing every problem of `policy`. */
export function checkPolicy(policy: RetentionPolicy): RetentionPolicy {
  const problems = policyProblems(policy);
  if (problems.length > 0) throw new PolicyError(`refusing to apply the retention policy:\n  - ${problems.join("\n  - ")}`);
  return policy;
}

/**
 * Decides every build. `aliases` maps a series (`<release-id>/<distro>`) to the build-date its
 * `latest_build` alias holds. `now` is the time the decision is taken at.
 */
export function planRetention(
  builds: readonly FoundBuild[],
  aliases: ReadonlyMap<string, string>,
  policy: RetentionPolicy,
  now: Date,
): RetentionPlan {
  checkPolicy(policy);
  const protectedNewest = newestSuccessful(builds, policy.keepSuccessful);
  const decisions = builds.map((build) => decide(build, aliases, protectedNewest, policy, now));
  const plan = {
    keep: decisions.filter((d) => d.action === "keep"),
    delete: decisions.filter((d) => d.action === "delete"),
  };
  assertKeepsSomething(builds, plan);
  return plan;
}

function decide(
  build: FoundBuild,
  aliases: ReadonlyMap<string, string>,
  protectedNewest: ReadonlySet<FoundBuild>,
  policy: RetentionPolicy,
  now: Date,
): Decision {
  const cls = releaseClass(build.releaseId);
  const keep = (verdict: Verdict, reason: string): Decision => ({ build, action: "keep", verdict, reason });
  const drop = (verdict: Verdict, reason: string): Decision => ({ build, action: "delete", verdict, reason });

  if (aliases.get(seriesKey(build)) === build.buildDate) {
    return keep("latest-build", `latest_build of ${seriesKey(build)} points at it`);
  }
  if (protectedNewest.has(build)) {
    return keep("newest-successful", `one of the ${policy.keepSuccessful} newest successful builds of ${seriesKey(build)}`);
  }
  const limit = policy.days[cls];
  if (limit === "forever") return keep("kept-forever", `${cls} builds are kept forever`);

  const ageDays = (now.getTime() - parseBuildDate(build.buildDate).getTime()) / DAY_MS;
  const age = `${Math.floor(Math.max(ageDays, 0))} days old`;
  if (build.result === "fail") {
    const failedLimit = Math.min(limit, policy.failedDays);
    return ageDays > failedLimit
      ? drop("failed-expired", `failed ${cls} build ${age}; failed builds are kept ${failedLimit} days`)
      : keep("young", `failed ${cls} build ${age}, within ${failedLimit} days`);
  }
  const what = build.result === "success" ? "successful" : "unfinished (no result marker)";
  return ageDays > limit
    ? drop("expired", `${what} ${cls} build ${age}; ${cls} builds are kept ${limit} days`)
    : keep("young", `${what} ${cls} build ${age}, within ${limit} days`);
}

/** The `count` newest successful builds of every series. */
function newestSuccessful(builds: readonly FoundBuild[], count: number): Set<FoundBuild> {
  const bySeries = new Map<string, FoundBuild[]>();
  for (const build of builds) {
    if (build.result !== "success") continue;
    const list = bySeries.get(seriesKey(build)) ?? [];
    list.push(build);
    bySeries.set(seriesKey(build), list);
  }
  const kept = new Set<FoundBuild>();
  for (const list of bySeries.values()) {
    // build-dates sort chronologically as text.
    list.sort((a, b) => (a.buildDate < b.buildDate ? 1 : a.buildDate > b.buildDate ? -1 : 0));
    list.slice(0, count).forEach((b) => kept.add(b));
  }
  return kept;
}

/** A last guard against a bug above: every series with a successful build keeps one. */
function assertKeepsSomething(builds: readonly FoundBuild[], plan: RetentionPlan): void {
  const keptSeries = new Set(plan.keep.filter((d) => d.build.result === "success").map((d) => seriesKey(d.build)));
  for (const build of builds) {
    if (build.result === "success" && !keptSeries.has(seriesKey(build))) {
      throw new PolicyError(`refusing a plan that deletes every successful build of ${seriesKey(build)}`);
    }
  }
}

/** Counts per verdict, for the summary line. */
export function summarizePlan(plan: RetentionPlan): Record<Verdict, number> {
  const counts: Record<Verdict, number> = {
    "latest-build": 0,
    "newest-successful": 0,
    "kept-forever": 0,
    young: 0,
    expired: 0,
    "failed-expired": 0,
  };
  for (const d of [...plan.keep, ...plan.delete]) counts[d.verdict] += 1;
  return counts;
}
