import { expect } from "chai";
import { execFileSync } from "child_process";
import { buildPipelineObjects, DOCKER_STAGES, FINALLY_STAGE, PIPELINE_NAME, STAGES } from "../../../src/build/definition";
import { FarmDefaults, pipelineParams, runParams, SWITCHES } from "../../../src/build/params";
import { pipelineRunManifest, planBranchJobs } from "../../../src/build/runs";
import { SCRIPTS } from "../../../src/build/scripts";
import { IMAGES } from "../../../src/versions";

const defaults: FarmDefaults = {
  objectStoreEndpoint: "http://minio.stx-system.svc:9000",
  artifactsBucket: "stx-artifacts",
  objectStoreSecret: "object-store-credentials",
  pulpUrl: "http://pulp-api.stx-system.svc:24817",
  registry: "registry.local:9001",
  builderImage: IMAGES.stxBuilder,
  distro: "debian",
  forcedWeekday: 0,
};
const build = (imageBuilds: "sysbox" | "docker-in-docker" | "none") =>
  buildPipelineObjects({ namespace: "stx-system", defaults, images: IMAGES, imageBuilds, labels: {} });

describe("the StarlingX build pipeline definition", () => {
  const { tasks, pipeline } = build("sysbox");
  const spec = pipeline.spec as any;

  it("has the stages StarlingX builds in, in a valid order, and a finally step", () => {
    expect(spec.tasks.map((t: any) => t.name)).to.deep.equal([
      "get-sources",
      "download-prerequisites",
      "build-packages-std",
      "build-packages-rt",
      "build-iso",
      "build-base-image",
      "build-wheels",
      "build-app-images",
      "build-helm-charts",
      "publish",
    ]);
    const seen = new Set<string>();
    for (const task of spec.tasks) {
      for (const before of task.runAfter ?? []) expect(seen.has(before), `${task.name} after ${before}`).to.equal(true);
      seen.add(task.name);
    }
    expect(spec.finally.map((t: any) => t.name)).to.deep.equal([FINALLY_STAGE.name]);
  });

  it("offers the usual switches and the source, release and publication parameters", () => {
    const names = spec.params.map((p: any) => p.name);
    for (const name of ["BUILD_PACKAGES", "BUILD_ISO", "BUILD_RT", "CLEAN_PACKAGES", "CLEAN_ISO", "FORCE_BUILD", "DRY_RUN", "MANIFEST_URL", "MANIFEST_BRANCH", "RELEASE_ID", "OBJECT_STORE_ENDPOINT", "PULP_URL"]) {
      expect(names).to.include(name);
    }
    expect(spec.params.find((p: any) => p.name === "MANIFEST_URL")).to.not.have.property("default");
    expect(spec.params.find((p: any) => p.name === "DRY_RUN").default).to.equal("false");
  });

  it("feeds every Task parameter from a pipeline parameter, a fixed value or the run status", () => {
    const pipelineParamNames = new Set(spec.params.map((p: any) => p.name));
    for (const use of [...spec.tasks, ...spec.finally]) {
      const task = tasks.find((t: any) => t.metadata.name === use.taskRef.params.find((p: any) => p.name === "name").value) as any;
      expect(task, use.name).to.not.equal(undefined);
      expect(use.params.map((p: any) => p.name)).to.have.members(task.spec.params.map((p: any) => p.name));
      for (const param of use.params) {
        const ref = /^\$\(params\.(\w+)\)$/.exec(param.value);
        if (ref) expect(pipelineParamNames.has(ref[1]), `${use.name}.${param.name}`).to.equal(true);
        else expect(["std", "rt", "$(tasks.status)"]).to.include(param.value);
      }
    }
  });

  it("resolves every Task from the shared namespace with the cluster resolver", () => {
    for (const use of [...spec.tasks, ...spec.finally]) {
      expect(use.taskRef.resolver).to.equal("cluster");
      expect(use.taskRef.params).to.deep.include({ name: "namespace", value: "stx-system" });
    }
  });

  it("skips every build stage when get-sources finds nothing to build, and honours the switches", () => {
    for (const use of spec.tasks.slice(1)) {
      expect(use.when).to.deep.include({ input: "$(tasks.get-sources.results.build-needed)", operator: "in", values: ["true"] });
    }
    const rt = spec.tasks.find((t: any) => t.name === "build-packages-rt");
    expect(rt.when).to.deep.include({ input: "$(params.BUILD_RT)", operator: "in", values: ["true"] });
    const iso = spec.tasks.find((t: any) => t.name === "build-iso");
    expect(iso.when).to.deep.include({ input: "$(params.BUILD_ISO)", operator: "in", values: ["true"] });
  });

  it("builds the base image with the pinned kaniko fork and runs Docker only as a loopback sidecar", () => {
    const base = tasks.find((t: any) => t.metadata.name === "stx-build-base-image") as any;
    expect(base.spec.steps.map((s: any) => s.image)).to.include(IMAGES.kaniko);
    expect(IMAGES.kaniko).to.match(/osscontainertools\/kaniko:v[\d.]+-debug@sha256:/);
    for (const name of ["stx-build-wheels", "stx-build-app-images"]) {
      const task = tasks.find((t: any) => t.metadata.name === name) as any;
      expect(task.spec.sidecars[0].args).to.include("--host=tcp://127.0.0.1:2375");
      expect(task.spec.sidecars[0].securityContext).to.deep.equal({});
    }
  });

  it("turns image builds off by default where no Docker daemon can run", () => {
    const imagesDefault = (objects: ReturnType<typeof build>) =>
      (objects.pipeline.spec as any).params.find((p: any) => p.name === "BUILD_IMAGES").default;
    expect(imagesDefault(build("none"))).to.equal("false");
    expect(imagesDefault(build("sysbox"))).to.equal("true");
  });

  it("runs privileged only in the docker-in-docker fallback", () => {
    const privileged = (objects: ReturnType<typeof build>) =>
      JSON.stringify(objects.tasks).includes('"privileged":true');
    expect(privileged(build("sysbox"))).to.equal(false);
    expect(privileged(build("none"))).to.equal(false);
    expect(privileged(build("docker-in-docker"))).to.equal(true);
  });

  it("passes parameters to scripts through the environment, never pasted into the script", () => {
    for (const task of tasks as any[]) {
      for (const step of task.spec.steps) expect(step.script, `${task.metadata.name}/${step.name}`).to.not.match(/\$\(params\./);
    }
  });

  it("tells the checkout which namespace it runs in, so private runs stay under private/<user>/", () => {
    const sources = tasks.find((t: any) => t.metadata.name === "stx-get-sources") as any;
    expect(sources.spec.steps[0].env).to.deep.include({ name: "RUN_NAMESPACE", value: "$(context.taskRun.namespace)" });
    expect(sources.spec.steps[0].script).to.contain("stx_check_namespace");
  });

  it("has scripts that parse (bash -n / sh -n)", () => {
    for (const [name, script] of Object.entries(SCRIPTS)) {
      const shell = script.startsWith("#!/bin/bash") ? "bash" : "sh";
      expect(() => execFileSync(shell, ["-n"], { input: script }), name).to.not.throw();
    }
  });

  it("checks run parameters against the pipeline's list", () => {
    const params = pipelineParams(defaults);
    expect(() => runParams({ MANIFEST_URL: "https://x", BUILD_PACKAGE: "true" }, params)).to.throw(/BUILD_PACKAGE/);
    expect(() => runParams({ BUILD_ISO: false }, params)).to.throw(/MANIFEST_URL/);
    expect(runParams({ MANIFEST_URL: "https://x", DRY_RUN: true }, params)).to.deep.include({ name: "DRY_RUN", value: "true" });
    expect(Object.keys(SWITCHES)).to.include.members(["BUILD_PACKAGES", "BUILD_ISO", "BUILD_RT", "FORCE_BUILD", "DRY_RUN"]);
  });
});

describe("PipelineRuns of the build", () => {
  const base = {
    namespace: "build-starlingx-master",
    sharedNamespace: "stx-system",
    generateName: "scheduled-",
    params: { MANIFEST_URL: "https://opendev.org/starlingx/manifest.git" },
    workspaceSize: "150Gi",
    storageClass: "local-path",
    serviceAccount: "pipeline",
    timeoutMinutes: 600,
  };

  it("resolves the shared Pipeline, cleans up its volume, and runs system stages under sysbox", () => {
    const run = pipelineRunManifest({ ...base, imageBuilds: "sysbox" }) as any;
    expect(run.metadata.annotations["tekton.dev/auto-cleanup-pvc"]).to.equal("true");
    expect(run.spec.pipelineRef.params).to.deep.include({ name: "name", value: PIPELINE_NAME });
    const sysboxed = run.spec.taskRunSpecs.map((s: any) => s.pipelineTaskName);
    expect(sysboxed).to.include.members([...DOCKER_STAGES, "build-packages-std"]);
    expect(sysboxed).to.not.include("publish");
    for (const s of run.spec.taskRunSpecs) expect(s.podTemplate.runtimeClassName).to.equal("sysbox-runc");
    // The run's pods (and Tekton's affinity assistant) stay on a node where sysbox runs.
    expect(run.spec.taskRunTemplate.podTemplate.nodeSelector).to.deep.equal({ "sysbox-runtime": "running" });
    expect(run.spec.workspaces[0].volumeClaimTemplate.spec.resources.requests.storage).to.equal("150Gi");
  });

  it("asks for no runtime class without sysbox", () => {
    const run = pipelineRunManifest({ ...base, imageBuilds: "docker-in-docker" }) as any;
    expect(run.spec).to.not.have.property("taskRunSpecs");
    expect(run.spec.taskRunTemplate).to.deep.equal({ serviceAccountName: "pipeline" });
  });

  it("plans a job per project branch with its namespace, release-id and schedule", () => {
    const jobs = planBranchJobs(
      [{ name: "starlingx", manifestUrl: "https://x/m.git", manifest: "default.xml", branches: [
        { name: "master", schedule: "0 1 * * *", maintainers: [] },
        { name: "r/stx.10.0", maintainers: [], podSecurity: "privileged" },
      ] }],
      "docker-in-docker",
    );
    expect(jobs.map((j) => [j.namespace, j.releaseId, j.schedule, j.canBuild])).to.deep.equal([
      ["build-starlingx-master", "master", "0 1 * * *", false],
      [jobs[1].namespace, "release/stx.10.0", undefined, true],
    ]);
    expect(STAGES.length).to.equal(10);
  });
});
