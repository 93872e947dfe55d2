/**
 * The artifact layout of the object store (StarlingX "Host Build Artifacts", seed 003), as pure
 * functions. Every program that writes or deletes build artifacts goes through this module, so the
 * pipeline that publishes a build and the retention job that removes it agree on every key.
 *
 *     <release-id>/<distro>/<build-date>/outputs/<type>...   packages per phase (std, rt), iso/,
 *                                                            installer/, wheels/, helm-charts/,
 *                                                            logs/, CONTEXT, and the result marker
 *     <release-id>/<distro>/<build-date>/inputs/<type>...    what the build consumed
 *     <release-id>/<distro>/latest_build                     alias: a small object holding the
 *                                                            build-date of the last successful build
 *
 * - release-id: `master`, `feature/<name>`, `release/<name>`, `milestone/<tag>`, or
 *   `private/<user>/<name>` for an individual's private builds;
 * - distro: lower-case letters, digits and '-' (e.g. `debian`);
 * - build-date: the UTC start time as `YYYYMMDDTHHMMSSZ`;
 * - the result marker is an empty object named `success` or `fail` directly under `outputs/`.
 *
 * Object stores have no symlinks, hence the alias object. Keys outside this grammar (third-party
 * mirrors, anything else) are not builds: `parseBuildKey` returns undefined for them, and nothing
 * in this project deletes what it does not recognise.
 */
import { createHash } from "crypto";

/** Release classes: each has its own retention period. */
export const RELEASE_CLASSES = ["master", "release", "milestone", "feature", "private"] as const;
export type ReleaseClass = (typeof RELEASE_CLASSES)[number];

/** The result a build records when it ends. A build without a marker is running (or died). */
export const BUILD_RESULTS = ["success", "fail"] as const;
export type BuildResult = (typeof BUILD_RESULTS)[number];

/** The two halves of a build prefix. */
export const BUILD_SECTIONS = ["outputs", "inputs"] as const;
export type BuildSection = (typeof BUILD_SECTIONS)[number];

/** File name of the alias object under `<release-id>/<distro>/`. */
export const LATEST_BUILD = "latest_build";
/** File name of the build context (manifest revisions, parameters) under `outputs/`. */
export const CONTEXT_FILE = "CONTEXT";
/** Label on every PipelineRun of a build: its `buildId`. Retention deletes runs by it. */
export const BUILD_ID_LABEL = "stx.starlingx.io/build-id";
/** Kinds of output a build publishes under `outputs/` (a directory each). */
export const OUTPUT_TYPES = ["std", "rt", "iso", "installer", "wheels", "images", "helm-charts", "logs"] as const;
export type OutputType = (typeof OUTPUT_TYPES)[number];

/** One build: where it is published and when it started. */
export interface BuildRef {
  readonly releaseId: string;
  readonly distro: string;
  /** `YYYYMMDDTHHMMSSZ`, UTC. */
  readonly buildDate: string;
}

/** A name segment of a release-id: starts with a letter or digit, then letters, digits, '.', '_', '-'. */
const SEGMENT = "[A-Za-z0-9][A-Za-z0-9._-]*";
const USER = "[a-z]([-a-z0-9]{0,38}[a-z0-9])?";
const RELEASE_ID = new RegExp(`^(master|(feature|release|milestone)/${SEGMENT}|private/${USER}/${SEGMENT})$`);
const DISTRO = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const BUILD_DATE = /^([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})Z$/;

/**
 * The grammar as POSIX extended regular expressions (no `\d`, no lookaround), so the shell twin
 * of this module (src/build/layout.ts) checks the same grammar with `grep -E`.
 */
export const LAYOUT_PATTERNS = { releaseId: RELEASE_ID.source, distro: DISTRO.source, buildDate: BUILD_DATE.source } as const;

export const RELEASE_ID_HELP =
  '"master", "feature/<name>", "release/<name>", "milestone/<tag>" or "private/<user>/<name>"';

/** True when `text` is a release-id of the layout. */
export function isReleaseId(text: string): boolean {
  return RELEASE_ID.test(text) && !text.split("/").some((s) => s === "." || s === "..");
}

/** True when `text` is a distro name of the layout. */
export function isDistro(text: string): boolean {
  return DISTRO.test(text);
}

/** The release class of a release-id; throws for anything that is not one. */
export function releaseClass(releaseId: string): ReleaseClass {
  if (!isReleaseId(releaseId)) throw new Error(`"${releaseId}" is not a release-id; expected ${RELEASE_ID_HELP}`);
  return releaseId === "master" ? "master" : (releaseId.split("/")[0] as ReleaseClass);
}

/**
 * Where builds of a git branch are published: `master` → master, `r/stx.9.0` → release/stx.9.0,
 * `f/foo` → feature/foo, anything else → feature/<slug of the branch>. By that convention `foo`
 * and `f/foo` share feature/foo; every other pair of distinct branches gets distinct release-ids.
 * (A project branch can always name its release-id explicitly in the stack config.)
 */
export function releaseIdForBranch(branch: string): string {
  if (branch === "master") return "master";
  const release = /^r\/(.+)$/.exec(branch);
  if (release && isReleaseId(`release/${release[1]}`)) return `release/${release[1]}`;
  const feature = /^f\/(.+)$/.exec(branch);
  if (feature && isReleaseId(`feature/${feature[1]}`)) return `feature/${feature[1]}`;
  const slug = branch
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .replace(/^[^A-Za-z0-9]+/, "")
    .replace(/-+$/, "");
  // A slug loses information ("a/b" and "a-b" meet); a short hash of the exact branch keeps them
  // apart. A branch that already ends like such a hash is hashed too, so the two forms never meet.
  const hash = createHash("sha256").update(branch).digest("hex").slice(0, 8);
  const readable = slug === branch && !/-[0-9a-f]{8}$/.test(slug);
  return readable ? `feature/${slug}` : `feature/${slug ? `${slug}-` : ""}${hash}`;
}

/** The release-id of a user's private build of `name` (a branch or topic): `private/<user>/<name>`. */
export function privateReleaseId(user: string, name: string): string {
  const id = `private/${user}/${name}`;
  if (!isReleaseId(id)) {
    throw new Error(`"${id}" is not a private release-id; the user must be a configured user name and the name letters, digits, '.', '_' or '-'`);
  }
  return id;
}

/**
 * A run in a user's namespace (`user-<name>`) may publish only under `private/<name>/`, so a
 * private build can never replace a branch's artifacts or move its latest_build.
 */
export function releaseIdAllowedIn(namespace: string, releaseId: string): boolean {
  if (!namespace.startsWith("user-")) return true;
  return releaseId.startsWith(`private/${namespace.slice("user-".length)}/`);
}

/** `YYYYMMDDTHHMMSSZ` of a time, in UTC (milliseconds are dropped). */
export function formatBuildDate(time: Date): string {
  if (Number.isNaN(time.getTime())) throw new Error("invalid date");
  return time.toISOString().replace(/\.\d{3}Z$/, "Z").replace(/[-:]/g, "");
}

/** The time of a `YYYYMMDDTHHMMSSZ` build-date; throws when it is not a real UTC time. */
export function parseBuildDate(text: string): Date {
  const time = tryParseBuildDate(text);
  if (!time) throw new Error(`"${text}" is not a build-date; expected YYYYMMDDTHHMMSSZ (UTC)`);
  return time;
}

/** Like parseBuildDate, but undefined instead of an error. */
export function tryParseBuildDate(text: string): Date | undefined {
  const m = BUILD_DATE.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number);
  const time = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  // Date.UTC rolls "20260231" over into March; a real date round-trips exactly.
  return formatBuildDate(time) === text ? time : undefined;
}

/** Throws unless `build` fits the layout. */
export function checkBuildRef(build: BuildRef): BuildRef {
  releaseClass(build.releaseId);
  if (!isDistro(build.distro)) throw new Error(`"${build.distro}" is not a distro name (lower-case letters, digits and '-')`);
  parseBuildDate(build.buildDate);
  return build;
}

/** `<release-id>/<distro>/<build-date>/`: every object of the build starts with it. */
export function buildPrefix(build: BuildRef): string {
  checkBuildRef(build);
  return `${build.releaseId}/${build.distro}/${build.buildDate}/`;
}

/** `<release-id>/<distro>/<build-date>/outputs/` or `.../inputs/`. */
export function sectionPrefix(build: BuildRef, section: BuildSection): string {
  return `${buildPrefix(build)}${section}/`;
}

/** Key of the build's result marker. */
export function markerKey(build: BuildRef, result: BuildResult): string {
  return `${sectionPrefix(build, "outputs")}${result}`;
}

/** Key of the build's CONTEXT file. */
export function contextKey(build: BuildRef): string {
  return `${sectionPrefix(build, "outputs")}${CONTEXT_FILE}`;
}

/** Key of the `latest_build` alias of a release-id and distro; its body is a build-date. */
export function latestBuildKey(releaseId: string, distro: string): string {
  releaseClass(releaseId);
  if (!isDistro(distro)) throw new Error(`"${distro}" is not a distro name`);
  return `${releaseId}/${distro}/${LATEST_BUILD}`;
}

/** The build-date held by an alias object's body (whitespace around it is ignored). */
export function parseLatestBuild(body: string): string | undefined {
  const text = body.trim();
  return tryParseBuildDate(text) ? text : undefined;
}

/** What an object key means in the layout. */
export type ParsedKey =
  | { readonly kind: "build"; readonly build: BuildRef; readonly section: BuildSection; readonly path: string }
  | { readonly kind: "alias"; readonly releaseId: string; readonly distro: string };

/**
 * What `key` is: an object of a build (with its section and the path below it), an alias, or
 * undefined for anything outside the layout, which callers must leave alone.
 */
export function parseKey(key: string): ParsedKey | undefined {
  const parts = key.split("/");
  // release-ids have one, two or three segments; try each split that leaves distro and the rest.
  for (const length of [1, 2, 3]) {
    const releaseId = parts.slice(0, length).join("/");
    if (!isReleaseId(releaseId)) continue;
    const [distro, third, section, ...rest] = parts.slice(length);
    if (distro === undefined || !isDistro(distro)) continue;
    if (third === LATEST_BUILD && section === undefined) return { kind: "alias", releaseId, distro };
    if (third === undefined || !tryParseBuildDate(third)) continue;
    if (!BUILD_SECTIONS.includes(section as BuildSection) || rest.length === 0 || rest.some((p) => p === "" || p === "." || p === "..")) continue;
    return { kind: "build", build: { releaseId, distro, buildDate: third }, section: section as BuildSection, path: rest.join("/") };
  }
  return undefined;
}

/** The result a key records, when it is a build's marker object. */
export function markerResult(parsed: ParsedKey): BuildResult | undefined {
  if (parsed.kind !== "build" || parsed.section !== "outputs") return undefined;
  return BUILD_RESULTS.find((r) => r === parsed.path);
}

/** `<release-id>/<distro>`: the series a build belongs to (the scope of its latest_build alias). */
export function seriesKey(build: Pick<BuildRef, "releaseId" | "distro">): string {
  return `${build.releaseId}/${build.distro}`;
}

/** A build id fits a label value (63); a longer one keeps its start and ends in `-<hash>` of this length. */
export const BUILD_ID_SHAPE = { maxLength: 63, hashLength: 12 } as const;
const PHASE = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/**
 * The build's identity outside the object store: Kubernetes label value on its PipelineRuns
 * (`BUILD_ID_LABEL`) and the name (or name prefix, see `isBuildPulpName`) of its Pulp
 * repositories and distributions. `<release-id with '/' as '.'>_<distro>_<build-date>`, e.g.
 * `release.stx.9.0_debian_20260301T020000Z`; too long for a label value (63), it keeps the
 * first part and ends in a hash of the full id so it stays unique. It never starts with
 * `mirror-` (a release-id starts with master, feature, release, milestone or private), so
 * third-party mirrors can never be taken for a build's content.
 */
export function buildId(build: BuildRef): string {
  checkBuildRef(build);
  const readable = `${build.releaseId.replace(/\//g, ".")}_${build.distro}_${build.buildDate}`;
  if (readable.length <= BUILD_ID_SHAPE.maxLength) return readable;
  const hash = createHash("sha256").update(readable).digest("hex").slice(0, BUILD_ID_SHAPE.hashLength);
  return `${readable.slice(0, BUILD_ID_SHAPE.maxLength - BUILD_ID_SHAPE.hashLength - 1)}-${hash}`;
}

/** The label selector of the build's PipelineRuns. */
export function buildRunSelector(build: BuildRef): string {
  return `${BUILD_ID_LABEL}=${buildId(build)}`;
}

/** Name of the Pulp repository (and distribution) holding one phase (`std`, `rt`, ...) of the build's packages. */
export function buildPulpName(build: BuildRef, phase: string): string {
  if (!PHASE.test(phase)) throw new Error(`"${phase}" is not a build phase (lower-case letters and digits, '-' between)`);
  return `${buildId(build)}-${phase}`;
}

/** True when a Pulp repository or distribution named `name` belongs to the build: its id, or `<id>-<phase>`. */
export function isBuildPulpName(build: BuildRef, name: string): boolean {
  const id = buildId(build);
  if (name === id) return true;
  return name.startsWith(`${id}-`) && PHASE.test(name.slice(id.length + 1));
}
