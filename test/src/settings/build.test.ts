import { expect } from "chai";
import { parseSettings, SettingsError } from "../../../src/settings/schema";
import { stackFileConfig } from "../../../tools/mockedProgram";
import { builtToolsTag } from "../../../src/settings/build";
import { IMAGES, STX_TOOLS_SOURCE } from "../../../src/versions";

function problems(stack: string, overrides: Record<string, unknown>): string[] {
  try {
    parseSettings({ ...stackFileConfig(stack), ...overrides });
  } catch (error) {
    if (error instanceof SettingsError) return [...error.problems];
    throw error;
  }
  return [];
}

describe("build settings", () => {
  it("has per-profile defaults: no Jenkins or sysbox on minikube, Jenkins and sysbox on cengn", () => {
    const minikube = parseSettings(stackFileConfig("minikube")).build;
    expect(minikube.imageBuilds).to.equal("docker-in-docker");
    expect(minikube.jenkins.enabled).to.equal(false);
    const cengn = parseSettings(stackFileConfig("cengn")).build;
    expect(cengn).to.deep.include({ imageBuilds: "sysbox", forcedBuildWeekday: 0, distro: "debian" });
    expect(cengn.jenkins.enabled).to.equal(true);
    expect(cengn.tekton.dashboard).to.equal(true);
    // No stack exposes the login-less Dashboard unless its file asks for it.
    for (const stack of ["minikube", "cengn", "starlingx"]) expect(parseSettings(stackFileConfig(stack)).build.tekton.dashboardAccess, stack).to.equal("port-forward");
    expect(parseSettings({ ...stackFileConfig("minikube"), build: { tekton: { dashboardAccess: "public" } } }).build.tekton.dashboardAccess).to.equal("public");
    const starlingx = parseSettings(stackFileConfig("starlingx")).build;
    expect([starlingx.imageBuilds, starlingx.jenkins.enabled]).to.deep.equal(["none", false]);
  });

  it("builds no tools images unless asked, and pins kaniko and the starlingx/tools commit when asked", () => {
    const off = parseSettings(stackFileConfig("cengn")).build.toolsImageBuild;
    expect(off).to.deep.equal({
      enabled: false, gitUrl: STX_TOOLS_SOURCE.url, gitRef: "refs/heads/master", commit: STX_TOOLS_SOURCE.commit,
      kanikoImage: IMAGES.kaniko, repository: "starlingx-tools/", registryMap: "",
    });
    const on = parseSettings({ ...stackFileConfig("minikube"), build: { toolsImageBuild: { enabled: true, kanikoImage: "registry.example/kaniko/executor:v1.25.2" } } }).build;
    expect(on.toolsImageBuild.kanikoImage).to.equal("registry.example/kaniko/executor:v1.25.2");
    // The tag it pushes is one build.toolsImages accepts (it names trixie: the tools' "Invalid tooling" check).
    expect(builtToolsTag(on)).to.equal("master-debian-trixie-amd64-52d6081eb456");
    expect(parseSettings({ ...stackFileConfig("minikube"), build: { toolsImages: { tag: builtToolsTag(on) } } }).build.toolsImages.tag).to.equal(builtToolsTag(on));
  });

  const bad: [string, string, Record<string, unknown>, RegExp][] = [
    ["Jenkins on minikube", "minikube", { build: { jenkins: { enabled: true } } }, /^stx-build-cluster:build\.jenkins\.enabled: Jenkins is not deployed on minikube/],
    ["sysbox on minikube", "minikube", { build: { imageBuilds: "sysbox" } }, /^stx-build-cluster:build\.imageBuilds: "sysbox" is not supported on minikube/],
    ["docker-in-docker on a farm", "cengn", { build: { imageBuilds: "docker-in-docker" } }, /^stx-build-cluster:build\.imageBuilds: "docker-in-docker" needs privileged pods/],
    ["an unknown image build mode", "cengn", { build: { imageBuilds: "podman" } }, /^stx-build-cluster:build\.imageBuilds: is "podman"; it must be one of "sysbox"/],
    ["a sysbox node that is not configured", "cengn", { build: { sysboxNodes: ["build-09"] } }, /^stx-build-cluster:build\.sysboxNodes\[0\]: "build-09" is not in cluster\.nodes/],
    ["a weekday out of range", "cengn", { build: { forcedBuildWeekday: 7 } }, /^stx-build-cluster:build\.forcedBuildWeekday: must be a day of the week/],
    ["a tools tag of another codename", "cengn", { build: { toolsImages: { tag: "master-debian-20230203T015600Z" } } }, /^stx-build-cluster:build\.toolsImages\.tag: "master-debian-20230203T015600Z" does not name trixie.*Invalid tooling/],
    ["a Debian snapshot that is no timestamp", "cengn", { build: { debianSnapshot: "latest" } }, /^stx-build-cluster:build\.debianSnapshot: must be a snapshot\.debian\.org timestamp/],
    ["a tools prefix without its slash", "cengn", { build: { toolsImages: { prefix: "registry.local:9001/starlingx" } } }, /^stx-build-cluster:build\.toolsImages\.prefix: must be a registry path/],
    ["sysbox on a StarlingX host", "starlingx", { build: { imageBuilds: "sysbox" } }, /^stx-build-cluster:build\.imageBuilds: "sysbox" cannot be installed on a StarlingX host/],
    ["a PipelineRun quota that finished runs fill", "cengn", { tenancy: { quota: { pipelineRuns: 21 } } }, /^stx-build-cluster:tenancy\.quota\.pipelineRuns: 21 is too small: .* at least 22/],
    ["a made-up time zone", "cengn", { build: { timeZone: "Mars/Olympus" } }, /^stx-build-cluster:build\.timeZone: "Mars\/Olympus" is not an IANA time zone/],
    ["SSH settings off StarlingX", "cengn", { build: { starlingxHost: { address: "10.0.0.1" } } }, /^stx-build-cluster:build\.starlingxHost: is only used on the starlingx profile/],
    ["a misspelt key", "cengn", { build: { jenkins: { enable: true } } }, /^stx-build-cluster:build\.jenkins\.enable: unknown setting/],
    ["a Dashboard without login on a farm of many users", "cengn", { build: { tekton: { dashboardAccess: "public" } } }, /^stx-build-cluster:build\.tekton\.dashboardAccess: "public" exposes the Dashboard without a login, .* this stack has 5 users; use "port-forward"/],
    ["a zero timeout", "cengn", { build: { tekton: { defaultTimeoutMinutes: 0 } } }, /^stx-build-cluster:build\.tekton\.defaultTimeoutMinutes: must be at least 1/],
    ["a bad workspace size", "cengn", { build: { workspaceSize: "lots" } }, /^stx-build-cluster:build\.workspaceSize: must be/],
    ["a Kubernetes version that is not 1.<minor>", "cengn", { cluster: { kubernetesVersion: "v1.30.2" } }, /^stx-build-cluster:cluster\.kubernetesVersion: must be a Kubernetes minor version such as "1\.30"/],
    ["sysbox on a Kubernetes version no pinned installer supports", "cengn", { cluster: { kubernetesVersion: "1.31" } }, /^stx-build-cluster:cluster\.kubernetesVersion: no sysbox-deploy-k8s release supports Kubernetes 1\.31.*build\.imageBuilds is "sysbox"/],
    ["sysbox on a Kubernetes version whose installer tag is not confirmed", "cengn", { cluster: { kubernetesVersion: "1.33" } }, /^stx-build-cluster:cluster\.kubernetesVersion: Kubernetes 1\.33 is supported only by sysbox v0\.7.*build\.imageBuilds/],
    ["a tools commit given as a short hash", "cengn", { build: { toolsImageBuild: { commit: "52d6081e" } } }, /^stx-build-cluster:build\.toolsImageBuild\.commit: must be a full commit hash/],
    ["a tools repository URL with a password", "cengn", { build: { toolsImageBuild: { gitUrl: "https://bot:s3cret@opendev.org/starlingx/tools.git" } } }, /^stx-build-cluster:build\.toolsImageBuild\.gitUrl: carries a user name or password/],
    ["a tools repository over ssh (kaniko clones over http(s))", "cengn", { build: { toolsImageBuild: { gitUrl: "ssh://git@opendev.org/starlingx/tools.git" } } }, /^stx-build-cluster:build\.toolsImageBuild\.gitUrl: has the scheme "ssh:"/],
    ["a tools tag with a digest (four images, one tag)", "cengn", { build: { toolsImages: { tag: "master-debian-trixie-amd64-1@sha256:" + "a".repeat(64) } } }, /^stx-build-cluster:build\.toolsImages\.tag: must be a tag alone, without @sha256:<digest>/],
    ["a kaniko registry map with a space (it reaches kaniko's arguments)", "cengn", { build: { toolsImageBuild: { registryMap: "index.docker.io=mirror.example.org/dockerhub/ --insecure" } } }, /^stx-build-cluster:build\.toolsImageBuild\.registryMap: must be "<registry>=<registry>\[\/<path>\/\]" entries/],
    ["a tools branch that is no full ref", "cengn", { build: { toolsImageBuild: { gitRef: "master" } } }, /^stx-build-cluster:build\.toolsImageBuild\.gitRef: must be a full branch ref/],
    ["a kaniko image without tag or digest", "cengn", { build: { toolsImageBuild: { kanikoImage: "gcr.io/kaniko-project/executor" } } }, /^stx-build-cluster:build\.toolsImageBuild\.kanikoImage: must be an image reference with a tag or digest/],
    ["a tools repository path without its slash", "cengn", { build: { toolsImageBuild: { repository: "starlingx-tools" } } }, /^stx-build-cluster:build\.toolsImageBuild\.repository: must be a registry repository path ending in "\/"/],
    ["building tools images on a stack without a registry", "cengn", { services: { registry: { mode: "none" } }, build: { toolsImageBuild: { enabled: true } } }, /^stx-build-cluster:build\.toolsImageBuild\.enabled: the tools images are pushed to the farm's registry and services\.registry\.mode is "none"/],
    ["a workspace larger than the namespace quota", "minikube", { build: { workspaceSize: "300Gi" } }, /^stx-build-cluster:build\.workspaceSize: 300Gi is more than a namespace may claim \(tenancy\.quota\.storage 200Gi\)/],
  ];
  for (const [what, stack, overrides, expected] of bad) {
    it(`rejects ${what}, naming the setting`, () => {
      const found = problems(stack, overrides);
      expect(found.some((p) => expected.test(p)), found.join("\n")).to.equal(true);
    });
  }

  it("has a Kubernetes version per profile, and takes any version once sysbox is off", () => {
    expect(["minikube", "cengn", "starlingx"].map((s) => parseSettings(stackFileConfig(s)).cluster.kubernetesVersion)).to.deep.equal(["1.33", "1.30", "1.29"]);
    expect(problems("cengn", { cluster: { kubernetesVersion: "1.33" }, build: { imageBuilds: "none" } })).to.deep.equal([]);
    expect(problems("starlingx", { cluster: { kubernetesVersion: "1.32" } })).to.deep.equal([]);
  });

  it("accepts a site's own tools images in a private registry with a port", () => {
    expect(problems("cengn", { build: { toolsImages: { prefix: "registry.local:9001/starlingx/", tag: "stx.10.0-debian-trixie-amd64-20260301" } } })).to.deep.equal([]);
  });

  it("keeps the settings a profile does not need out of it", () => {
    expect(problems("starlingx", { build: { starlingxHost: { address: "10.10.10.3", user: "sysadmin" } } })).to.deep.equal([]);
    expect(problems("cengn", { build: { sysboxNodes: ["build-01", "build-03"] } })).to.deep.equal([]);
  });
});
