/**
 * Brings one backed-up build back into the artifact store: every object under its prefix, from
 * the backup bucket or directory, to the same key, plus its latest_build alias when the store has
 * lost that too. Restored objects are the backed-up bytes, so retention sees the build as it was
 * (same release-id, date and result marker). Nothing already in the store is overwritten: an
 * object present with another size is a failure, for a person to look at.
 */
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import * as fs from "fs";
import * as path from "path";
import { Readable } from "stream";
import { BuildRef, buildPrefix, checkBuildRef, latestBuildKey, parseLatestBuild, PUBLISHED_ROOT } from "../artifacts";
import { BackupTarget } from "./backup";
import { listObjects } from "./store";

export interface RestoreOptions {
  /** The artifact store and bucket to restore into. */
  readonly s3: S3Client;
  readonly bucket: string;
  /** Where the backup job wrote its copies. */
  readonly source: BackupTarget;
  readonly build: BuildRef;
  readonly log?: (line: string) => void;
}

export interface RestoreSummary {
  readonly restored: number;
  readonly skipped: number;
  readonly bytes: number;
  readonly alias: boolean;
  readonly failures: { readonly key: string; readonly error: string }[];
}

/**
 * "<release-id>/<distro>/<build-date>", or the build's prefix as the backup log and `buildPrefix`
 * print it (`published/<release-id>/...` for published builds).
 */
export function parseBuildArgument(text: string): BuildRef {
  const m = /^(.+)\/([^/]+)\/([^/]+?)\/?$/.exec(text.startsWith(PUBLISHED_ROOT) ? text.slice(PUBLISHED_ROOT.length) : text);
  if (!m) throw new Error(`"${text}" is not <release-id>/<distro>/<build-date>, e.g. release/stx.10.0/debian/20250601T010000Z`);
  return checkBuildRef({ releaseId: m[1], distro: m[2], buildDate: m[3] });
}

export async function runRestore(options: RestoreOptions): Promise<RestoreSummary> {
  const log = options.log ?? ((line: string) => console.log(line));
  const prefix = buildPrefix(options.build);
  const objects = await sourceObjects(options.source, prefix);
  if (objects.length === 0) throw new Error(`the backup holds nothing under ${prefix}`);
  log(`restore ${prefix} (${objects.length} objects)`);
  let restored = 0;
  let skipped = 0;
  let bytes = 0;
  const failures: { key: string; error: string }[] = [];
  for (const object of objects) {
    try {
      const present = await storeSize(options.s3, options.bucket, object.key);
      if (present === object.size) { skipped += 1; continue; }
      if (present !== undefined) throw new Error(`already in the store with ${present} bytes, backup has ${object.size}; not overwritten`);
      await put(options, object.key, object.size);
      restored += 1;
      bytes += object.size;
    } catch (error) {
      failures.push({ key: object.key, error: (error as Error).message });
      log(`error  ${object.key}: ${(error as Error).message}`);
    }
  }
  // The alias: only when the store lost it and the backup's points at this build.
  const aliasKey = latestBuildKey(options.build.releaseId, options.build.distro);
  let alias = false;
  if ((await storeSize(options.s3, options.bucket, aliasKey)) === undefined) {
    const backed = await readSource(options.source, aliasKey).catch(() => undefined);
    if (backed && parseLatestBuild(backed.toString("utf8")) === options.build.buildDate) {
      await options.s3.send(new PutObjectCommand({ Bucket: options.bucket, Key: aliasKey, Body: backed, ContentLength: backed.length }));
      alias = true;
    }
  }
  const summary = { restored, skipped, bytes, alias, failures };
  log(`summary ${JSON.stringify(summary)}`);
  return summary;
}

async function sourceObjects(source: BackupTarget, prefix: string): Promise<{ key: string; size: number }[]> {
  if (source.kind === "s3") {
    const found: { key: string; size: number }[] = [];
    for await (const o of listObjects(source.s3, source.bucket, prefix)) found.push(o);
    return found;
  }
  const root = path.join(source.path, prefix);
  if (!fs.existsSync(root)) return [];
  const walk = (dir: string): { key: string; size: number }[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) return walk(file);
      if (entry.name.endsWith(".partial")) return []; // an interrupted copy, not a backup
      return [{ key: path.relative(source.path, file).split(path.sep).join("/"), size: fs.statSync(file).size }];
    });
  return walk(root);
}

async function readSource(source: BackupTarget, key: string): Promise<Buffer> {
  if (source.kind === "directory") return fs.readFileSync(path.join(source.path, key));
  const object = await source.s3.send(new GetObjectCommand({ Bucket: source.bucket, Key: key }));
  return Buffer.from(await object.Body!.transformToByteArray());
}

async function storeSize(s3: S3Client, bucket: string, key: string): Promise<number | undefined> {
  try {
    return (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ContentLength;
  } catch (error) {
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
    throw error;
  }
}

/** Streams one object back; S3 wants a length, which the listing gave. */
async function put(options: RestoreOptions, key: string, size: number): Promise<void> {
  const { source } = options;
  const body: Readable | string = size === 0
    ? ""
    : source.kind === "directory"
      ? fs.createReadStream(path.join(source.path, key))
      : ((await source.s3.send(new GetObjectCommand({ Bucket: source.bucket, Key: key }))).Body as Readable);
  await options.s3.send(new PutObjectCommand({ Bucket: options.bucket, Key: key, Body: body, ContentLength: size }));
}
