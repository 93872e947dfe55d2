/**
 * Should a scheduled build run? CENGN's daily builds skipped sources that had not changed since
 * the last successful build and forced one build a week; this is that rule, as a pure function
 * with its twin in shell (`DECIDE_SHELL`) for the step that runs in the cluster.
 *
 * The sources are described by a CONTEXT file, one line per git project of the repo manifest:
 *     (cd cgcs-root/stx/config && git checkout -f 0123abcd...)
 * which is also how a user reproduces the exact checkout of a build.
 */

export type Revisions = ReadonlyMap<string, string>;

const CONTEXT_LINE = /^\(cd (\S+) && git checkout -f ([0-9a-f]{7,64})\)$/;

/** One CONTEXT line per project, sorted by path so equal sources give equal files. */
export function formatContext(revisions: Revisions): string {
  return [...revisions.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([path, sha]) => `(cd ${path} && git checkout -f ${sha})\n`)
    .join("");
}

/** The revisions of a CONTEXT file; throws naming the first line that is not one. */
export function parseContext(text: string): Map<string, string> {
  const revisions = new Map<string, string>();
  text.split("\n").forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const match = CONTEXT_LINE.exec(line);
    if (!match) throw new Error(`CONTEXT line ${index + 1} is not "(cd <path> && git checkout -f <sha>)": ${line}`);
    revisions.set(match[1], match[2]);
  });
  return revisions;
}

/** Paths whose revision differs, or that exist on one side only. */
export function changedProjects(current: Revisions, previous: Revisions): string[] {
  const paths = new Set([...current.keys(), ...previous.keys()]);
  return [...paths].filter((p) => current.get(p) !== previous.get(p)).sort();
}

export interface BuildDecisionInput {
  /** "scheduled" runs may be skipped; anything started by hand always builds. */
  readonly trigger: "scheduled" | "manual";
  /** FORCE_BUILD. */
  readonly force: boolean;
  /** Weekday (0 = Sunday) of forced scheduled builds, or "never". */
  readonly forcedWeekday: number | "never";
  /** UTC weekday of this run. */
  readonly weekday: number;
  /** CONTEXT of the checkout just made. */
  readonly current: string;
  /** CONTEXT of the build `latest_build` points at; undefined when there is none yet. */
  readonly lastSuccessful?: string;
}

export interface BuildDecision {
  readonly build: boolean;
  readonly reason: string;
}

export function decideBuild(input: BuildDecisionInput): BuildDecision {
  if (input.trigger === "manual") return { build: true, reason: "started by hand" };
  if (input.force) return { build: true, reason: "FORCE_BUILD is set" };
  if (input.forcedWeekday !== "never" && input.weekday === input.forcedWeekday) {
    return { build: true, reason: "weekly forced build" };
  }
  if (input.lastSuccessful === undefined) return { build: true, reason: "no successful build yet" };
  const changed = changedProjects(parseContext(input.current), parseContext(input.lastSuccessful));
  if (changed.length > 0) return { build: true, reason: `${changed.length} project(s) changed: ${changed.slice(0, 5).join(", ")}` };
  return { build: false, reason: "sources unchanged since the last successful build" };
}

/**
 * Shell twin of decideBuild. Inputs: TRIGGER, FORCE_BUILD ("true"/"false"), FORCED_WEEKDAY (0-6 or
 * "never"), WEEKDAY (optional; `date -u +%w` otherwise), files CURRENT_CONTEXT and LAST_CONTEXT
 * (missing when there is no successful build). Prints "true <reason>" or "false <reason>".
 */
export const DECIDE_SHELL = `
stx_normalise_context() { grep -E '^\\(cd [^ ]+ && git checkout -f [0-9a-f]+\\)$' "$1" | sort -u; }
stx_decide_build() {
  weekday="\${WEEKDAY:-$(date -u +%w)}"
  if [ "\${TRIGGER}" != "scheduled" ]; then echo "true started by hand"; return; fi
  if [ "\${FORCE_BUILD}" = "true" ]; then echo "true FORCE_BUILD is set"; return; fi
  if [ "\${FORCED_WEEKDAY}" = "\${weekday}" ]; then echo "true weekly forced build"; return; fi
  if [ ! -s "\${LAST_CONTEXT}" ]; then echo "true no successful build yet"; return; fi
  if [ "$(stx_normalise_context "\${CURRENT_CONTEXT}")" != "$(stx_normalise_context "\${LAST_CONTEXT}")" ]; then
    echo "true sources changed"; return
  fi
  echo "false sources unchanged since the last successful build"
}
`.trim();
