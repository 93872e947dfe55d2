/**
 * The rendered plan: Markdown for a review, from a `pulumi preview --json`. What could lose data
 * comes first, in bold; then counts per operation, a table of tenants and one of shared services,
 * each change with its property diffs folded, and the engine's errors and warnings.
 */
import { Change, changesOf, countOps, errorsOf, Operation, OPERATIONS, Owner, PreviewJson, protectedDeletions } from "./preview";
import { cell, escapeHtml, parsePropertyPath, redact, valueAt } from "./values";
import { plainText, PolicyViolation } from "./events";

export interface RenderOptions {
  readonly stack: string;
  /** The stack's tenant namespaces (a change in one of them belongs to that tenant). */
  readonly tenantNamespaces?: readonly string[];
  /** At most this many changes are listed one by one (every one is counted). @default 300 */
  readonly maxListed?: number;
  /** Policy violations from the preview's event log (events.ts). */
  readonly policy?: readonly PolicyViolation[];
  /** The CLI's error output when the preview exited non-zero (it may print no error diagnostic). */
  readonly previewError?: string;
}

export interface RenderedPlan {
  readonly markdown: string;
  /** A protected resource would be deleted, or the preview failed: the review must not pass. */
  readonly blocked: boolean;
  readonly changes: Change[];
}

const PAST: Record<Operation, string> = { create: "created", update: "updated", replace: "replaced", delete: "deleted" };

export function renderPlan(preview: PreviewJson, options: RenderOptions): RenderedPlan {
  const changes = changesOf(preview, new Set(options.tenantNamespaces ?? []));
  const blockers = protectedDeletions(changes);
  const errors = errorsOf(preview);
  const mandatory = (options.policy ?? []).filter((v) => v.level === "mandatory");
  const lines = [`## Pulumi plan for stack \`${escapeHtml(options.stack)}\``, ""];
  if (blockers.length > 0) {
    lines.push(`**Blocked: ${blockers.length} protected resource(s) would be deleted. \`pulumi up\` refuses this change.**`, "");
  }
  if (errors.length > 0) lines.push(`**The preview failed with ${errors.length} error(s); see Diagnostics.**`, "");
  const failure = options.previewError ? plainText(options.previewError).split("\n").filter((l) => /error/i.test(l)).slice(-5) : [];
  if (options.previewError !== undefined && errors.length === 0 && mandatory.length === 0) lines.push(`**The preview failed:** ${failure.map((l) => cell(l, 400)).join(" ") || "see the job's log"}`, "");
  lines.push(...mandatory.map((v) => `**Policy violation (${escapeHtml(v.policy)}): ${escapeHtml(v.message)}**${v.urn ? ` (${cell(v.urn.split("::").pop())})` : ""}`), ...(mandatory.length ? [""] : []));
  lines.push(...dataAtRisk(changes));
  lines.push(...summary(changes));
  lines.push(...ownerTable("Tenants", "tenant", changes.filter((c) => c.owner.kind === "tenant")));
  lines.push(...ownerTable("Shared services", "service", changes.filter((c) => c.owner.kind === "service")));
  lines.push(...details(changes, options.maxListed ?? 300));
  lines.push(...advisories(options.policy ?? []));
  lines.push(...diagnostics(preview));
  const blocked = blockers.length > 0 || errors.length > 0 || mandatory.length > 0 || options.previewError !== undefined;
  return { markdown: `${lines.join("\n").trimEnd()}\n`, blocked, changes };
}

function dataAtRisk(changes: readonly Change[]): string[] {
  const risky = changes.filter((c) => c.data !== undefined && (c.op === "replace" || c.op === "delete"));
  if (risky.length === 0) return ["No data-bearing resource is replaced or deleted.", ""];
  return [
    "### Data at risk",
    "",
    ...risky.map((c) => `- **${c.op} ${escapeHtml(c.label)}**${c.protect ? " **(protected)**" : ""}: **${escapeHtml(c.reason ?? "")}**; ${escapeHtml(c.data!)} (${ownerName(c.owner)})`),
    "",
  ];
}

function summary(changes: readonly Change[]): string[] {
  const counts = countOps(changes);
  if (changes.length === 0) return ["No changes.", ""];
  return [
    "### Summary",
    "",
    "| operation | resources |",
    "|---|---:|",
    ...OPERATIONS.filter((op) => counts[op] > 0).map((op) => `| ${op} | ${counts[op]} |`),
    "",
  ];
}

function ownerTable(title: string, column: string, changes: readonly Change[]): string[] {
  if (changes.length === 0) return [];
  const owners = new Map<string, Record<Operation, number>>();
  for (const c of changes) {
    const row = owners.get(c.owner.name) ?? { create: 0, update: 0, replace: 0, delete: 0 };
    row[c.op] += 1;
    owners.set(c.owner.name, row);
  }
  return [
    `### ${title}`,
    "",
    `| ${column} | ${OPERATIONS.map((op) => PAST[op]).join(" | ")} |`,
    `|---|${OPERATIONS.map(() => "---:").join("|")}|`,
    ...[...owners.keys()].sort().map((name) => `| ${escapeHtml(name)} | ${OPERATIONS.map((op) => owners.get(name)![op]).join(" | ")} |`),
    "",
  ];
}

function details(changes: readonly Change[], maxListed: number): string[] {
  if (changes.length === 0) return [];
  const listed = changes.slice(0, maxListed);
  const out = ["### Changes", ""];
  for (const c of listed) {
    out.push(`<details><summary>${c.op} ${escapeHtml(c.label)} (${escapeHtml(ownerName(c.owner))})</summary>`, "");
    out.push(...propertyDiffs(c), "</details>", "");
  }
  if (changes.length > listed.length) out.push(`… and ${changes.length - listed.length} more changes, counted above.`, "");
  return out;
}

/** The changed properties of an update or replacement, old and new value side by side. */
function propertyDiffs(c: Change): string[] {
  if (c.op === "create" || c.op === "delete") return [c.reason ? `${escapeHtml(c.reason)}.` : `${PAST[c.op]}.`, ""];
  const diff = c.step.detailedDiff ?? Object.fromEntries((c.step.diffReasons ?? []).map((k) => [k, { kind: "update" }]));
  const rows = Object.entries(diff).sort(([a], [b]) => a.localeCompare(b)).map(([path, d]) => {
    const segments = parsePropertyPath(path);
    const before = redact(c.type, segments, valueAt(c.step.oldState?.inputs, segments));
    const after = redact(c.type, segments, valueAt(c.step.newState?.inputs, segments));
    return `| ${cell(path)} | ${escapeHtml(d.kind)} | ${cell(before)} | ${cell(after)} |`;
  });
  const head = c.reason ? [`${escapeHtml(c.reason)}.`, ""] : [];
  return [...head, "| property | change | before | after |", "|---|---|---|---|", ...rows, ""];
}

/** Advisory policy findings, folded, one line per policy and message. */
function advisories(policy: readonly PolicyViolation[]): string[] {
  const advisory = policy.filter((v) => v.level === "advisory");
  if (advisory.length === 0) return [];
  const byMessage = new Map<string, number>();
  for (const v of advisory) byMessage.set(`${v.policy}: ${v.message}`, (byMessage.get(`${v.policy}: ${v.message}`) ?? 0) + 1);
  return [
    `<details><summary>Advisory policy findings: ${advisory.length}</summary>`,
    "",
    ...[...byMessage].map(([message, n]) => `- ${escapeHtml(message)}${n > 1 ? ` (${n} resources)` : ""}`),
    "",
    "</details>",
    "",
  ];
}

function diagnostics(preview: PreviewJson): string[] {
  const seen = new Set<string>();
  const shown = (preview.diagnostics ?? []).filter((d) => {
    const key = `${d.severity}:${d.urn}:${d.message}`;
    if ((d.severity !== "error" && d.severity !== "warning") || seen.has(key)) return false;
    return seen.add(key);
  });
  if (shown.length === 0) return [];
  return [
    "### Diagnostics",
    "",
    ...shown.map((d) => `- ${d.severity}: ${cell(plainText(d.message ?? ""), 600)}${d.urn ? ` (${cell(d.urn.split("::").pop())})` : ""}`),
    "",
  ];
}

function ownerName(owner: Owner): string {
  return owner.kind === "tenant" ? `tenant ${owner.name}` : owner.name;
}
