import { expect } from "chai";
import { spawnSync } from "child_process";
import { ALLOWED_CONTENT_CHECKSUMS, pythonLiteral, renderPulpSettings, PulpSettingsInput } from "../../../src/services/pulpConfig";

const BASE: PulpSettingsInput = {
  secretKey: "k".repeat(50),
  contentOrigin: "https://pulp.build.example.org",
  database: { host: "pulp-database.stx-system.svc", port: 5432, name: "pulp", user: "pulp", password: 'p"w\\d' },
  redis: { host: "pulp-redis.stx-system.svc", port: 6379 },
  redirectToObjectStorage: false,
};

/** Evaluates settings.py with the local Python (when there is one) and returns its globals as JSON. */
function evaluate(text: string): Record<string, any> | undefined {
  const script = "import json,sys\nns={}\nexec(sys.stdin.read(), ns)\nprint(json.dumps({k: v for k, v in ns.items() if k.isupper()}))";
  const result = spawnSync("python3", ["-c", script], { input: text, encoding: "utf8" });
  if (result.error) return undefined;
  expect(result.status, result.stderr).to.equal(0);
  return JSON.parse(result.stdout);
}

describe("Pulp settings.py", () => {
  it("allows md5 and sha1, which APT metadata needs", () => {
    expect(ALLOWED_CONTENT_CHECKSUMS).to.include.members(["md5", "sha1", "sha256"]);
    expect(renderPulpSettings(BASE)).to.contain('ALLOWED_CONTENT_CHECKSUMS = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]');
  });

  it("is valid Python that yields the values it was given, quotes included", function () {
    const values = evaluate(renderPulpSettings(BASE));
    if (!values) this.skip();
    expect(values!.DATABASES.default.PASSWORD).to.equal('p"w\\d');
    expect(values!.CONTENT_ORIGIN).to.equal("https://pulp.build.example.org");
    expect(values!.MEDIA_ROOT).to.equal("/var/lib/pulp/media");
    expect(values!.DB_ENCRYPTION_KEY).to.equal("/etc/pulp/keys/database_fields.symmetric.key");
    expect(values!.TOKEN_AUTH_DISABLED).to.equal(true);
  });

  it("stores on S3 without keys in the file, and does not redirect unless asked", function () {
    const text = renderPulpSettings({ ...BASE, s3: { endpoint: "http://minio.stx-system.svc:9000", region: "us-east-1", bucket: "stx-pulp" } });
    expect(text).not.to.contain("access_key").and.not.to.contain("secret_key");
    const values = evaluate(text);
    if (!values) this.skip();
    expect(values!.STORAGES.default.BACKEND).to.equal("storages.backends.s3.S3Storage");
    expect(values!.STORAGES.default.OPTIONS).to.include({ bucket_name: "stx-pulp", endpoint_url: "http://minio.stx-system.svc:9000", addressing_style: "path" });
    expect(values!.REDIRECT_TO_OBJECT_STORAGE).to.equal(false);
    expect(values!.MEDIA_ROOT).to.equal("");
  });

  it("rejects a CONTENT_ORIGIN with a path", () => {
    expect(() => renderPulpSettings({ ...BASE, contentOrigin: "https://pulp.example.org/pulp/content/" })).to.throw(/CONTENT_ORIGIN/);
  });

  it("writes Python literals for JSON-like data", () => {
    expect(pythonLiteral({ a: [true, false, null, 3] })).to.equal('{"a": [True, False, None, 3]}');
    expect(() => pythonLiteral(Number.NaN)).to.throw();
  });
});
