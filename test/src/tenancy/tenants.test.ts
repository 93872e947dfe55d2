import { expect } from "chai";
import { parseSettings } from "../../../src/settings/schema";
import { planTenants } from "../../../src/tenancy/tenants";
import { stackFileConfig } from "../../../tools/mockedProgram";

describe("tenant plan", () => {
  const settings = parseSettings(stackFileConfig("cengn"));
  const plans = planTenants(settings);

  it("has one namespace per user, then one per project branch", () => {
    const branches = settings.projects.flatMap((p) => p.branches);
    expect(plans).to.have.length(settings.users.length + branches.length);
    expect(plans.slice(0, settings.users.length).every((p) => p.kind === "user")).to.equal(true);
  });

  it("gives every tenant a unique namespace", () => {
    expect(new Set(plans.map((p) => p.namespace)).size).to.equal(plans.length);
  });

  it("applies a user's quota overrides on top of the defaults", () => {
    const team = plans.find((p) => p.owner === "build-team")!;
    expect(team.quota.requests.cpu).to.equal("64");
    expect(team.quota.pipelineRuns).to.equal(22);
    expect(team.quota.storage).to.equal(settings.tenancy.quota.storage);
    const other = plans.find((p) => p.owner === "dpenney")!;
    expect(other.quota.requests.cpu).to.equal(settings.tenancy.quota.requests.cpu);
  });

  it("makes branch maintainers the members of its build namespace", () => {
    const master = plans.find((p) => p.owner === "starlingx/master")!;
    expect(master.namespace).to.equal("build-starlingx-master");
    expect(master.members).to.deep.equal(["build-team", "slittle"]);
    expect(master.issuesKubeconfig).to.equal(false);
  });

  it("names release branches with their hash so r/stx.10.0 cannot meet r-stx-10-0", () => {
    const release = plans.find((p) => p.owner === "starlingx/r/stx.10.0")!;
    expect(release.namespace).to.match(/^build-starlingx-r-stx-10-0-[0-9a-f]{8}$/);
  });
});
