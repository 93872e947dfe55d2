/**
 * `npm start`: the main job with an embedded default. If the minikube stack's kubeconfig context
 * answers, the stack is deployed there (as `npm run up:minikube` does). Otherwise a throwaway
 * Kubernetes control plane starts on loopback (etcd, kube-apiserver, controller-manager, scheduler)
 * with a real node (kubelet, containerd, CNI: tools/loopback/node.ts) where this machine can run one
 * and kwok simulating it where not, the minikube stack is deployed to it through the Pulumi CLI,
 * what was created and how to reach each service is printed, and it keeps running until
 * SIGINT/SIGTERM, which tears it all down.
 *
 *   node bin/tools/start.js [--loopback]    --loopback: never use an existing cluster
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LoopbackCluster, loopbackOverrides, requireTools, stackFileValue, startLoopbackCluster, toolchainBinDir, withMirrors } from "./loopback/cluster";
import { debianRepoPins, LOOPBACK_MIRROR, serveDebianRepo } from "./loopback/debianRepo";
import { CliOptions, PROJECT, projectCopy, pulumiOk, REPO_ROOT, selectStack } from "./pulumiCli";
import { NODE_PORTS } from "../src/services/serviceEndpoints";
import { parseSettings } from "../src/settings";
import { stackFileConfig } from "./stackFile";

const STACK = "minikube";
const PASSPHRASE = process.env.PULUMI_CONFIG_PASSPHRASE ?? "stx-local";

/** True when `context` in the user's kubeconfig reaches a ready API server within a few seconds. */
function reachable(binDir: string, context: string): boolean {
  const probe = spawnSync(path.join(binDir, "kubectl"), ["--context", context, "--request-timeout=5s", "get", "--raw", "/readyz"], {
    encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 15_000,
  });
  return probe.status === 0 && probe.stdout.trim() === "ok";
}

async function main(argv: string[]): Promise<void> {
  const binDir = toolchainBinDir();
  requireTools(binDir);
  const context = stackFileValue(STACK, "kubeContext") ?? STACK;
  if (!argv.includes("--loopback") && reachable(binDir, context)) {
    console.log(`start: kubeconfig context '${context}' answers: deploying the ${STACK} stack there (npm run up:minikube)`);
    const up = spawnSync("bash", [path.join(REPO_ROOT, "scripts", "up.sh"), STACK, "up"], { stdio: "inherit" });
    process.exit(up.status ?? 1);
  }
  console.log(`start: no reachable kubeconfig context '${context}': starting a throwaway control plane on loopback`);
  const t0 = Date.now();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "stx-start-"));
  let cluster: LoopbackCluster | undefined;
  let stopping = false;
  const teardown = async (why: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\nstart: ${why}: stopping the control plane and removing ${work}`);
    await cluster?.stop();
    fs.rmSync(work, { recursive: true, force: true });
    process.exit(why === "failed" ? 1 : 0);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void teardown(signal));

  try {
    cluster = await startLoopbackCluster(binDir, STACK, undefined, true);
    console.log(`start: control plane ready in ${((Date.now() - t0) / 1000).toFixed(0)} s at ${cluster.server}`);
    const projectDir = projectCopy(path.join(work, "project"), STACK);
    // Pods reach nothing outside this machine: Pulp mirrors Debian's .debs served from here instead.
    const repo = cluster.realNode ? await serveDebianRepo(cluster.realNode.layout.hostLink) : undefined;
    if (repo) withMirrors(projectDir, STACK, [repo.mirror(LOOPBACK_MIRROR)]);
    const opts: CliOptions = {
      projectDir,
      backendDir: path.join(work, "state"),
      pulumiHome: path.join(work, "pulumi-home"),
      binDir,
      passphrase: PASSPHRASE,
      env: { KUBECONFIG: cluster.kubeconfig },
      echo: true,
    };
    await selectStack(STACK, opts);
    for (const [key, value] of Object.entries({ ...(await loopbackOverrides(STACK, cluster)), apiServer: cluster.server })) {
      await pulumiOk(["config", "set", "--path", `${PROJECT}:${key}`, value], opts);
    }
    await pulumiOk(["up", "--yes", "--skip-preview"], opts);
    const outputs = JSON.parse((await pulumiOk(["stack", "output", "--json"], { ...opts, echo: false })).stdout) as Record<string, unknown>;
    report(cluster, opts, outputs, Date.now() - t0);
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    await teardown("failed");
  }
  // Keep running until stopped; the signal handlers tear everything down.
  setInterval(() => undefined, 1 << 30);
}

function report(cluster: LoopbackCluster, opts: CliOptions, outputs: Record<string, unknown>, ms: number): void {
  const kubectl = (...args: string[]) => cluster.kubectl(args);
  const shared = String(outputs.sharedNamespace);
  const tenants = Object.values((outputs.tenantNamespaces ?? {}) as Record<string, string>);
  const env = `PULUMI_BACKEND_URL=file://${opts.backendDir} PULUMI_CONFIG_PASSPHRASE=${opts.passphrase} PULUMI_HOME=${opts.pulumiHome}`;
  const lines = [
    "",
    `=== stx-build-cluster: the ${STACK} stack is up on a throwaway control plane (${(ms / 1000).toFixed(0)} s) ===`,
    "",
    `API server:  ${cluster.server}`,
    `kubeconfig:  export KUBECONFIG=${cluster.kubeconfig}     (cluster admin; contexts stx-test and minikube)`,
    `shared services namespace: ${shared}`,
    `tenant namespaces: ${tenants.join(", ")}`,
    "",
    "namespaces:",
    kubectl("get", "namespaces", "-l", "stx.starlingx.io/tenant", "-L", "pod-security.kubernetes.io/enforce"),
    "",
    `services in ${shared}:`,
    kubectl("get", "services", "-n", shared, "-o", "wide"),
    "",
    ...reachability(cluster, parseSettings(stackFileConfig(STACK)).services.objectStore.buckets.artifacts),
    "",
    "Try:",
    `  KUBECONFIG=${cluster.kubeconfig} kubectl get all -n ${shared}`,
    `  KUBECONFIG=${cluster.kubeconfig} kubectl auth can-i create pods -n ${tenants[0] ?? shared} --as system:serviceaccount:${tenants[0] ?? shared}:owner`,
    `  (cd ${opts.projectDir} && ${env} ${path.join(opts.binDir, "pulumi")} stack output kubeconfigs --show-secrets)   # each user's kubeconfig`,
    "",
    "Running until stopped: Ctrl-C (SIGINT) or SIGTERM tears the control plane down.",
  ];
  console.log(lines.join("\n"));
}

/** How a person reaches each service from this machine, with a one-line check of each. */
function reachability(cluster: LoopbackCluster, bucket: string): string[] {
  const node = cluster.realNode;
  if (!node) {
    return [
      "The API objects are real (admission, RBAC, quotas, Pod Security), but this machine cannot run",
      "the real node (see the reason above), so every node is simulated by kwok and no service answers.",
      "For services that run: run as root with cgroups and overlayfs, or deploy to a real minikube",
      "(minikube start ... && npm run up:minikube, see the README).",
    ];
  }
  const at = node.layout.nodeAddress;
  const s3 = `http://${at}:${NODE_PORTS.objectStore}`;
  return [
    `The pods run on a real node, ${node.name} (${at}: kubelet, containerd, CNI, kube-proxy, kube-router`,
    "enforcing the NetworkPolicies, CoreDNS), from stand-in images (docs/cluster-tests.md). From this",
    "machine, the services answer at the node's NodePorts:",
    `  Pulp API      http://${at}:${NODE_PORTS.pulpApi}/pulp/api/v3/status/`,
    `  Pulp content  http://${at}:${NODE_PORTS.pulpContent}/pulp/content/`,
    `  S3 (MinIO)    ${s3}   (published/ is anonymous; keys in Secret object-store-credentials)`,
    `  registry      http://${at}:${NODE_PORTS.registry}/v2/   (login in Secret registry-credentials)`,
    "",
    "Check each:",
    `  curl -s http://${at}:${NODE_PORTS.pulpApi}/pulp/api/v3/status/ | head -c 300; echo`,
    `  curl -s http://${at}:${NODE_PORTS.pulpContent}/pulp/content/mirror/${LOOPBACK_MIRROR}/dists/${debianRepoPins().suite}/Release | head -4   # apt's view of Pulp's mirror`,
    `  curl -s '${s3}/${bucket}?list-type=2&prefix=published/' | head -c 300; echo`,
    `  curl -s -o /dev/null -w '%{http_code} (401: login required)\\n' http://${at}:${NODE_PORTS.registry}/v2/_catalog`,
  ];
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
