import { expect } from "chai";
import { execFileSync } from "child_process";
import fc from "fast-check";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { releaseIdForBranch } from "../../../src/artifacts";
import { PolicyDocument, staleStoreUsers, storeUsersHash, storeUsersScript, tenantPolicy, tenantStoreUsers } from "../../../src/services/objectStoreUsers";
import { planTenants } from "../../../src/tenancy/tenants";
import { parseSettings } from "../../../src/settings/schema";
import { stackFileConfig } from "../../../tools/mockedProgram";

/** Whether `policy` allows `action` on `resource` (AWS semantics for Allow statements, `*` and StringLike on s3:prefix). */
function allows(policy: PolicyDocument, action: string, resource: string, listPrefix = ""): boolean {
  const matches = (pattern: string, text: string) =>
    new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`).test(text);
  return policy.Statement.some((s) =>
    s.Effect === "Allow" && s.Action.some((a) => matches(a, action)) && s.Resource.some((r) => matches(r, resource)) &&
    Object.entries(s.Condition ?? {}).every(([op, keys]) => {
      expect(op).to.equal("StringLike");
      return Object.entries(keys).every(([key, patterns]) => key === "s3:prefix" && patterns.some((p) => matches(p, listPrefix)));
    }));
}

const settings = parseSettings(stackFileConfig("cengn"));
const tenants = planTenants(settings);
const users = tenantStoreUsers(tenants, settings.retention.days);
const userOf = (namespace: string) => users.find((u) => u.namespace === namespace)!;
const obj = (key: string) => `arn:aws:s3:::stx-artifacts/${key}`;
const BUCKET = "arn:aws:s3:::stx-artifacts";

describe("object store users of the tenant namespaces", () => {
  it("gives every tenant of the plan its own user and write prefix; release branches keep forever", () => {
    expect(users.map((u) => u.namespace)).to.deep.equal(tenants.map((t) => t.namespace));
    expect(userOf("user-dpenney")).to.include({ writePrefix: "private/dpenney/", keepForever: false });
    // Branch builds are published: their prefix sits under the anonymously readable published/.
    expect(userOf("build-starlingx-master")).to.include({ writePrefix: "published/master/", keepForever: false });
    const release = users.find((u) => u.writePrefix === "published/release/stx.10.0/")!;
    expect(release.keepForever).to.equal(settings.retention.days.release === "forever").and.to.equal(true);
    expect(new Set(users.map((u) => u.accessKey)).size).to.equal(users.length);
    for (const u of users) expect(u.accessKey).to.match(/^stx-[0-9a-f]{16}$/);
    const forever = tenantStoreUsers(tenants, { ...settings.retention.days, master: "forever" });
    expect(forever.find((u) => u.namespace === "build-starlingx-master")!.keepForever).to.equal(true);
    expect(releaseIdForBranch("r/stx.10.0")).to.equal("release/stx.10.0");
  });

  it("lets a user read and list only its own private prefix and the published builds", () => {
    const policy = tenantPolicy("stx-artifacts", userOf("user-dpenney"));
    expect(allows(policy, "s3:GetObject", obj("private/dpenney/x/debian/20260301T020304Z/outputs/logs/a.log"))).to.equal(true);
    expect(allows(policy, "s3:GetObject", obj("published/master/debian/latest_build"))).to.equal(true);
    expect(allows(policy, "s3:GetObject", obj("private/slittle/x/debian/20260301T020304Z/outputs/iso/x.iso"))).to.equal(false);
    expect(allows(policy, "s3:GetObject", obj("private/dpenney2/x"))).to.equal(false);
    expect(allows(policy, "s3:ListBucket", BUCKET, "private/dpenney/x/")).to.equal(true);
    expect(allows(policy, "s3:ListBucket", BUCKET, "published/")).to.equal(true);
    for (const prefix of ["", "private/", "private/slittle/", "private"]) expect(allows(policy, "s3:ListBucket", BUCKET, prefix), prefix).to.equal(false);
    expect(allows(policy, "s3:DeleteObject", obj("private/dpenney/x/debian/latest_build"))).to.equal(true);
    expect(allows(policy, "s3:PutObject", obj("published/master/x"))).to.equal(false);
  });

  it("lets a release branch write new builds but delete nothing, and other branches delete only their own", () => {
    const release = tenantPolicy("stx-artifacts", users.find((u) => u.writePrefix === "published/release/stx.10.0/")!);
    const build = obj("published/release/stx.10.0/debian/20260301T020304Z/outputs/iso/x.iso");
    expect(allows(release, "s3:PutObject", build)).to.equal(true);
    expect(allows(release, "s3:DeleteObject", build)).to.equal(false);
    expect(allows(release, "s3:DeleteObject", obj("published/release/stx.10.0/debian/latest_build"))).to.equal(false);
    const master = tenantPolicy("stx-artifacts", userOf("build-starlingx-master"));
    expect(allows(master, "s3:DeleteObject", obj("published/master/debian/20260301T020304Z/outputs/std/a.deb"))).to.equal(true);
    for (const key of ["published/release/stx.10.0/debian/latest_build", "published/master2/x", "private/dpenney/x", "published/master"]) {
      expect(allows(master, "s3:DeleteObject", obj(key)), key).to.equal(false);
      expect(allows(master, "s3:PutObject", obj(key)), key).to.equal(false);
    }
    for (const policy of [release, master]) {
      expect(allows(policy, "s3:GetObject", "arn:aws:s3:::stx-backups/published/release/stx.10.0/x")).to.equal(false);
      expect(allows(policy, "s3:DeleteBucket", BUCKET)).to.equal(false);
      expect(allows(policy, "s3:PutBucketPolicy", BUCKET)).to.equal(false);
      expect(allows(policy, "admin:CreateUser", "arn:aws:s3:::*")).to.equal(false);
    }
  });

  it("never lets a tenant read another's private prefix or delete outside its own, or under a kept-forever one (property)", () => {
    fc.assert(
      fc.property(fc.constantFrom(...users), fc.constantFrom("", "private/", "published/", "private/slittle/", "published/release/stx.9.0/"),
        fc.stringMatching(/^[a-z0-9./_-]{1,30}$/), (user, base, rest) => {
          const key = base + rest;
          const policy = tenantPolicy("stx-artifacts", user);
          const deletable = allows(policy, "s3:DeleteObject", obj(key));
          expect(deletable, `${user.writePrefix} delete ${key}`).to.equal(key.startsWith(user.writePrefix) && !user.keepForever);
          const readable = allows(policy, "s3:GetObject", obj(key));
          expect(readable, `${user.writePrefix} read ${key}`).to.equal(key.startsWith(user.writePrefix) || key.startsWith("published/"));
        }),
      { numRuns: 300 },
    );
  });

  it("refuses prefixes that would widen the grant", () => {
    for (const prefix of ["", "master", "/master/", "release/*/", "private/../master/"]) {
      expect(() => tenantPolicy("stx-artifacts", { writePrefix: prefix, keepForever: false }), prefix).to.throw(/key prefix/);
    }
    expect(() => tenantPolicy("Bad_Bucket", { writePrefix: "master/", keepForever: false })).to.throw(/bucket/);
  });

  it("changes the set's hash exactly when a user, prefix or deletability changes", () => {
    expect(storeUsersHash("stx-artifacts", users)).to.equal(storeUsersHash("stx-artifacts", tenantStoreUsers(tenants, settings.retention.days)));
    expect(storeUsersHash("stx-artifacts", users.slice(1))).to.not.equal(storeUsersHash("stx-artifacts", users));
    const moved = users.map((u, i) => (i === 0 ? { ...u, writePrefix: "private/eve/" } : u));
    expect(storeUsersHash("stx-artifacts", moved)).to.not.equal(storeUsersHash("stx-artifacts", users));
    const frozen = users.map((u, i) => (i === 0 ? { ...u, keepForever: true } : u));
    expect(storeUsersHash("stx-artifacts", frozen)).to.not.equal(storeUsersHash("stx-artifacts", users));
  });

  it("creates each user with its policy from the mounted files, reading keys only from files", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "users-"));
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(dir, "users"), "stx-aaaa\nstx-bbbb\n");
    for (const u of ["stx-aaaa", "stx-bbbb"]) {
      fs.writeFileSync(path.join(dir, `${u}.secret`), `secret-of-${u}`);
      fs.writeFileSync(path.join(dir, `${u}.json`), "{}");
    }
    // attach fails for stx-bbbb (already attached): info must then show the policy.
    fs.writeFileSync(path.join(bin, "mc"), `#!/bin/sh
echo "$*" >> "${dir}/calls"
case "$*" in
  "admin policy attach store stx-bbbb"*) exit 1 ;;
  "admin user info"*) echo '{"accessKey":"stx-bbbb","policyName":"stx-bbbb"}' ;;
esac
`, { mode: 0o755 });
    execFileSync("sh", ["-ec", storeUsersScript(dir)], { env: { PATH: `${bin}:${process.env.PATH}` } });
    const calls = fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n");
    fs.rmSync(dir, { recursive: true });
    expect(calls).to.deep.equal([
      `admin policy create store stx-aaaa ${dir}/stx-aaaa.json`,
      "admin user add store stx-aaaa secret-of-stx-aaaa",
      "admin policy attach store stx-aaaa --user stx-aaaa",
      `admin policy create store stx-bbbb ${dir}/stx-bbbb.json`,
      "admin user add store stx-bbbb secret-of-stx-bbbb",
      "admin policy attach store stx-bbbb --user stx-bbbb",
      "admin user info store stx-bbbb --json",
      "admin user list store --json",
      "admin policy list store --json",
    ]);
    expect(storeUsersScript(dir)).to.not.contain("secret-of");
  });

  it("removes the users and policies of removed tenants, and never anyone else's", () => {
    const [kept, gone] = ["stx-00000000000000aa", "stx-00000000000000bb"];
    expect(staleStoreUsers([kept, gone, "site-admin", "stx-backup", "readwrite"], [kept])).to.deep.equal([gone]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "users-"));
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(dir, "users"), `${kept}\n`);
    fs.writeFileSync(path.join(dir, `${kept}.secret`), "s");
    fs.writeFileSync(path.join(dir, `${kept}.json`), "{}");
    // What mc prints with --json: one object a line.
    fs.writeFileSync(path.join(bin, "mc"), `#!/bin/sh
echo "$*" >> "${dir}/calls"
case "$*" in
  "admin user list store --json") for u in ${kept} ${gone} site-admin; do echo "{\\"status\\":\\"success\\",\\"accessKey\\":\\"$u\\",\\"userStatus\\":\\"enabled\\"}"; done ;;
  "admin policy list store --json") for p in readwrite ${kept} ${gone} stx-backup; do echo "{\\"status\\":\\"success\\",\\"policy\\":\\"$p\\"}"; done ;;
esac
`, { mode: 0o755 });
    execFileSync("sh", ["-ec", storeUsersScript(dir)], { env: { PATH: `${bin}:${process.env.PATH}` } });
    const calls = fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n");
    fs.rmSync(dir, { recursive: true });
    expect(calls.filter((c) => / remove /.test(c))).to.deep.equal([`admin user remove store ${gone}`, `admin policy remove store ${gone}`]);
  });
});
