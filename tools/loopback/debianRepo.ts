/**
 * The Debian repository the real-node cluster's Pulp mirrors, served from this machine: pods reach
 * nothing outside it, so Debian's own .debs (TEST_DEBIAN_PACKAGES in scripts/toolchain.versions,
 * fetched with `apt-get download` and indexed by scripts/node-setup.sh) are served over HTTP on the
 * host's end of the node link, where the node's pods reach the host. Every request is recorded, so a
 * test can tell which files Pulp fetched (on_demand: the Release at sync, a .deb when first asked).
 */
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { AddressInfo } from "net";
import { MirrorSettings } from "../../src/settings/services";
import { toolchainVersion } from "./controlPlane";

/** The name the loopback repository is mirrored under in Pulp (content at mirror/<name>/). */
export const LOOPBACK_MIRROR = "loopback-debian";

export interface DebianRepo {
  /** The repository's URL, as a mirror's `url`. */
  readonly url: string;
  /** The suite (`distributions`) its Release describes. */
  readonly suite: string;
  /** The packages (name=version) it holds. */
  readonly packages: readonly string[];
  /** Paths requested so far, in order, with who asked. */
  readonly requests: readonly { readonly path: string; readonly from: string }[];
  /** A mirror setting that mirrors it into Pulp under `mirror/<name>`. */
  mirror(name: string): MirrorSettings;
  /**
   * The trixie archive of the tools images (node-setup.sh, TRIXIE_*_PACKAGES) as two mirrors laid
   * out by host name under `<prefix>deb.debian.org/debian{,-security}`, as the Dockerfiles join
   * os_mirror_url and os_mirror_dist_path; verbatim, so apt checks the archive's own signature.
   */
  trixieMirrors(prefix: string): MirrorSettings[];
  close(): Promise<void>;
}

/** Where scripts/node-setup.sh makes the repository. */
export function debianRepoDir(): string {
  return process.env.STX_DEBIAN_REPO_DIR ?? path.join(os.homedir(), ".cache", "stx-build-cluster", "debian-repo");
}

/** The `debian:trixie` stand-in node-setup.sh makes (a docker-archive), trusting the trixie archive's key. */
export function trixieBaseArchive(): string {
  return path.join(process.env.STX_IMAGES_DIR ?? path.join(os.homedir(), ".cache", "stx-build-cluster", "images"), "debian-trixie.tar");
}

/** TEST_DEBIAN_PACKAGES and TEST_DEBIAN_SUITE, read from the one place they are pinned. */
export function debianRepoPins(): { packages: string[]; suite: string } {
  return { packages: toolchainVersion("TEST_DEBIAN_PACKAGES").split(/\s+/).filter(Boolean), suite: toolchainVersion("TEST_DEBIAN_SUITE") };
}

/** The trixie archive's stamp (node-setup.sh writes its pins there): fails naming the set-up step when stale. */
function checkTrixie(dir: string): void {
  const made = fs.existsSync(path.join(dir, "trixie", ".packages")) ? fs.readFileSync(path.join(dir, "trixie", ".packages"), "utf8") : "";
  const pins = ["TRIXIE_APTLY_PACKAGES", "TRIXIE_PKGBUILDER_PACKAGES", "TEST_PYPI_PACKAGES"].map((key) => toolchainVersion(key));
  if (!pins.every((pin) => made.trim().split(" | ").includes(pin))) throw new Error(`the trixie test archive in ${dir}/trixie is missing or stale; run: bash scripts/node-setup.sh tools-images`);
}

/** The wheels and PEP 503 index node-setup.sh made of TEST_PYPI_PACKAGES (pip's index: <url>simple/). */
export function pypiDir(dir = debianRepoDir()): string {
  checkTrixie(dir);
  return path.join(dir, "trixie", "pypi");
}

export interface ServedDirectory {
  readonly url: string;
  /** Paths requested so far, in order, with who asked. */
  readonly requests: readonly { readonly path: string; readonly from: string }[];
  close(): Promise<void>;
}

/**
 * Serves the files under `dir` over HTTP on `host`:`port` (a free one by default), a directory's
 * index.html for the directory; records every request.
 */
export async function serveDirectory(dir: string, host: string, port = 0): Promise<ServedDirectory> {
  const requests: { path: string; from: string }[] = [];
  const root = fs.realpathSync(dir);
  const server = http.createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    requests.push({ path: urlPath, from: req.socket.remoteAddress ?? "" });
    let file = path.resolve(root, `.${urlPath}`);
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, "index.html");
    // Only files inside the directory, never what a ".." or a symlink points at outside it (the
    // real path is checked, found by the unit test: path.resolve alone follows no symlink).
    if (fs.existsSync(file)) file = fs.realpathSync(file);
    if (!file.startsWith(`${root}${path.sep}`) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    const type = file.endsWith(".html") ? "text/html" : "application/octet-stream";
    res.writeHead(200, { "content-length": fs.statSync(file).size, "content-type": type });
    if (req.method === "HEAD") res.end();
    else fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, host, resolve));
  return {
    url: `http://${host}:${(server.address() as AddressInfo).port}/`, requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Serves the repository on `host` (a free port); fails naming the set-up step when it is missing or stale. */
export async function serveDebianRepo(host: string, dir = debianRepoDir()): Promise<DebianRepo> {
  const { packages, suite } = debianRepoPins();
  const made = fs.existsSync(path.join(dir, ".packages")) ? fs.readFileSync(path.join(dir, ".packages"), "utf8").trim() : "";
  if (made !== packages.join(" ")) throw new Error(`the Debian test repository in ${dir} is missing or stale; run: bash scripts/node-setup.sh`);
  const served = await serveDirectory(dir, host);
  const url = served.url;
  return {
    url, suite, packages, requests: served.requests, close: served.close,
    mirror: (name) => ({
      name, type: "deb", url, distributions: suite, components: "main", architectures: "amd64", policy: "on_demand",
    }),
    trixieMirrors: (prefix) => {
      checkTrixie(dir);
      return [
        { name: "loopback-trixie", type: "deb", url: `${url}trixie/debian/`, distributions: "trixie trixie-updates trixie-backports", components: "main", architectures: "amd64", policy: "on_demand", verbatim: true, basePath: `${prefix}deb.debian.org/debian` },
        { name: "loopback-trixie-security", type: "deb", url: `${url}trixie/debian-security/`, distributions: "trixie-security", components: "main", architectures: "amd64", policy: "on_demand", verbatim: true, basePath: `${prefix}deb.debian.org/debian-security` },
      ];
    },
  };
}
