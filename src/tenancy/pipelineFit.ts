/**
 * Whether the build pipeline's pods fit a tenant's LimitRange and ResourceQuota, computed from the
 * Tasks and the Pipeline as declared: each container as Tekton and the LimitRanger admission
 * plugin shape it, and the widest set of pods one run has at once. Pure; the unit test runs it
 * for every profile's defaults (test/src/tenancy/pipelineFit.test.ts).
 */
import { parseQuantity } from "../quantity";
import { KUBERNETES_RESOURCE, RESOURCE_NAMES, ResourceName } from "../settings/fields";
import { TenantDefaults } from "../settings/tenancy";

type Obj = Record<string, any>;
type Totals = Record<ResourceName, number>;

/** The Task a pipeline task uses: a plain reference or the cluster resolver's "name" param. */
function taskName(pipelineTask: Obj): string {
  const ref = pipelineTask.taskRef ?? {};
  return ref.name ?? (ref.params ?? []).find((p: Obj) => p.name === "name")?.value;
}

function taskOf(tasks: readonly Obj[], pipelineTask: Obj): Obj {
  const task = tasks.find((t) => t.metadata.name === taskName(pipelineTask));
  if (!task) throw new Error(`pipeline task ${pipelineTask.name} uses ${taskName(pipelineTask)}, which is not among the Tasks`);
  return task;
}

/** Pods beside the task pods: Tekton's affinity assistant and the starter (CronJob) of the run. */
export const HELPER_PODS = 2;

const zero = (): Totals => ({ cpu: 0, memory: 0, ephemeralStorage: 0 });
const value = (triple: Record<ResourceName, string>, r: ResourceName) => parseQuantity(triple[r]);

/**
 * One container's request and limit without resources of its own. Tekton divides defaultRequest
 * among a Task's steps, not below min; sidecars and helpers get the LimitRange defaults; limits
 * are the default limit everywhere (docs/compute-resources.md of Tekton Pipelines).
 */
export function containerShape(limits: TenantDefaults["limits"], kind: "step" | "other", steps = 1): { requests: Totals; limits: Totals } {
  const requests = zero();
  const lim = zero();
  for (const r of RESOURCE_NAMES) {
    const share = kind === "step" ? value(limits.defaultRequest, r) / steps : value(limits.defaultRequest, r);
    requests[r] = Math.max(value(limits.min, r), share);
    lim[r] = value(limits.default, r);
  }
  return { requests, limits: lim };
}

/** The containers of one Task's pod, shaped; a step or sidecar with resources of its own is refused here. */
export function taskPod(task: Obj, limits: TenantDefaults["limits"]): { requests: Totals; limits: Totals }[] {
  const steps: Obj[] = task.spec.steps ?? [];
  const sidecars: Obj[] = task.spec.sidecars ?? [];
  for (const c of [...steps, ...sidecars]) {
    if (c.computeResources || c.resources) throw new Error(`${task.metadata.name}/${c.name} sets its own resources; pipelineFit assumes LimitRange defaults`);
  }
  return [...steps.map(() => containerShape(limits, "step", steps.length)), ...sidecars.map(() => containerShape(limits, "other"))];
}

/** Every set of pipeline tasks none of which runs after another: the pods that can run at once. */
export function concurrentTaskSets(tasks: readonly { name: string; runAfter?: readonly string[] }[]): string[][] {
  const after = new Map(tasks.map((t) => [t.name, t.runAfter ?? []]));
  const ancestors = (name: string, seen = new Set<string>()): Set<string> => {
    for (const parent of after.get(name) ?? []) if (!seen.has(parent)) ancestors(parent, seen.add(parent));
    return seen;
  };
  const reach = new Map(tasks.map((t) => [t.name, ancestors(t.name)]));
  const names = tasks.map((t) => t.name);
  const sets: string[][] = [];
  for (let mask = 1; mask < 1 << names.length; mask++) {
    const set = names.filter((_, i) => mask & (1 << i));
    if (set.every((a) => set.every((b) => a === b || !reach.get(a)!.has(b)))) sets.push(set);
  }
  return sets;
}

/** Problems of the pipeline under `tenant`'s limits and quota; empty when every run fits. */
export function pipelineFitProblems(pipeline: Obj, tasks: readonly Obj[], tenant: TenantDefaults): string[] {
  const { limits, quota } = tenant;
  const problems: string[] = [];
  const podOf = (pipelineTask: Obj) => taskPod(taskOf(tasks, pipelineTask), limits);
  const used: Obj[] = [...pipeline.spec.tasks, ...(pipeline.spec.finally ?? [])];
  for (const pt of used) {
    for (const c of podOf(pt)) {
      for (const r of RESOURCE_NAMES) {
        if (c.limits[r] > value(limits.max, r)) problems.push(`${pt.name}: a container's ${KUBERNETES_RESOURCE[r]} limit is above max`);
      }
      for (const r of ["cpu", "memory"] as const) {
        const ratio = c.limits[r] / c.requests[r];
        if (ratio > limits.maxLimitRequestRatio[r]) problems.push(`${pt.name}: a container's ${r} limit/request is ${ratio.toFixed(1)}, above maxLimitRequestRatio ${limits.maxLimitRequestRatio[r]}`);
      }
    }
  }
  const helper = containerShape(limits, "other");
  for (const set of concurrentTaskSets(pipeline.spec.tasks)) {
    const pods = set.map((name) => podOf(pipeline.spec.tasks.find((t: Obj) => t.name === name)));
    if (set.length + HELPER_PODS > quota.pods) problems.push(`${set.join(" + ")}: ${set.length + HELPER_PODS} pods at once, above the quota's ${quota.pods}`);
    for (const kind of ["requests", "limits"] as const) {
      for (const r of RESOURCE_NAMES) {
        const total = pods.flat().reduce((sum, c) => sum + c[kind][r], 0) + HELPER_PODS * helper[kind][r];
        if (total > value(quota[kind], r)) problems.push(`${set.join(" + ")}: ${kind}.${KUBERNETES_RESOURCE[r]} ${total} above the quota's ${quota[kind][r]}`);
      }
    }
  }
  return problems;
}

/** The largest total of `kind` over every set of pods one run has at once (for the docs' numbers). */
export function widestRun(pipeline: Obj, tasks: readonly Obj[], tenant: TenantDefaults, kind: "requests" | "limits"): Totals & { pods: number } {
  const helper = containerShape(tenant.limits, "other");
  const widest = { ...zero(), pods: 0 };
  for (const set of concurrentTaskSets(pipeline.spec.tasks)) {
    const containers = set.flatMap((name) => taskPod(taskOf(tasks, pipeline.spec.tasks.find((t: Obj) => t.name === name)), tenant.limits));
    widest.pods = Math.max(widest.pods, set.length + HELPER_PODS);
    for (const r of RESOURCE_NAMES) widest[r] = Math.max(widest[r], containers.reduce((s, c) => s + c[kind][r], 0) + HELPER_PODS * helper[kind][r]);
  }
  return widest;
}
