import { expect } from "chai";
import { podTotals, workloadTotals } from "../../src/footprint";

const container = (requests: Record<string, string>, limits: Record<string, string> = requests) => ({
  resources: { requests, limits },
});

describe("footprint", () => {
  it("sums a pod's app containers", () => {
    const totals = podTotals({ containers: [container({ cpu: "250m", memory: "256Mi" }), container({ cpu: "1", memory: "1Gi" })] }, "requests");
    expect(totals.cpu).to.equal(1.25);
    expect(totals.memory).to.equal(1.25 * 2 ** 30);
    expect(totals.ephemeralStorage).to.equal(0);
  });

  it("counts an init container bigger than the app containers as the pod's need", () => {
    const pod = { initContainers: [container({ cpu: "2" })], containers: [container({ cpu: "500m" })] };
    expect(podTotals(pod, "requests").cpu).to.equal(2);
  });

  it("multiplies by the number of pods and reads limits separately", () => {
    const workloads = [
      { name: "api", pods: 2, pod: { containers: [container({ cpu: "500m" }, { cpu: "2" })] } },
      { name: "agent", pods: 3, pod: { containers: [container({ memory: "64Mi" })] } },
    ];
    expect(workloadTotals(workloads, "requests").cpu).to.equal(1);
    expect(workloadTotals(workloads, "limits").cpu).to.equal(4);
    expect(workloadTotals(workloads, "requests").memory).to.equal(3 * 64 * 2 ** 20);
  });
});
