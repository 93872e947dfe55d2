import { expect } from "chai";
import * as net from "net";
import { endpointOf, waitForEndpoints } from "../../../src/retention/network";
import { freePort } from "./servers";

describe("retention jobs wait for their endpoints (a new pod's network policy lags)", () => {
  it("reads host and port from the URLs the jobs get", () => {
    expect(endpointOf("http://minio.stx-system.svc:9000")).to.deep.equal({ host: "minio.stx-system.svc", port: 9000 });
    expect(endpointOf("https://s3.example.org")).to.deep.equal({ host: "s3.example.org", port: 443 });
    expect(endpointOf("http://[fd00::1]/pulp")).to.deep.equal({ host: "fd00::1", port: 80 });
  });

  it("goes on once a refused port starts accepting, and says what it waited for", async function () {
    this.timeout(20_000);
    const port = await freePort();
    const lines: string[] = [];
    const server = net.createServer((s) => s.end());
    const started = Date.now();
    setTimeout(() => server.listen(port, "127.0.0.1"), 2500);
    try {
      expect(await waitForEndpoints([`http://127.0.0.1:${port}`], (l) => lines.push(l), 15_000)).to.equal(true);
    } finally {
      server.close();
    }
    expect(Date.now() - started).to.be.at.least(2500);
    expect(lines[0]).to.match(new RegExp(`^waiting for 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`));
    expect(lines.at(-1)).to.equal(`127.0.0.1:${port} accepts connections`);
  });

  it("gives up after its limit and lets the job report the real error", async function () {
    this.timeout(20_000);
    const port = await freePort();
    const lines: string[] = [];
    expect(await waitForEndpoints([`http://127.0.0.1:${port}`], (l) => lines.push(l), 1500)).to.equal(false);
    expect(lines.at(-1)).to.match(/^still no connection to .* after 2 s; going on$/);
  });

  it("says nothing when the endpoints answer at once", async () => {
    const server = net.createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const lines: string[] = [];
    try {
      expect(await waitForEndpoints([`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`], (l) => lines.push(l))).to.equal(true);
    } finally {
      server.close();
    }
    expect(lines).to.deep.equal([]);
  });
});
