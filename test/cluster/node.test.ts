/**
 * The farm on a real node: the minikube stack deployed through the Pulumi engine to a loopback
 * control plane whose node runs containers (tools/loopback/node.ts: kubelet, containerd, runc,
 * CNI, kube-proxy, kube-router's firewall, CoreDNS), with the stand-in images of scripts/images.sh
 * (test doubles, docs/cluster-tests.md). The assertions use the services as builds and people do:
 * connections from a tenant's pod, S3 with a tenant's keys, the registry with a tenant's login.
 *
 * Needs root and `bash scripts/node-setup.sh` + `bash scripts/images.sh` (npm run test:cluster runs
 * them first); fails naming what is missing, never builds anything itself.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Stack } from "@pulumi/pulumi/automation";
import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ACCESS_KEY_ID, CREDENTIALS_SECRET, SECRET_ACCESS_KEY } from "../../components/services/objectStore";
import { REGISTRY_SECRET } from "../../components/services/registry";
import { NODE_PORTS, SERVICE_PORTS } from "../../src/services/serviceEndpoints";
import { PULP_CONTENT_PORT } from "../../src/services/sharedNetwork";
import { tenantStoreUsers } from "../../src/services/objectStoreUsers";
import { planTenants, TenantPlan } from "../../src/tenancy/tenants";
import { IMAGES } from "../../src/versions";
import { CLUSTER_TOOLS, LoopbackCluster, loopbackOverrides, requireTools, startLoopbackCluster, toolchainBinDir, withMirrors } from "../../tools/loopback/cluster";
import { DebianRepo, LOOPBACK_MIRROR as MIRROR, serveDebianRepo } from "../../tools/loopback/debianRepo";
import { NODE_TOOLS, nodeImages, realNodeSupport } from "../../tools/loopback/node";
import { localStack, PROJECT } from "../../tools/localStack";
import { projectCopy } from "../../tools/pulumiCli";
import { parseSettings, decodeConfigValue, Settings } from "../../src/settings";
import { cyclonusVerdicts } from "./livePolicies";
import { dockerHubMirror, docsToolsImagesRun, pushBaseImage, pushedToolsImages, runTaskRun, serveToolsRepo, toolsBase, ToolsRepo } from "./nodeKaniko";
import { TRIXIE_PREFIX, upstreamToolsImagesOnTheNode } from "./nodeToolsImages";
import { retentionOnTheNode } from "./nodeRetention";
import { connectScript, runProbe } from "./probePod";

const STACK = "minikube";
const SHARED = "stx-system";
const binDir = toolchainBinDir();

describe("cluster: the minikube stack on a real node", function () {
  this.timeout(5 * 60_000);
  let cluster: LoopbackCluster;
  let work: string;
  let stack: Stack;
  let settings: Settings;
  let plans: TenantPlan[];
  let node: string;
  let nodeAddress: string;
  let repo: DebianRepo;
  let tools: ToolsRepo;

  before(async function () {
    // Starting the control plane and node takes minutes on a loaded machine, and a second real-node
    // run waits here for the first (one per machine).
    this.timeout(20 * 60_000);
    requireTools(binDir, [...CLUSTER_TOOLS, ...NODE_TOOLS]);
    const why = realNodeSupport();
    if (why) throw new Error(`this machine cannot run the real node: ${why}`);
    work = fs.mkdtempSync(path.join(os.tmpdir(), "stx-node-"));
    cluster = await startLoopbackCluster(binDir, STACK, undefined, true);
    if (!cluster.realNode) throw new Error("the loopback cluster started without its real node");
    node = cluster.realNode.name;
    nodeAddress = cluster.realNode.layout.nodeAddress;
    const projectDir = projectCopy(path.join(work, "project"), STACK);
    // What the stacks mirror is on the internet: Pulp mirrors Debian's .debs served from here.
    repo = await serveDebianRepo(cluster.realNode.layout.hostLink);
    // And Debian's trixie for the tools images, laid out by host name as their Dockerfiles join it.
    withMirrors(projectDir, STACK, [repo.mirror(MIRROR), ...repo.trixieMirrors(TRIXIE_PREFIX)]);
    stack = await localStack({
      stack: STACK, workDir: projectDir, binDir, passphrase: "node-tests",
      backendDir: path.join(work, "state"), env: { KUBECONFIG: cluster.kubeconfig },
    });
    for (const [key, value] of Object.entries({ ...(await loopbackOverrides(STACK, cluster)), apiServer: cluster.server })) {
      await stack.setConfig(`${PROJECT}:${key}`, { value }, true);
    }
    settings = await stackSettings(stack);
    plans = planTenants(settings);
    // starlingx/tools is on the internet too: the kaniko Task (installed only when enabled) clones it from here.
    tools = await serveToolsRepo(cluster.realNode.layout, work, toolsBase(plans, SHARED).reference);
    for (const [key, value] of Object.entries(tools.config)) await stack.setConfig(`${PROJECT}:${key}`, { value }, true);
    // Docker Hub is too: kaniko pulls FROM debian:trixie from the farm's registry, under the branch's prefix.
    await stack.setConfig(`${PROJECT}:build.toolsImageBuild.registryMap`, { value: `index.docker.io=${dockerHubMirror(plans).reference}` }, true);
  });

  after(async function () {
    await repo?.close();
    await tools?.close();
    await cluster?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it("the node is Ready with the pinned kubelet and Debian's containerd", function () {
    const info = JSON.parse(cluster.kubectl(["get", "node", node, "-o", "jsonpath={.status.nodeInfo}"]));
    console.log(`      node ${node}: kubelet ${info.kubeletVersion}, ${info.containerRuntimeVersion}, kernel ${info.kernelVersion}`);
    expect(info.kubeletVersion).to.match(/^v1\.33\./);
    expect(info.containerRuntimeVersion).to.match(/^containerd:\/\/1\.6\./);
  });

  it("a restricted pod runs with a Secret volume, a projected token and seccomp RuntimeDefault; DNS and Services answer", async function () {
    cluster.kubectl(["create", "namespace", "node-check"]);
    cluster.kubectl(["create", "secret", "generic", "probe-secret", "-n", "node-check", "--from-literal=word=swordfish"]);
    const out = await runProbe(cluster, "node-check", "restricted", `
      const fs = require("fs");
      const status = fs.readFileSync("/proc/self/status", "utf8");
      console.log(JSON.stringify({
        uid: process.getuid(),
        seccomp: /Seccomp:\\s+(\\d)/.exec(status)[1],
        secret: fs.readFileSync("/secret/word", "utf8"),
        token: fs.readFileSync("/var/run/secrets/kubernetes.io/serviceaccount/token", "utf8").split(".").length,
      }));`, {
      serviceAccount: "default",
      volumes: [{ name: "s", secret: { secretName: "probe-secret" } }],
      volumeMounts: [{ name: "s", mountPath: "/secret", readOnly: true }],
    });
    expect(JSON.parse(out)).to.deep.equal({ uid: 1000, seccomp: "2", secret: "swordfish", token: 3 });
    const net = JSON.parse(await runProbe(cluster, "node-check", "services", connectScript(["kubernetes.default.svc.cluster.local:443", "kube-dns.kube-system.svc:53"], "kube-dns.kube-system.svc:53")));
    expect(net).to.deep.equal({ "kubernetes.default.svc.cluster.local:443": "open", "kube-dns.kube-system.svc:53": "open" });
    cluster.kubectl(["delete", "namespace", "node-check", "--wait=false"]);
  });

  it("pulumi up creates the stack and every pod of the farm runs on the real node", async function () {
    this.timeout(20 * 60_000);
    const result = await stack.up({ onOutput: progress });
    expect(result.summary.result).to.equal("succeeded");
    const pods = JSON.parse(cluster.kubectl(["get", "pods", "-n", SHARED, "-o", "json"])).items as Pod[];
    const table = pods.map((p) => `${p.metadata.name.padEnd(44)} ${p.status.phase.padEnd(10)} ${p.spec.nodeName ?? "-"}`);
    console.log(`      pods in ${SHARED}:\n${table.map((l) => `        ${l}`).join("\n")}`);
    const services = pods.filter((p) => !p.metadata.ownerReferences?.some((o) => o.kind === "Job"));
    expect(services.length).to.be.at.least(5);
    for (const p of services) {
      expect(p.spec.nodeName, p.metadata.name).to.equal(node);
      expect(p.status.phase, p.metadata.name).to.equal("Running");
      expect(p.status.containerStatuses?.every((c) => c.ready), `${p.metadata.name} ready`).to.equal(true);
    }
    for (const p of pods.filter((x) => !services.includes(x))) expect(p.status.phase, p.metadata.name).to.equal("Succeeded");
  });

  it("a tenant's pod reaches DNS, Pulp, S3 and the registry, and is refused everything else", async function () {
    const [tenant, other] = plans;
    if (!tenant || !other) throw new Error("the minikube stack declares at least two tenants");
    // A pod in the other tenant, listening, so that "refused" means policy, not an empty port.
    cluster.kubectl(["apply", "-f", "-"], JSON.stringify(listener(other.namespace)));
    cluster.kubectl(["wait", "--for=condition=Ready", "pod/listener", "-n", other.namespace, "--timeout=120s"]);
    const otherPod = cluster.kubectl(["get", "pod", "listener", "-n", other.namespace, "-o", "jsonpath={.status.podIP}"]);
    const svc = (name: string, port: number) => `${name}.${SHARED}.svc.cluster.local:${port}`;
    const targets: Record<string, "open" | "blocked"> = {
      [svc("pulp-content", 24816)]: "open",
      // Pulp's API needs a login no tenant holds (docs/services.md): closed to tenants.
      [svc("pulp-api", SERVICE_PORTS.pulpApi)]: "blocked",
      [svc("minio", SERVICE_PORTS.objectStore)]: "open",
      [svc("registry", SERVICE_PORTS.registry)]: "open",
      [svc("pulp-redis", 6379)]: "blocked",
      [svc("pulp-database", 5432)]: "blocked",
      [`${otherPod}:8080`]: "blocked",
      // The API server, allowed back on its own port. Not here: the node's kubelet (nodeCidrs). Traffic
      // to the node's own address meets kube-router's INPUT rules, which it installs for a new pod on
      // its own schedule: one run saw it refused, the next open (docs/cluster-tests.md).
      ["kubernetes.default.svc.cluster.local:443"]: "open",
    };
    const labels = { "app.kubernetes.io/managed-by": "tekton-pipelines" };
    const seen = JSON.parse(await runProbe(cluster, tenant.namespace, "reach", connectScript(Object.keys(targets), svc("pulp-content", 24816)), { labels })) as Record<string, string>;
    // The analyser the unit tests trust, on the same live objects: it must agree with the kernel.
    const source = { namespace: tenant.namespace, name: "reach", labels: { ...labels, "stx-test/probe": "reach" }, ip: unusedPodAddressOf(cluster.realNode!.layout.podSubnet) };
    const analysed = cyclonusVerdicts(cluster, source, Object.keys(targets));
    console.log(`      from ${tenant.namespace}:${" ".repeat(52 - tenant.namespace.length - 5)} live       cyclonus  allow-list`);
    for (const [t, want] of Object.entries(targets)) console.log(`        ${t.padEnd(52)} ${seen[t]!.padEnd(10)} ${analysed[t]!.padEnd(9)} ${want}`);
    for (const [t, want] of Object.entries(targets)) {
      if (want === "open") expect(seen[t], t).to.equal("open");
      else expect(seen[t], t).to.be.oneOf(["timeout", "refused", "EHOSTUNREACH"]);
      expect(analysed[t], `cyclonus on ${t}`).to.equal(want === "open" ? "open" : "blocked");
    }
    // The same pod from its own namespace is reachable: the block above is the policy, not the pod.
    const own = JSON.parse(await runProbe(cluster, other.namespace, "reach-own", connectScript([`${otherPod}:8080`], `${otherPod}:8080`)));
    expect(own[`${otherPod}:8080`]).to.equal("open");
  });

  it("from this machine, the NodePorts answer as npm start prints them", async function () {
    const status = await (await fetch(`http://${nodeAddress}:${NODE_PORTS.pulpApi}/pulp/api/v3/status/`)).json() as PulpStatus;
    console.log(`      Pulp: ${status.versions.map((v) => `${v.component} ${v.version}`).join(", ")}; database ${status.database_connection.connected}, redis ${status.redis_connection.connected}, workers ${status.online_workers.length}`);
    expect(status.database_connection.connected).to.equal(true);
    expect(status.redis_connection.connected).to.equal(true);
    expect(status.online_workers.length).to.be.at.least(1);
    expect(status.versions.map((v) => v.component)).to.include.members(["core", "deb"]);
    expect((await fetch(`http://${nodeAddress}:${NODE_PORTS.pulpContent}/pulp/content/`)).status).to.equal(200);
    expect((await fetch(`http://${nodeAddress}:${NODE_PORTS.registry}/v2/_catalog`)).status).to.equal(401);
  });

  it("S3: a tenant's keys write and list its own prefix and are refused another's; published/ is anonymous", async function () {
    const [tenant, other] = plans;
    const endpoint = `http://${nodeAddress}:${NODE_PORTS.objectStore}`;
    const keys = (ns: string) => {
      const data = JSON.parse(cluster.kubectl(["get", "secret", CREDENTIALS_SECRET, "-n", ns, "-o", "jsonpath={.data}"]));
      const d = (k: string) => Buffer.from(data[k], "base64").toString();
      return { accessKeyId: d(ACCESS_KEY_ID), secretAccessKey: d(SECRET_ACCESS_KEY) };
    };
    const s3 = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
      new S3Client({ endpoint, region: settings.services.objectStore.region, forcePathStyle: true, credentials });
    const own = s3(keys(tenant!.namespace));
    const bucket = settings.services.objectStore.buckets.artifacts;
    const prefix = storeWritePrefix(settings, tenant!.namespace);
    await own.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}node-test.txt`, Body: "mine" }));
    const listed = await own.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    expect(listed.Contents?.map((c) => c.Key)).to.include(`${prefix}node-test.txt`);
    const otherPrefix = storeWritePrefix(settings, other!.namespace);
    const refused = await own.send(new PutObjectCommand({ Bucket: bucket, Key: `${otherPrefix}intruder.txt`, Body: "x" })).then(() => "written", (e: Error) => e.name);
    expect(refused).to.equal("AccessDenied");
    const published = `${settings.services.objectStore.publishedPrefix.replace(/\/$/, "")}/node-test/index.html`;
    const admin = s3(keys(SHARED));
    await admin.send(new PutObjectCommand({ Bucket: bucket, Key: published, Body: "<p>hello</p>" }));
    const anonymous = await fetch(`${endpoint}/${bucket}/${published}`);
    expect(anonymous.status).to.equal(200);
    expect(await anonymous.text()).to.equal("<p>hello</p>");
    const privateGet = await fetch(`${endpoint}/${bucket}/${prefix}/node-test.txt`);
    expect(privateGet.status).to.equal(403);
    await own.send(new GetObjectCommand({ Bucket: bucket, Key: `${prefix}node-test.txt` }));
  });

  it("Pulp mirrors a Debian repository served on loopback; a tenant's pod apt-installs from it through Pulp's content app", async function () {
    const tenant = plans[0]!;
    const content = `http://pulp-content.${SHARED}.svc.cluster.local:${PULP_CONTENT_PORT}/pulp/content/mirror/${MIRROR}/`;
    // A build's apt and sbuild see Pulp's unsigned structured publication (trusted=yes), nothing else.
    const script = [
      "set -e",
      // kube-router admits a new pod's connections a few seconds after it starts (probePod.ts).
      `for i in $(seq 60); do (exec 3<>/dev/tcp/pulp-content.${SHARED}.svc.cluster.local/${PULP_CONTENT_PORT}) 2>/dev/null && break; sleep 1; done`,
      `echo 'deb [trusted=yes] ${content} ${repo.suite} main' >/tmp/pulp.list`,
      "apt='-o Dir::Etc::SourceList=/tmp/pulp.list -o Dir::Etc::SourceParts=/dev/null -o APT::Sandbox::User=root'",
      "apt-get $apt update",
      "DEBIAN_FRONTEND=noninteractive apt-get $apt install -y --no-install-recommends hello sl",
      "hello",
      "dpkg-query -W -f '${Package}=${Version}\\n' hello sl",
    ].join("\n");
    const out = await runProbe(cluster, tenant.namespace, "apt", "", { command: ["bash", "-c", script], asRoot: true, timeoutMs: 300_000 });
    const pins = repo.packages.filter((p) => /^(hello|sl)=/.test(p));
    expect(out).to.contain("Hello, world!");
    for (const pin of pins) expect(out.split("\n"), pin).to.include(pin);
    // On demand: Pulp read the index at sync and fetched each .deb from here when apt first asked.
    const fetched = repo.requests.map((r) => r.path);
    console.log(`      Pulp fetched from the loopback repository: ${[...new Set(fetched)].join(", ")}`);
    expect(fetched).to.include(`/dists/${repo.suite}/Release`);
    for (const pin of pins) {
      const [name, version] = pin.split("=");
      expect(fetched, pin).to.include(`/pool/main/${name}_${version!.replace(/^\d+:/, "")}_amd64.deb`);
    }
    // Only the node's pods asked (their traffic to the host leaves masqueraded as the node's address).
    expect([...new Set(repo.requests.map((r) => r.from))]).to.deep.equal([nodeAddress]);
  });

  it("a tenant's pod pushes an image with its registry login and pulls it back", async function () {
    const tenant = plans[0]!;
    const script = registryRoundTrip(`registry.${SHARED}.svc.cluster.local:${SERVICE_PORTS.registry}`, `${tenant.namespace}/probe`);
    const out = await runProbe(cluster, tenant.namespace, "push-pull", script, {
      volumes: [{ name: "auth", secret: { secretName: REGISTRY_SECRET } }],
      volumeMounts: [{ name: "auth", mountPath: "/auth", readOnly: true }],
    });
    expect(JSON.parse(out.trim().split("\n").pop()!)).to.deep.equal({ anonymous: 401, pushed: 201, pulled: true });
  });

  it("Tekton's controller runs a TaskRun on the node: its own init, script and step images, a workspace, a result", async function () {
    const build = plans.find((p) => p.kind === "build");
    if (!build) throw new Error("the minikube stack declares a build namespace");
    // Script mode and a workspace use every Tekton image a build's pods start with (prepare and
    // place-scripts init containers, the entrypoint wrapping each step); the namespace's
    // LimitRange and quota admit them as they must admit a build's.
    const script = (body: string) => `#!/bin/sh\nset -e\n${body}\n`;
    cluster.kubectl(["create", "-f", "-"], JSON.stringify({
      apiVersion: "tekton.dev/v1", kind: "TaskRun", metadata: { name: "on-the-node", namespace: build.namespace },
      spec: {
        workspaces: [{ name: "scratch", emptyDir: {} }],
        taskSpec: {
          workspaces: [{ name: "scratch" }],
          results: [{ name: "greeting" }],
          steps: [
            { name: "write", image: IMAGES.node, script: script("echo hello >$(workspaces.scratch.path)/word") },
            { name: "read", image: IMAGES.node, script: script(`printf '%s from %s' "$(cat $(workspaces.scratch.path)/word)" "$(node -p process.version)" >$(results.greeting.path)`) },
          ],
        },
      },
    }));
    const started = Date.now();
    let run: TaskRun | undefined;
    while (Date.now() - started < 240_000) {
      run = JSON.parse(cluster.kubectl(["get", "taskrun", "on-the-node", "-n", build.namespace, "-o", "json"])) as TaskRun;
      if (run.status?.completionTime) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    const condition = run?.status?.conditions?.find((c) => c.type === "Succeeded");
    console.log(`      TaskRun ${build.namespace}/on-the-node: ${condition?.reason} in ${((Date.now() - started) / 1000).toFixed(0)} s (${condition?.message ?? ""})`);
    expect(condition?.status, JSON.stringify(run?.status)).to.equal("True");
    expect(run!.status!.results?.find((r) => r.name === "greeting")?.value).to.equal("hello from v22.21.1");
    const pod = JSON.parse(cluster.kubectl(["get", "pod", run!.status!.podName!, "-n", build.namespace, "-o", "json"]));
    expect(pod.spec.nodeName).to.equal(node);
    const images = [...pod.spec.initContainers, ...pod.spec.containers].map((c: { image: string }) => c.image);
    expect(images.some((i: string) => i.includes("tektoncd/pipeline/cmd/entrypoint"))).to.equal(true);
    cluster.kubectl(["delete", "taskrun", "on-the-node", "-n", build.namespace, "--wait=false"]);
  });

  it("kaniko builds the tools images in a TaskRun started as docs/build.md says, as root without privilege, and pushes them with the namespace's login", async function () {
    this.timeout(10 * 60_000);
    const ns = plans.find((p) => p.kind === "build")!.namespace;
    const registryUrl = `http://${nodeAddress}:${NODE_PORTS.registry}`;
    await pushBaseImage(cluster, ns, registryUrl, nodeImages().find((i) => i.ref === IMAGES.node)!.tar, toolsBase(plans, SHARED).repoTag);
    const run = await runTaskRun(cluster, ns, docsToolsImagesRun(), 8 * 60_000);
    console.log(`      TaskRun ${ns}/${run.name}: ${run.succeeded?.reason} in ${run.seconds.toFixed(0)} s (${run.succeeded?.message ?? ""})`);
    expect(run.succeeded?.status, run.logs()).to.equal("True");
    const pod = JSON.parse(cluster.kubectl(["get", "pod", run.podName!, "-n", ns, "-o", "json"]));
    expect(pod.spec.nodeName).to.equal(node);
    for (const c of pod.spec.containers) expect(c.securityContext, c.name).to.deep.include({ runAsUser: 0, privileged: false, allowPrivilegeEscalation: false });
    // The clone came from the node (its pods leave masqueraded as its address), at the pinned commit.
    expect(new Set(tools.requests().map((r) => r.split(" ")[2]))).to.deep.equal(new Set([nodeAddress]));
    const pushed = await pushedToolsImages(cluster, ns, SHARED, registryUrl);
    for (const image of pushed) {
      console.log(`        ${image.reference} ${image.served} /marker: ${image.marker}`);
      expect(run.results[`${image.image}-digest`], image.image).to.equal(image.served).and.to.match(/^sha256:/);
      expect(image.marker, `${image.image} is built from ${tools.pinned}, not the branch head ${tools.head}`).to.equal("pinned");
      expect(image.listing, image.image).to.match(/^-rw[-sx]r-[-x]r-[-x] 1000\/1000 .* marker$/m);
    }
    // stx-pkgbuilder: the base unpacked, then RUN there (chown, a set-id bit, the base's node).
    expect(pushed.find((p) => p.image === "stx-pkgbuilder")?.ran).to.equal("v22.21.1");
    cluster.kubectl(["delete", "taskrun", run.name, "-n", ns, "--wait=false"]);
  });

  upstreamToolsImagesOnTheNode(() => ({ cluster, plans, node, nodeAddress, repo, tools }));

  retentionOnTheNode(() => ({ cluster, stack, settings, plans, node, nodeAddress }));

  // Run for real, this found that a re-up after `destroy --exclude-protected` regenerated the
  // service passwords while the kept volumes held the old ones (PostgreSQL refused Pulp): the
  // passwords data was set up with are now protected with it (dataPassword in serviceKit.ts).
  it("pulumi destroy and a second pulumi up keep what the object store held", async function () {
    this.timeout(20 * 60_000);
    const prefix = storeWritePrefix(settings, plans[0]!.namespace);
    const destroyed = await stack.destroy({ onOutput: progress, excludeProtected: true });
    expect(destroyed.summary.result).to.equal("succeeded");
    const again = await stack.up({ onOutput: progress });
    expect(again.summary.result).to.equal("succeeded");
    const data = JSON.parse(cluster.kubectl(["get", "secret", CREDENTIALS_SECRET, "-n", SHARED, "-o", "jsonpath={.data}"]));
    const d = (k: string) => Buffer.from(data[k], "base64").toString();
    const s3 = new S3Client({
      endpoint: `http://${nodeAddress}:${NODE_PORTS.objectStore}`, region: settings.services.objectStore.region, forcePathStyle: true,
      credentials: { accessKeyId: d(ACCESS_KEY_ID), secretAccessKey: d(SECRET_ACCESS_KEY) },
    });
    const got = await s3.send(new GetObjectCommand({ Bucket: settings.services.objectStore.buckets.artifacts, Key: `${prefix}node-test.txt` }));
    expect(await got.Body?.transformToString()).to.equal("mine");
  });
});

/** An address of the node's pod range that no pod holds (its last usable one), for a pod that has ended. */
function unusedPodAddressOf(podSubnet: string): string {
  return podSubnet.replace(/\.0\/24$/, ".254");
}

interface TaskRun {
  status?: {
    podName?: string;
    completionTime?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    results?: { name: string; value: string }[];
  };
}

interface PulpStatus {
  versions: { component: string; version: string }[];
  database_connection: { connected: boolean };
  redis_connection: { connected: boolean };
  online_workers: unknown[];
}

interface Pod {
  metadata: { name: string; ownerReferences?: { kind: string }[] };
  spec: { nodeName?: string };
  status: { phase: string; containerStatuses?: { ready: boolean }[] };
}

function listener(namespace: string): object {
  return {
    apiVersion: "v1", kind: "Pod",
    metadata: { name: "listener", namespace, labels: { "app.kubernetes.io/managed-by": "tekton-pipelines" } },
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } },
      containers: [{
        name: "listen", image: IMAGES.node, command: ["node", "-e", "require('net').createServer((s) => s.end('hi')).listen(8080)"],
        ports: [{ containerPort: 8080 }],
        readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, readOnlyRootFilesystem: true },
      }],
    },
  };
}

/**
 * The registry's HTTP API as docker does it: refused without a login, then a blob and a manifest
 * pushed with the tenant's credentials (the dockerconfigjson of its Secret), then pulled by digest.
 */
function registryRoundTrip(registry: string, repo: string): string {
  return `
const fs = require("fs"), crypto = require("crypto");
const cfg = JSON.parse(fs.readFileSync("/auth/.dockerconfigjson", "utf8"));
const auth = Object.values(cfg.auths)[0].auth;
const base = "http://${registry}/v2/${repo}";
const h = { authorization: "Basic " + auth };
(async () => {
  // kube-router admits a new pod a few seconds after it starts: wait until the registry answers.
  const until = Date.now() + 60000;
  for (;;) {
    try { await fetch("http://${registry}/v2/"); break; } catch (e) { if (Date.now() > until) throw e; await new Promise((r) => setTimeout(r, 1000)); }
  }
  const anonymous = (await fetch("http://${registry}/v2/")).status;
  const layer = Buffer.from("stx node test layer " + Date.now());
  const digest = "sha256:" + crypto.createHash("sha256").update(layer).digest("hex");
  const start = await fetch(base + "/blobs/uploads/", { method: "POST", headers: h });
  const loc = new URL(start.headers.get("location"), "http://${registry}");
  loc.searchParams.set("digest", digest);
  const put = await fetch(loc, { method: "PUT", headers: { ...h, "content-type": "application/octet-stream" }, body: layer });
  const config = Buffer.from("{}");
  const cdigest = "sha256:" + crypto.createHash("sha256").update(config).digest("hex");
  const s2 = await fetch(base + "/blobs/uploads/", { method: "POST", headers: h });
  const l2 = new URL(s2.headers.get("location"), "http://${registry}"); l2.searchParams.set("digest", cdigest);
  await fetch(l2, { method: "PUT", headers: { ...h, "content-type": "application/octet-stream" }, body: config });
  const manifest = JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: cdigest, size: config.length },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest, size: layer.length }] });
  const pushed = await fetch(base + "/manifests/v1", { method: "PUT", headers: { ...h, "content-type": "application/vnd.oci.image.manifest.v1+json" }, body: manifest });
  console.log("blob", put.status, "manifest", pushed.status, await pushed.text());
  const pulled = await fetch(base + "/blobs/" + digest, { headers: h });
  const body = Buffer.from(await pulled.arrayBuffer());
  console.log(JSON.stringify({ anonymous, pushed: pushed.status, pulled: body.equals(layer) }));
})();`;
}

/** Where a tenant's keys may write (src/services/objectStoreUsers.ts), ending in "/". */
function storeWritePrefix(settings: Settings, namespace: string): string {
  const user = tenantStoreUsers(planTenants(settings), settings.retention.days).find((u) => u.namespace === namespace);
  if (!user) throw new Error(`no object store user for ${namespace}`);
  return user.writePrefix;
}

async function stackSettings(s: Stack): Promise<Settings> {
  const prefix = `${PROJECT}:`;
  const all = await s.getAllConfig();
  return parseSettings(Object.fromEntries(Object.entries(all).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), decodeConfigValue(v.value)])));
}

function progress(out: string): void {
  if (process.env.STX_CLUSTER_VERBOSE) process.stdout.write(out);
}
