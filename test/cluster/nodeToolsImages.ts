/**
 * Upstream's tools images built by the farm on the real node (issue 18): the tools-image Task of
 * docs/build.md, run on the Dockerfiles of the starlingx/tools snapshot (nodeKaniko.ts serves it as
 * git with the tests' patches), FROM a `debian:trixie` stand-in in the farm's registry (kaniko's
 * --registry-map), apt through the farm's Pulp mirror of a trixie archive served on loopback, pip
 * through a PyPI stand-in; then what was built runs on the node as the farm runs it.
 */
import { expect } from "chai";
import * as path from "path";
import { LOCALDISK, SERVICES } from "../../src/build/contract";
import { pulpContentUrl } from "../../src/build/downloads";
import { sidecarsFor } from "../../src/build/services";
import { BuiltToolsImage } from "../../src/build/toolsImages";
import { NODE_PORTS } from "../../src/services/serviceEndpoints";
import { toolchainVersion } from "../../tools/loopback/controlPlane";
import { resolveEnv, sidecar } from "../upstream/pythonEnv";
import { PIPELINE_SERVICE_ACCOUNT, TenantPlan } from "../../src/tenancy/tenants";
import { ControlPlane } from "../../tools/loopback/controlPlane";
import { DebianRepo, trixieBaseArchive } from "../../tools/loopback/debianRepo";
import { dockerHubMirror, docsToolsImagesRun, EndedTaskRun, pushBaseImage, runTaskRun, ServedImage, servedImage, ToolsRepo } from "./nodeKaniko";

const SHARED = "stx-system";
/** Where Pulp serves the trixie archive, as os_mirror_dist_path: <content>/loopback/deb.debian.org/debian. */
export const TRIXIE_PREFIX = "loopback/";

export interface ToolsImagesContext {
  readonly cluster: ControlPlane;
  readonly plans: TenantPlan[];
  readonly node: string;
  readonly nodeAddress: string;
  readonly repo: DebianRepo;
  readonly tools: ToolsRepo;
}

/**
 * debian:trixie as Docker Hub serves it, plus one layer of what the tests change: apt's sources
 * name the farm's mirror (the first RUN updates and installs before the Dockerfile switches to
 * os_mirror_url, stx-aptly.Dockerfile:28) and pip's index the PyPI stand-in (pypi.org cannot be
 * reached; /etc/xdg/pip, since the Dockerfiles append their own section to /etc/pip.conf).
 */
function trixieBaseFiles(tools: ToolsRepo): Record<string, string> {
  const content = `${pulpContentUrl(SHARED)}/${TRIXIE_PREFIX}deb.debian.org`;
  const pypi = new URL(tools.pypi.url);
  return {
    "etc/apt/sources.list.d/debian.sources": `Types: deb\nURIs: ${content}/debian\nSuites: trixie trixie-updates\nComponents: main\n\nTypes: deb\nURIs: ${content}/debian-security\nSuites: trixie-security\nComponents: main\n`,
    "etc/xdg/pip/pip.conf": `[global]\nindex-url = ${pypi.origin}/simple/\ntrusted-host = ${pypi.hostname}\n`,
  };
}

/** One image of upstream's Dockerfiles built by the docs' TaskRun, and what the registry serves for it. */
async function buildUpstream(ctx: ToolsImagesContext, ns: string, image: BuiltToolsImage, listFiles = true): Promise<{ run: EndedTaskRun; served: ServedImage }> {
  const { cluster, tools, nodeAddress } = ctx;
  if ("missing" in tools.upstream) throw new Error(tools.upstream.missing);
  const registryUrl = `http://${nodeAddress}:${NODE_PORTS.registry}`;
  const run = docsToolsImagesRun() as { spec: Record<string, unknown> };
  run.spec.params = [{ name: "GIT_CONTEXT", value: tools.upstream.context }, { name: "IMAGES", value: [image] }];
  const ended = await runTaskRun(cluster, ns, run, 40 * 60_000);
  console.log(`      TaskRun ${ns}/${ended.name} (${image} from ${tools.upstream.context}): ${ended.succeeded?.reason} in ${ended.seconds.toFixed(0)} s`);
  expect(ended.succeeded?.status, ended.logs()).to.equal("True");
  const served = await servedImage(cluster, ns, registryUrl, image, listFiles);
  console.log(`        ${served.reference} ${served.digest}: ${served.layers.length} layers, ${(served.bytes / 1e6).toFixed(0)} MB`);
  expect(ended.results[`${image}-digest`]).to.equal(served.digest);
  cluster.kubectl(["delete", "taskrun", ended.name, "-n", ns, "--wait=false"]);
  return { run: ended, served };
}

/** The .debs Pulp fetched from the loopback archive since `asked` requests, and from where. */
function fetchedDebs(repo: DebianRepo, asked: number): { names: string[]; from: Set<string> } {
  const debs = repo.requests.slice(asked).filter((r) => r.path.endsWith(".deb"));
  return { names: debs.map((r) => path.basename(r.path).split("_")[0]!), from: new Set(debs.map((r) => r.from)) };
}

export function upstreamToolsImagesOnTheNode(ctx: () => ToolsImagesContext): void {
  /** The stx-aptly the farm built, as the nodes reach the registry (build.toolsImages.prefix), by digest. */
  let builtAptly: string | undefined;
  let builtPkgbuilder: string | undefined;
  let basePushed = false;
  const buildNamespace = () => ctx().plans.find((p) => p.kind === "build")!.namespace;
  const pushBase = async () => {
    const { cluster, plans, nodeAddress, tools } = ctx();
    if (!basePushed) await pushBaseImage(cluster, buildNamespace(), `http://${nodeAddress}:${NODE_PORTS.registry}`, trixieBaseArchive(), `${dockerHubMirror(plans).repoPath}library/debian:trixie`, trixieBaseFiles(tools));
    basePushed = true;
  };

  it("kaniko builds upstream's stx-aptly from the starlingx/tools snapshot: FROM debian:trixie through the registry map, apt through Pulp", async function () {
    const { nodeAddress, repo, tools } = ctx();
    if ("missing" in tools.upstream) {
      console.log(`      skipped: ${tools.upstream.missing}`);
      this.skip();
    }
    this.timeout(30 * 60_000);
    await pushBase();
    const asked = repo.requests.length;
    const { run, served } = await buildUpstream(ctx(), buildNamespace(), "stx-aptly");
    expect(run.results).to.not.have.property("stx-builder-digest");
    // Upstream's image, as its Dockerfile ends: its entry point, ports, and aptly and Debian's nginx in it.
    expect(served.config.config.Entrypoint).to.deep.equal(["ionice", "-c", "3", "nice", "-n", "15", "/bin/entrypoint.sh"]);
    expect(Object.keys(served.config.config.ExposedPorts ?? {}).sort()).to.deep.equal(["80/tcp", "8080/tcp"]);
    // COPY ... /bin/entrypoint.sh lands in usr/bin: trixie's /bin is the merged-/usr symlink.
    const wanted = ["usr/bin/aptly", "usr/sbin/nginx", "etc/aptly.conf", "usr/bin/entrypoint.sh"];
    expect(wanted.filter((f) => !served.files.includes(f)), served.files.filter((f) => /aptly|nginx|entrypoint/.test(f)).join(" ")).to.deep.equal([]);
    // apt fetched the packages through Pulp: Pulp asked this machine for them, from the node.
    const debs = fetchedDebs(repo, asked);
    console.log(`        Pulp fetched ${debs.names.length} .debs of trixie from this machine while kaniko's apt ran`);
    expect(debs.names).to.include.members(["aptly", "nginx", "supervisor"]);
    expect(debs.from).to.deep.equal(new Set([nodeAddress]));
    builtAptly = `${nodeAddress}:${NODE_PORTS.registry}/${served.reference}@${served.digest}`;
  });

  it("the farm's aptly sidecar runs that image on the node: aptly's API takes a repository and nginx serves what aptly published", async function () {
    if (!builtAptly) this.skip();
    this.timeout(10 * 60_000);
    // The container the build Tasks run beside build-pkgs (src/build/services.ts).
    const inPod = startSidecar(ctx(), aptlyPod(buildNamespace(), builtAptly!));
    const api = "http://127.0.0.1:8080/api";
    // Debian's aptly, the version the archive pins (TRIXIE_APTLY_PACKAGES).
    const pinned = toolchainVersion("TRIXIE_APTLY_PACKAGES").split(" ").find((p) => p.startsWith("aptly="))!.slice("aptly=".length);
    expect(JSON.parse(inPod(`curl -sf ${api}/version`)).Version.trim()).to.equal(pinned);
    inPod(`curl -sf -X POST -H 'Content-Type: application/json' -d '{"Name":"farm-check"}' ${api}/repos`);
    expect(JSON.parse(inPod(`curl -sf ${api}/repos`)).map((r: { Name: string }) => r.Name)).to.deep.equal(["farm-check"]);
    // aptly.conf has AsyncAPI: the publish is a task; nginx serves the result from the state volume.
    inPod(`curl -sf -X POST -H 'Content-Type: application/json' -d '{"SourceKind":"local","Sources":[{"Name":"farm-check"}],"Distribution":"trixie","Architectures":["amd64"],"Signing":{"Skip":true}}' ${api}/publish/farm`);
    const release = inPod("for i in $(seq 30); do curl -sf http://127.0.0.1:80/farm/dists/trixie/Release && exit 0; sleep 1; done; exit 1");
    expect(release).to.match(/^Codename: trixie$/m);
    expect(inPod(`ls ${LOCALDISK}/aptly/public/farm/dists/trixie`)).to.match(/^Release$/m);
    inPod.remove();
  });

  it("kaniko builds upstream's stx-pkgbuilder: sbuild, schroot and the build tools through Pulp, Flask through the PyPI stand-in", async function () {
    const { repo, tools, nodeAddress } = ctx();
    if ("missing" in tools.upstream) this.skip();
    this.timeout(45 * 60_000);
    await pushBase();
    const asked = repo.requests.length;
    const pipAsked = tools.pypi.requests.length;
    // Its layers are too big to read back whole through the NodePort here: what is in it is checked
    // by running it (next test).
    const { served } = await buildUpstream(ctx(), buildNamespace(), "stx-pkgbuilder", false);
    expect(served.config.config.Entrypoint).to.deep.equal(["/usr/bin/tini", "--"]);
    const debs = fetchedDebs(repo, asked);
    console.log(`        Pulp fetched ${debs.names.length} .debs; pip fetched ${tools.pypi.requests.length - pipAsked} files from the PyPI stand-in`);
    expect(debs.names).to.include.members(["sbuild", "schroot", "build-essential"]);
    expect(debs.from).to.deep.equal(new Set([nodeAddress]));
    expect(tools.pypi.requests.slice(pipAsked).map((r) => r.path)).to.include("/simple/flask/");
    builtPkgbuilder = `${nodeAddress}:${NODE_PORTS.registry}/${served.reference}@${served.digest}`;
  });

  it("the farm's pkgbuilder sidecar runs that image on the node: upstream's Flask app reads its stx-localrc and answers /pkgbuilder/state", async function () {
    if (!builtPkgbuilder) this.skip();
    this.timeout(10 * 60_000);
    const inPod = startSidecar(ctx(), pkgbuilderPod(buildNamespace(), builtPkgbuilder!));
    expect(JSON.parse(inPod(`curl -sf ${SERVICES.pkgbuilder.url}state`))).to.deep.include({ status: "success" });
    // What the Dockerfile put there: the build tools, root in the sbuild group (its `sudo sbuild-adduser root`), Flask from pip.
    expect(inPod("command -v sbuild schroot dpkg-buildpackage").trim().split("\n")).to.have.length(3);
    expect(inPod("id -nG root")).to.match(/\bsbuild\b/);
    expect(inPod("python3 -c 'import flask, sys; print(flask.__file__)'").trim()).to.match(/^\/usr\/local\/lib\/python3\.\d+\/dist-packages\/flask\/__init__\.py$/);
    // Debbuilder read the farm's stx-localrc (set_environ_vars) and logged to the state volume.
    const log = inPod(`cat ${LOCALDISK}/pkgbuilder.log`);
    expect(log).to.match(/Debbuilder initalized for dist trixie/);
    expect(log).to.not.match(/stx-localrc does not exist/);
    inPod.remove();
  });
}

/** A sidecar of the farm's build Tasks as a Pod of its own, state volume an emptyDir. */
interface SidecarPod {
  readonly namespace: string;
  readonly container: { name: string } & Record<string, unknown>;
}

/**
 * Starts the sidecar as a Pod running as the pipeline ServiceAccount, as build pods do: its
 * imagePullSecrets (the namespace's registry login) pull the image from the farm's registry. Waits
 * until Ready on the node; returns a shell in its container, and `remove`.
 */
function startSidecar(ctx: ToolsImagesContext, pod: SidecarPod): ((script: string) => string) & { remove(): void } {
  const { cluster, node } = ctx;
  const name = `stx-${pod.container.name}`;
  const started = Date.now();
  cluster.kubectl(["apply", "-f", "-"], JSON.stringify({
    apiVersion: "v1", kind: "Pod",
    metadata: { name, namespace: pod.namespace },
    spec: {
      restartPolicy: "Never",
      serviceAccountName: PIPELINE_SERVICE_ACCOUNT,
      containers: [{ ...pod.container, volumeMounts: [{ name: "localdisk", mountPath: LOCALDISK }] }],
      volumes: [{ name: "localdisk", emptyDir: {} }],
    },
  }));
  try {
    cluster.kubectl(["wait", "--for=condition=Ready", `pod/${name}`, "-n", pod.namespace, "--timeout=420s"]);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${cluster.kubectl(["describe", "pod", name, "-n", pod.namespace])}`);
  }
  console.log(`      ${name} pulled from the farm's registry and Ready in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  expect(cluster.kubectl(["get", "pod", name, "-n", pod.namespace, "-o", "jsonpath={.spec.nodeName}"])).to.equal(node);
  const inPod = (script: string) => cluster.kubectl(["exec", name, "-n", pod.namespace, "-c", pod.container.name, "--", "bash", "-c", script]);
  return Object.assign(inPod, { remove: () => void cluster.kubectl(["delete", "pod", name, "-n", pod.namespace, "--wait=false"]) });
}

/** The farm's pkgbuilder sidecar (the build-pkgs Task's, as generated, env resolved) running `image`. */
function pkgbuilderPod(namespace: string, image: string): SidecarPod {
  const side = sidecar("build-packages-std", "pkgbuilder");
  const env = Object.entries(resolveEnv(side.env ?? [], LOCALDISK)).map(([name, value]) => ({ name, value }));
  return { namespace, container: { ...side, name: "pkgbuilder", image, env } };
}

/** The farm's aptly sidecar (sidecarsFor a build-pkgs Task) running `image`. */
function aptlyPod(namespace: string, image: string): SidecarPod {
  const side = sidecarsFor("stx-build-packages", "none", []).find((c) => c.name === "aptly") as { script: string; readinessProbe: object };
  return { namespace, container: { name: "aptly", image, command: ["bash", "-c", side.script], readinessProbe: side.readinessProbe } };
}
