/**
 * What long-running workloads ask of the nodes: the sum of their pods' requests and limits, the
 * way the scheduler counts them (a pod asks for the larger of its biggest init container and the
 * sum of its app containers). Used by the benchmark's footprint report.
 */
import { parseQuantity } from "./quantity";

export interface ContainerResources {
  readonly resources?: { readonly requests?: Record<string, string>; readonly limits?: Record<string, string> };
}

export interface PodShape {
  readonly containers: readonly ContainerResources[];
  readonly initContainers?: readonly ContainerResources[];
}

export interface Workload {
  readonly name: string;
  /** How many pods run at once (replicas, or nodes for a DaemonSet). */
  readonly pods: number;
  readonly pod: PodShape;
}

export interface ResourceTotals {
  cpu: number;
  memory: number;
  ephemeralStorage: number;
}

const KEYS: Record<keyof ResourceTotals, string> = { cpu: "cpu", memory: "memory", ephemeralStorage: "ephemeral-storage" };

export function zeroTotals(): ResourceTotals {
  return { cpu: 0, memory: 0, ephemeralStorage: 0 };
}

/** Requests (or limits) of one pod, as the scheduler sums them. */
export function podTotals(pod: PodShape, kind: "requests" | "limits"): ResourceTotals {
  const totals = zeroTotals();
  for (const key of Object.keys(KEYS) as (keyof ResourceTotals)[]) {
    const app = pod.containers.reduce((sum, c) => sum + amount(c, kind, key), 0);
    const init = Math.max(0, ...(pod.initContainers ?? []).map((c) => amount(c, kind, key)));
    totals[key] = Math.max(app, init);
  }
  return totals;
}

/** Requests (or limits) of every pod of every workload together. */
export function workloadTotals(workloads: readonly Workload[], kind: "requests" | "limits"): ResourceTotals {
  const totals = zeroTotals();
  for (const workload of workloads) {
    const pod = podTotals(workload.pod, kind);
    for (const key of Object.keys(KEYS) as (keyof ResourceTotals)[]) totals[key] += pod[key] * workload.pods;
  }
  return totals;
}

/** Containers without a value count as zero, as the scheduler would (a LimitRange may add one). */
function amount(container: ContainerResources, kind: "requests" | "limits", key: keyof ResourceTotals): number {
  const text = container.resources?.[kind]?.[KEYS[key]];
  return text === undefined ? 0 : parseQuantity(String(text));
}
