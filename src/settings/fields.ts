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
