import { expect } from "chai";
import fc from "fast-check";
import { decide, mayAct, RegistryLogin, registryPrefix, registryRules, tenantRegistryUser } from "../../../src/services/registryAccess";
import { parseSettings } from "../../../src/settings/schema";
import { planTenants } from "../../../src/tenancy/tenants";
import { stackFileConfig } from "../../../tools/mockedProgram";

const settings = parseSettings(stackFileConfig("cengn"));
const tenants = planTenants(settings);
const rules = registryRules(tenants, settings.retention.days, "stx-build");
const login = (namespace: string): RegistryLogin => rules.logins.find((l) => l.namespace === namespace)!;
const release = tenants.find((t) => t.releaseId === "release/stx.10.0")!.namespace;
const req = (l: RegistryLogin, method: string, path: string) => decide(rules, l, method, new URL(path, "http://registry"));
const digest = `sha256:${"ab".repeat(32)}`;

describe("registry access per repository prefix", () => {
  it("gives every tenant of the plan one login, pushing only under its namespace", () => {
    expect(rules.logins.map((l) => l.namespace).slice(1)).to.deep.equal(tenants.map((t) => t.namespace));
    for (const tenant of tenants) {
      const l = login(tenant.namespace);
      expect(l.user).to.equal(tenantRegistryUser(tenant.namespace));
      expect(l.push).to.deep.equal([registryPrefix(tenant)]);
    }
    expect(rules.immutable).to.deep.equal(tenants.filter((t) => t.releaseId?.startsWith("release/")).map(registryPrefix));
    expect(rules.immutable).to.include(`${release}/`);
  });

  it("refuses a user pushing or pulling under another user's prefix", () => {
    const alice = login("user-dpenney");
    expect(req(alice, "PUT", "/v2/user-slittle/app/manifests/v1")).to.include({ allow: false, status: 403 });
    expect(req(alice, "POST", "/v2/user-slittle/app/blobs/uploads/")).to.include({ allow: false, status: 403 });
    expect(req(alice, "GET", "/v2/user-slittle/app/manifests/v1")).to.include({ allow: false, status: 403 });
    expect(req(alice, "GET", "/v2/user-slittle/app/tags/list")).to.include({ allow: false });
    // A prefix is a whole path component: user-dpenney2/ is not user-dpenney's.
    expect(mayAct(alice, "push", "user-dpenney2/app")).to.equal(false);
    expect(req(alice, "PUT", "/v2/user-dpenney/app/manifests/v1")).to.include({ allow: true, action: "push" });
    expect(req(alice, "DELETE", `/v2/user-dpenney/app/manifests/${digest}`)).to.include({ allow: true, action: "delete" });
    // Shared branch images are readable by every tenant, writable only by the branch.
    expect(req(alice, "GET", "/v2/build-starlingx-master/stx-builder/manifests/latest")).to.include({ allow: true, action: "pull" });
    expect(req(alice, "PUT", "/v2/build-starlingx-master/stx-builder/manifests/latest")).to.include({ allow: false });
    expect(req(alice, "GET", "/v2/_catalog")).to.include({ allow: false, status: 403 });
  });

  it("lets a branch's login push under the branch prefix", () => {
    const master = login("build-starlingx-master");
    expect(req(master, "PUT", "/v2/build-starlingx-master/stx-builder/manifests/latest")).to.deep.equal({
      allow: true, action: "push", repository: "build-starlingx-master/stx-builder",
    });
    expect(req(master, "PATCH", "/v2/build-starlingx-master/stx-builder/blobs/uploads/0b5e-uuid_x=")).to.include({ allow: true });
    expect(req(master, "PUT", `/v2/${release}/stx-builder/manifests/latest`)).to.include({ allow: false });
  });

  it("keeps release images immutable: no tag overwrite, no delete, even by the release branch", () => {
    const rel = login(release);
    expect(req(rel, "PUT", `/v2/${release}/stx-builder/manifests/20260301`)).to.deep.equal({
      allow: true, action: "push", repository: `${release}/stx-builder`, tagMustBeAbsent: "20260301",
    });
    // A manifest put by digest cannot change what the digest names.
    expect(req(rel, "PUT", `/v2/${release}/stx-builder/manifests/${digest}`)).to.not.have.property("tagMustBeAbsent");
    expect(req(rel, "DELETE", `/v2/${release}/stx-builder/manifests/${digest}`)).to.include({ allow: false, status: 403 });
    expect(req(rel, "DELETE", `/v2/${release}/stx-builder/blobs/${digest}`)).to.include({ allow: false, status: 403 });
    expect(rel.delete).to.deep.equal([]);
    // The platform's own login (shared namespace only) is the one exception, for repairs.
    expect(req(rules.logins[0], "DELETE", `/v2/${release}/stx-builder/manifests/${digest}`)).to.include({ allow: true });
  });

  it("drops a cross-repository mount from a repository the login may not pull", () => {
    const alice = login("user-dpenney");
    const mount = (from: string) => req(alice, "POST", `/v2/user-dpenney/app/blobs/uploads/?mount=${digest}&from=${from}`);
    expect(mount("user-slittle/secret")).to.include({ allow: true, dropMount: true });
    expect(mount("build-starlingx-master/base")).to.not.have.property("dropMount");
  });

  it("refuses what is not the registry API, malformed names and references, and unknown methods", () => {
    const alice = login("user-dpenney");
    for (const path of ["/v2/user-dpenney/../user-slittle/a/manifests/x", "/v2/user-dpenney%2F..%2Fuser-slittle/manifests/x", "/v2/User-dpenney/a/manifests/x", "/debug/pprof/", "/v2/user-dpenney/a/manifests/"]) {
      expect(req(alice, "GET", path), path).to.include({ allow: false });
    }
    expect(req(alice, "POST", "/v2/user-dpenney/a/manifests/v1")).to.include({ allow: false, status: 405 });
    expect(req(alice, "PUT", `/v2/user-dpenney/a/blobs/${digest}`)).to.include({ allow: false, status: 405 });
    expect(req(alice, "GET", "/v2/")).to.deep.equal({ allow: true });
  });

  it("never lets a tenant write outside its own prefix (property over names and methods)", () => {
    const segment = fc.stringMatching(/^[a-z0-9]{1,8}$/);
    fc.assert(
      fc.property(fc.constantFrom(...rules.logins.slice(1)), fc.constantFrom(...tenants.map((t) => t.namespace), "stx-system"), segment,
        fc.constantFrom("PUT", "POST", "PATCH", "DELETE"), (l, owner, image, method) => {
          const path = method === "PUT" ? `/v2/${owner}/${image}/manifests/t1` : method === "DELETE" ? `/v2/${owner}/${image}/manifests/${digest}` : `/v2/${owner}/${image}/blobs/uploads/`;
          const d = req(l, method, path);
          if (owner !== l.namespace) expect(d.allow, `${l.user} ${method} ${path}`).to.equal(false);
          if (owner === l.namespace && method === "DELETE") expect(d.allow).to.equal(!rules.immutable.includes(`${owner}/`));
        }),
      { numRuns: 400 },
    );
  });
});
