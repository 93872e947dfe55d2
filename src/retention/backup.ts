/**
 * Backup of important builds to a second location: another S3 endpoint, or a directory (a volume
 * pinned to another node). Only successful builds of the chosen classes (release by default) are
 * copied, with their latest_build aliases. Objects already there with the same size are skipped,
 * and nothing is ever deleted at the target: a backup that mirrors deletions protects nothing.
 */
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import * as fs from "fs";
import * as path from "path";
import { Readable } from "stream";
import { pipeline } from "stream/promises";
import { buildPrefix, latestBuildKey, ReleaseClass, releaseClass } from "../artifacts";
import { inventory } from "./store";

/** S3 takes at most 5 GiB in one PUT. */
const MAX_SINGLE_PUT = 5 * 1024 ** 3;

export type BackupTarget =
  | { readonly kind: "s3"; readonly s3: S3Client; readonly bucket: string }
  | { readonly kind: "directory"; readonly path: string };

export interface BackupOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly target: BackupTarget;
  readonly classes: readonly ReleaseClass[];
  readonly log?: (line: string) => void;
}

export interface BackupSummary {
  readonly builds: number;
  readonly copied: number;
  readonly skipped: number;
  readonly bytesCopied: number;
  readonly failures: { readonly key: string; readonly error: string }[];
}

export async function runBackup(options: BackupOptions): Promise<BackupSummary> {
  const log = options.log ?? ((line: string) => console.log(line));
  const found = await inventory(options.s3, options.bucket);
  const builds = found.builds.filter((b) => b.result === "success" && options.classes.includes(releaseClass(b.releaseId)));
  let copied = 0;
  let skipped = 0;
  let bytesCopied = 0;
  const failures: { key: string; error: string }[] = [];
  const copyOne = async (key: string, size: number | undefined) => {
    try {
      if (size !== undefined && (await targetSize(options.target, key)) === size) {
        skipped += 1;
        return;
      }
      bytesCopied += await copy(options, key);
      copied += 1;
    } catch (error) {
      failures.push({ key, error: (error as Error).message });
      log(`error  ${key}: ${(error as Error).message}`);
    }
  };
  for (const build of builds) {
    log(`backup ${buildPrefix(build)} (${build.objects.length} objects)`);
    for (const object of build.objects) await copyOne(object.key, object.size);
  }
  // Aliases change as builds land, so they are always copied again.
  for (const series of found.aliases.keys()) {
    const [releaseId, distro] = [series.slice(0, series.lastIndexOf("/")), series.slice(series.lastIndexOf("/") + 1)];
    if (options.classes.includes(releaseClass(releaseId))) await copyOne(latestBuildKey(releaseId, distro), undefined);
  }
  const summary = { builds: builds.length, copied, skipped, bytesCopied, failures };
  log(`summary ${JSON.stringify(summary)}`);
  return summary;
}

async function targetSize(target: BackupTarget, key: string): Promise<number | undefined> {
  if (target.kind === "directory") {
    try {
      return fs.statSync(path.join(target.path, key)).size;
    } catch {
      return undefined;
    }
  }
  try {
    const head = await target.s3.send(new HeadObjectCommand({ Bucket: target.bucket, Key: key }));
    return head.ContentLength;
  } catch (error) {
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
    throw error;
  }
}

/** Streams one object to the target; returns its size. */
async function copy(options: BackupOptions, key: string): Promise<number> {
  const object = await options.s3.send(new GetObjectCommand({ Bucket: options.bucket, Key: key }));
  const body = object.Body as Readable;
  const size = object.ContentLength ?? 0;
  const { target } = options;
  if (target.kind === "s3") {
    if (size > MAX_SINGLE_PUT) {
      body.destroy();
      throw new Error(`${size} bytes is over S3's 5 GiB limit for one PUT; multipart backup copies are not implemented`);
    }
    // An empty object (a result marker) goes as an empty string: the SDK sends no length for a 0-byte stream.
    if (size === 0) body.destroy();
    const payload = size === 0 ? "" : body;
    await target.s3.send(new PutObjectCommand({ Bucket: target.bucket, Key: key, Body: payload, ContentLength: size }));
    return size;
  }
  // Keys come from parseKey, which refuses "." and ".." segments, so they stay under the directory.
  const file = path.join(target.path, key);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const partial = `${file}.partial`;
  await pipeline(body, fs.createWriteStream(partial));
  fs.renameSync(partial, file);
  return size;
}
