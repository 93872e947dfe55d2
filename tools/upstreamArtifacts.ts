/**
 * Upstream artifacts that tests and tools use but the repository never copies (the exact Jenkins
 * chart, StarlingX's source snapshots). Where one is found, in this order:
 *  1. `../shared/upstream/<file>` beside the clone (this farm lays it out; see its README);
 *  2. `~/.cache/stx-build-cluster/upstream/<file>` (an earlier download, or a copy put there by hand);
 *  3. the official download, when the artifact has one and it answers within a few seconds: checked
 *     against the SHA-256 pinned in src/versions.ts, then kept in that cache.
 * Otherwise the answer names the missing file and why, and the caller skips only what needs it: a
 * clone outside this farm, offline, still runs everything else.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import { CHARTS } from "../src/versions";
import { REPO_ROOT } from "./pulumiCli";

export const SHARED_UPSTREAM_DIR = path.resolve(REPO_ROOT, "..", "shared", "upstream");
export const UPSTREAM_CACHE_DIR = path.join(os.homedir(), ".cache", "stx-build-cluster", "upstream");

/** An upstream file, by the name ../shared/upstream gives it. */
export interface UpstreamArtifact {
  readonly file: string;
  /** How to fetch the official copy, when there is a single-file download of it. */
  readonly download?: { readonly locate: (signal: AbortSignal) => Promise<string>; readonly sha256: string };
}

export type Resolved = { readonly path: string; readonly source: "shared" | "cache" | "download" }
  | { readonly missing: string; readonly reason: string };

/** Each request may take this long: offline, a download fails at once or after this, never hangs a test. */
export const DOWNLOAD_TIMEOUT_MS = 8_000;

/** The official Jenkins chart at the pinned version (helm's way: the repository's index names the archive). */
export const JENKINS_CHART: UpstreamArtifact = {
  file: `jenkins-${CHARTS.jenkins.version}.tgz`,
  download: {
    sha256: CHARTS.jenkins.sha256,
    locate: (signal) => chartArchiveUrl(CHARTS.jenkins.repo, CHARTS.jenkins.chart, CHARTS.jenkins.version, signal),
  },
};

/**
 * StarlingX's snapshots (git archives at a pinned commit): opendev publishes no single-file download
 * of a commit, so they come from ../shared/upstream or the cache only.
 */
export const STARLINGX_SNAPSHOTS = {
  root: { file: "starlingx-root-292f29cb.tar.gz", top: "starlingx-root" },
  tools: { file: "starlingx-tools-52d6081e.tar.gz", top: "starlingx-tools" },
} as const satisfies Record<string, UpstreamArtifact & { top: string }>;

/** Where to look (the tests of this module give their own). */
export interface ArtifactDirs {
  readonly shared: string;
  readonly cache: string;
}
const DEFAULT_DIRS: ArtifactDirs = { shared: SHARED_UPSTREAM_DIR, cache: UPSTREAM_CACHE_DIR };

/** The file where it is already on disk (../shared/upstream, then the cache), without the network. */
export function localArtifact(artifact: UpstreamArtifact, dirs: ArtifactDirs = DEFAULT_DIRS): Resolved {
  const shared = path.join(dirs.shared, artifact.file);
  if (fs.existsSync(shared)) return { path: shared, source: "shared" };
  const cached = path.join(dirs.cache, artifact.file);
  const inCache = fs.existsSync(cached);
  if (inCache && (!artifact.download || sha256File(cached) === artifact.download.sha256)) return { path: cached, source: "cache" };
  const where = inCache ? `not in ${dirs.shared}, and ${cached} differs from the pinned sha256` : `not in ${dirs.shared} nor ${dirs.cache}`;
  return { missing: artifact.file, reason: artifact.download ? where : `${where}, and it has no official single-file download` };
}

const downloads = new Map<string, Promise<Resolved>>();

/** The artifact from disk, else its official download (tried once per process). */
export function upstreamArtifact(artifact: UpstreamArtifact, dirs: ArtifactDirs = DEFAULT_DIRS): Promise<Resolved> {
  const local = localArtifact(artifact, dirs);
  if ("path" in local || !artifact.download) return Promise.resolve(local);
  const key = path.join(dirs.cache, artifact.file);
  let pending = downloads.get(key);
  if (!pending) {
    pending = download(artifact, artifact.download, dirs.cache)
      .catch((e: Error) => ({ missing: artifact.file, reason: `${local.reason}; download failed: ${e.message}` }));
    downloads.set(key, pending);
  }
  return pending;
}

/** One line for a skipped test: which file, and where it was looked for. */
export function missingMessage(resolved: Resolved): string | undefined {
  return "missing" in resolved ? `upstream file ${resolved.missing} is missing (${resolved.reason})` : undefined;
}

async function download(artifact: UpstreamArtifact, how: NonNullable<UpstreamArtifact["download"]>, cache: string): Promise<Resolved> {
  const url = await how.locate(AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS));
  const body = Buffer.from(await (await fetchOk(url, AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS))).arrayBuffer());
  const got = sha256Hex(body);
  if (got !== how.sha256) throw new Error(`${url} has sha256 ${got}, src/versions.ts pins ${how.sha256}`);
  fs.mkdirSync(cache, { recursive: true });
  const target = path.join(cache, artifact.file);
  // Written aside and renamed, so a run killed mid-write never leaves a partial file to be trusted.
  const partial = `${target}.${process.pid}.partial`;
  fs.writeFileSync(partial, body);
  fs.renameSync(partial, target);
  return { path: target, source: "download" };
}

/** The archive URL a Helm repository's index.yaml gives for one chart version (relative URLs resolved). */
export async function chartArchiveUrl(repo: string, chart: string, version: string, signal: AbortSignal): Promise<string> {
  const indexUrl = `${repo.replace(/\/$/, "")}/index.yaml`;
  const index = yaml.load(await (await fetchOk(indexUrl, signal)).text()) as { entries?: Record<string, { version: string; urls?: string[] }[]> };
  const url = index.entries?.[chart]?.find((e) => e.version === version)?.urls?.[0];
  if (!url) throw new Error(`${indexUrl} lists no ${chart} ${version}`);
  return new URL(url, `${indexUrl}`).toString();
}

async function fetchOk(url: string, signal: AbortSignal): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, { signal });
  } catch (e) {
    // fetch's own message is only "fetch failed"; the cause says why (no DNS, refused, timeout).
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`${url}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
  }
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response;
}

const sha256Hex = (data: Buffer) => crypto.createHash("sha256").update(data).digest("hex");
const sha256File = (file: string) => sha256Hex(fs.readFileSync(file));
