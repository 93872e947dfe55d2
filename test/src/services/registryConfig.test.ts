import { expect } from "chai";
import * as yaml from "js-yaml";
import { htpasswdLine, registryConfig, renderRegistryConfig } from "../../../src/services/registryConfig";

describe("registry config", () => {
  it("uses a volume or S3, with deletes on and htpasswd auth", () => {
    const fs = registryConfig({ kind: "filesystem" }) as any;
    expect(fs.storage.filesystem).to.deep.equal({ rootdirectory: "/var/lib/registry" });
    expect(fs.storage.delete.enabled).to.equal(true);
    expect(fs.auth.htpasswd.path).to.equal("/etc/distribution/auth/htpasswd");
    const s3 = registryConfig({ kind: "s3", endpoint: "https://s3.example.org", region: "eu-west-1", bucket: "images" }) as any;
    expect(s3.storage.s3).to.include({ bucket: "images", region: "eu-west-1", regionendpoint: "https://s3.example.org", forcepathstyle: true, secure: true });
    expect(s3.storage.filesystem).to.equal(undefined);
    expect(s3.storage.redirect).to.deep.equal({ disable: true });
    expect(fs.storage.redirect).to.equal(undefined);
    expect(registryConfig({ kind: "s3", endpoint: "http://minio:9000", region: "r", bucket: "b" })).to.have.nested.property("storage.s3.secure", false);
  });

  it("renders a YAML file that parses back to the same config and holds no credentials", () => {
    const storage = { kind: "s3", endpoint: "http://minio.stx-system.svc:9000", region: "us-east-1", bucket: "stx-registry" } as const;
    const text = renderRegistryConfig(storage);
    expect(yaml.load(text)).to.deep.equal(registryConfig(storage));
    expect(text).not.to.match(/accesskey|secretkey|password/i);
  });

  it("writes one htpasswd line from a bcrypt hash and refuses anything else", () => {
    const hash = `$2a$10$${"a".repeat(53)}`;
    expect(htpasswdLine("stx-build", hash)).to.equal(`stx-build:${hash}\n`);
    expect(() => htpasswdLine("stx-build", "plain-password")).to.throw(/bcrypt/);
    expect(() => htpasswdLine("bad:user", hash)).to.throw(/registry user/);
  });
});
