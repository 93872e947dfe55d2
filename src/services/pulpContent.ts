/**
 * Pulp content as code: the mirrors declared in stack config, turned into the spec the converge
 * script (src/services/pulp_content.py) applies through Pulp's REST API, and a hash of it that
 * names the Job, so a changed declaration runs the Job again and an unchanged one does not.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { MirrorSettings } from "../settings/services";

/** Every third-party mirror's Pulp objects are named with this prefix; retention skips them. */
export const MIRROR_PREFIX = "mirror-";
/** And carry this pulp_label, for tools that select by label rather than by name. */
export const RETENTION_LABEL = "stx_retention";
export const KEEP_FOREVER = "forever";

export interface PulpMirrorSpec {
  /** Name of the remote, repository and distribution in Pulp ("mirror-<name>"). */
  readonly name: string;
  readonly type: "deb" | "file";
  readonly remote: Readonly<Record<string, string | boolean>>;
  readonly basePath: string;
  /** deb: publish upstream's signed metadata unchanged (pulp_deb verbatim publication). */
  readonly verbatim: boolean;
  readonly labels: Readonly<Record<string, string>>;
}

export interface PulpContentSpec {
  readonly mirrors: readonly PulpMirrorSpec[];
}

export function contentSpec(mirrors: readonly MirrorSettings[]): PulpContentSpec {
  return { mirrors: mirrors.map(mirrorSpec) };
}

function mirrorSpec(m: MirrorSettings): PulpMirrorSpec {
  const name = `${MIRROR_PREFIX}${m.name}`;
  const remote: Record<string, string | boolean> = { url: m.url, policy: m.policy };
  if (m.type === "deb") {
    if (!m.distributions) throw new Error(`mirror "${m.name}": a deb mirror needs distributions`);
    remote.distributions = m.distributions;
    if (m.components) remote.components = m.components;
    if (m.architectures) remote.architectures = m.architectures;
    remote.sync_udebs = false;
  }
  return {
    name,
    type: m.type,
    remote,
    basePath: m.basePath ?? `mirror/${m.name}`,
    verbatim: m.type === "deb" && m.verbatim === true,
    labels: { [RETENTION_LABEL]: KEEP_FOREVER, stx_managed_by: "stx-build-cluster" },
  };
}

/** A short, stable hash of the spec and the script: the Job's name changes exactly when either does. */
export function contentHash(spec: PulpContentSpec, script: string): string {
  return createHash("sha256").update(canonicalJson(spec)).update("\0").update(script).digest("hex").slice(0, 10);
}

/** JSON with object keys sorted, so equal specs always give the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value as Record<string, unknown>).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The converge script's text; it sits beside this file in src/services, whether run from TypeScript or from bin/. */
export function convergeScript(): string {
  const candidates = [
    path.join(__dirname, "pulp_content.py"),
    path.join(__dirname, "..", "..", "..", "src", "services", "pulp_content.py"),
  ];
  const found = candidates.find((file) => fs.existsSync(file));
  if (!found) throw new Error(`pulp_content.py not found (looked in ${candidates.join(", ")})`);
  return fs.readFileSync(found, "utf8");
}
