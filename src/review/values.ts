/**
 * Property paths and values of a preview, as the rendered plan shows them: secrets never, and
 * everything escaped, since the values come from the change under review.
 */

export const SECRET = "[secret]";

/** Property names whose values are credentials wherever they appear. */
const SENSITIVE_KEY = /(password|passwd|token|secret|private.?key|access.?key|credential|htpasswd)/i;

/**
 * The segments of a detailedDiff path: `spec.hard["requests.cpu"]` → ["spec", "hard", "requests.cpu"],
 * `spec.containers[0].image` → ["spec", "containers", "0", "image"].
 */
export function parsePropertyPath(path: string): string[] {
  const segments: string[] = [];
  const pattern = /([^.[\]]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]/g;
  for (const match of path.matchAll(pattern)) segments.push(match[1] ?? match[2] ?? JSON.parse(`"${match[3]}"`));
  return segments;
}

/** The value at `path` in `root`, undefined when absent. */
export function valueAt(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const segment of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}

/** True when everything at `path` of a resource of `type` is a credential. */
export function isSecretPath(type: string, path: readonly string[]): boolean {
  if (type.startsWith("random:")) return true;
  if (type === "kubernetes:core/v1:Secret" && (path[0] === "data" || path[0] === "stringData")) return true;
  return path.some((segment) => SENSITIVE_KEY.test(segment));
}

/** `value` with every credential in it (by path, or already blinded by Pulumi) replaced by "[secret]". */
export function redact(type: string, path: readonly string[], value: unknown): unknown {
  if (value === undefined) return undefined;
  if (isSecretPath(type, path)) return SECRET;
  if (Array.isArray(value)) return value.map((v, i) => redact(type, [...path, String(i)], v));
  if (value !== null && typeof value === "object") {
    if (isPulumiSecret(value)) return SECRET;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(type, [...path, k], v)]));
  }
  return value;
}

/** Pulumi's own secret envelope (state files; the preview prints "[secret]" instead). */
function isPulumiSecret(value: object): boolean {
  return (value as Record<string, unknown>)["4dabf18193072939515e22adb298388d"] === "1b47061264138c4ac30d75fd1eb44270";
}

/** A value for a Markdown table cell: compact JSON, shortened, HTML-escaped, in <code>. */
export function cell(value: unknown, max = 160): string {
  if (value === undefined) return "";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  const short = text.length > max ? `${text.slice(0, max)}…` : text;
  return `<code>${escapeHtml(short)}</code>`;
}

/** Escapes text for Markdown that ends up as HTML: no tags, no table breaks, one line. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/\|/g, "&#124;").replace(/`/g, "&#96;").replace(/\r?\n/g, " ");
}
