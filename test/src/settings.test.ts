import { expect } from "chai";
import { expectProblem, problems } from "../harness/settingsProblems";
import { parseSettings } from "../../src/settings/schema";
import { stackFileConfig } from "../../tools/mockedProgram";

const base = () => ({
  profile: "cengn",
  apiServer: "https://build.example.org:6443",
  cluster: { nodes: [{ name: "build-01", cpu: "64", memory: "256Gi", ephemeralStorage: "2Ti" }] },
  users: [{ name: "alice" }, { name: "bob" }],
  // Ingresses carry credentials: the cengn profile refuses them without TLS.
  services: { exposure: { kind: "ingress", tlsSecret: "build-tls" } },
  projects: [
    {
      name: "starlingx",
      manifestUrl: "https://opendev.org/starlingx/manifest.git",
      branches: [{ name: "master", schedule: "0 1 * * *", maintainers: ["alice"] }],
    },
  ],
});


describe("settings", () => {
  describe("the stack files", () => {
    for (const stack of ["minikube", "cengn", "starlingx"]) {
      it(`accepts Pulumi.${stack}.yaml`, () => {
        const settings = parseSettings(stackFileConfig(stack));
        expect(settings.profile).to.equal(stack);
        expect(settings.users.length).to.be.at.least(1);
      });
    }
  });

  it("applies the profile's defaults under the stack's values", () => {
    const settings = parseSettings(base());
    expect(settings.cluster.storageClass).to.equal("local-path");
    expect(settings.tenancy.limits.max.cpu).to.equal("16");
    expect(settings.retention.days.master).to.equal(14);
    expect(settings.retention.days.release).to.equal("forever");
    const starlingx = parseSettings({ ...base(), profile: "starlingx", services: {} });
    expect(starlingx.cluster.storageClass).to.equal("general");
    expect(starlingx.cluster.sharedStorageClass).to.equal("cephfs");
  });

  it("lets a stack override one field of a default without restating the rest", () => {
    const settings = parseSettings({ ...base(), tenancy: { quota: { pipelineRuns: 30 } } });
    expect(settings.tenancy.quota.pipelineRuns).to.equal(30);
    expect(settings.tenancy.quota.storage).to.equal("1Ti");
  });

  it("turns YAML numbers into quantities", () => {
    const settings = parseSettings({ ...base(), tenancy: { limits: { max: { cpu: 12 } } } });
    expect(settings.tenancy.limits.max.cpu).to.equal("12");
  });

  describe("rejects bad input with the setting's path and what is allowed", () => {
    it("an unknown stack profile", () => {
      expectProblem({ ...base(), profile: "gke" }, "profile", /is "gke"; it must be one of minikube, cengn, starlingx/);
    });

    it("a missing profile", () => {
      const { profile: _profile, ...rest } = base();
      expectProblem(rest, "profile", /is required.*minikube, cengn, starlingx/);
    });

    it("a missing required value (the API server URL on a shared farm)", () => {
      const { apiServer: _api, ...rest } = base();
      expectProblem(rest, "apiServer", /is required/);
    });

    it("no users at all", () => {
      expectProblem({ ...base(), users: [] }, "users", /at least one user/);
    });

    it("an invalid user name", () => {
      for (const name of ["Alice", "al_ice", "-alice", "alice-", "9lives", "a".repeat(41), "ålice"]) {
        expectProblem({ ...base(), users: [{ name }] }, "users[0].name", /lower-case letters, digits and '-'/);
      }
    });

    it("duplicate users", () => {
      expectProblem(
        { ...base(), users: [{ name: "alice" }, { name: "bob" }, { name: "alice" }] },
        "users[2].name",
        /duplicate user "alice" \(also at index 0\)/,
      );
    });

    it("a quota smaller than one container's default request", () => {
      expectProblem(
        { ...base(), tenancy: { quota: { requests: { memory: "512Mi" } } } },
        "tenancy.quota.requests.memory",
        /smaller than one container's default request \(1Gi\)/,
      );
    });

    it("a user's quota override smaller than the default request", () => {
      expectProblem(
        { ...base(), users: [{ name: "alice", quota: { requests: { cpu: "100m" } } }] },
        "users[0].quota.requests.cpu",
        /smaller than one container's default request/,
      );
    });

    it("defaultRequest above max", () => {
      expectProblem(
        { ...base(), tenancy: { limits: { defaultRequest: { cpu: "20" }, default: { cpu: "20" } } } },
        "tenancy.limits.defaultRequest.cpu",
        /20 is above max 16; defaultRequest must be at most max/,
      );
    });

    it("a default limit above max", () => {
      expectProblem(
        { ...base(), tenancy: { limits: { default: { memory: "128Gi" } } } },
        "tenancy.limits.default.memory",
        /above max 64Gi/,
      );
    });

    it("unparseable Kubernetes quantities", () => {
      for (const bad of ["4GB", "lots", "-1Gi", "1 Gi"]) {
        expectProblem(
          { ...base(), tenancy: { limits: { max: { memory: bad } } } },
          "tenancy.limits.max.memory",
          /must be a Kubernetes quantity such as "500m", "2", "512Mi"/,
        );
      }
    });

    it("negative or zero retention", () => {
      expectProblem({ ...base(), retention: { days: { master: 0 } } }, "retention.days.master", /at least 1|whole number of days/);
      expectProblem({ ...base(), retention: { days: { feature: -3 } } }, "retention.days.feature", /at least 1|whole number of days/);
      expectProblem({ ...base(), retention: { days: { milestone: 1.5 } } }, "retention.days.milestone", /whole number/);
    });

    it("a retention policy that would keep nothing", () => {
      expectProblem({ ...base(), retention: { keepSuccessful: 0 } }, "retention.keepSuccessful", /at least 1/);
    });

    it("an invalid cron schedule", () => {
      const raw = base();
      raw.projects[0].branches[0].schedule = "0 25 * * *";
      expectProblem(raw, "projects[0].branches[0].schedule", /not a valid schedule.*five cron fields/);
      expectProblem({ ...base(), retention: { schedule: "daily" } }, "retention.schedule", /has 1 fields/);
    });

    it("a misspelt setting", () => {
      expectProblem({ ...base(), userz: [] }, "userz", /unknown setting/);
      expectProblem({ ...base(), cluster: { storageClas: "x" } }, "cluster.storageClas", /unknown setting/);
    });

    it("a maintainer who is not a user", () => {
      const raw = base();
      raw.projects[0].branches[0].maintainers = ["mallory"];
      expectProblem(raw, "projects[0].branches[0].maintainers[0]", /"mallory" is not a configured user/);
    });

    it("the same branch twice in a project", () => {
      const raw = base();
      raw.projects[0].branches.push({ name: "master", schedule: "0 2 * * *", maintainers: [] });
      expectProblem(raw, "projects[0].branches[1].name", /duplicate branch "master"/);
    });

    it("privileged pods outside minikube", () => {
      expectProblem(
        { ...base(), users: [{ name: "alice", podSecurity: "privileged" }] },
        "users[0].podSecurity",
        /only allowed on the minikube profile/,
      );
      expect(() => parseSettings({ profile: "minikube", users: [{ name: "dev", podSecurity: "privileged" }] })).to.not.throw();
    });

    it("a value of the wrong type", () => {
      expectProblem({ ...base(), users: "alice" }, "users", /must be array, not string "alice"/);
    });

    it("reports every problem at once", () => {
      const found = problems({ ...base(), users: [{ name: "Bad" }], retention: { days: { master: 0 } }, bogus: 1 });
      expect(found).to.have.length(3);
    });
  });
});
