/**
 * Drain safety of the replicated shared services (Pulp api/content/worker, the registry). Pure:
 * components/services/serviceKit.ts turns the plan into a PodDisruptionBudget and a topology
 * spread constraint, and the tests drain every node of each stack with `simulateDrains`.
 */

export const HOSTNAME_KEY = "kubernetes.io/hostname";

export interface DisruptionPlan {
  /** maxUnavailable of the PodDisruptionBudget; undefined: no budget. */
  readonly maxUnavailable?: number;
  /** Spread replicas over nodes (one node's loss or drain never takes them all). */
  readonly spread: boolean;
}

/**
 * Only a service with two or more replicas on two or more nodes gets a budget: there an evicted
 * replica can start elsewhere before the next is evicted. On one node, or with one replica, any
 * budget would block `kubectl drain` forever (nowhere to reschedule), so there is none.
 * maxUnavailable 1 rather than minAvailable: it stays satisfiable whatever the replica count.
 */
export function disruptionPlan(replicas: number, nodes: number): DisruptionPlan {
  if (replicas < 2 || nodes < 2) return { spread: false };
  return { maxUnavailable: 1, spread: true };
}

/**
 * The spread constraint: at most one replica more on any node than on another. Cordoned and
 * tainted nodes are not counted (nodeTaintsPolicy Honor), so during a drain the remaining nodes
 * still satisfy it and evicted pods can be placed.
 */
export function spreadConstraint(selector: Record<string, string>): {
  maxSkew: number; topologyKey: string; whenUnsatisfiable: "DoNotSchedule"; nodeTaintsPolicy: "Honor"; labelSelector: { matchLabels: Record<string, string> };
} {
  return { maxSkew: 1, topologyKey: HOSTNAME_KEY, whenUnsatisfiable: "DoNotSchedule", nodeTaintsPolicy: "Honor", labelSelector: { matchLabels: { ...selector } } };
}

export interface DrainService {
  readonly name: string;
  readonly replicas: number;
  readonly maxUnavailable?: number;
  /** A minAvailable budget, if one was declared (this program declares none). */
  readonly minAvailable?: number;
  readonly spread: boolean;
}

export interface DrainResult {
  readonly node: string;
  readonly service: string;
  /** Every pod of the node could be evicted (no budget blocked it for good). */
  readonly completes: boolean;
  /** Fewest replicas running at any moment of the drain. */
  readonly minRunning: number;
}

/**
 * Places each service's replicas as the scheduler would (spread: round-robin over the nodes;
 * unspread: worst case, all on the first node), then drains each node in turn, one eviction at a
 * time as `kubectl drain` does under a budget: an eviction is allowed while the budget holds, and
 * an evicted replica restarts on another schedulable node (if any) before the next eviction.
 * Without a budget every pod of the node goes at once.
 */
export function simulateDrains(services: readonly DrainService[], nodes: readonly string[]): DrainResult[] {
  const results: DrainResult[] = [];
  for (const drained of nodes) {
    for (const s of services) {
      const placement = nodes.map(() => 0);
      for (let r = 0; r < s.replicas; r++) placement[s.spread ? r % nodes.length : 0]++;
      const onNode = placement[nodes.indexOf(drained)];
      const canRestart = nodes.length > 1;
      const allowedDown = s.minAvailable !== undefined ? s.replicas - s.minAvailable : s.maxUnavailable ?? Infinity;
      let down = 0; // evicted and not running again
      let minRunning = s.replicas;
      let completes = true;
      // Without a budget, drain evicts every pod of the node at once.
      if (allowedDown === Infinity) minRunning = s.replicas - onNode;
      else for (let k = 0; k < onNode; k++) {
        if (down + 1 > allowedDown) { completes = false; break; } // the eviction API refuses, for good
        minRunning = Math.min(minRunning, s.replicas - down - 1);
        if (!canRestart) down++;
      }
      results.push({ node: drained, service: s.name, completes, minRunning });
    }
  }
  return results;
}
