import { expect } from "chai";
import { execFile, execFileSync } from "child_process";
import fc from "fast-check";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { BUILD_ID_LABEL, BuildRef, buildId, buildPulpName, buildRunSelector, isBuildPulpName } from "../../../src/artifacts";
import { buildPipelineObjects } from "../../../src/build/definition";
import { LAYOUT_SHELL } from "../../../src/build/layout";
import { SCRIPTS } from "../../../src/build/scripts";
import { contentSpec, MIRROR_PREFIX } from "../../../src/services/pulpContent";
import { KubeClient } from "../../../src/retention/kube";
import { PulpClient } from "../../../src/retention/pulp";
import { IMAGES } from "../../../src/versions";
import { releaseIdArb } from "../artifacts.test";
import { fakeKube, fakePulp, startFake } from "../retention/servers";

const run = promisify(execFile);
const envOf = (b: BuildRef) => ({ PATH: process.env.PATH ?? "", RELEASE_ID: b.releaseId, DISTRO: b.distro, BUILD_DATE: b.buildDate });
const shell = (script: string, b: BuildRef) => execFileSync("sh", ["-c", `${LAYOUT_SHELL}\n${script}`], { env: envOf(b), encoding: "utf8" });

const short: BuildRef = { releaseId: "master", distro: "debian", buildDate: "20260301T020304Z" };
const long: BuildRef = { releaseId: "private/alice/a-very-long-topic-name-for-a-private-build-1234", distro: "debian", buildDate: "20260301T020304Z" };
const dateArb = fc.date({ min: new Date(Date.UTC(2000, 0, 1)), max: new Date(Date.UTC(2099, 11, 31)), noInvalidDate: true })
  .map((d) => d.toISOString().replace(/\.\d{3}Z$/, "Z").replace(/[-:]/g, ""));

/** Runs the pipeline's label-run step with a fake kubectl; returns the label it set. */
function labelRun(build: BuildRef): { label: string; buildDate: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "label-run-"));
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  fs.mkdirSync(path.join(dir, ".stx", "logs"), { recursive: true });
  fs.writeFileSync(path.join(dir, ".stx", "release-id"), build.releaseId);
  fs.writeFileSync(path.join(dir, ".stx", "distro"), build.distro);
  fs.writeFileSync(path.join(dir, ".stx", "build-date.pending"), build.buildDate);
  fs.writeFileSync(path.join(bin, "kubectl"), `#!/bin/sh\necho "$*" >> "${dir}/calls"\necho "pipelinerun.tekton.dev/$5 labeled"\n`, { mode: 0o755 });
  execFileSync("sh", ["-c", SCRIPTS.labelRun], {
    env: { PATH: `${bin}:${process.env.PATH}`, WORKSPACE: dir, RUN_NAMESPACE: "build-starlingx-master", PIPELINE_RUN: "scheduled-x1", RESULT_BUILD_DATE: path.join(dir, "result") },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const call = fs.readFileSync(path.join(dir, "calls"), "utf8").trim();
  const buildDate = fs.readFileSync(path.join(dir, ".stx", "build-date"), "utf8");
  expect(fs.readFileSync(path.join(dir, "result"), "utf8")).to.equal(build.buildDate);
  fs.rmSync(dir, { recursive: true });
  expect(call).to.match(new RegExp(`^label pipelinerun -n build-starlingx-master scheduled-x1 ${BUILD_ID_LABEL.replace(/\./g, "\\.")}=\\S+ --overwrite$`));
  return { label: call.split(" ")[5].slice(BUILD_ID_LABEL.length + 1), buildDate };
}

describe("the pipeline honours the retention contract", () => {
  it("computes build ids and Pulp names in shell exactly like src/artifacts.ts (short and hashed ids)", () => {
    for (const build of [short, long]) {
      expect(shell("stx_build_id", build)).to.equal(buildId(build));
      expect(shell("stx_pulp_name std", build)).to.equal(buildPulpName(build, "std"));
      expect(shell("stx_pulp_name rt", build)).to.equal(buildPulpName(build, "rt"));
    }
    expect(buildId(long)).to.have.length(63);
    expect(() => shell("stx_pulp_name Std 2>/dev/null", short)).to.throw();
    expect(() => buildPulpName(short, "Std")).to.throw(/build phase/);
  });

  it("agrees for any build (property)", () => {
    fc.assert(
      fc.property(releaseIdArb, fc.constantFrom("debian", "debian-12"), dateArb, (releaseId, distro, buildDate) => {
        const build = { releaseId, distro, buildDate };
        expect(shell("stx_build_id", build)).to.equal(buildId(build));
      }),
      { numRuns: 40 },
    );
  });

  it("labels its own PipelineRun so retention's selector finds exactly that run", async () => {
    const { label, buildDate } = labelRun(long);
    expect(buildDate).to.equal(long.buildDate);
    const other = { ...long, buildDate: "20260302T020304Z" };
    const kube = fakeKube([
      { namespace: "user-alice", name: "mine", labels: { [BUILD_ID_LABEL]: label }, created: "2026-03-01T02:03:04Z" },
      { namespace: "user-alice", name: "other", labels: { [BUILD_ID_LABEL]: labelRun(other).label }, created: "2026-03-02T02:03:04Z" },
    ]);
    const server = await startFake(kube.handler);
    try {
      const client = new KubeClient({ apiUrl: server.url });
      expect((await client.listPipelineRuns(buildRunSelector(long))).map((r) => r.name)).to.deep.equal(["mine"]);
      expect((await client.listPipelineRuns(buildRunSelector(other))).map((r) => r.name)).to.deep.equal(["other"]);
    } finally {
      await server.stop();
    }
  });

  it("names its Pulp repositories so retention removes the build's and never a mirror", async () => {
    const mirrors = contentSpec([
      { name: "debian-bullseye", type: "deb", url: "http://deb.debian.org/debian", policy: "on_demand", distributions: "bullseye" },
      { name: "master_debian_20260301T020304Z-std", type: "file", url: "http://x/PULP_MANIFEST", policy: "immediate" },
    ] as never).mirrors.map((m) => m.name);
    const names = await Promise.all(["std", "rt"].map(async (phase) => (await run("sh", ["-c", `${LAYOUT_SHELL}\nstx_pulp_name ${phase}`], { env: envOf(short) })).stdout));
    const later = { ...short, buildDate: "20260301T020305Z" };
    const pulp = fakePulp({ distributions: [...names, ...mirrors, buildPulpName(later, "std")], repositories: [...names, ...mirrors] });
    const server = await startFake(pulp.handler);
    try {
      const removed = await new PulpClient({ baseUrl: server.url }).remove(short);
      expect(removed.repositories).to.have.members(names);
      expect(removed.distributions).to.have.members(names);
      expect(pulp.remaining()).to.have.members([...mirrors, ...mirrors, buildPulpName(later, "std")]);
    } finally {
      await server.stop();
    }
  });

  it("never takes a mirror's name for a build's", () => {
    fc.assert(
      fc.property(releaseIdArb, dateArb, fc.stringMatching(/^[a-z0-9][-a-z0-9._]{0,30}$/), (releaseId, buildDate, mirror) => {
        const build = { releaseId, distro: "debian", buildDate };
        expect(buildPulpName(build, "std").startsWith(MIRROR_PREFIX)).to.equal(false);
        expect(isBuildPulpName(build, `${MIRROR_PREFIX}${mirror}`)).to.equal(false);
      }),
      { numRuns: 200 },
    );
  });

  it("labels the run before anything can be written: build-date exists only after label-run", () => {
    const { tasks } = buildPipelineObjects({
      namespace: "stx-system",
      defaults: { objectStoreEndpoint: "http://s3", artifactsBucket: "a", objectStoreSecret: "s", pulpUrl: "http://p", registry: "r", builderImage: "b", distro: "debian", forcedWeekday: 0 },
      images: IMAGES,
      imageBuilds: "sysbox",
      labels: {},
    }) as { tasks: any[] };
    const steps = tasks.find((t) => t.metadata.name === "stx-get-sources").spec.steps;
    expect(steps.map((s: any) => s.name)).to.deep.equal(["start", "label-run", "checkout", "decide"]);
    expect(steps[1].image).to.equal(IMAGES.kubectl);
    expect(steps[1].env).to.deep.include({ name: "PIPELINE_RUN", valueFrom: { fieldRef: { fieldPath: "metadata.labels['tekton.dev/pipelineRun']" } } });
    expect(steps[0].script).to.not.match(/> \.stx\/build-date\s/);
    expect(SCRIPTS.labelRun).to.contain("mv .stx/build-date.pending .stx/build-date");
    expect(SCRIPTS.finish).to.contain("if [ ! -s .stx/build-date ]");
  });
});
