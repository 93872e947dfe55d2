/**
 * Where StarlingX's tools download third-party content from: the farm's Pulp mirror (pulp_deb
 * remotes with policy on_demand, declared in services.pulp.mirrors) wherever the tools take a
 * URL for it, so each package is fetched from the Internet once per farm.
 */
import { MirrorSettings } from "../settings/services";
import { DownloadSettings } from "./contract";

/** The StarlingX mirror (starlingx/tools import-stx: STX_MIRROR_URL default). */
export const STX_MIRROR_URL = "https://mirror.starlingx.windriver.com/mirror";
export const DEBIAN_DISTRIBUTION = "trixie";
const PULP_CONTENT_PORT = 24816;

/**
 * DEBIAN_SNAPSHOT and DEBIAN_SECURITY_SNAPSHOT point at Pulp's distributions of the declared
 * mirrors for the distribution; STX_MIRROR_URL stays upstream: pulp_file can only mirror a
 * directory that publishes a PULP_MANIFEST, which the StarlingX mirror does not.
 */
export function downloadSettings(mirrors: readonly MirrorSettings[], sharedNamespace: string, distribution = DEBIAN_DISTRIBUTION): DownloadSettings {
  const content = `http://pulp-content.${sharedNamespace}.svc:${PULP_CONTENT_PORT}/pulp/content`;
  const find = (url: string) =>
    mirrors.find((m) => m.type === "deb" && m.url.startsWith(url) && (m.distributions ?? "").split(/\s+/).includes(url.includes("security") ? `${distribution}-security` : distribution));
  const through = (mirror: MirrorSettings | undefined, upstream: string) =>
    mirror ? `${content}/${mirror.basePath ?? `mirror/${mirror.name}`}` : upstream;
  return {
    debianSnapshot: through(find("http://deb.debian.org/debian"), "http://deb.debian.org/debian"),
    debianSecuritySnapshot: through(find("http://security.debian.org/debian-security"), "http://security.debian.org/debian-security"),
    debianDistribution: distribution,
    stxMirrorUrl: STX_MIRROR_URL,
  };
}
