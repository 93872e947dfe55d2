/**
 * The build pipeline's pods, with their sidecars, against every tenant's LimitRange and quota of
 * each stack file: computed from the Tasks and Pipeline the program declares.
 */
import { expect } from "chai";
import { buildPipelineObjects } from "../../../src/build/definition";
import { parseSettings } from "../../../src/settings/schema";
import { concurrentTaskSets, pipelineFitProblems, widestRun } from "../../../src/tenancy/pipelineFit";
import { planTenants } from "../../../src/tenancy/tenants";
import { IMAGES } from "../../../src/versions";
import { FARM_DEFAULTS } from "../build/fixtures";
import { stackFileConfig } from "../../../tools/mockedProgram";

for (const stack of ["minikube", "cengn", "starlingx"]) {
  describe(`the build pipeline within the tenants' limits on ${stack}`, () => {
    const settings = parseSettings(stackFileConfig(stack));
    const { tasks, pipeline } = buildPipelineObjects({ namespace: "stx-system", defaults: FARM_DEFAULTS, images: IMAGES, imageBuilds: settings.build.imageBuilds, labels: {} });

    it("fits every tenant: each container within max and the ratio, the widest moment within the quota", () => {
      for (const plan of planTenants(settings)) {
        expect(pipelineFitProblems(pipeline, tasks, plan), plan.namespace).to.deep.equal([]);
      }
      const [first] = planTenants(settings);
      const requests = widestRun(pipeline, tasks, first, "requests");
      const limits = widestRun(pipeline, tasks, first, "limits");
      console.log(`      ${stack} ${first.namespace}: widest moment ${requests.pods} pods, requests ${requests.cpu} cpu / ${(requests.memory / 2 ** 30).toFixed(2)}Gi, limits ${limits.cpu} cpu / ${(limits.memory / 2 ** 30).toFixed(2)}Gi / ${(limits.ephemeralStorage / 2 ** 30).toFixed(1)}Gi ephemeral`);
    });

    it("would be refused under a quota one pod or one default limit too small", () => {
      const [plan] = planTenants(settings);
      const widest = widestRun(pipeline, tasks, plan, "limits");
      const tight = { ...plan, quota: { ...plan.quota, pods: widest.pods - 1, limits: { ...plan.quota.limits, cpu: String(widest.cpu - 0.001) } } };
      const problems = pipelineFitProblems(pipeline, tasks, tight);
      expect(problems.some((p) => /pods at once, above the quota/.test(p))).to.equal(true);
      expect(problems.some((p) => /limits\.cpu .* above the quota/.test(p))).to.equal(true);
      const lowRatio = { ...plan, limits: { ...plan.limits, maxLimitRequestRatio: { cpu: 2, memory: 2 } } };
      expect(pipelineFitProblems(pipeline, tasks, lowRatio).some((p) => /limit\/request is .* above maxLimitRequestRatio 2/.test(p))).to.equal(true);
    });
  });
}

describe("tasks that can run at once", () => {
  it("are the sets with no runAfter path between any two", () => {
    const sets = concurrentTaskSets([
      { name: "a" }, { name: "b", runAfter: ["a"] }, { name: "c", runAfter: ["a"] }, { name: "d", runAfter: ["b", "c"] },
    ]);
    expect(sets.map((s) => s.join(""))).to.have.members(["a", "b", "c", "bc", "d"]);
  });
});
