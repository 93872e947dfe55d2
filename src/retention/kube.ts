/**
 * The few Kubernetes API calls the retention jobs make (PipelineRuns and, for the registry's
 * read-only window, one Deployment), over plain HTTPS with the pod's service account. Node's fetch
 * trusts the cluster CA through NODE_EXTRA_CA_CERTS, which the CronJob sets.
 */
import * as fs from "fs";

const SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount";

export interface KubeOptions {
  /** API server URL; in a pod, https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT. */
  readonly apiUrl: string;
  readonly token?: string;
}

/** The in-cluster API URL and token, or undefined outside a cluster. */
export function inClusterKube(env: NodeJS.ProcessEnv = process.env): KubeOptions | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  if (!host) return undefined;
  const port = env.KUBERNETES_SERVICE_PORT ?? "443";
  const hostPart = host.includes(":") ? `[${host}]` : host;
  return { apiUrl: `https://${hostPart}:${port}`, token: fs.readFileSync(`${SERVICE_ACCOUNT}/token`, "utf8").trim() };
}

export interface PipelineRunRef {
  readonly namespace: string;
  readonly name: string;
  readonly created: string;
  /** Set once the run has finished. */
  readonly completionTime?: string;
}

const PIPELINE_RUNS = "/apis/tekton.dev/v1/pipelineruns";

export class KubeClient {
  constructor(private readonly options: KubeOptions) {}

  /**
   * PipelineRuns of `namespaces` (every namespace when undefined, which needs cluster-wide read
   * access), optionally matching a label selector. A namespace without Tekton's CRD gives [].
   */
  async listPipelineRuns(labelSelector?: string, namespaces?: readonly string[]): Promise<PipelineRunRef[]> {
    const paths = namespaces
      ? namespaces.map((ns) => `/apis/tekton.dev/v1/namespaces/${encodeURIComponent(ns)}/pipelineruns`)
      : [PIPELINE_RUNS];
    const runs: PipelineRunRef[] = [];
    for (const path of paths) runs.push(...(await this.listAt(path, labelSelector)));
    return runs;
  }

  private async listAt(path: string, labelSelector?: string): Promise<PipelineRunRef[]> {
    const runs: PipelineRunRef[] = [];
    let next: string | undefined;
    do {
      const query = new URLSearchParams({ limit: "500" });
      if (labelSelector) query.set("labelSelector", labelSelector);
      if (next) query.set("continue", next);
      const list = (await this.request("GET", `${path}?${query}`)) as
        | { items: any[]; metadata?: { continue?: string } }
        | undefined;
      if (!list) return runs;
      for (const item of list.items) {
        runs.push({
          namespace: item.metadata.namespace,
          name: item.metadata.name,
          created: item.metadata.creationTimestamp,
          ...(item.status?.completionTime ? { completionTime: item.status.completionTime } : {}),
        });
      }
      next = list.metadata?.continue || undefined;
    } while (next);
    return runs;
  }

  async deletePipelineRun(run: Pick<PipelineRunRef, "namespace" | "name">): Promise<void> {
    const path = `/apis/tekton.dev/v1/namespaces/${encodeURIComponent(run.namespace)}/pipelineruns/${encodeURIComponent(run.name)}`;
    // Background propagation removes its TaskRuns and pods (and, with auto-cleanup, its PVCs) too.
    await this.request("DELETE", `${path}?propagationPolicy=Background`);
  }

  async getDeployment(namespace: string, name: string): Promise<any> {
    return this.request("GET", `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`, undefined, true);
  }

  async patchDeployment(namespace: string, name: string, patch: unknown): Promise<any> {
    return this.request("PATCH", `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`, patch, true);
  }

  /** JSON from the API; undefined for 404 unless `mustExist`. */
  private async request(method: string, path: string, body?: unknown, mustExist = false): Promise<unknown> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    if (body !== undefined) headers["content-type"] = "application/strategic-merge-patch+json";
    const response = await fetch(new URL(path, this.options.apiUrl), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 404 && !mustExist) return undefined;
    if (!response.ok) throw new Error(`Kubernetes ${method} ${path.split("?")[0]} answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
    return response.json();
  }
}

/**
 * The PipelineRuns to delete so each namespace keeps its `keep` newest finished runs. Runs still
 * going are never chosen and do not count.
 */
export function runsToPrune(runs: readonly PipelineRunRef[], keep: number): PipelineRunRef[] {
  if (!Number.isInteger(keep) || keep < 1) throw new Error(`keep is ${keep}; it must be 1 or more`);
  const byNamespace = new Map<string, PipelineRunRef[]>();
  for (const run of runs) {
    if (!run.completionTime) continue;
    byNamespace.set(run.namespace, [...(byNamespace.get(run.namespace) ?? []), run]);
  }
  const prune: PipelineRunRef[] = [];
  for (const list of byNamespace.values()) {
    list.sort((a, b) => Date.parse(b.created) - Date.parse(a.created) || (a.name < b.name ? 1 : -1));
    prune.push(...list.slice(keep));
  }
  return prune;
}
