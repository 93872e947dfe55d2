/**
 * Removing a build's content from Pulp through its REST API: the distributions first (so nothing
 * is served from a repository about to go), then the repositories, whose versions and
 * publications Pulp removes with them. Objects belong to a build when `isBuildPulpName` says so.
 */
import { BuildRef, buildId, isBuildPulpName } from "../artifacts";

export interface PulpOptions {
  /** e.g. "http://pulp-api.stx-system.svc:24817" */
  readonly baseUrl: string;
  /** The API root; Pulp's default is "/pulp/api/v3/". */
  readonly apiRoot?: string;
  readonly username?: string;
  readonly password?: string;
  /** How long to wait for each deletion task. @default 120000 */
  readonly taskTimeoutMs?: number;
}

interface PulpObject {
  readonly pulp_href: string;
  readonly name: string;
}

/** What was (or, in a dry run, would be) removed. */
export interface PulpRemoval {
  readonly distributions: string[];
  readonly repositories: string[];
}

export class PulpClient {
  private readonly apiRoot: string;

  constructor(private readonly options: PulpOptions) {
    this.apiRoot = (options.apiRoot ?? "/pulp/api/v3/").replace(/^\/*/, "/").replace(/\/*$/, "/");
  }

  /** The build's distributions and repositories, by name. */
  async find(build: BuildRef): Promise<{ distributions: PulpObject[]; repositories: PulpObject[] }> {
    const prefix = buildId(build);
    const [distributions, repositories] = await Promise.all(
      ["distributions", "repositories"].map((kind) => this.list(`${this.apiRoot}${kind}/?name__startswith=${encodeURIComponent(prefix)}`)),
    );
    const mine = (o: PulpObject) => isBuildPulpName(build, o.name);
    return { distributions: distributions.filter(mine), repositories: repositories.filter(mine) };
  }

  /** Deletes the build's distributions, then its repositories, waiting for Pulp's tasks. */
  async remove(build: BuildRef, dryRun = false): Promise<PulpRemoval> {
    const found = await this.find(build);
    if (!dryRun) {
      for (const o of [...found.distributions, ...found.repositories]) await this.delete(o.pulp_href);
    }
    return { distributions: found.distributions.map((o) => o.name), repositories: found.repositories.map((o) => o.name) };
  }

  private async list(path: string): Promise<PulpObject[]> {
    const objects: PulpObject[] = [];
    let next: string | null = path;
    while (next) {
      const page = (await this.request("GET", next)) as { results: PulpObject[]; next: string | null };
      objects.push(...page.results);
      next = page.next;
    }
    return objects;
  }

  private async delete(href: string): Promise<void> {
    const response = (await this.request("DELETE", href)) as { task?: string } | undefined;
    if (response?.task) await this.waitForTask(response.task);
  }

  private async waitForTask(href: string): Promise<void> {
    const deadline = Date.now() + (this.options.taskTimeoutMs ?? 120_000);
    for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
      const task = (await this.request("GET", href)) as { state: string; error?: unknown };
      if (task.state === "completed") return;
      if (["failed", "canceled", "skipped"].includes(task.state)) {
        throw new Error(`Pulp task ${href} ${task.state}: ${JSON.stringify(task.error ?? {})}`);
      }
      if (Date.now() > deadline) throw new Error(`Pulp task ${href} still ${task.state} after the timeout`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  private async request(method: string, pathOrUrl: string): Promise<unknown> {
    const url = new URL(pathOrUrl, this.options.baseUrl);
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.options.username !== undefined) {
      headers.authorization = `Basic ${Buffer.from(`${this.options.username}:${this.options.password ?? ""}`).toString("base64")}`;
    }
    const response = await fetch(url, { method, headers });
    if (method === "DELETE" && response.status === 404) return undefined; // already gone
    if (!response.ok) throw new Error(`Pulp ${method} ${url.pathname} answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
    const text = await response.text();
    return text ? JSON.parse(text) : undefined;
  }
}
