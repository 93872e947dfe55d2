/**
 * The artifact retention run: list the bucket, plan with the policy, and remove every artifact of
 * each expired build together — its Pulp distributions and repositories, its PipelineRuns, then
 * its objects (result marker last, so an interrupted deletion is finished by the next run).
 */
import { S3Client } from "@aws-sdk/client-s3";
import { buildPrefix, buildRunSelector, contextKey, markerKey } from "../artifacts";
import { KubeClient } from "./kube";
import { Decision, planRetention, RetentionPolicy, summarizePlan, Verdict } from "./policy";
import { PulpClient } from "./pulp";
import { deleteKeys, FoundBuildKeys, inventory } from "./store";

export interface RetentionRunOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly policy: RetentionPolicy;
  /** Plan and log, delete nothing anywhere. */
  readonly dryRun: boolean;
  /** Where the build's Pulp content is removed; skipped when absent. */
  readonly pulp?: PulpClient;
  /** Where the build's PipelineRuns are removed; skipped when absent. */
  readonly kube?: KubeClient;
  /** Namespaces the PipelineRuns may be in; all when undefined. */
  readonly namespaces?: readonly string[];
  readonly now?: Date;
  readonly log?: (line: string) => void;
}

export interface RetentionSummary {
  readonly bucket: string;
  readonly dryRun: boolean;
  readonly builds: number;
  readonly kept: number;
  readonly deleted: number;
  readonly objectsDeleted: number;
  readonly bytesFreed: number;
  readonly pulpObjectsDeleted: number;
  readonly pipelineRunsDeleted: number;
  /** Objects outside the layout, left alone. */
  readonly untouchedObjects: number;
  readonly verdicts: Record<Verdict, number>;
  /** Builds whose deletion failed; the run exits non-zero when there are any. */
  readonly failures: { readonly build: string; readonly error: string }[];
}

export async function runRetention(options: RetentionRunOptions): Promise<RetentionSummary> {
  const log = options.log ?? ((line: string) => console.log(line));
  const found = await inventory(options.s3, options.bucket);
  const plan = planRetention(found.builds, found.aliases, options.policy, options.now ?? new Date());
  for (const d of plan.keep) log(`keep   ${buildPrefix(d.build)} (${d.reason})`);

  let objectsDeleted = 0;
  let bytesFreed = 0;
  let pulpObjectsDeleted = 0;
  let pipelineRunsDeleted = 0;
  const failures: { build: string; error: string }[] = [];
  for (const decision of plan.delete) {
    const build = decision.build as FoundBuildKeys;
    const prefix = buildPrefix(build);
    log(`${options.dryRun ? "would delete" : "delete"} ${prefix} (${decision.reason}; ${build.objects.length} objects, ${build.bytes} bytes)`);
    try {
      const removed = await removeBuild(decision, options);
      pulpObjectsDeleted += removed.pulp;
      pipelineRunsDeleted += removed.runs;
      objectsDeleted += removed.objects;
      bytesFreed += build.bytes;
    } catch (error) {
      failures.push({ build: prefix, error: (error as Error).message });
      log(`error  ${prefix}: ${(error as Error).message}`);
    }
  }
  const summary: RetentionSummary = {
    bucket: options.bucket,
    dryRun: options.dryRun,
    builds: found.builds.length,
    kept: plan.keep.length,
    deleted: plan.delete.length - failures.length,
    objectsDeleted,
    bytesFreed,
    pulpObjectsDeleted,
    pipelineRunsDeleted,
    untouchedObjects: found.foreignObjects,
    verdicts: summarizePlan(plan),
    failures,
  };
  log(`summary ${JSON.stringify(summary)}`);
  return summary;
}

/** Pulp first, then PipelineRuns, then objects: each step is safe to repeat on the next run. */
async function removeBuild(
  decision: Decision,
  options: RetentionRunOptions,
): Promise<{ pulp: number; runs: number; objects: number }> {
  const build = decision.build as FoundBuildKeys;
  let pulp = 0;
  if (options.pulp) {
    const removed = await options.pulp.remove(build, options.dryRun);
    pulp = removed.distributions.length + removed.repositories.length;
  }
  let runs = 0;
  if (options.kube) {
    const found = await options.kube.listPipelineRuns(buildRunSelector(build), options.namespaces);
    if (!options.dryRun) for (const run of found) await options.kube.deletePipelineRun(run);
    runs = found.length;
  }
  if (options.dryRun) return { pulp, runs, objects: build.objects.length };
  const last = [markerKey(build, "success"), markerKey(build, "fail"), contextKey(build)];
  const objects = await deleteKeys(options.s3, options.bucket, build.objects.map((o) => o.key), last);
  return { pulp, runs, objects };
}
