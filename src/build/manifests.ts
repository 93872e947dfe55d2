/**
 * Tekton's release manifests, checked before anything is applied: each file's SHA-256 must match
 * its pin (src/versions.ts MANIFESTS, or the site's build.tekton.manifestSha256), whether it comes
 * from the release URL or from a local copy (build.tekton.manifestDir). A URL is downloaded once,
 * verified, and handed to the Kubernetes provider as a local file, so what is applied is what was
 * checked.
 */
import * as pulumi from "@pulumi/pulumi";
import { execFileSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { MANIFEST_NAMES, ManifestName, MANIFESTS } from "../versions";

/** A manifest without a pin, or whose content differs from it: a RunError, printed as its message alone. */
export class ManifestChecksumError extends pulumi.RunError {
  constructor(message: string) {
    super(message);
    this.name = "ManifestChecksumError";
  }
}

export interface ManifestSources {
  /** build.tekton.manifestDir: local copies as `<name>.yaml`. */
  readonly manifestDir?: string;
  /** build.tekton.manifestSha256: the site's pins, which take precedence over src/versions.ts. */
  readonly manifestSha256?: Partial<Record<ManifestName, string>>;
}

export const sha256 = (data: Buffer | string): string => createHash("sha256").update(data).digest("hex");

const settingOf = (name: ManifestName) => `stx-build-cluster:build.tekton.manifestSha256["${name}"]`;

/** The pin of `name`, or a ManifestChecksumError saying how to set one. */
export function expectedSha256(name: ManifestName, sources: ManifestSources): string {
  const pinned = sources.manifestSha256?.[name] ?? MANIFESTS[name].sha256;
  if (pinned) return pinned;
  throw new ManifestChecksumError(
    `${settingOf(name)}: no SHA-256 is pinned for ${name} (src/versions.ts marks it unverified: Tekton publishes none); ` +
      `download ${MANIFESTS[name].url}, check it (its images against the release's Rekor attestation), and set its sha256sum here`,
  );
}

/** Throws unless `data` is the pinned content of `name`. */
export function verifyManifest(name: ManifestName, data: Buffer, from: string, sources: ManifestSources): void {
  const expected = expectedSha256(name, sources);
  const actual = sha256(data);
  if (actual !== expected) {
    throw new ManifestChecksumError(
      `${name} from ${from} has SHA-256 ${actual}, not the pinned ${expected} (${sources.manifestSha256?.[name] ? settingOf(name) : "src/versions.ts"}); ` +
        "refusing to apply it: a changed or truncated release file, or a pin that needs updating after checking the new file",
    );
  }
}

/** Downloads a URL with Node's fetch in a child process, so the program stays synchronous up to here. */
function download(url: string): Buffer {
  const script = "fetch(process.argv[1]).then(async (r) => { if (!r.ok) throw new Error(`${r.status} ${r.statusText}`); process.stdout.write(Buffer.from(await r.arrayBuffer())); })" +
    ".catch((e) => { process.stderr.write(String(e.message)); process.exit(1); })";
  try {
    return execFileSync(process.execPath, ["-e", script, url], { maxBuffer: 64 * 2 ** 20, stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    throw new ManifestChecksumError(`cannot download ${url}: ${String((error as { stderr?: Buffer }).stderr ?? error)}; set build.tekton.manifestDir to local copies`);
  }
}

/**
 * The local file of `name` after its checksum was verified: the copy in manifestDir (read and
 * checked on every call), or the URL downloaded into a cache named by its checksum (downloaded
 * once, re-checked on every call). The program checks every manifest before registering
 * resources (src/index.ts), and the Tekton component again when it applies them.
 */
export function verifiedManifestFile(name: ManifestName, sources: ManifestSources, cacheDir = defaultCacheDir()): string {
  if (sources.manifestDir !== undefined) {
    const file = path.join(sources.manifestDir, `${name}.yaml`);
    if (!fs.existsSync(file)) throw new ManifestChecksumError(`stx-build-cluster:build.tekton.manifestDir: ${file} is missing (it must hold ${MANIFEST_NAMES.map((n) => `${n}.yaml`).join(", ")})`);
    verifyManifest(name, fs.readFileSync(file), file, sources);
    return file;
  }
  const expected = expectedSha256(name, sources);
  const file = path.join(cacheDir, `${name}-${expected}.yaml`);
  const cached = fs.existsSync(file) ? fs.readFileSync(file) : undefined;
  if (!cached || sha256(cached) !== expected) {
    const data = download(MANIFESTS[name].url);
    verifyManifest(name, data, MANIFESTS[name].url, sources);
    fs.mkdirSync(cacheDir, { recursive: true });
    fs.writeFileSync(file, data);
  }
  return file;
}

/** Every manifest verified, or the first problem thrown. */
export function verifyAllManifests(sources: ManifestSources): Record<ManifestName, string> {
  return Object.fromEntries(MANIFEST_NAMES.map((name) => [name, verifiedManifestFile(name, sources)])) as Record<ManifestName, string>;
}

function defaultCacheDir(): string {
  return path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "stx-build-cluster", "tekton-manifests");
}
