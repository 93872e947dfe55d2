/**
 * Where a build publishes, as the pipeline computes it. This is the minimal subset of the artifact
 * layout the pipeline needs (`<release-id>/<distro>/<YYYYMMDDTHHMMSSZ>/outputs/...`, the `success` /
 * `fail` marker, the `latest_build` alias holding the build-date of the last good build); it
 * follows src/artifacts.ts (issue #5) key for key so the two can be unified into one module.
 *
 * The same rules are emitted as shell (`LAYOUT_SHELL`) for the publish steps that run in the
 * cluster; a unit test runs that shell and compares its keys with these functions.
 */
import { createHash } from "crypto";

export const LATEST_BUILD = "latest_build";
export const CONTEXT_FILE = "CONTEXT";
export const RESULT_MARKERS = { success: "success", fail: "fail" } as const;
/** Kinds of output a build publishes under `outputs/`. */
export const OUTPUT_TYPES = ["std", "rt", "iso", "installer", "wheels", "images", "helm-charts", "logs"] as const;
export type OutputType = (typeof OUTPUT_TYPES)[number];

const SEGMENT = "[A-Za-z0-9][A-Za-z0-9._-]*";
const USER = "[a-z]([-a-z0-9]{0,38}[a-z0-9])?";
const RELEASE_ID = new RegExp(`^(master|(feature|release|milestone)/${SEGMENT}|private/${USER}/${SEGMENT})$`);
const DISTRO = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const BUILD_DATE = /^[0-9]{8}T[0-9]{6}Z$/;

export interface BuildLocation {
  readonly releaseId: string;
  readonly distro: string;
  /** UTC start time, `YYYYMMDDTHHMMSSZ`. */
  readonly buildDate: string;
}

/** Where builds of a git branch are published: master, r/<x> → release/<x>, f/<x> → feature/<x>, else feature/<slug>[-hash]. */
export function releaseIdForBranch(branch: string): string {
  if (branch === "master") return "master";
  const release = /^r\/(.+)$/.exec(branch);
  if (release && RELEASE_ID.test(`release/${release[1]}`)) return `release/${release[1]}`;
  const feature = /^f\/(.+)$/.exec(branch);
  if (feature && RELEASE_ID.test(`feature/${feature[1]}`)) return `feature/${feature[1]}`;
  const slug = branch.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[^A-Za-z0-9]+/, "").replace(/-+$/, "");
  const hash = createHash("sha256").update(branch).digest("hex").slice(0, 8);
  return slug === branch ? `feature/${slug}` : `feature/${slug ? `${slug}-` : ""}${hash}`;
}

/** The release-id of a user's private build of `name` (a branch or topic): `private/<user>/<name>`. */
export function privateReleaseId(user: string, name: string): string {
  const id = `private/${user}/${name}`;
  if (!RELEASE_ID.test(id)) {
    throw new Error(`"${id}" is not a private release-id; the user must be a configured user name and the name letters, digits, '.', '_' or '-'`);
  }
  return id;
}

/** `YYYYMMDDTHHMMSSZ` of a time in UTC. */
export function formatBuildDate(time: Date): string {
  if (Number.isNaN(time.getTime())) throw new Error("invalid date");
  return time.toISOString().replace(/\.\d{3}Z$/, "Z").replace(/[-:]/g, "");
}

/** Throws with the offending part unless the location fits the layout. */
export function checkLocation(location: BuildLocation): BuildLocation {
  if (!RELEASE_ID.test(location.releaseId) || location.releaseId.split("/").some((s) => s === "." || s === "..")) {
    throw new Error(`"${location.releaseId}" is not a release-id; expected "master", "feature/<name>", "release/<name>", "milestone/<tag>" or "private/<user>/<name>"`);
  }
  if (!DISTRO.test(location.distro)) throw new Error(`"${location.distro}" is not a distro name (lower-case letters, digits and '-')`);
  if (!BUILD_DATE.test(location.buildDate)) throw new Error(`"${location.buildDate}" is not a build-date; expected YYYYMMDDTHHMMSSZ (UTC)`);
  return location;
}

/** `<release-id>/<distro>/<build-date>/`: every object of the build starts with it, so each build has its own path. */
export function buildPrefix(location: BuildLocation): string {
  checkLocation(location);
  return `${location.releaseId}/${location.distro}/${location.buildDate}/`;
}

export function outputsKey(location: BuildLocation, type: OutputType | typeof CONTEXT_FILE): string {
  return `${buildPrefix(location)}outputs/${type}`;
}

export function markerKey(location: BuildLocation, result: keyof typeof RESULT_MARKERS): string {
  return `${buildPrefix(location)}outputs/${RESULT_MARKERS[result]}`;
}

export function latestBuildKey(location: Pick<BuildLocation, "releaseId" | "distro">): string {
  return `${location.releaseId}/${location.distro}/${LATEST_BUILD}`;
}

/**
 * What the finally step writes: the marker always, the alias only after a success (it never moves
 * to a failed or half-published build).
 */
export function publicationPlan(location: BuildLocation, succeeded: boolean): { key: string; body: string }[] {
  const objects = [{ key: markerKey(location, succeeded ? "success" : "fail"), body: "" }];
  if (succeeded) objects.push({ key: latestBuildKey(location), body: `${location.buildDate}\n` });
  return objects;
}

/**
 * A run in a user's namespace (`user-<name>`) may publish only under `private/<name>/`, so a
 * private build can never replace a branch's artifacts or move its latest_build.
 */
export function releaseIdAllowedIn(namespace: string, releaseId: string): boolean {
  if (!namespace.startsWith("user-")) return true;
  return releaseId.startsWith(`private/${namespace.slice("user-".length)}/`);
}

/**
 * The same layout as POSIX shell functions, for the steps that run in the cluster. Inputs are
 * environment variables RELEASE_ID, DISTRO and BUILD_DATE; BUILD_DATE comes from `stx_build_date`
 * (optionally from BUILD_EPOCH, seconds, for reproducible tests).
 */
export const LAYOUT_SHELL = `
stx_build_date() { if [ -n "\${BUILD_EPOCH:-}" ]; then date -u -d "@\${BUILD_EPOCH}" +%Y%m%dT%H%M%SZ; else date -u +%Y%m%dT%H%M%SZ; fi; }
stx_check_location() {
  echo "\${RELEASE_ID}" | grep -Eq '${RELEASE_ID.source}' || { echo "bad RELEASE_ID '\${RELEASE_ID}'" >&2; return 1; }
  case "/\${RELEASE_ID}/" in */./*|*/../*) echo "bad RELEASE_ID '\${RELEASE_ID}'" >&2; return 1;; esac
  echo "\${DISTRO}" | grep -Eq '${DISTRO.source}' || { echo "bad DISTRO '\${DISTRO}'" >&2; return 1; }
  echo "\${BUILD_DATE}" | grep -Eq '${BUILD_DATE.source}' || { echo "bad BUILD_DATE '\${BUILD_DATE}'" >&2; return 1; }
}
stx_build_prefix() { stx_check_location && printf '%s/%s/%s/' "\${RELEASE_ID}" "\${DISTRO}" "\${BUILD_DATE}"; }
stx_outputs_key() { printf '%soutputs/%s' "$(stx_build_prefix)" "$1"; }
stx_marker_key() { printf '%soutputs/%s' "$(stx_build_prefix)" "$1"; }
stx_latest_build_key() { printf '%s/%s/${LATEST_BUILD}' "\${RELEASE_ID}" "\${DISTRO}"; }
stx_check_namespace() {
  case "\${RUN_NAMESPACE:-}" in
    user-*) case "\${RELEASE_ID}" in
        "private/\${RUN_NAMESPACE#user-}/"*) ;;
        *) echo "runs in \${RUN_NAMESPACE} publish only under private/\${RUN_NAMESPACE#user-}/, not \${RELEASE_ID}" >&2; return 1;;
      esac;;
  esac
}
`.trim();
