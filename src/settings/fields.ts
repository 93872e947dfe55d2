/**
 * Field types shared by every settings section: quantities, schedules, names. Each carries the
 * message a user sees, which says what is allowed.
 */
import { z } from "zod";
import { cronProblem } from "../cron";
import { QUANTITY_HELP, tryParseQuantity } from "../quantity";

/** YAML turns `cpu: 2` into a number; Kubernetes wants the string "2". */
const numberAsString = (value: unknown) => (typeof value === "number" ? String(value) : value);

export const quantity = z.preprocess(
  numberAsString,
  z.string().superRefine((text, ctx) => {
    const value = tryParseQuantity(text);
    if (value === undefined || value < 0) ctx.addIssue({ code: "custom", message: `must be ${QUANTITY_HELP}, not negative` });
  }),
);

export const positiveQuantity = z.preprocess(
  numberAsString,
  z.string().superRefine((text, ctx) => {
    const value = tryParseQuantity(text);
    if (value === undefined || value <= 0) ctx.addIssue({ code: "custom", message: `must be ${QUANTITY_HELP}, greater than zero` });
  }),
);

export const schedule = z.string().superRefine((text, ctx) => {
  const problem = cronProblem(text);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

const NAME = /^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/;
export const NAME_HELP =
  "lower-case letters, digits and '-', starting with a letter and ending with a letter or digit, at most 40 characters";

/** A name that is used verbatim inside Kubernetes names (users, projects). */
export const simpleName = z.string().regex(NAME, { message: `must be ${NAME_HELP}` });

/**
 * Git branch names as people spell them: ASCII letters, digits and `. _ - /`, with git's own
 * rules for refs (check-ref-format). Git itself allows more (quotes, `$`, `;`, unicode), but a
 * branch name reaches shell, Groovy and object keys, and a zero-width space makes a second
 * "master": anything outside this set is refused, not escaped.
 */
export const GIT_REF_HELP =
  "ASCII letters, digits, '.', '_', '-' and '/' only (no quotes, spaces, $, `, ;, ( ), control or unicode characters); " +
  "no part may start with '.' or '-' or end with \".lock\", no \"..\" or \"//\", not starting or ending with '/' or ending with '.', at most 200 characters";

export function gitRefProblem(name: string): string | undefined {
  if (!/^[A-Za-z0-9._/-]{1,200}$/.test(name)) return `must be a git branch name: ${GIT_REF_HELP}; ${describeBadCharacters(name)}`;
  const parts = name.split("/");
  const bad = name.includes("..") || name.endsWith(".") || parts.some((p) => p === "" || p.startsWith(".") || p.startsWith("-") || p.endsWith(".lock"));
  return bad ? `must be a git branch name: ${GIT_REF_HELP}; "${name}" breaks git's ref rules` : undefined;
}

/** Names the characters that are not allowed, as code points, so invisible ones show. */
function describeBadCharacters(name: string): string {
  if (name.length === 0) return "it is empty";
  if (name.length > 200) return `it has ${name.length} characters`;
  const bad = [...new Set([...name].filter((ch) => !/[A-Za-z0-9._/-]/.test(ch)))];
  return `it contains ${bad.map((ch) => `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}${/[\x21-\x7e]/.test(ch) ? ` (${ch})` : ""}`).join(", ")}`;
}

export const gitRefName = z.string().superRefine((text, ctx) => {
  const problem = gitRefProblem(text);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/**
 * A URL of one of `schemes`, with no `user:password@`: settings URLs land in objects every tenant
 * reads (ConfigMaps, PipelineRun params, kubeconfigs), so a credential there is published.
 */
export function urlSetting(schemes: readonly string[], example: string) {
  const allowed = schemes.map((s) => `${s}://`).join(" or ");
  return z.string().superRefine((text, ctx) => {
    const problem = urlProblem(text, schemes);
    if (problem) ctx.addIssue({ code: "custom", message: `${problem}; it must be a ${allowed} URL without credentials, e.g. ${example}` });
  });
}

export function urlProblem(text: string, schemes: readonly string[]): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `${JSON.stringify(text)} is not a URL`;
  }
  const scheme = url.protocol.replace(/:$/, "");
  if (!schemes.includes(scheme)) return `has the scheme "${scheme}:"`;
  if (!url.hostname) return "has no host";
  // ssh://git@host names an account, not a secret; a password is one whatever the scheme.
  const userAllowed = scheme === "ssh" && !url.password;
  if (!userAllowed && (url.username || url.password || /^[a-z+]+:\/\/[^/]*@/i.test(text))) {
    return "carries a user name or password (user:password@), which every tenant could read";
  }
  return undefined;
}

export const wholeCount = z.number().int({ message: "must be a whole number" }).min(1, { message: "must be at least 1" });

/** Days to keep something: a whole number of days, or "forever". */
export const retentionDays = z.union([z.literal("forever"), wholeCount], {
  message: 'must be a whole number of days (1 or more) or "forever"',
});

export const podSecurityLevel = z.enum(["baseline", "privileged"]);

/** The three resources every container limit and quota talks about. */
export const resourceTriple = z.strictObject({
  cpu: positiveQuantity,
  memory: positiveQuantity,
  ephemeralStorage: positiveQuantity,
});
export type ResourceTriple = z.output<typeof resourceTriple>;
export const RESOURCE_NAMES = ["cpu", "memory", "ephemeralStorage"] as const;
export type ResourceName = (typeof RESOURCE_NAMES)[number];

/** Kubernetes' spelling of each resource. */
export const KUBERNETES_RESOURCE: Readonly<Record<ResourceName, string>> = {
  cpu: "cpu",
  memory: "memory",
  ephemeralStorage: "ephemeral-storage",
};
