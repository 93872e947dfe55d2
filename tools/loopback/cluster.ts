/**
 * What a throwaway control plane on loopback needs before a stack deploys to it, shared by
 * `npm start` (tools/start.ts), the CLI cluster test and the benchmark.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as os from "os";
import * as yaml from "js-yaml";
import { parseSettings } from "../../src/settings";
import { MirrorSettings } from "../../src/settings/services";
import { MANIFEST_NAMES } from "../../src/versions";
import { sha256 } from "../../src/build/manifests";
import { ControlPlane, KwokStage, SimulatedNode } from "./controlPlane";
import { pickNetwork, TEKTON_BINARIES, TektonNetwork, TektonProcesses, tektonKwokStages, writePipelinesRelease } from "./tekton";
import { storageClasses, TestProvisioner } from "./volumes";
import { NodeImage, nodeImages, RealNode, realNodeSupport } from "./node";
import { nodeLayout } from "./nodeConfig";
import { stackFileConfig } from "../stackFile";
import { JENKINS_CHART, upstreamArtifact } from "../upstreamArtifacts";
import { doublesDir, REPO_ROOT, toolchainBinDir } from "../pulumiCli";

export { toolchainBinDir };

/** The binaries a loopback deployment through the CLI needs (scripts/toolchain.sh builds them). */
export const CLUSTER_TOOLS = [
  "pulumi", "pulumi-language-nodejs", "pulumi-resource-kubernetes", "pulumi-resource-random", ...TEKTON_BINARIES,
  "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "kwok",
];

/** The toolchain component that builds a binary (Tekton's three come from one module). */
function componentOf(tool: string): string {
  return (TEKTON_BINARIES as readonly string[]).includes(tool) ? "tekton" : tool;
}

/**
 * Throws naming the command to run when a binary is missing, or was built from other pins than this
 * checkout's (the cache is shared by every checkout on the machine: another branch may have rebuilt
 * a binary under the same name). Never builds anything itself.
 */
export function requireTools(binDir: string, tools: readonly string[] = CLUSTER_TOOLS): void {
  const found = (t: string) => [binDir, doublesDir(binDir)].some((dir) => fs.existsSync(path.join(dir, t)));
  const missing = [...new Set(tools.filter((t) => !found(t)).map(componentOf))];
  if (missing.length) throw new Error(`missing in ${binDir}: ${missing.join(", ")}; run: bash scripts/toolchain.sh ${missing.join(" ")}`);
  try {
    execFileSync("bash", [path.join(REPO_ROOT, "scripts", "toolchain.sh"), "--check", ...new Set(tools.map(componentOf))], { encoding: "utf8", stdio: "pipe" });
  } catch (e) {
    throw new Error(`the toolchain in ${binDir} was not built from this checkout: ${(e as { stderr?: string }).stderr ?? e}`);
  }
}

/**
 * Config a loopback cluster needs on top of a stack file: Tekton's release from the cluster's
 * manifestDir (no internet for the release URL) pinned by its own checksums, Jenkins from the
 * exact upstream chart where one is found (tools/upstreamArtifacts.ts; else Jenkins is off, and the
 * tests that need it skip naming the file), and no StarlingX host for node labels.
 */
export async function loopbackOverrides(stack: string, cluster: LoopbackCluster): Promise<Record<string, string>> {
  const tekton = {
    "build.tekton.manifestDir": cluster.manifestDir,
    ...realNodeOverrides(stack, cluster),
    ...Object.fromEntries(MANIFEST_NAMES.map((name) => [
      `build.tekton.manifestSha256["${name}"]`, sha256(fs.readFileSync(path.join(cluster.manifestDir, `${name}.yaml`))),
    ])),
  };
  if (stack === "cengn") {
    const chart = await upstreamArtifact(JENKINS_CHART);
    return "path" in chart ? { ...tekton, "build.jenkins.chartPath": chart.path } : { ...tekton, "build.jenkins.enabled": "false" };
  }
  if (stack === "starlingx") return { ...tekton, "build.imageBuilds": "none" };
  return tekton;
}

/**
 * With a real node, pods have real addresses: the policies' "not the pod range" must name this
 * cluster's, and NodePorts are reached at the node's address (from the host and from pods).
 */
function realNodeOverrides(stack: string, cluster: LoopbackCluster): Record<string, string> {
  if (!cluster.realNode) return {};
  const nodePorts = parseSettings(stackFileConfig(stack)).services.exposure.kind === "nodePort";
  const { hostLink, apiAddress } = cluster.realNode.layout;
  return {
    "cluster.podCidr": cluster.podCidr,
    // The node's link and the API server as pods reach it (the stack's defaults name minikube's).
    "cluster.egressExclusions.nodeCidrs[0]": `${hostLink.replace(/\.\d+$/, ".0")}/30`,
    "cluster.egressExclusions.apiServerEndpoints[0]": `${apiAddress}:${new URL(cluster.server).port}`,
    ...(nodePorts ? { "services.exposure.nodeAddress": cluster.realNode.layout.nodeAddress } : {}),
  };
}

/**
 * With a real node, Pulp's content Job really syncs, and the stacks' mirrors (snapshot.debian.org,
 * deb.debian.org) are on the internet: the project copy's stack file declares only `mirrors`, the
 * ones served on this machine (tools/loopback/debianRepo.ts). A list cannot be set with `pulumi
 * config set --path`, so this edits the copy's YAML.
 */
export function withMirrors(projectDir: string, stack: string, mirrors: readonly MirrorSettings[] = []): void {
  const file = path.join(projectDir, `Pulumi.${stack}.yaml`);
  const doc = yaml.load(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> };
  const key = "stx-build-cluster:services";
  const services = (doc.config[key] ?? {}) as { pulp?: Record<string, unknown> };
  doc.config[key] = { ...services, pulp: { ...services.pulp, mirrors } };
  fs.writeFileSync(file, yaml.dump(doc));
}

/** What a cloud or an ingress controller does: Ingresses get a load balancer address (the Kubernetes provider awaits it). */
export const INGRESS_STAGE: KwokStage = {
  apiVersion: "kwok.x-k8s.io/v1alpha1",
  kind: "Stage",
  metadata: { name: "ingress-load-balancer" },
  spec: {
    resourceRef: { apiGroup: "networking.k8s.io/v1", kind: "Ingress" },
    selector: { matchExpressions: [{ key: ".metadata.deletionTimestamp", operator: "DoesNotExist" }, { key: ".status.loadBalancer.ingress", operator: "DoesNotExist" }] },
    next: { statusTemplate: "loadBalancer:\n  ingress:\n  - hostname: ingress.stx-test.invalid\n" },
  },
};

/**
 * A throwaway control plane with what a stack needs of a real cluster: Tekton Pipelines' own
 * controller, webhook and resolvers (from its module, in network namespaces: needs root), a volume
 * provisioner for the stack's StorageClasses, and Ingress addresses. The cluster tests use the same
 * parts (test/cluster/stacks.test.ts).
 */
export class LoopbackCluster extends ControlPlane {
  /** Tekton's release (from its module) and the Triggers/Dashboard fixtures, for build.tekton.manifestDir. */
  readonly manifestDir: string;
  /** The real node, when the cluster has one (the first node a stack asks for). */
  realNode?: RealNode;
  /** Every pod address of this cluster, real or simulated. */
  get podCidr(): string {
    return this.net.podCidr;
  }
  private readonly tekton: TektonProcesses;
  private readonly provisioner: TestProvisioner;

  /**
   * `nodeImages`: give the cluster a real node (tools/loopback/node.ts) running these images; the
   * stack's first node is then real and the others are simulated by kwok.
   */
  constructor(binDir: string, contexts: readonly string[], private readonly storageClassNames: readonly string[],
    private readonly net: TektonNetwork = pickNetwork(), private readonly nodeImages?: readonly NodeImage[]) {
    super({
      binDir, contexts, podCidr: net.podCidr, kwokStages: [INGRESS_STAGE, ...tektonKwokStages()],
      apiServerAddresses: [net.hostAddress, ...(nodeImages ? [nodeLayout(net).apiAddress] : [])],
      ...(nodeImages ? { kwokCidr: nodeLayout(net).kwokCidr, podNodeSelectors: SIMULATED_NAMESPACES } : {}),
    });
    this.manifestDir = writePipelinesRelease(fs.mkdtempSync(path.join(os.tmpdir(), "stx-tekton-")));
    for (const f of ["tekton-triggers.yaml", "tekton-interceptors.yaml", "tekton-dashboard.yaml"]) {
      fs.copyFileSync(path.join(REPO_ROOT, "test", "fixtures", "tekton", f), path.join(this.manifestDir, f));
    }
    this.tekton = new TektonProcesses(this, binDir, net);
    this.provisioner = new TestProvisioner(this);
  }

  override async start(): Promise<void> {
    await super.start();
    this.useStorageClasses(this.storageClassNames);
    await this.tekton.start();
    this.provisioner.start();
    if (this.nodeImages) this.steerSimulatedNamespaces();
  }

  /**
   * PodNodeSelector takes a namespace's selector from its annotation (the plugin's per-namespace
   * config is only a whitelist), and Tekton's namespaces are created by `pulumi up` from the
   * release: annotate each as soon as it exists. Pods refused before that (the default selector
   * conflicts with the whitelist) are created again by their ReplicaSet.
   */
  private steerSimulatedNamespaces(): void {
    const names = Object.keys(SIMULATED_NAMESPACES).filter((n) => n !== "");
    const tick = () => {
      if (this.isStopping) return;
      try {
        const items = JSON.parse(this.kubectl(["get", "namespaces", "-o", "json"])).items as { metadata: { name: string; annotations?: Record<string, string> } }[];
        for (const ns of items.filter((n) => names.includes(n.metadata.name) && !n.metadata.annotations?.[NODE_SELECTOR_ANNOTATION])) {
          this.kubectl(["annotate", "namespace", ns.metadata.name, `${NODE_SELECTOR_ANNOTATION}=${SIMULATED_NAMESPACES[ns.metadata.name]}`]);
        }
      } catch {
        /* the API server is busy: next round */
      }
      setTimeout(tick, 1000).unref();
    };
    tick();
  }

  /** Replaces the cluster's StorageClasses with these (the first is the default), as a stack expects them. */
  useStorageClasses(names: readonly string[]): void {
    this.kubectl(["delete", "storageclass", "--all"]);
    if (names.length) this.kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: storageClasses(names) }));
  }

  /**
   * Registers a stack's nodes. With a real node, the first becomes it (once per cluster) and the
   * rest are simulated, beside one simulated node for the namespaces whose pods run as processes
   * or have no image here (SIMULATED_NAMESPACES).
   */
  override async addNodes(nodes: readonly SimulatedNode[]): Promise<void> {
    if (!this.nodeImages) return super.addNodes(nodes);
    const [first, ...rest] = nodes;
    if (!this.realNode && first) {
      this.realNode = new RealNode(this, this.opts.binDir, this.net, first.name, this.nodeImages, first.labels);
      await this.realNode.start();
    }
    await super.addNodes([...rest, SIMULATED_NODE]);
  }

  override async stop(): Promise<void> {
    await this.realNode?.stop();
    this.provisioner.stop();
    await this.tekton.stop();
    await super.stop();
    fs.rmSync(this.manifestDir, { recursive: true, force: true });
  }
}

/**
 * Namespaces whose pods stay on simulated nodes when the cluster has a real one: Tekton's own
 * controller, webhook and resolvers run as processes on the host (their Deployments' pods are
 * stand-ins for them), and the Triggers and Dashboard releases are fixtures. Everything else must
 * run on the real node ("" is the default selector).
 */
export const SIMULATED_NAMESPACES: Record<string, string> = {
  "": "type=real",
  "tekton-pipelines": "type=kwok",
  "tekton-pipelines-resolvers": "type=kwok",
  "tekton-triggers": "type=kwok",
  "tekton-dashboard": "type=kwok",
};

const NODE_SELECTOR_ANNOTATION = "scheduler.alpha.kubernetes.io/node-selector";

const SIMULATED_NODE: SimulatedNode = { name: "simulated-system", cpu: "8", memory: "16Gi", ephemeralStorage: "100Gi" };

/**
 * Starts a loopback cluster for a stack: its contexts, StorageClasses and nodes from the stack file.
 * `realNode`: the first node is real when this machine can run one (`realNodeSupport`); otherwise
 * every node is simulated and the reason is printed.
 */
export async function startLoopbackCluster(binDir: string, stack: string, nodes?: readonly SimulatedNode[], realNode = false): Promise<LoopbackCluster> {
  if (process.getuid?.() !== 0) throw new Error("the throwaway control plane runs Tekton in network namespaces of its own: run as root (or deploy to minikube: npm run up:minikube)");
  const settings = parseSettings(stackFileConfig(stack));
  const classes = [settings.cluster.storageClass, settings.cluster.sharedStorageClass].filter((c): c is string => c !== undefined);
  const why = realNode ? realNodeSupport() : undefined;
  if (why) console.log(`loopback: no real node (${why}): every node is simulated by kwok, and no pod runs`);
  const images = realNode && !why ? nodeImages() : undefined;
  const cluster = new LoopbackCluster(binDir, [stackFileValue(stack, "kubeContext") ?? stack], classes, pickNetwork(), images);
  try {
    await cluster.start();
    await cluster.addNodes(nodes ?? settings.cluster.nodes);
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}

/** A flat `key: value` from a stack file (enough for kubeContext). */
export function stackFileValue(stack: string, key: string): string | undefined {
  const text = fs.readFileSync(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`), "utf8");
  return new RegExp(`^\\s*stx-build-cluster:${key}:\\s*(\\S+)\\s*$`, "m").exec(text)?.[1];
}
