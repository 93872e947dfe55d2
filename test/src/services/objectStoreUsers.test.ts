import { expect } from "chai";
import { execFileSync } from "child_process";
import fc from "fast-check";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { releaseIdForBranch } from "../../../src/artifacts";
import { PolicyDocument, storeUsersHash, storeUsersScript, tenantPolicy, tenantStoreUsers } from "../../../src/services/objectStoreUsers";

/** Whether `policy` allows `action` on `resource` (AWS semantics for Allow statements and `*`). */
function allows(policy: PolicyDocument, action: string, resource: string): boolean {
  const matches = (pattern: string, text: string) =>
    new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`).test(text);
  return policy.Statement.some((s) => s.Effect === "Allow" && s.Action.some((a) => matches(a, action)) && s.Resource.some((r) => matches(r, resource)));
}

const settings = {
  users: [{ name: "alice" }, { name: "bob" }],
  projects: [{ name: "starlingx", branches: [{ name: "master" }, { name: "r/stx.10.0" }, { name: "wip", releaseId: "milestone/m1" }] }],
} as never;

describe("object store users of the tenant namespaces", () => {
  it("gives every tenant its own user and write prefix", () => {
    const users = tenantStoreUsers(settings);
    expect(users.map((u) => [u.namespace, u.writePrefix])).to.deep.equal([
      ["user-alice", "private/alice/"],
      ["user-bob", "private/bob/"],
      ["build-starlingx-master", "master/"],
      [users[3].namespace, "release/stx.10.0/"],
      ["build-starlingx-wip", "milestone/m1/"],
    ]);
    expect(users[3].writePrefix).to.equal(`${releaseIdForBranch("r/stx.10.0")}/`);
    expect(new Set(users.map((u) => u.accessKey)).size).to.equal(users.length);
    for (const u of users) expect(u.accessKey).to.match(/^stx-[0-9a-f]{16}$/);
  });

  it("lets a build namespace read everything but write and delete only under its release-id", () => {
    const policy = tenantPolicy("stx-artifacts", "release/stx.10.0/");
    const obj = (key: string) => `arn:aws:s3:::stx-artifacts/${key}`;
    expect(allows(policy, "s3:GetObject", obj("master/debian/latest_build"))).to.equal(true);
    expect(allows(policy, "s3:ListBucket", "arn:aws:s3:::stx-artifacts")).to.equal(true);
    expect(allows(policy, "s3:PutObject", obj("release/stx.10.0/debian/20260301T020304Z/outputs/iso/x.iso"))).to.equal(true);
    expect(allows(policy, "s3:DeleteObject", obj("release/stx.10.0/debian/latest_build"))).to.equal(true);
    for (const key of ["master/debian/latest_build", "release/stx.10.0.1/debian/x", "release/stx.10/x", "private/alice/x", "release/stx.10.0"]) {
      expect(allows(policy, "s3:DeleteObject", obj(key)), key).to.equal(false);
      expect(allows(policy, "s3:PutObject", obj(key)), key).to.equal(false);
    }
    expect(allows(policy, "s3:GetObject", "arn:aws:s3:::stx-backups/release/stx.10.0/x")).to.equal(false);
    expect(allows(policy, "s3:DeleteBucket", "arn:aws:s3:::stx-artifacts")).to.equal(false);
    expect(allows(policy, "s3:PutBucketPolicy", "arn:aws:s3:::stx-artifacts")).to.equal(false);
    expect(allows(policy, "admin:CreateUser", "arn:aws:s3:::*")).to.equal(false);
  });

  it("never lets a tenant delete outside its prefix (property)", () => {
    const users = tenantStoreUsers(settings);
    fc.assert(
      fc.property(fc.constantFrom(...users), fc.stringMatching(/^[a-z0-9./_-]{1,40}$/), (user, key) => {
        const policy = tenantPolicy("stx-artifacts", user.writePrefix);
        const allowed = allows(policy, "s3:DeleteObject", `arn:aws:s3:::stx-artifacts/${key}`);
        expect(allowed, `${user.writePrefix} ${key}`).to.equal(key.startsWith(user.writePrefix));
      }),
      { numRuns: 300 },
    );
  });

  it("refuses prefixes that would widen the grant", () => {
    for (const prefix of ["", "master", "/master/", "release/*/", "private/../master/"]) {
      expect(() => tenantPolicy("stx-artifacts", prefix), prefix).to.throw(/key prefix/);
    }
    expect(() => tenantPolicy("Bad_Bucket", "master/")).to.throw(/bucket/);
  });

  it("changes the set's hash exactly when a user or prefix changes", () => {
    const users = tenantStoreUsers(settings);
    expect(storeUsersHash("stx-artifacts", users)).to.equal(storeUsersHash("stx-artifacts", tenantStoreUsers(settings)));
    expect(storeUsersHash("stx-artifacts", users.slice(1))).to.not.equal(storeUsersHash("stx-artifacts", users));
    const moved = users.map((u, i) => (i === 0 ? { ...u, writePrefix: "private/eve/" } : u));
    expect(storeUsersHash("stx-artifacts", moved)).to.not.equal(storeUsersHash("stx-artifacts", users));
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
    ]);
    expect(storeUsersScript(dir)).to.not.contain("secret-of");
  });
});
