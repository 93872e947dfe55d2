/**
 * Kubernetes names derived from user, project and branch names.
 *
 * Every name is a DNS-1123 label (at most 63 characters of [a-z0-9-], starting and ending with an
 * alphanumeric), the same on every run, and distinct for distinct inputs:
 * - an input that is already a clean label is used as it is, so common names stay readable
 *   ("build-starlingx-master");
 * - anything else (upper case, "/", ".", unicode, too long, or a multi-part name whose parts contain
 *   "-") is slugged and suffixed with a hash of the exact input, so "r/stx.9" and "r-stx-9" differ;
 * - a readable name never ends in something that looks like that hash suffix, so the two forms
 *   cannot meet.
 */
import { createHash } from "crypto";

export const MAX_LABEL_LENGTH = 63;
const HASH_LENGTH = 8;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const HASH_SUFFIX = new RegExp(`-[0-9a-f]{${HASH_LENGTH}}$`);
const DASH_FREE_PART = /^[a-z0-9]+$/;

/** True when `name` is a valid DNS-1123 label. */
export function isDnsLabel(name: string): boolean {
  return name.length <= MAX_LABEL_LENGTH && DNS_LABEL.test(name);
}

/** Kinds of namespace; each has its own prefix so a user and a build never share a name. */
export type TenantKind = "user" | "build";

const PREFIX: Readonly<Record<TenantKind, string>> = { user: "user", build: "build" };

/** The namespace of a user's private builds: "user-<name>". */
export function userNamespace(user: string): string {
  return dnsLabel(PREFIX.user, [user]);
}

/** The namespace of a project's branch builds: "build-<project>-<branch>". */
export function buildNamespace(project: string, branch: string): string {
  return dnsLabel(PREFIX.build, [project, branch]);
}

/**
 * A DNS-1123 label for `prefix` and `parts`, readable when the parts allow it and hashed otherwise.
 * `prefix` must itself be a clean label; it is the caller's fixed vocabulary, not user input.
 */
export function dnsLabel(prefix: string, parts: readonly string[]): string {
  if (!isDnsLabel(prefix)) throw new Error(`naming prefix "${prefix}" is not a DNS-1123 label`);
  if (parts.length === 0) throw new Error("a name needs at least one part");
  const readable = `${prefix}-${parts.join("-")}`;
  if (isReadable(parts) && readable.length <= MAX_LABEL_LENGTH && !HASH_SUFFIX.test(readable)) {
    return readable;
  }
  return hashedLabel(prefix, parts);
}

/** A single part may contain dashes; several parts may not, or "a-b"+"c" would meet "a"+"b-c". */
function isReadable(parts: readonly string[]): boolean {
  if (parts.length === 1) return isDnsLabel(parts[0]);
  return parts.every((part) => DASH_FREE_PART.test(part));
}

function hashedLabel(prefix: string, parts: readonly string[]): string {
  const hash = shortHash(parts);
  const room = MAX_LABEL_LENGTH - prefix.length - HASH_LENGTH - 2;
  const slug = parts.map(slugify).filter((s) => s.length > 0).join("-").slice(0, room).replace(/-+$/, "");
  return slug ? `${prefix}-${slug}-${hash}` : `${prefix}-${hash}`;
}

/** Lower-case ASCII letters and digits, everything else folded to single dashes. */
export function slugify(text: string): string {
  return text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

function shortHash(parts: readonly string[]): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, HASH_LENGTH);
}
