/**
 * The nasty configurations of issue 19, each refused with the setting's path and what is allowed.
 */
import { expect } from "chai";
import { expectProblem, problems } from "../../harness/settingsProblems";
import { parseSettings } from "../../../src/settings/schema";
import { NASTY_NAMES } from "../nastyNames";

const base = (): Record<string, any> => ({
  profile: "cengn",
  apiServer: "https://build.example.org:6443",
  cluster: { nodes: [{ name: "build-01", cpu: "64", memory: "256Gi", ephemeralStorage: "2Ti" }] },
  users: [{ name: "alice" }],
  services: { exposure: { kind: "ingress", tlsSecret: "build-tls" } },
  projects: [{ name: "starlingx", manifestUrl: "https://opendev.org/starlingx/manifest.git", branches: [{ name: "master" }, { name: "r/stx.10.0" }] }],
});


describe("settings refused for safety (issue 19)", () => {
  it("accepts the usual branch names", () => {
    const raw = base();
    raw.projects[0].branches = ["master", "r/stx.10.0", "f/some_feature-2", "milestone/stx.11.0.b1"].map((name) => ({ name }));
    expect(parseSettings(raw).projects[0].branches).to.have.length(4);
  });

  for (const name of NASTY_NAMES) {
    it(`refuses the branch ${JSON.stringify(name)}, naming the setting and what is allowed`, () => {
      const raw = base();
      raw.projects[0].branches[1].name = name;
      expectProblem(raw, "projects[0].branches[1].name", /must be a git branch name: ASCII letters, digits, '\.', '_', '-' and '\/' only.*it contains U\+/);
    });
  }

  it("shows an invisible character by its code point, so a second \"master\" is explained", () => {
    const raw = base();
    raw.projects[0].branches[1].name = "mas\u200bter";
    expectProblem(raw, "projects[0].branches[1].name", /it contains U\+200B$/);
  });

  for (const name of ["-x", "a..b", "a/", "/a", "a//b", "a/.hidden", "x.lock", "x."]) {
    it(`refuses ${name}, which git's ref rules forbid`, () => {
      const raw = base();
      raw.projects[0].branches[1].name = name;
      expectProblem(raw, "projects[0].branches[1].name", /breaks git's ref rules/);
    });
  }

  it("refuses user and project names outside the name alphabet", () => {
    const raw = base();
    raw.users[0].name = "al$(id)";
    raw.projects[0].name = "stx';x";
    const found = problems(raw);
    expect(found.some((p) => p.startsWith("stx-build-cluster:users[0].name: must be lower-case letters"))).to.equal(true);
    expect(found.some((p) => p.startsWith("stx-build-cluster:projects[0].name: must be lower-case letters"))).to.equal(true);
  });

  it("refuses a manifest file that is not a plain relative .xml path", () => {
    const raw = base();
    raw.projects[0].manifest = "../x.xml; id";
    expectProblem(raw, "projects[0].manifest", /relative path of an \.xml file/);
  });

  it("refuses a shared namespace that is a system or tenant namespace", () => {
    for (const [ns, pattern] of [["kube-system", /belongs to Kubernetes or the platform/], ["default", /belongs to Kubernetes/], ["user-alice", /is the namespace of user alice/], ["build-starlingx-master", /is the namespace of starlingx master/], ["user-later", /starts with "user-" or "build-"/]] as const) {
      const raw = base();
      raw.cluster.sharedNamespace = ns;
      expectProblem(raw, "cluster.sharedNamespace", pattern);
    }
  });

  it("refuses URLs with credentials, other schemes, and an API server without TLS", () => {
    const cases: [(raw: any) => void, string, RegExp][] = [
      [(r) => (r.apiServer = "http://build.example.org:6443"), "apiServer", /has the scheme "http:"; it must be a https:\/\/ URL/],
      [(r) => (r.apiServer = "javascript:alert(1)"), "apiServer", /has the scheme "javascript:"/],
      [(r) => (r.apiServer = "https://admin:secret@build.example.org:6443"), "apiServer", /carries a user name or password/],
      [(r) => (r.projects[0].manifestUrl = "https://bob:token@opendev.org/m.git"), "projects[0].manifestUrl", /carries a user name or password/],
      [(r) => (r.projects[0].manifestUrl = "file:///etc/passwd"), "projects[0].manifestUrl", /has the scheme "file:"/],
      [(r) => (r.services.objectStore = { publicUrl: "ftp://s3.example.org" }), "services.objectStore.publicUrl", /has the scheme "ftp:"; it must be a https:\/\/ or http:\/\/ URL/],
      [(r) => (r.services.pulp = { contentOrigin: "https://u:p@pulp.example.org" }), "services.pulp.contentOrigin", /carries a user name or password/],
    ];
    for (const [change, path, pattern] of cases) {
      const raw = base();
      change(raw);
      expectProblem(raw, path, pattern);
    }
    const ssh = base();
    ssh.projects[0].manifestUrl = "ssh://git@review.example.org:29418/starlingx/manifest";
    expect(parseSettings(ssh).projects[0].manifestUrl).to.contain("git@");
  });

  it("refuses pod, Service and exclusion ranges that are too wide", () => {
    for (const key of ["podCidr", "serviceCidr"]) {
      const raw = base();
      raw.cluster[key] = "0.0.0.0/0";
      expectProblem(raw, `cluster.${key}`, /0\.0\.0\.0\/0 is wider than \/8/);
    }
    const raw = base();
    raw.cluster.egressExclusions = { nodeCidrs: ["0.0.0.0/1"], apiServerEndpoints: ["10.0.0.1:99999"] };
    const found = problems(raw);
    expect(found.some((p) => p.startsWith("stx-build-cluster:cluster.egressExclusions.apiServerEndpoints[0]: must have a port from 1 to 65535"))).to.equal(true, found.join("\n"));
    const wide = base();
    wide.cluster.egressExclusions = { nodeCidrs: ["10.0.0.0/24"], platformCidrs: ["0.0.0.0/1"] };
    expectProblem(wide, "cluster.egressExclusions.platformCidrs[0]", /wider than \/8: it would cut builds off the internet/);
  });

  it("refuses a LimitRange whose min, ratio or quota would stop build pods", () => {
    const raw = base();
    raw.tenancy = {
      limits: { min: { cpu: "1" }, maxLimitRequestRatio: { memory: 4 } },
      quota: { limits: { memory: "1Gi" } },
    };
    const found = problems(raw);
    const line = (path: string) => found.find((p) => p.startsWith(`stx-build-cluster:${path}: `)) ?? found.join("\n");
    expect(line("tenancy.limits.min.cpu")).to.match(/1 is above defaultRequest 500m; min must be at most defaultRequest/);
    expect(line("tenancy.limits.maxLimitRequestRatio.memory")).to.match(/4 is below default \/ min \(8Gi \/ 100Mi = 81.92\); Tekton lowers a step's request to min/);
    // Tekton's affinity assistant asks for 50m: a higher min refuses it, and the run's pods wait forever.
    expect(found).to.include("stx-build-cluster:tenancy.limits.min.cpu: 1 is above what Tekton's affinity assistant asks for (50m), so every build run's pods would wait for it forever: at most 50m");
    expect(line("tenancy.quota.limits.memory")).to.match(/1Gi is smaller than one container's default limit \(8Gi\)/);
    const user = base();
    user.users[0].limits = { maxLimitRequestRatio: { cpu: 0.5 } };
    expect(problems(user).join("\n")).to.contain("stx-build-cluster:users[0].limits.maxLimitRequestRatio.cpu: must be at least 1");
  });

  it("refuses a node name that is not a DNS name (it reaches a remote shell on StarlingX)", () => {
    const raw = base();
    raw.cluster.nodes[0].name = "build-01; reboot";
    expectProblem(raw, "cluster.nodes[0].name", /must be the Kubernetes node name \(a DNS name/);
  });
});
