import { expect } from "chai";
import fc from "fast-check";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BuildRef, buildId } from "../../../src/artifacts";
import { KubeClient, PipelineRunRef, runsToPrune } from "../../../src/retention/kube";
import { main } from "../../../src/retention/main";
import { PulpClient } from "../../../src/retention/pulp";
import { READONLY_ENV, setRegistryReadOnly } from "../../../src/retention/registry";
import { fakeKube, fakePulp, startFake } from "./servers";

async function quietly<T>(fn: () => Promise<T>, lines: string[] = []): Promise<T> {
  const [log, error] = [console.log, console.error];
  console.log = (l: string) => lines.push(l);
  console.error = (l: string) => lines.push(l);
  try {
    return await fn();
  } finally {
    [console.log, console.error] = [log, error];
  }
}

describe("PipelineRun pruning", () => {
  const run = (namespace: string, minute: number, done = true): PipelineRunRef => ({
    namespace,
    name: `run-${minute}`,
    created: new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString(),
    ...(done ? { completionTime: new Date(Date.UTC(2026, 0, 1, 1, minute)).toISOString() } : {}),
  });

  it("keeps the newest N finished runs per namespace and never touches running ones", () => {
    const arb = fc.array(fc.record({ ns: fc.constantFrom("a", "b", "c"), minute: fc.integer({ min: 0, max: 59 }), done: fc.boolean() }), { maxLength: 60 });
    fc.assert(
      fc.property(arb, fc.integer({ min: 1, max: 10 }), (specs, keep) => {
        const runs = specs.map((s, i) => ({ ...run(s.ns, s.minute, s.done), name: `r${i}` }));
        const pruned = new Set(runsToPrune(runs, keep));
        for (const ns of ["a", "b", "c"]) {
          const finished = runs.filter((r) => r.namespace === ns && r.completionTime);
          const kept = finished.filter((r) => !pruned.has(r));
          expect(kept.length).to.equal(Math.min(keep, finished.length));
          // Everything kept is at least as new as everything pruned.
          for (const p of finished.filter((r) => pruned.has(r))) {
            for (const k of kept) expect(Date.parse(k.created)).to.be.at.least(Date.parse(p.created));
          }
        }
        for (const p of pruned) expect(p.completionTime).to.be.a("string");
      }),
    );
    expect(() => runsToPrune([], 0)).to.throw(/keep is 0; it must be 1 or more/);
  });

  it("deletes the surplus through the Kubernetes API, namespace by namespace", async () => {
    const runs = Array.from({ length: 5 }, (_, i) => ({
      namespace: i < 4 ? "build-a" : "build-b",
      name: `nightly-${i}`,
      labels: {},
      created: new Date(Date.UTC(2026, 0, i + 1)).toISOString(),
      completionTime: new Date(Date.UTC(2026, 0, i + 1, 3)).toISOString(),
    }));
    const kube = fakeKube(runs);
    const server = await startFake(kube.handler);
    try {
      const env = { KUBE_API_URL: server.url, KEEP_PIPELINERUNS: "2", PIPELINERUN_NAMESPACES: "build-a,build-b" };
      expect(await quietly(() => main(["prune-runs"], { ...env, DRY_RUN: "true" }))).to.equal(0);
      expect(kube.deleted).to.be.empty;
      expect(await quietly(() => main(["prune-runs"], env))).to.equal(0);
      expect(kube.deleted).to.have.members(["build-a/nightly-0", "build-a/nightly-1"]);
      expect(server.requests.filter((r) => r.startsWith("GET")).map((r) => r.split("?")[0])).to.include.members([
        "GET /apis/tekton.dev/v1/namespaces/build-a/pipelineruns",
        "GET /apis/tekton.dev/v1/namespaces/build-b/pipelineruns",
      ]);
    } finally {
      await server.stop();
    }
  });
});

describe("Pulp removal", () => {
  const build: BuildRef = { releaseId: "feature/foo", distro: "debian", buildDate: "20260101T000000Z" };
  const id = buildId(build);

  it("removes only the build's distributions and repositories, across pages", async () => {
    const pulp = fakePulp({
      distributions: [`${id}-std`, `${id}-rt`, `${id}-installer`, `${id}_other`, "feature.foo_debian_20260101T000000Zx"],
      repositories: [id, `${id}-std`, "debian-mirror"],
    });
    const server = await startFake(pulp.handler);
    try {
      const client = new PulpClient({ baseUrl: server.url, username: "admin", password: "secret" });
      const dry = await client.remove(build, true);
      expect(dry.distributions).to.have.members([`${id}-std`, `${id}-rt`, `${id}-installer`]);
      expect(pulp.deleted).to.be.empty;
      await client.remove(build);
      expect(pulp.deleted).to.have.members([`${id}-std`, `${id}-rt`, `${id}-installer`, id, `${id}-std`]);
      expect(pulp.remaining()).to.have.members([`${id}_other`, "feature.foo_debian_20260101T000000Zx", "debian-mirror"]);
    } finally {
      await server.stop();
    }
  });

  it("fails loudly when a Pulp task fails", async () => {
    const server = await startFake((method, url) => {
      if (method === "GET" && url.pathname.endsWith("/distributions/")) {
        return { status: 200, json: { next: null, results: [{ pulp_href: "/pulp/api/v3/distributions/deb/apt/1/", name: id }] } };
      }
      if (method === "GET" && url.pathname.endsWith("/repositories/")) return { status: 200, json: { next: null, results: [] } };
      if (method === "DELETE") return { status: 202, json: { task: "/pulp/api/v3/tasks/9/" } };
      return { status: 200, json: { state: "failed", error: { description: "disk full" } } };
    });
    try {
      await new PulpClient({ baseUrl: server.url }).remove(build).then(
        () => expect.fail("should have thrown"),
        (error: Error) => expect(error.message).to.match(/task \/pulp\/api\/v3\/tasks\/9\/ failed.*disk full/),
      );
    } finally {
      await server.stop();
    }
  });
});

describe("registry read-only window", () => {
  function fakeDeployment() {
    let generation = 1;
    const deployment = {
      metadata: { name: "registry", namespace: "stx-system", generation },
      spec: { replicas: 1, template: { spec: { containers: [{ name: "registry", env: [{ name: "OTHER", value: "x" }] as any[] }] } } },
      status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 },
    };
    const patches: any[] = [];
    const handler = (method: string, url: URL, body: string) => {
      if (url.pathname !== "/apis/apps/v1/namespaces/stx-system/deployments/registry") return { status: 404, json: {} };
      if (method === "PATCH") {
        const patch = JSON.parse(body);
        patches.push(patch);
        // Apply the strategic merge patch of the env list the way the API server would.
        const container = deployment.spec.template.spec.containers[0];
        for (const e of patch.spec.template.spec.containers[0].env) {
          container.env = container.env.filter((v: any) => v.name !== e.name);
          if (e.$patch !== "delete") container.env.push(e);
        }
        deployment.metadata.generation = ++generation;
      }
      // The rollout completes one poll after a change.
      const json = JSON.parse(JSON.stringify(deployment));
      deployment.status.observedGeneration = generation;
      return { status: 200, json };
    };
    return { handler, patches, env: () => deployment.spec.template.spec.containers[0].env };
  }

  it("sets the read-only override, waits for the rollout, and removes it again", async () => {
    const fake = fakeDeployment();
    const server = await startFake(fake.handler);
    try {
      const kube = new KubeClient({ apiUrl: server.url, token: "t" });
      const options = { timeoutMs: 5000, pollMs: 10, log: () => undefined };
      await setRegistryReadOnly(kube, "stx-system", "registry", true, options);
      expect(fake.env()).to.deep.include({ name: READONLY_ENV, value: '{"enabled":true}' });
      await setRegistryReadOnly(kube, "stx-system", "registry", true, options);
      expect(fake.patches).to.have.length(1); // already read-only: no second rollout
      await setRegistryReadOnly(kube, "stx-system", "registry", false, options);
      expect(fake.env()).to.deep.equal([{ name: "OTHER", value: "x" }]);
    } finally {
      await server.stop();
    }
  });

  it("fails the job when the collection inside the window failed, after closing it", async () => {
    const fake = fakeDeployment();
    const server = await startFake(fake.handler);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stx-gc-"));
    try {
      const env = { KUBE_API_URL: server.url, REGISTRY_NAMESPACE: "stx-system", REGISTRY_DEPLOYMENT: "registry", GC_STATUS_FILE: path.join(dir, "status") };
      expect(await quietly(() => main(["registry-readonly", "on"], env))).to.equal(0);
      fs.writeFileSync(env.GC_STATUS_FILE, "1\n");
      const lines: string[] = [];
      expect(await quietly(() => main(["registry-readonly", "off"], env), lines)).to.equal(1);
      expect(lines.join("\n")).to.contain("garbage-collect ended with status 1");
      expect(fake.env().map((e: any) => e.name)).not.to.include(READONLY_ENV);
      fs.writeFileSync(env.GC_STATUS_FILE, "0\n");
      expect(await quietly(() => main(["registry-readonly", "off"], env))).to.equal(0);
    } finally {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses unknown jobs and missing settings with a configuration exit status", async () => {
    const lines: string[] = [];
    expect(await quietly(() => main(["compact"], {}), lines)).to.equal(2);
    expect(await quietly(() => main(["artifacts"], { RETENTION_POLICY: "{" }), lines)).to.equal(2);
    expect(await quietly(() => main(["prune-runs"], {}), lines)).to.equal(2);
    expect(lines.join("\n")).to.contain('unknown job "compact"').and.to.contain("RETENTION_POLICY is not JSON").and.to.contain("no Kubernetes API");
  });
});
