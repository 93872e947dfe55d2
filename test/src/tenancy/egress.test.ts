import { expect } from "chai";
import { internetEgress, LINK_LOCAL } from "../../../src/tenancy/egress";

describe("tenant internet egress", () => {
  it("excludes the cluster's, the nodes', the API server's, link-local and the platform's ranges, and opens the API server's port alone", () => {
    const rules = internetEgress({
      podCidr: "10.244.0.0/16",
      serviceCidr: "10.96.0.0/12",
      exclusions: { nodeCidrs: ["192.168.49.0/24"], apiServerEndpoints: ["192.168.49.2:8443"], platformCidrs: ["192.168.204.0/24"] },
    });
    expect(rules[0]).to.deep.equal({
      to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.244.0.0/16", "10.96.0.0/12", LINK_LOCAL, "192.168.49.0/24", "192.168.49.2/32", "192.168.204.0/24"] } }],
    });
    expect(rules.slice(1)).to.deep.equal([{ to: [{ ipBlock: { cidr: "192.168.49.2/32" } }], ports: [{ protocol: "TCP", port: 8443 }] }]);
  });

  it("always excludes link-local (cloud metadata), even with no exclusions configured", () => {
    const [rule] = internetEgress({ podCidr: "10.244.0.0/16", serviceCidr: "10.96.0.0/12", exclusions: { nodeCidrs: [], apiServerEndpoints: [], platformCidrs: [] } });
    expect(rule.to[0].ipBlock.except).to.include("169.254.0.0/16");
  });
});
