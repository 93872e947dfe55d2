/**
 * Drain safety of the shared services on every stack: replicated Deployments on several nodes
 * have a PodDisruptionBudget that lets `kubectl drain` finish and a spread over nodes; nothing
 * on a one-node stack (or with one replica) has a budget that would block a drain forever.
 * Every node of each stack is drained in turn by simulateDrains.
 */
import { expect } from "chai";
import { HOSTNAME_KEY, simulateDrains, DrainService } from "../../../src/services/disruption";
import { parseSettings } from "../../../src/settings/schema";
import { runStack, stackFileConfig } from "../../../tools/mockedProgram";
import { SHARED } from "./serviceChecks";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const PDB = "kubernetes:policy/v1:PodDisruptionBudget";

for (const stack of ["minikube", "cengn", "starlingx"]) {
  describe(`drain safety on the ${stack} stack`, () => {
    it("budgets and spreads replicated services only where a drain can still finish, and every drain keeps a replica", async () => {
      const settings = parseSettings(stackFileConfig(stack));
      const nodes = settings.cluster.nodes.map((n) => n.name);
      const run = await runStack(stack);
      const budgets = run.objects(PDB, SHARED);
      const services: DrainService[] = run.objects(DEPLOYMENT, SHARED).map((d) => {
        const selector = d.inputs.spec.selector.matchLabels;
        const budget = budgets.find((b) => JSON.stringify(b.inputs.spec.selector.matchLabels) === JSON.stringify(selector));
        const spread = (d.inputs.spec.template.spec.topologySpreadConstraints ?? []).some(
          (c: any) => c.topologyKey === HOSTNAME_KEY && c.maxSkew === 1 && c.nodeTaintsPolicy === "Honor",
        );
        return { name: d.inputs.metadata.name, replicas: d.inputs.spec.replicas, maxUnavailable: budget?.inputs.spec.maxUnavailable, minAvailable: budget?.inputs.spec.minAvailable, spread };
      });
      expect(budgets.length, "every budget selects one of the Deployments").to.equal(services.filter((s) => s.maxUnavailable ?? s.minAvailable).length);
      for (const s of services) {
        if (nodes.length > 1 && s.replicas > 1) {
          expect(s.maxUnavailable, `${s.name}: a budget`).to.equal(1);
          expect(s.spread, `${s.name}: spread over nodes`).to.equal(true);
        } else {
          expect(s.maxUnavailable ?? s.minAvailable, `${s.name}: no budget (${s.replicas} replica(s) on ${nodes.length} node(s))`).to.equal(undefined);
        }
      }
      if (stack === "cengn") {
        expect(services.filter((s) => s.maxUnavailable).map((s) => `${s.name}:${s.replicas}`).sort())
          .to.deep.equal(["pulp-api:2", "pulp-content:3", "pulp-worker:4", "registry:2"]);
      }
      const drains = simulateDrains(services, nodes);
      for (const d of drains) {
        expect(d.completes, `draining ${d.node} finishes for ${d.service}`).to.equal(true);
        const s = services.find((x) => x.name === d.service)!;
        if (s.replicas > 1 && nodes.length > 1) expect(d.minRunning, `${d.service} keeps a replica while ${d.node} drains`).to.be.at.least(s.replicas - 1);
      }
    });
  });
}

describe("drain simulation", () => {
  it("catches what the services must not do: all replicas on one node, a budget that blocks forever", () => {
    const [unspread] = simulateDrains([{ name: "a", replicas: 2, spread: false }], ["n1", "n2"]);
    expect(unspread.minRunning).to.equal(0);
    const [blocked] = simulateDrains([{ name: "b", replicas: 2, minAvailable: 2, spread: true }], ["n1", "n2"]);
    expect(blocked.completes).to.equal(false);
    const [oneNode] = simulateDrains([{ name: "c", replicas: 2, maxUnavailable: 1, spread: true }], ["only"]);
    expect(oneNode.completes).to.equal(false);
  });
});
