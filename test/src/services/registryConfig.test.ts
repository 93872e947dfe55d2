import { expect } from "chai";
import * as yaml from "js-yaml";
import { registryConfig, renderRegistryConfig } from "../../../src/services/registryConfig";

describe("registry config", () => {
  it("uses a volume or S3, with deletes on, listening on loopback only behind the gate", () => {
    const fs = registryConfig({ kind: "filesystem" }) as any;
    expect(fs.storage.filesystem).to.deep.equal({ rootdirectory: "/var/lib/registry" });
    expect(fs.storage.delete.enabled).to.equal(true);
    // No auth of its own: only the gate in the same pod reaches 127.0.0.1.
    expect(fs.auth).to.equal(undefined);
    expect(fs.http.addr).to.equal("127.0.0.1:5002");
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
});
