/**
 * The registry gate: an authenticating reverse proxy in front of distribution, in the registry's
 * own pod (distribution listens on loopback only). It checks each login's password, asks
 * `decide` (registryAccess.ts) whether the request is allowed, and forwards it with the body
 * streamed both ways. A push of a tag under an immutable prefix is forwarded only when that tag
 * does not exist yet (a HEAD upstream first), which neither htpasswd nor token scopes can express.
 *
 * Passwords are stored as SHA-256 hex: they are 32 random characters from @pulumi/random, so a
 * slow hash would add nothing but CPU per request.
 */
import { createHash, timingSafeEqual } from "crypto";
import * as http from "http";
import { decide, RegistryLogin, RegistryRules } from "./registryAccess";

export interface GateConfig {
  /** distribution's address, e.g. http://127.0.0.1:5002 (loopback: nothing else reaches it). */
  readonly upstream: string;
  readonly realm: string;
  readonly rules: RegistryRules;
  /** user → SHA-256 hex of the password. */
  readonly passwords: Readonly<Record<string, string>>;
}

/** File names in the gate's ConfigMap: the bundled program (gzipped, see programBundle) and its loader. */
export const GATE_BUNDLE_FILE = "gate.js.gz";
export const GATE_LOADER_FILE = "run.js";
/** Unpacks the gate into the temp dir and runs it, like the retention jobs' loader. */
export const GATE_LOADER = [
  'const fs = require("fs"), path = require("path"), zlib = require("zlib");',
  'const file = path.join(require("os").tmpdir(), "registry-gate.js");',
  `fs.writeFileSync(file, zlib.gunzipSync(fs.readFileSync(path.join(__dirname, "${GATE_BUNDLE_FILE}"))));`,
  "require(file);",
  "",
].join("\n");

export function passwordDigest(password: string): string {
  return createHash("sha256").update(password, "utf8").digest("hex");
}

/** The login an Authorization header proves, or undefined. */
export function authenticate(config: GateConfig, header: string | undefined): RegistryLogin | undefined {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header ?? "");
  if (!match) return undefined;
  const text = Buffer.from(match[1], "base64").toString("utf8");
  const colon = text.indexOf(":");
  if (colon < 1) return undefined;
  const [user, password] = [text.slice(0, colon), text.slice(colon + 1)];
  const expected = Object.prototype.hasOwnProperty.call(config.passwords, user) ? config.passwords[user] : undefined;
  const given = Buffer.from(passwordDigest(password), "hex");
  // Compare against something of the same length even for unknown users, so timing tells nothing.
  const ok = timingSafeEqual(given, Buffer.from(expected ?? "0".repeat(64), "hex")) && expected !== undefined;
  return ok ? config.rules.logins.find((l) => l.user === user) : undefined;
}

function errorReply(res: http.ServerResponse, status: number, code: string, message: string, realm?: string): void {
  const headers: http.OutgoingHttpHeaders = { "content-type": "application/json", "docker-distribution-api-version": "registry/2.0" };
  if (realm) headers["www-authenticate"] = `Basic realm="${realm}"`;
  res.writeHead(status, headers);
  res.end(JSON.stringify({ errors: [{ code, message, detail: null }] }));
}

/** Forwards the request upstream (path and query as given, the gate's own headers dropped). */
function forward(config: GateConfig, req: http.IncomingMessage, res: http.ServerResponse, path: string): void {
  const upstream = new URL(config.upstream);
  const headers = { ...req.headers, host: req.headers.host ?? upstream.host };
  delete headers.authorization;
  const proxied = http.request({ hostname: upstream.hostname, port: upstream.port, method: req.method, path, headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  proxied.on("error", (err) => {
    if (!res.headersSent) errorReply(res, 502, "UNAVAILABLE", `registry unreachable: ${err.message}`);
    else res.destroy(err);
  });
  req.pipe(proxied);
}

/** Status of a HEAD on a manifest upstream (200 when the tag exists). */
function headManifest(config: GateConfig, repository: string, tag: string): Promise<number> {
  const upstream = new URL(config.upstream);
  const accept = [
    "application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json",
  ].join(", ");
  return new Promise((resolve, reject) => {
    const req = http.request({
      hostname: upstream.hostname, port: upstream.port, method: "HEAD", path: `/v2/${repository}/manifests/${tag}`, headers: { accept },
    }, (answer) => {
      answer.resume();
      resolve(answer.statusCode ?? 502);
    });
    req.on("error", reject);
    req.end();
  });
}

/** The request handler (exported for tests that mount it on their own server). */
export function gateHandler(config: GateConfig): http.RequestListener {
  return (req, res) => {
    const url = new URL(req.url ?? "/", "http://gate");
    if (url.pathname === "/healthz") return void res.end("ok");
    const login = authenticate(config, req.headers.authorization);
    if (!login) return errorReply(res, 401, "UNAUTHORIZED", "authentication required", config.realm);
    const decision = decide(config.rules, login, req.method ?? "GET", url);
    if (!decision.allow) return errorReply(res, decision.status, decision.status === 403 ? "DENIED" : "UNSUPPORTED", decision.reason);
    if (decision.dropMount) {
      url.searchParams.delete("mount");
      url.searchParams.delete("from");
    }
    const path = `${url.pathname}${url.search}`;
    if (!decision.tagMustBeAbsent) return forward(config, req, res, path);
    req.pause();
    headManifest(config, decision.repository!, decision.tagMustBeAbsent).then(
      (status) => {
        if (status === 404) return forward(config, req, res, path);
        if (status === 200) return errorReply(res, 403, "DENIED", `${decision.repository}:${decision.tagMustBeAbsent} exists and release images are never overwritten`);
        errorReply(res, 502, "UNAVAILABLE", `registry answered ${status} when checking the tag`);
      },
      (err: Error) => errorReply(res, 502, "UNAVAILABLE", `registry unreachable: ${err.message}`),
    );
  };
}

/** Starts the gate on `port` (all interfaces: the registry Service points here). */
export function startGate(config: GateConfig, port: number, host?: string): http.Server {
  const server = http.createServer(gateHandler(config));
  // Layer uploads can be slow; the registry itself bounds them.
  server.requestTimeout = 0;
  server.listen(port, host);
  return server;
}
