/**
 * cyclonus' verdicts on a live cluster: the namespaces, running pods and NetworkPolicies the API
 * server holds, with each connection target resolved as kube-proxy does (a Service to an endpoint's
 * address and port). The real-node test prints them beside the connections a pod really made, so
 * the analyser the unit tests trust is checked against the kernel's enforcement.
 */
import { ControlPlane } from "../../tools/loopback/controlPlane";
import { analyse, Model, modelContainer, modelPod, ModelPod } from "../harness/cyclonus";

/** The pod the connections came from, as the test created it. */
export interface Source { readonly namespace: string; readonly name: string; readonly labels: Record<string, string>; readonly ip: string }

/** For each "host:port" target: "open" when cyclonus allows the source to connect, else "blocked". */
export function cyclonusVerdicts(cluster: ControlPlane, source: Source, targets: readonly string[]): Record<string, "open" | "blocked"> {
  const get = (args: string[]) => JSON.parse(cluster.kubectl(["get", ...args, "-o", "json"]));
  const namespaces = Object.fromEntries((get(["namespaces"]).items as Meta[]).map((n) => [n.metadata.name, n.metadata.labels ?? {}]));
  const pods = new Map<string, ModelPod>();
  for (const p of get(["pods", "-A"]).items as LivePod[]) {
    if (p.status.phase !== "Running" || !p.status.podIP || p.spec.hostNetwork) continue;
    pods.set(p.status.podIP, modelPod(p.metadata.namespace!, p.metadata.name, p.metadata.labels ?? {}, p.status.podIP, []));
  }
  namespaces.outside = { "kubernetes.io/metadata.name": "outside" };
  const resolved = targets.map((t) => {
    const [ip, port] = endpointOf(cluster, t);
    // An address no pod has (the API server's) is a host outside the pod network.
    const pod = pods.get(ip) ?? modelPod("outside", `host-${ip}`, {}, ip, []);
    pods.set(ip, pod);
    if (!pod.Containers.some((c) => c.Port === port)) {
      pod.Containers = [...pod.Containers.filter((c) => c.Port !== 1), modelContainer(`c${port}`, port)];
    }
    return { target: t, pod, port };
  });
  const from = modelPod(source.namespace, source.name, source.labels, source.ip, []);
  pods.set(source.ip, from);
  const model: Model = { namespaces, pods: [...pods.values()], policies: get(["networkpolicies", "-A"]).items };
  const probes = [...new Set(resolved.map((r) => r.port))].map((port) => ({ Port: port, Protocol: "TCP" }));
  const tables = analyse(model, probes);
  const key = (p: ModelPod) => `${p.Namespace}/${p.Name}`;
  return Object.fromEntries(resolved.map((r) => {
    const cell = tables[probes.findIndex((p) => p.Port === r.port)].get(key(from))?.get(key(r.pod));
    if (cell === undefined || cell === "N") throw new Error(`cyclonus has no verdict for ${key(from)} -> ${key(r.pod)}:${r.port} (${cell})`);
    return [r.target, cell === "." ? "open" : "blocked"];
  }));
}

/** "name.namespace.svc[.cluster.local]:port" to one of its endpoints' address and port; "ip:port" as it is. */
function endpointOf(cluster: ControlPlane, target: string): [string, number] {
  const at = target.lastIndexOf(":");
  const host = target.slice(0, at), port = Number(target.slice(at + 1));
  const service = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc(\.cluster\.local)?$/.exec(host);
  if (!service) return [host, port];
  const [, name, namespace] = service;
  const svc = JSON.parse(cluster.kubectl(["get", "service", name!, "-n", namespace!, "-o", "json"])) as { spec: { ports: { name?: string; port: number }[] } };
  const portName = svc.spec.ports.find((p) => p.port === port)?.name;
  const endpoints = JSON.parse(cluster.kubectl(["get", "endpoints", name!, "-n", namespace!, "-o", "json"])) as { subsets?: { addresses?: { ip: string }[]; ports: { name?: string; port: number }[] }[] };
  const subset = endpoints.subsets?.find((s) => s.addresses?.length);
  const targetPort = subset?.ports.find((p) => p.name === portName || subset.ports.length === 1)?.port;
  if (!subset || targetPort === undefined) throw new Error(`service ${namespace}/${name} has no ready endpoint for port ${port}`);
  return [subset.addresses![0]!.ip, targetPort];
}

interface Meta { metadata: { name: string; namespace?: string; labels?: Record<string, string> } }
interface LivePod extends Meta { spec: { hostNetwork?: boolean }; status: { phase: string; podIP?: string } }
