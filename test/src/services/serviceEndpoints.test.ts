import { expect } from "chai";
import { serviceEndpoints } from "../../../src/services/serviceEndpoints";
import { parseSettings } from "../../../src/settings/schema";
import { stackFileConfig } from "../../../tools/mockedProgram";

const services = (stack: string, overrides: Record<string, unknown> = {}) =>
  parseSettings({ ...stackFileConfig(stack), ...overrides }).services;

describe("service endpoints", () => {
  it("uses fixed NodePorts on the minikube node", () => {
    const urls = serviceEndpoints(services("minikube"), "https://192.168.49.2:8443");
    expect(urls).to.deep.include({
      pulpUrl: "http://192.168.49.2:30817",
      pulpContentOrigin: "http://192.168.49.2:30816",
      objectStorePublicUrl: "http://192.168.49.2:30900",
      registryHost: "192.168.49.2:30500",
      // People open the Dashboard on the node, not at the in-cluster Service name.
      dashboardUrl: "http://192.168.49.2:30097",
    });
    expect(urls.ingressHosts).to.equal(undefined);
  });

  it("puts Ingress hosts under the API server's domain, with https when cert-manager issues", () => {
    const cengn = serviceEndpoints(services("cengn"), "https://build.starlingx.cengn.ca:6443");
    expect(cengn.pulpContentOrigin).to.equal("https://pulp.build.starlingx.cengn.ca");
    expect(cengn.ingressHosts).to.deep.equal({
      pulp: "pulp.build.starlingx.cengn.ca",
      objectStore: "s3.build.starlingx.cengn.ca",
      registry: "registry.build.starlingx.cengn.ca",
      dashboard: "tekton.build.starlingx.cengn.ca",
    });
    expect(cengn.dashboardUrl).to.equal("https://tekton.build.starlingx.cengn.ca");
    const stx = serviceEndpoints(services("starlingx"), "https://10.10.10.2:6443");
    expect(stx.pulpUrl).to.equal("https://pulp.10.10.10.2.nip.io");
  });

  it("honours an explicit domain, content origin and public S3 URL", () => {
    const urls = serviceEndpoints(
      services("cengn", {
        services: {
          exposure: { domain: "farm.example.org", tlsSecret: "farm-tls" },
          pulp: { contentOrigin: "https://mirror.example.org" },
          objectStore: { publicUrl: "https://downloads.example.org" },
        },
      }),
      "https://build.starlingx.cengn.ca:6443",
    );
    expect(urls.pulpUrl).to.equal("https://pulp.farm.example.org");
    expect(urls.pulpContentOrigin).to.equal("https://mirror.example.org");
    expect(urls.objectStorePublicUrl).to.equal("https://downloads.example.org");
  });
});
