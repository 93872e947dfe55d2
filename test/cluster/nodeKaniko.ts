/**
 * The tools-image Task (src/build/toolsImages.ts) on the real node: a small repository in
 * starlingx/tools' layout, served over smart HTTP (tools/images/gitHttp.js, git http-backend) from
 * an address of this machine that the tenants' egress policies treat as the internet, and the
 * registry's view of what kaniko pushed, read through the NodePort with the namespace's login.
 */
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import { REGISTRY_SECRET } from "../../components/services/registry";
import { BUILT_TOOLS_IMAGES, BuiltToolsImage, kanikoGitContext } from "../../src/build/toolsImages";
import { STX_TOOLS_SOURCE } from "../../src/versions";
import { localArtifact, missingMessage, STARLINGX_SNAPSHOTS } from "../../tools/upstreamArtifacts";
import { SERVICE_PORTS } from "../../src/services/serviceEndpoints";
import { TenantPlan } from "../../src/tenancy/tenants";
import { REPO_ROOT } from "../../tools/localStack";
import { ControlPlane } from "../../tools/loopback/controlPlane";
import { pypiDir, ServedDirectory, serveDirectory } from "../../tools/loopback/debianRepo";
import { NodeLayout } from "../../tools/loopback/nodeConfig";

const GIT_PORT = 8418;
const PYPI_PORT = 8419;
const BRANCH = "refs/heads/master";

/**
 * The base stx-pkgbuilder starts from, under the branch namespace (the only prefix its login may
 * push to): as kaniko names it (the Task's REGISTRY, so --insecure-registry applies), and as pushed.
 */
export function toolsBase(plans: readonly TenantPlan[], shared: string): { reference: string; repoTag: string } {
  const build = plans.find((p) => p.kind === "build");
  if (!build) throw new Error("the stack declares no build namespace to run the tools-image Task in");
  const repoTag = `${build.namespace}/starlingx-tools/base:node`;
  return { reference: `registry.${shared}.svc:${SERVICE_PORTS.registry}/${repoTag}`, repoTag };
}

/**
 * Docker Hub as the tests' kaniko reaches it (build.toolsImageBuild.registryMap): a path under the
 * branch namespace's registry prefix, where its login may push the bases and pull them.
 */
export function dockerHubMirror(plans: readonly TenantPlan[], shared = "stx-system"): { reference: string; repoPath: string } {
  const repoPath = `${toolsBase(plans, shared).repoTag.split("/")[0]}/dockerhub/`;
  return { reference: `registry.${shared}.svc:${SERVICE_PORTS.registry}/${repoPath}`, repoPath };
}

export interface ServedImage {
  readonly reference: string;
  /** Docker-Content-Digest of the manifest. */
  readonly digest: string;
  readonly config: { config: { Entrypoint?: string[]; ExposedPorts?: Record<string, unknown>; Volumes?: Record<string, unknown> } };
  readonly layers: readonly string[];
  readonly bytes: number;
  /** Every regular file of every layer (paths without the leading "./" or "/"); empty unless listed. */
  readonly files: readonly string[];
}

/** One built image as the registry serves it under the Task's REPOSITORY and TAG, with the namespace's login. */
export async function servedImage(cluster: ControlPlane, namespace: string, registryUrl: string, image: BuiltToolsImage, listFiles = true, shared = "stx-system"): Promise<ServedImage> {
  const task = JSON.parse(cluster.kubectl(["get", "task", "stx-tools-images", "-n", shared, "-o", "json"]));
  const param = (name: string) => (task.spec.params as { name: string; default: string }[]).find((p) => p.name === name)!.default;
  const headers = { authorization: registryLogin(cluster, namespace), accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json" };
  const repo = `${namespace}/${param("REPOSITORY")}${image}`;
  const res = await fetch(`${registryUrl}/v2/${repo}/manifests/${param("TAG")}`, { headers });
  if (res.status !== 200) throw new Error(`registry: ${repo}:${param("TAG")} answered ${res.status}: ${await res.text()}`);
  const manifest = await res.json() as { config: { digest: string }; layers: { digest: string; size: number; mediaType: string }[] };
  const blob = async (digest: string) => Buffer.from(await (await fetch(`${registryUrl}/v2/${repo}/blobs/${digest}`, { headers })).arrayBuffer());
  const files: string[] = [];
  for (const layer of listFiles ? manifest.layers : []) {
    // kaniko's own layers are gzipped; the base's, as pushed, are not.
    const listing = execFileSync("tar", [layer.mediaType.endsWith("gzip") ? "-tvz" : "-tv"], { input: await blob(layer.digest), encoding: "utf8", stdio: "pipe", maxBuffer: 1 << 28 });
    for (const line of listing.split("\n")) if (line.startsWith("-")) files.push(line.split(/\s+/).slice(5).join(" ").replace(/^\.?\//, ""));
  }
  return {
    reference: `${repo}:${param("TAG")}`, digest: res.headers.get("docker-content-digest") ?? "",
    config: JSON.parse((await blob(manifest.config.digest)).toString()),
    layers: manifest.layers.map((l) => l.digest), bytes: manifest.layers.reduce((n, l) => n + l.size, 0), files,
  };
}

export interface ToolsRepo {
  /** The commit the stack pins (its files say "pinned"); the branch head says "later". */
  readonly pinned: string;
  readonly head: string;
  /** Stack settings that point build.toolsImageBuild at this repository and commit. */
  readonly config: Record<string, string>;
  /**
   * kaniko's git context of the starlingx/tools snapshot (../shared/upstream) with the test's
   * patches (UPSTREAM_PATCHES) committed on top, served beside the small repository.
   */
  readonly upstream: { readonly context: string } | { readonly missing: string };
  /** PyPI's stand-in on the same "internet" address (TEST_PYPI_PACKAGES): pip's index is `<url>simple/`. */
  readonly pypi: ServedDirectory;
  /** Request lines of the git server: `<method> <path> <client address>`. */
  requests(): string[];
  close(): Promise<void>;
}

/**
 * Serves the repository on 172.31.<id>.1, an address added to the host's end of the node's link:
 * the link's own /30 is in cluster.egressExclusions.nodeCidrs (a tenant's pod may not reach the
 * host there), this one is outside every exclusion, as opendev.org is. The node's default route
 * already points at the host; pods' traffic arrives masqueraded as the node's address. `base` is
 * the image stx-pkgbuilder starts from (pushBaseImage puts it in the farm's registry).
 */
export async function serveToolsRepo(layout: NodeLayout, work: string, base: string): Promise<ToolsRepo> {
  const { pinned, head, root } = toolsRepo(path.join(work, "tools"), base);
  const snapshot = localArtifact(STARLINGX_SNAPSHOTS.tools);
  const commit = "path" in snapshot ? upstreamToolsRepo(snapshot.path, path.join(work, "upstream"), root) : undefined;
  const address = `172.31.${layout.id}.1`;
  const dev = `stx${layout.id}n`;
  execFileSync("ip", ["addr", "add", `${address}/32`, "dev", dev]);
  let server: ChildProcess | undefined;
  let pypi: ServedDirectory | undefined;
  let log = "";
  const close = async () => {
    server?.kill();
    await pypi?.close();
    execFileSync("ip", ["addr", "del", `${address}/32`, "dev", dev], { stdio: "ignore" });
  };
  try {
    server = spawn(process.execPath, [path.join(REPO_ROOT, "tools", "images", "gitHttp.js"), root, String(GIT_PORT), address], { stdio: ["ignore", "pipe", "inherit"] });
    server.stdout!.on("data", (d: Buffer) => { log += d.toString(); });
    await untilServed(`http://${address}:${GIT_PORT}/tools.git/info/refs?service=git-upload-pack`);
    log = "";
    pypi = await serveDirectory(pypiDir(), address, PYPI_PORT);
  } catch (e) {
    await close();
    throw e;
  }
  return {
    pinned, head, close, pypi: pypi!,
    upstream: commit ? { context: kanikoGitContext(`http://${address}:${GIT_PORT}/starlingx-tools.git`, BRANCH, commit).context } : { missing: missingMessage(snapshot)! },
    requests: () => log.split("\n").filter((l) => l !== ""),
    config: {
      "build.toolsImageBuild.enabled": "true",
      "build.toolsImageBuild.gitUrl": `http://${address}:${GIT_PORT}/tools.git`,
      "build.toolsImageBuild.gitRef": BRANCH,
      "build.toolsImageBuild.commit": pinned,
    },
  };
}

async function untilServed(url: string): Promise<void> {
  const until = Date.now() + 30_000;
  for (;;) {
    const status = await fetch(url).then((r) => r.status, () => 0);
    if (status === 200) return;
    if (Date.now() > until) throw new Error(`the git server never answered ${url} (last status ${status})`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/**
 * stx/debian/trixie/dockerfiles/<image>.Dockerfile for each built image, as upstream lays them out,
 * each copying its marker from toCOPY/ (COPY --chown: kaniko sets owners, as apt and dpkg need).
 * FROM scratch: upstream's need debian:trixie and apt through the mirror, the next step.
 * Two commits: the pinned one, and a later branch head the build must not take.
 */
function toolsRepo(dir: string, base: string): { pinned: string; head: string; root: string } {
  const src = path.join(dir, "src");
  const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=node-test", "-c", "user.email=node-test@invalid", "-c", "init.defaultBranch=master", ...args], { cwd: src, encoding: "utf8" }).trim();
  const marker = (image: BuiltToolsImage) => `stx/debian/trixie/toCOPY/${image}/marker`;
  const write = (file: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(src, file)), { recursive: true });
    fs.writeFileSync(path.join(src, file), text);
  };
  for (const image of BUILT_TOOLS_IMAGES) {
    write(`stx/debian/trixie/dockerfiles/${image}.Dockerfile`,
      `FROM scratch\nARG debian_snapshot_timestamp=""\nARG os_mirror_url\nCOPY --chown=1000:1000 ${marker(image)} /marker\n`);
    write(marker(image), "pinned\n");
  }
  // One image on a base kaniko pulls with the run's login and unpacks over its own root, then a RUN
  // there (chown and a set-id bit, as dpkg does): what upstream's Dockerfiles do with debian:trixie.
  write("stx/debian/trixie/dockerfiles/stx-pkgbuilder.Dockerfile", `FROM ${base}\nCOPY ${marker("stx-pkgbuilder")} /marker\n` +
    "RUN chown 1000:1000 /marker && chmod 4755 /marker && node -e 'require(\"fs\").writeFileSync(\"/ran\", process.version)'\n");
  git("init", "-q");
  git("add", "-A");
  git("commit", "-qm", "pinned");
  const pinned = git("rev-parse", "HEAD");
  for (const image of BUILT_TOOLS_IMAGES) write(marker(image), "later\n");
  git("commit", "-qam", "later");
  const head = git("rev-parse", "HEAD");
  const root = path.join(dir, "git");
  fs.mkdirSync(root, { recursive: true });
  execFileSync("git", ["clone", "-q", "--bare", src, path.join(root, "tools.git")]);
  return { pinned, head, root };
}

/**
 * What the tests change in starlingx/tools' Dockerfiles, because it cannot be had here (pods reach
 * nothing outside this machine), each applied as an exact edit that fails when upstream's text moves:
 * the commit on top of the snapshot says which and why (docs/cluster-tests.md lists them).
 */
export const UPSTREAM_PATCHES: readonly { file: string; why: string; remove: readonly RegExp[] }[] = [
  {
    file: "stx/debian/trixie/dockerfiles/stx-aptly.Dockerfile",
    why: "nginx.org's signing key and repository -> Debian's own nginx (trixie main)",
    remove: [
      /^RUN curl -O https:\/\/nginx\.org\/keys\/nginx_signing\.key\n/m,
      /^ +echo "deb \[signed-by=\/etc\/apt\/keyrings\/nginx_signing\.gpg\] http:\/\/nginx\.org\/packages\/debian\/ bookworm nginx" > \/etc\/apt\/sources\.list\.d\/nginx\.list && \\\n/m,
      /^ +gpg --no-default-keyring --keyring \.\/temp-keyring\.gpg --import \.\/nginx_signing\.key && \\\n/m,
      /^ +gpg --no-default-keyring --keyring \.\/temp-keyring\.gpg --export --output nginx_signing\.gpg && \\\n/m,
      /^ +rm -f temp-keyring\.gpg temp-keyring\.gpg~ && \\\n/m,
      /^ +mv nginx_signing\.gpg \/etc\/apt\/keyrings && \\\n/m,
    ],
  },
];

/**
 * starlingx/tools at the snapshot's commit (../shared/upstream, read through upstreamArtifacts) as
 * a git repository: one commit of the snapshot, one of UPSTREAM_PATCHES; its bare clone is put
 * in `gitRoot` as starlingx-tools.git. Returns the patched commit.
 */
function upstreamToolsRepo(archive: string, dir: string, gitRoot: string): string {
  fs.mkdirSync(dir, { recursive: true });
  execFileSync("tar", ["-xzf", archive, "-C", dir]);
  const src = path.join(dir, STARLINGX_SNAPSHOTS.tools.top);
  const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=node-test", "-c", "user.email=node-test@invalid", "-c", "init.defaultBranch=master", ...args], { cwd: src, encoding: "utf8" }).trim();
  git("init", "-q");
  git("add", "-A");
  git("commit", "-qm", `starlingx/tools ${STX_TOOLS_SOURCE.commit} (snapshot)`);
  for (const patch of UPSTREAM_PATCHES) {
    const file = path.join(src, patch.file);
    let text = fs.readFileSync(file, "utf8");
    for (const line of patch.remove) {
      const found = text.match(new RegExp(line.source, "gm")) ?? [];
      if (found.length !== 1) throw new Error(`${patch.file}: the test's patch (${patch.why}) expects one line matching ${line}, found ${found.length}: upstream changed, update UPSTREAM_PATCHES`);
      text = text.replace(line, "");
    }
    fs.writeFileSync(file, text);
  }
  git("commit", "-qam", `farm tests: ${UPSTREAM_PATCHES.map((p) => p.why).join("; ")}`);
  execFileSync("git", ["clone", "-q", "--bare", src, path.join(gitRoot, "starlingx-tools.git")]);
  return git("rev-parse", "HEAD");
}

/** The TaskRun of docs/build.md's "The tools images, built by the farm", as a maintainer copies it. */
export function docsToolsImagesRun(): Record<string, unknown> {
  const doc = fs.readFileSync(path.join(REPO_ROOT, "docs", "build.md"), "utf8");
  const section = doc.slice(doc.indexOf("## The tools images, built by the farm"), doc.indexOf("## Private builds"));
  const body = /<<'YAML' \| kubectl -n \S+ create -f -\n([\s\S]*?)\nYAML\n/.exec(section)?.[1];
  if (!body) throw new Error("docs/build.md has no `cat <<'YAML' | kubectl -n <namespace> create -f -` block under the tools images");
  return yaml.load(body) as Record<string, unknown>;
}

export interface PushedImage {
  readonly image: BuiltToolsImage;
  readonly reference: string;
  /** Docker-Content-Digest of the tag's manifest, as the registry serves it. */
  readonly served: string;
  /** /marker of the image's last layer. */
  readonly marker: string;
  /** `tar -tvz` of that layer. */
  readonly listing: string;
  /** /ran of that layer, "" when it has none. */
  readonly ran: string;
}

/**
 * What the registry serves for each image under the Task's REPOSITORY and TAG, read from this
 * machine through the NodePort with the login of the namespace's Secret, as a person pulls it.
 */
export async function pushedToolsImages(cluster: ControlPlane, namespace: string, shared: string, registryUrl: string): Promise<PushedImage[]> {
  const task = JSON.parse(cluster.kubectl(["get", "task", "stx-tools-images", "-n", shared, "-o", "json"]));
  const param = (name: string) => (task.spec.params as { name: string; default: string }[]).find((p) => p.name === name)!.default;
  const headers = { authorization: registryLogin(cluster, namespace), accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json" };
  const out: PushedImage[] = [];
  for (const image of BUILT_TOOLS_IMAGES) {
    const repo = `${namespace}/${param("REPOSITORY")}${image}`;
    const res = await fetch(`${registryUrl}/v2/${repo}/manifests/${param("TAG")}`, { headers });
    if (res.status !== 200) throw new Error(`registry: ${repo}:${param("TAG")} answered ${res.status}: ${await res.text()}`);
    const manifest = await res.json() as { layers: { digest: string }[] };
    const blob = await fetch(`${registryUrl}/v2/${repo}/blobs/${manifest.layers.at(-1)!.digest}`, { headers });
    const layer = Buffer.from(await blob.arrayBuffer());
    // kaniko names members /marker: tar strips the slash and says so on stderr (kept quiet here).
    const untar = (args: string[]) => execFileSync("tar", args, { input: layer, encoding: "utf8", stdio: "pipe" });
    const listing = untar(["-tvz", "--numeric-owner"]);
    out.push({
      image, reference: `${repo}:${param("TAG")}`, served: res.headers.get("docker-content-digest") ?? "",
      marker: untar(["-xzO", "marker"]).trim(),
      ran: /\sran$/m.test(listing) ? untar(["-xzO", "ran"]) : "",
      listing,
    });
  }
  return out;
}

export interface EndedTaskRun {
  readonly name: string;
  readonly seconds: number;
  readonly succeeded: { status?: string; reason?: string; message?: string } | undefined;
  readonly podName?: string;
  readonly results: Record<string, string>;
  /** Each step's log tail, for the failure message. */
  logs(): string;
}

/** Creates the TaskRun and waits until it completes (or timeoutMs passes). */
export async function runTaskRun(cluster: ControlPlane, namespace: string, run: Record<string, unknown>, timeoutMs: number): Promise<EndedTaskRun> {
  const started = Date.now();
  const name = cluster.kubectl(["create", "-n", namespace, "-o", "jsonpath={.metadata.name}", "-f", "-"], yaml.dump(run));
  let status: { completionTime?: string; podName?: string; conditions?: { type: string; status?: string; reason?: string; message?: string }[]; results?: { name: string; value: string }[] } = {};
  while (Date.now() - started < timeoutMs) {
    status = JSON.parse(cluster.kubectl(["get", "taskrun", name, "-n", namespace, "-o", "jsonpath={.status}"]) || "{}");
    if (status.completionTime) break;
    await new Promise((r) => setTimeout(r, 2000));
  }
  const podName = status.podName;
  return {
    name, podName, seconds: (Date.now() - started) / 1000,
    succeeded: status.conditions?.find((c) => c.type === "Succeeded"),
    results: Object.fromEntries((status.results ?? []).map((r) => [r.name, r.value.trim()])),
    logs: () => {
      try {
        return podName ? cluster.kubectl(["logs", podName, "-n", namespace, "--all-containers", "--prefix", "--tail=15"]) : "(no pod)";
      } catch (e) {
        return `(no logs: ${(e as Error).message})`;
      }
    },
  };
}

/** The namespace's registry login (Secret registry-credentials) as an Authorization header. */
function registryLogin(cluster: ControlPlane, namespace: string): string {
  const secret = cluster.kubectl(["get", "secret", REGISTRY_SECRET, "-n", namespace, "-o", "jsonpath={.data.\\.dockerconfigjson}"]);
  const auths = JSON.parse(Buffer.from(secret, "base64").toString()).auths as Record<string, { auth: string }>;
  return `Basic ${Object.values(auths)[0]!.auth}`;
}

/**
 * Pushes a docker-archive tarball (a stand-in of scripts/images.sh or node-setup.sh) to
 * `<registryUrl>/<repo>:<tag>` with the namespace's login, layers uncompressed as OCI allows, and
 * `files` (path in the image -> text) as one more layer on top: what the tests change in a base.
 */
export async function pushBaseImage(cluster: ControlPlane, namespace: string, registryUrl: string, archive: string, repoTag: string, files: Record<string, string> = {}): Promise<void> {
  const [repo, tag] = repoTag.split(":") as [string, string];
  const authorization = registryLogin(cluster, namespace);
  const member = (name: string) => execFileSync("tar", ["-xOf", archive, name], { maxBuffer: 1 << 30 });
  const entry = JSON.parse(member("manifest.json").toString())[0] as { Config: string; Layers: string[] };
  const upload = async (body: Buffer, mediaType: string) => {
    const digest = `sha256:${crypto.createHash("sha256").update(body).digest("hex")}`;
    const start = await fetch(`${registryUrl}/v2/${repo}/blobs/uploads/`, { method: "POST", headers: { authorization } });
    const at = new URL(start.headers.get("location") ?? "", registryUrl);
    at.searchParams.set("digest", digest);
    const put = await fetch(at, { method: "PUT", headers: { authorization, "content-type": "application/octet-stream" }, body });
    if (put.status !== 201) throw new Error(`registry: blob ${digest} of ${archive} answered ${put.status}`);
    return { mediaType, digest, size: body.length };
  };
  const layerBodies: Buffer[] = entry.Layers.map(member);
  const config = JSON.parse(member(entry.Config).toString()) as { rootfs: { diff_ids: string[] } };
  if (Object.keys(files).length > 0) {
    const body = filesLayer(files);
    layerBodies.push(body);
    config.rootfs.diff_ids.push(`sha256:${crypto.createHash("sha256").update(body).digest("hex")}`);
  }
  const configBlob = await upload(Buffer.from(JSON.stringify(config)), "application/vnd.oci.image.config.v1+json");
  const layers = [];
  for (const body of layerBodies) layers.push(await upload(body, "application/vnd.oci.image.layer.v1.tar"));
  const manifest = JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: configBlob, layers });
  const put = await fetch(`${registryUrl}/v2/${repo}/manifests/${tag}`, { method: "PUT", headers: { authorization, "content-type": "application/vnd.oci.image.manifest.v1+json" }, body: manifest });
  if (put.status !== 201) throw new Error(`registry: manifest ${repoTag} answered ${put.status}: ${await put.text()}`);
}

/** An uncompressed layer holding `files` (owned by root, mode 0644). */
function filesLayer(files: Record<string, string>): Buffer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stx-layer-"));
  try {
    for (const [file, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), text, { mode: 0o644 });
    }
    return execFileSync("tar", ["--sort=name", "--mtime=@0", "--numeric-owner", "--owner=0", "--group=0", "-C", dir, "-cf", "-", ...Object.keys(files).map((f) => f.replace(/^\//, ""))], { maxBuffer: 1 << 26 });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
