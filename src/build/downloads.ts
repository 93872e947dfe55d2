/**
 * Where StarlingX's tools download third-party content from. Debian comes from one pinned
 * snapshot per build (upstream's stx.conf: debian_snapshot_base + "/" + debian_snapshot_timestamp,
 * starlingx/tools stx/lib/stx/stx_control.py), through the farm's Pulp when the stack declares a
 * mirror of exactly that snapshot (services.pulp.mirrors, published verbatim so apt checks
 * Debian's own signatures), so each package is fetched from the Internet once per farm.
 */
import { MirrorSettings } from "../settings/services";
import { DownloadSettings } from "./contract";
import { DEBIAN_SNAPSHOT } from "../versions";
import { PULP_CONTENT_PORT } from "../services/sharedNetwork";

/** The StarlingX mirror (starlingx/tools stx.conf.trixie.sample: repomgr.os_mirror_url). */
export const OS_MIRROR_URL = "https://mirror.starlingx.windriver.com/mirror/";
/** Debian's snapshot archive (the upstream alternative named in stx.conf.trixie.sample). */
export const DEBIAN_SNAPSHOT_BASE = "http://snapshot.debian.org/archive/debian";
export const DEBIAN_SECURITY_SNAPSHOT_BASE = "http://snapshot.debian.org/archive/debian-security";
export const DEBIAN_DISTRIBUTION = "trixie";

/** The snapshot URLs of a pin, as stx_control.py joins them. */
export function snapshotUrls(timestamp: string): { debian: string; security: string } {
  if (!/^\d{8}T\d{6}Z$/.test(timestamp)) throw new Error(`debian snapshot "${timestamp}" is not a timestamp YYYYMMDDTHHMMSSZ`);
  return { debian: `${DEBIAN_SNAPSHOT_BASE}/${timestamp}`, security: `${DEBIAN_SECURITY_SNAPSHOT_BASE}/${timestamp}` };
}

/** Pulp's content app as the farm's pods reach it (the path every distribution is under). */
export function pulpContentUrl(sharedNamespace: string): string {
  return `http://pulp-content.${sharedNamespace}.svc:${PULP_CONTENT_PORT}/pulp/content`;
}

const same = (a: string, b: string) => a.replace(/\/+$/, "") === b.replace(/\/+$/, "");

/**
 * DEBIAN_SNAPSHOT and DEBIAN_SECURITY_SNAPSHOT: Pulp's distribution of a declared mirror of the
 * pinned snapshot, else the snapshot itself. OS_MIRROR_URL: Pulp's distribution of a declared
 * file mirror of the StarlingX mirror, else upstream (pulp_file mirrors only directories that
 * publish a PULP_MANIFEST, which the StarlingX mirror does not).
 */
export function downloadSettings(
  mirrors: readonly MirrorSettings[],
  sharedNamespace: string,
  snapshot: string = DEBIAN_SNAPSHOT,
  distribution = DEBIAN_DISTRIBUTION,
): DownloadSettings {
  const content = pulpContentUrl(sharedNamespace);
  const urls = snapshotUrls(snapshot);
  const through = (mirror: MirrorSettings | undefined, upstream: string) =>
    mirror ? `${content}/${mirror.basePath ?? `mirror/${mirror.name}`}` : upstream;
  const deb = (url: string, dist: string) =>
    mirrors.find((m) => m.type === "deb" && same(m.url, url) && (m.distributions ?? "").split(/\s+/).includes(dist));
  const files = mirrors.find((m) => m.type === "file" && same(m.url, OS_MIRROR_URL));
  return {
    debianSnapshot: through(deb(urls.debian, distribution), urls.debian),
    debianSecuritySnapshot: through(deb(urls.security, `${distribution}-security`), urls.security),
    debianDistribution: distribution,
    osMirrorUrl: files ? `${through(files, OS_MIRROR_URL)}/` : OS_MIRROR_URL,
  };
}
