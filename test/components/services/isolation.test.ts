/**
 * Network isolation proven by a real policy analyser: cyclonus (built by scripts/toolchain.sh,
 * which `npm test` runs first) computes every allowed connection from the NetworkPolicies, the
 * namespaces and the pods each stack declares (from the mocks harness), without a CNI. The test
 * prints the tenant -> shared / tenant -> tenant matrix and fails on any path outside the
 * allow-list of docs/services.md (and on any allowed path that is missing).
 */
import { expect } from "chai";
import { TENANT_LABEL } from "../../../src/labels";
import { APP_LABEL, PULP_BACKEND_CLIENT, PULP_BACKENDS, tenantPorts } from "../../../src/services/sharedNetwork";
import { parseSettings, Settings } from "../../../src/settings/schema";
import { DeclaredResource, ProgramRun, runStack, stackFileConfig } from "../../../tools/mockedProgram";
import { analyse, cyclonusBinary, Model, modelPod, ModelPod, Table } from "../../harness/cyclonus";

const TENANT_PORT = 8080; // what a build's own services (pkgbuilder, a sidecar) listen on
const DNS = 53;
const KUBELET = 10250;
const HTTPS = 443;
const PROBED_TCP = [24817, 24816, 9000, 5000, 5001, 6379, 5432, TENANT_PORT, KUBELET, HTTPS];
/** An address of the internet: outside every range the cluster or its platform uses. */
const INTERNET = "192.0.2.10";
const METADATA = "169.254.169.254";

/** A host address inside a CIDR (its 10th), for a model pod standing for a node or a platform host. */
const hostIn = (cidr: string) => {
  const [a, b, c] = cidr.split("/")[0].split(".");
  return `${a}.${b}.${c}.10`;
};

/** Addresses outside the pod network a tenant must not reach, or only on one port (the API server). */
function outsideTargets(settings: Settings): { name: string; ip: string; ports: number[] }[] {
  const ex = settings.cluster.egressExclusions;
  return [
    { name: "internet", ip: INTERNET, ports: [HTTPS, TENANT_PORT] },
    { name: "metadata", ip: METADATA, ports: [TENANT_PORT] },
    ...ex.nodeCidrs.map((cidr, i) => ({ name: `node-${i}`, ip: hostIn(cidr), ports: [KUBELET, TENANT_PORT] })),
    ...ex.apiServerEndpoints.map((e, i) => ({ name: `api-server-${i}`, ip: e.split(":")[0], ports: [Number(e.split(":")[1]), KUBELET] })),
    ...ex.platformCidrs.map((cidr, i) => ({ name: `platform-${i}`, ip: hostIn(cidr), ports: [HTTPS] })),
  ];
}

/** API server ports probed besides the fixed list. */
const apiPorts = (settings: Settings) => settings.cluster.egressExclusions.apiServerEndpoints.map((e) => Number(e.split(":")[1]));

/** The pod template of a workload, or undefined for anything else. */
function template(r: DeclaredResource): { metadata?: { labels?: Record<string, string> }; spec: any } | undefined {
  if (r.type === "kubernetes:apps/v1:Deployment" || r.type === "kubernetes:batch/v1:Job") return r.inputs.spec?.template;
  if (r.type === "kubernetes:batch/v1:CronJob") return r.inputs.spec?.jobTemplate?.spec?.template;
  return undefined;
}

/** Namespaces, pods and policies as the cluster would hold them after `pulumi up` of the stack. */
function model(run: ProgramRun, settings: Settings): Model {
  const [a, b] = settings.cluster.podCidr.split("/")[0].split(".");
  let next = 10;
  const ip = () => `${a}.${b}.${Math.floor(next / 250)}.${(next++ % 250) + 1}`;
  const namespaces: Model["namespaces"] = {};
  // The API server labels every namespace with its name; namespaceSelectors match on it.
  const addNamespace = (name: string, labels: Record<string, string> = {}) => (namespaces[name] = { ...labels, "kubernetes.io/metadata.name": name });
  for (const ns of run.ofType("kubernetes:core/v1:Namespace")) addNamespace(ns.inputs.metadata.name, ns.inputs.metadata.labels);
  addNamespace("kube-system");
  const pods: ModelPod[] = [];
  const pod = (ns: string, name: string, labels: Record<string, string>, ports: { port: number; protocol?: string }[], address = ip()) =>
    pods.push(modelPod(ns, name, labels, address, ports));
  const shared = settings.cluster.sharedNamespace;
  for (const r of run.resources.filter((x) => x.inputs?.metadata?.namespace === shared && x.id === undefined)) {
    const t = template(r);
    if (!t) continue;
    const ports = (t.spec.containers as any[]).flatMap((c) => (c.ports ?? []).map((p: any) => ({ port: p.containerPort })));
    pod(shared, r.inputs.metadata.name, t.metadata?.labels ?? {}, ports);
  }
  // Jenkins comes from its Helm chart, whose pods the mocks do not see: its controller's port.
  if (run.ofType("kubernetes:helm.sh/v3:Release").some((r) => r.inputs.name === "jenkins")) {
    pod(shared, "jenkins-0", { [APP_LABEL]: "jenkins", "app.kubernetes.io/component": "jenkins-controller" }, [{ port: TENANT_PORT }]);
  }
  for (const [name, labels] of Object.entries(namespaces)) {
    if (labels[TENANT_LABEL]) pod(name, "build", { "app.kubernetes.io/managed-by": "tekton-pipelines" }, [{ port: TENANT_PORT }]);
  }
  pod("kube-system", "coredns", { "k8s-app": "kube-dns" }, [{ port: DNS, protocol: "UDP" }]);
  const exposure = settings.services.exposure;
  if (exposure.kind === "ingress") {
    addNamespace(exposure.ingressControllerNamespace);
    pod(exposure.ingressControllerNamespace, "ingress-controller", { [APP_LABEL]: "ingress-nginx" }, [{ port: 443 }]);
  }
  // A client outside the cluster (or a node after SNAT): an address outside every cluster range;
  // and the addresses tenants' egress excludes (nodes, metadata, API server, platform networks).
  addNamespace("outside");
  pod("outside", "client", {}, [], INTERNET);
  for (const t of outsideTargets(settings)) pod("outside", t.name, {}, t.ports.map((port) => ({ port })), t.ip);
  const policies = run.ofType("kubernetes:networking.k8s.io/v1:NetworkPolicy").map((p) => p.inputs);
  return { namespaces, pods, policies };
}

/** The allow-list of docs/services.md, restated independently of the program's policies. */
function expected(settings: Settings, from: ModelPod, to: ModelPod, port: number): boolean {
  const shared = settings.cluster.sharedNamespace;
  const isTenant = (p: ModelPod) => p.Namespace.startsWith("user-") || p.Namespace.startsWith("build-");
  if (to.Namespace === "kube-system" && to.Name === "coredns") return port === DNS;
  if (to.Namespace === "outside" && isTenant(from)) {
    // Internet egress: only the internet, and the API server on its own port.
    const target = outsideTargets(settings).find((t) => t.ip === to.IP);
    return target?.name === "internet" || (target?.name.startsWith("api-server") === true && port === target.ports[0]);
  }
  // A tenant's egress ends at the pod range: nothing of another namespace but the shared ports.
  if (to.Namespace !== shared && !isTenant(to) && isTenant(from)) return false;
  if (isTenant(to)) return from.Namespace === to.Namespace;
  if (to.Namespace !== shared) return true; // no policy of ours selects them
  if (isTenant(from) && port === DNS) return false;
  const app = to.Labels[APP_LABEL];
  const backend = PULP_BACKENDS.find((b) => b.name === app);
  if (backend) return from.Namespace === shared && from.Labels[Object.keys(PULP_BACKEND_CLIENT)[0]] === "true";
  const servicePort = tenantPorts(settings.services).find((p) => p.app === app && p.port === port);
  const outsidePeer = settings.services.exposure.kind === "nodePort"
    ? from.Namespace === "outside"
    // Namespace granularity: on starlingx the platform's controller shares kube-system.
    : from.Namespace === settings.services.exposure.ingressControllerNamespace;
  // Pulp's API is not a tenant port: every call needs a login no tenant holds.
  if (servicePort) return (servicePort.tenants && isTenant(from)) || from.Namespace === shared || outsidePeer;
  return from.Namespace === shared;
}

for (const stack of ["minikube", "cengn", "starlingx"]) {
  describe(`network isolation on the ${stack} stack (cyclonus)`, function () {
    this.timeout(120000);
    it("allows exactly the allow-list: build ports from tenants, backends from Pulp only, nothing between tenants", async () => {
      const binary = cyclonusBinary();
      const settings = parseSettings(stackFileConfig(stack));
      const run = await runStack(stack);
      const m = model(run, settings);
      const probes = [...[...new Set([...PROBED_TCP, ...apiPorts(settings)])].map((port) => ({ Port: port, Protocol: "TCP" })), { Port: DNS, Protocol: "UDP" }];
      const tables = analyse(m, probes, binary);

      const key = (p: ModelPod) => `${p.Namespace}/${p.Name}`;
      const wrong: string[] = [];
      probes.forEach((probe, i) => {
        for (const from of m.pods) {
          for (const to of m.pods) {
            const cell = tables[i].get(key(from))?.get(key(to));
            expect(cell, `${key(from)} -> ${key(to)} in cyclonus' table`).to.be.a("string");
            if (cell === "N") continue; // the target does not serve this port
            const want = expected(settings, from, to, probe.Port);
            if ((cell === ".") !== want) wrong.push(`${key(from)} -> ${key(to)}:${probe.Port}/${probe.Protocol}: cyclonus says ${cell === "." ? "allowed" : "blocked"}, allow-list says ${want ? "allowed" : "blocked"}`);
          }
        }
      });
      printMatrix(stack, settings, m, probes, tables);
      expect(wrong, wrong.slice(0, 20).join("\n")).to.deep.equal([]);
    });
  });
}

/** Tenant -> shared and tenant -> tenant, for one tenant (the test checks every tenant the same way). */
function printMatrix(stack: string, settings: Settings, m: Model, probes: { Port: number; Protocol: string }[], tables: Table[]): void {
  const shared = settings.cluster.sharedNamespace;
  const tenants = m.pods.filter((p) => p.Name === "build");
  const sources = [tenants[0], ...m.pods.filter((p) => p.Namespace !== shared && p.Name !== "build" && p.Name !== "coredns" && (p.Namespace !== "outside" || p.Name === "client")),
    ...m.pods.filter((p) => p.Namespace === shared && ["pulp-api", "pulp-worker", "minio"].includes(p.Name))];
  const targets: { label: string; pod: ModelPod; probe: number }[] = [];
  const outside = m.pods.filter((p) => p.Namespace === "outside" && p.Name !== "client");
  for (const to of [...m.pods.filter((p) => p.Namespace === shared && (p.Labels[APP_LABEL] ?? "") && p.Containers[0].Port !== 1), tenants[1], ...outside]) {
    if (!to) continue;
    to.Containers.forEach((c) => {
      const probe = probes.findIndex((p) => p.Port === c.Port);
      const label = to.Namespace === shared ? to.Labels[APP_LABEL] : to.Namespace === "outside" ? to.Name : "other tenant";
      if (probe >= 0) targets.push({ label: `${label}:${c.Port}`, pod: to, probe });
    });
  }
  const lines = [`  ${stack}: '.' allowed, 'X' blocked (cyclonus, ${tenants.length} tenants, ${m.policies.length} policies)`];
  const width = Math.max(...sources.map((s) => `${s.Namespace}/${s.Name}`.length));
  lines.push(`    ${"from \\ to".padEnd(width)}  ${targets.map((t) => t.label).join("  ")}`);
  for (const s of sources) {
    const cells = targets.map((t) => (tables[t.probe].get(`${s.Namespace}/${s.Name}`)?.get(`${t.pod.Namespace}/${t.pod.Name}`) ?? "?").padEnd(t.label.length));
    lines.push(`    ${`${s.Namespace}/${s.Name}`.padEnd(width)}  ${cells.join("  ")}`);
  }
  console.log(lines.join("\n"));
}
