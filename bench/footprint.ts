/** The footprint of one stack's shared services, read from what the program declares under mocks. */
import { parseSettings } from "../src/settings/schema";
import { sumQuantities } from "../src/quantity";
import { ResourceTotals, Workload, workloadTotals } from "../src/footprint";
import { ProgramRun, stackFileConfig } from "../tools/mockedProgram";

export interface Footprint {
  stack: string;
  requests: ResourceTotals;
  limits: ResourceTotals;
  /** Bytes of persistent volumes the services claim. */
  storage: number;
  capacity: { cpu: number; memory: number };
  left: { cpu: number; memory: number };
  workloads: string[];
  /** Jobs and CronJobs: they run briefly, so they are listed, not added up. */
  jobs: string[];
  /** Things whose pods the program does not see under mocks (Helm releases, remote manifests). */
  notExpanded: string[];
}

export function footprint(stack: string, run: ProgramRun): Footprint {
  const settings = parseSettings(stackFileConfig(stack));
  const nodes = settings.cluster.nodes;
  const workloads = declaredWorkloads(run, Math.max(1, nodes.length));
  const requests = workloadTotals(workloads, "requests");
  const limits = workloadTotals(workloads, "limits");
  const capacity = { cpu: sumQuantities(nodes.map((n) => n.cpu)), memory: sumQuantities(nodes.map((n) => n.memory)) };
  return {
    stack,
    requests,
    limits,
    storage: claimedStorage(run),
    capacity,
    left: { cpu: capacity.cpu - requests.cpu, memory: capacity.memory - requests.memory },
    workloads: workloads.map((w) => `${w.name} x${w.pods}`),
    jobs: [...run.ofType("kubernetes:batch/v1:Job"), ...run.ofType("kubernetes:batch/v1:CronJob")].map((r) => r.inputs.metadata?.name ?? r.name),
    notExpanded: run.resources
      .filter((r) => r.type.startsWith("kubernetes:helm.sh") || r.type.startsWith("kubernetes:yaml"))
      .map((r) => r.name),
  };
}

function declaredWorkloads(run: ProgramRun, nodeCount: number): Workload[] {
  const replicated = ["kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet"].flatMap((type) =>
    run.ofType(type).map((r) => ({
      name: r.inputs.metadata?.name ?? r.name,
      pods: r.inputs.spec?.replicas ?? 1,
      pod: r.inputs.spec.template.spec,
    })),
  );
  const perNode = run.ofType("kubernetes:apps/v1:DaemonSet").map((r) => ({
    name: r.inputs.metadata?.name ?? r.name,
    pods: nodeCount,
    pod: r.inputs.spec.template.spec,
  }));
  return [...replicated, ...perNode];
}

function claimedStorage(run: ProgramRun): number {
  const claims = run.ofType("kubernetes:core/v1:PersistentVolumeClaim").map((r) => r.inputs.spec?.resources?.requests?.storage);
  const templates = run
    .ofType("kubernetes:apps/v1:StatefulSet")
    .flatMap((r) => (r.inputs.spec?.volumeClaimTemplates ?? []).map((t: any) => t.spec?.resources?.requests?.storage));
  return sumQuantities([...claims, ...templates].filter((s): s is string => typeof s === "string"));
}
