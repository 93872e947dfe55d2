/**
 * Settings of the retention and backup jobs: how long builds are kept per release class, how
 * much Tekton run history stays, when the registry is garbage-collected, and where release builds
 * are backed up. Days and counts must be 1 or more, so no setting can make a job keep nothing.
 */
import { z } from "zod";
import { RELEASE_CLASSES } from "../artifacts";
import { positiveQuantity, schedule, urlSetting, wholeCount } from "./fields";

/** Days per release class; the message for 0 says why it is refused. */
const classDays = z.union([
  z.literal("forever"),
  z.number().int({ message: 'must be a whole number of days or "forever"' }).min(1, {
    message: 'must be at least 1 day, or "forever"; 0 would delete builds as soon as they finish',
  }),
], { message: 'must be a whole number of days (1 or more) or "forever"' });
import { Problem } from "./tenancy";

const keepCount = z
  .number({ message: "must be a whole number, 1 or more" })
  .int({ message: "must be a whole number" })
  .min(1, { message: "must be at least 1; 0 would let retention delete every build, even the newest successful one" });

export const retention = z.strictObject({
  /** When the artifact retention job runs (cron, cluster time zone). */
  schedule,
  /** Log what would be deleted and delete nothing. */
  dryRun: z.boolean().default(false),
  /** Age limit per release class, in days or "forever". */
  days: z.strictObject({
    master: classDays,
    feature: classDays,
    private: classDays,
    milestone: classDays,
    release: classDays,
  }),
  /** Failed builds may go sooner than successful ones of the same class (never for "forever" classes). */
  failedDays: wholeCount,
  /** The newest successful builds of each release-id and distro that are always kept, whatever their age. */
  keepSuccessful: keepCount,
  /** Tekton run history: the newest `keep` finished PipelineRuns of every namespace stay. */
  pipelineRuns: z
    .strictObject({
      schedule: schedule.default("15 * * * *"),
      keep: keepCount.default(20),
    })
    .default({ schedule: "15 * * * *", keep: 20 }),
  /** Garbage collection of our own registry (not of a platform registry we do not run). */
  registryGc: z
    .strictObject({
      enabled: z.boolean().default(true),
      schedule: schedule.default("0 4 * * 0"),
    })
    .default({ enabled: true, schedule: "0 4 * * 0" }),
});
export type RetentionSettings = z.output<typeof retention>;

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const K8S_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export const backupTarget = z.discriminatedUnion(
  "kind",
  [
    z.strictObject({
      kind: z.literal("s3"),
      /** Another S3 endpoint, e.g. "https://s3.backup.example.org". */
      endpoint: urlSetting(["https", "http"], "https://s3.example.org"),
      bucket: z.string().regex(BUCKET, { message: "must be an S3 bucket name (3-63 lower-case letters, digits, '.' and '-')" }),
      region: z.string().min(1).default("us-east-1"),
      /** Secret in the shared namespace with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for that endpoint. */
      credentialsSecretName: z.string().regex(K8S_NAME, { message: "must be a Kubernetes Secret name" }),
    }),
    z.strictObject({
      kind: z.literal("volume"),
      /** The node the backup volume lives on: not the node holding the object store's data. */
      node: z.string().min(1, { message: "must name a Kubernetes node" }),
      storageClass: z.string().min(1).optional(),
      size: positiveQuantity,
    }),
  ],
  { message: 'must have kind "s3" (endpoint, bucket, credentialsSecretName) or "volume" (node, size)' },
);
export type BackupTarget = z.output<typeof backupTarget>;

export const backup = z.strictObject({
  enabled: z.boolean(),
  schedule: schedule.default("0 6 * * *"),
  /** Release classes whose successful builds are copied. */
  classes: z.array(z.enum(RELEASE_CLASSES)).min(1, { message: "must list at least one release class" }).default(["release"]),
  target: backupTarget.optional(),
});
export type BackupSettings = z.output<typeof backup>;

/** Checks across settings: a backup needs a target; a volume backup a known node. */
export function backupProblems(settings: { backup: BackupSettings; cluster: { nodes: readonly { name: string }[] } }): Problem[] {
  const { backup: b, cluster } = settings;
  const problems: Problem[] = [];
  if (b.enabled && !b.target) {
    problems.push({ path: ["backup", "target"], message: 'is required when backup.enabled is true: kind "s3" or "volume"' });
  }
  const target = b.target;
  if (target?.kind === "volume" && cluster.nodes.length > 0 && !cluster.nodes.some((n) => n.name === target.node)) {
    problems.push({
      path: ["backup", "target", "node"],
      message: `"${target.node}" is not one of cluster.nodes (${cluster.nodes.map((n) => n.name).join(", ")})`,
    });
  }
  return problems;
}
