/**
 * Servers the retention tests talk to, all on 127.0.0.1: a real MinIO (built by
 * scripts/toolchain.sh), and small fakes of the Pulp and Kubernetes APIs that record what was deleted.
 */
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT } from "../../../tools/mockedProgram";

export interface Minio {
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  stop(): Promise<void>;
}

const TOOLCHAIN = path.join(REPO_ROOT, "scripts", "toolchain.sh");

/**
 * The minio binary. Never built here: `npm test` builds it first (`bash scripts/toolchain.sh minio`,
 * a step of its own with progress), because a build inside a mocha hook races the hook's timeout.
 */
export function minioBinary(): string {
  const binDir = execFileSync("bash", [TOOLCHAIN, "--bin-dir"], { encoding: "utf8" }).trim();
  const binary = path.join(binDir, "minio");
  if (!fs.existsSync(binary)) throw new Error(`${binary} is missing: run bash scripts/toolchain.sh minio (npm test does)`);
  return binary;
}

/** A loopback port the kernel hands out, closed again for a test server to take. */
export async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function startMinio(binary: string): Promise<Minio> {
  const [port, consolePort] = [await freePort(), await freePort()];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "stx-minio-"));
  const credentials = { accessKeyId: "retention-test", secretAccessKey: "retention-test-secret" };
  const child: ChildProcess = spawn(
    binary,
    ["server", dataDir, "--address", `127.0.0.1:${port}`, "--console-address", `127.0.0.1:${consolePort}`, "--quiet"],
    {
      env: {
        ...process.env,
        MINIO_ROOT_USER: credentials.accessKeyId,
        MINIO_ROOT_PASSWORD: credentials.secretAccessKey,
        MINIO_BROWSER: "off",
        MINIO_UPDATE: "off",
        MINIO_CI_CD: "1",
      },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk) => (stderr += chunk));
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`minio exited with ${child.exitCode}: ${stderr}`);
    try {
      const response = await fetch(`${endpoint}/minio/health/ready`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`minio did not become ready in 30 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { endpoint, ...credentials, stop };
}

/** A loopback HTTP server answering with `handler`; returns its URL and a stop function. */
export async function startFake(
  handler: (method: string, url: URL, body: string) => { status: number; json?: unknown },
): Promise<{ url: string; requests: string[]; stop(): Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://fake");
      requests.push(`${req.method} ${url.pathname}${url.search}`);
      const answer = handler(req.method ?? "GET", url, body);
      res.writeHead(answer.status, { "content-type": "application/json" });
      res.end(answer.json === undefined ? "" : JSON.stringify(answer.json));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, requests, stop: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** An in-memory Pulp with distributions and repositories; DELETE answers with a task that completes. */
export function fakePulp(names: { distributions: string[]; repositories: string[] }) {
  const objects = new Map<string, { kind: string; name: string; href: string }>();
  let id = 0;
  for (const kind of ["distributions", "repositories"] as const) {
    for (const name of names[kind]) {
      const href = `/pulp/api/v3/${kind}/deb/apt/${++id}/`;
      objects.set(href, { kind, name, href });
    }
  }
  const deleted: string[] = [];
  const handler = (method: string, url: URL) => {
    const list = /^\/pulp\/api\/v3\/(distributions|repositories)\/$/.exec(url.pathname);
    if (method === "GET" && list) {
      const prefix = url.searchParams.get("name__startswith") ?? "";
      const offset = Number(url.searchParams.get("offset") ?? "0");
      const all = [...objects.values()].filter((o) => o.kind === list[1] && o.name.startsWith(prefix));
      const page = all.slice(offset, offset + 2); // tiny pages, so paging is exercised
      const next = offset + 2 < all.length ? `${url.pathname}?name__startswith=${encodeURIComponent(prefix)}&offset=${offset + 2}` : null;
      return { status: 200, json: { count: all.length, next, previous: null, results: page.map((o) => ({ pulp_href: o.href, name: o.name })) } };
    }
    if (method === "DELETE" && objects.has(url.pathname)) {
      deleted.push(objects.get(url.pathname)!.name);
      objects.delete(url.pathname);
      return { status: 202, json: { task: `/pulp/api/v3/tasks/${++id}/` } };
    }
    if (method === "GET" && url.pathname.startsWith("/pulp/api/v3/tasks/")) return { status: 200, json: { state: "completed" } };
    return { status: 404, json: { detail: "Not found." } };
  };
  return { handler, deleted, remaining: () => [...objects.values()].map((o) => o.name) };
}

/** An in-memory Kubernetes API holding PipelineRuns (and one Deployment for the registry window). */
export function fakeKube(runs: { namespace: string; name: string; labels: Record<string, string>; created: string; completionTime?: string }[]) {
  const deleted: string[] = [];
  const handler = (method: string, url: URL) => {
    const listed = /^\/apis\/tekton\.dev\/v1\/(?:namespaces\/([^/]+)\/)?pipelineruns$/.exec(url.pathname);
    if (method === "GET" && listed) {
      const selector = url.searchParams.get("labelSelector");
      const [key, value] = selector ? selector.split("=") : [undefined, undefined];
      const items = runs
        .filter((r) => !deleted.includes(`${r.namespace}/${r.name}`))
        .filter((r) => key === undefined || r.labels[key] === value)
        .filter((r) => listed[1] === undefined || r.namespace === listed[1])
        .map((r) => ({
          metadata: { namespace: r.namespace, name: r.name, labels: r.labels, creationTimestamp: r.created },
          status: r.completionTime ? { completionTime: r.completionTime } : {},
        }));
      return { status: 200, json: { items, metadata: {} } };
    }
    const one = /^\/apis\/tekton\.dev\/v1\/namespaces\/([^/]+)\/pipelineruns\/([^/]+)$/.exec(url.pathname);
    if (method === "DELETE" && one) {
      deleted.push(`${one[1]}/${one[2]}`);
      return { status: 200, json: {} };
    }
    return { status: 404, json: {} };
  };
  return { handler, deleted };
}
