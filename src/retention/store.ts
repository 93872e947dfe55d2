/**
 * What the retention jobs need from an S3 bucket: the builds in it (with their result markers,
 * sizes and keys), the latest_build aliases, and deleting a build's objects in batches.
 */
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import { BuildResult, markerResult, parseKey, parseLatestBuild, seriesKey } from "../artifacts";
import { FoundBuild } from "./policy";

/** A build found in the bucket, with every object under its prefix and their total size. */
export interface FoundBuildKeys extends FoundBuild {
  readonly objects: { readonly key: string; readonly size: number }[];
  bytes: number;
}

/** S3 DeleteObjects takes at most 1000 keys per call. */
export const DELETE_BATCH = 1000;

/** Everything the layout recognises in a bucket. */
export interface BucketInventory {
  readonly builds: FoundBuildKeys[];
  /** series (`<release-id>/<distro>`) → build-date its latest_build alias holds. */
  readonly aliases: Map<string, string>;
  /** Objects outside the layout (mirrors, anything else): counted, never touched. */
  readonly foreignObjects: number;
}

/** Lists every object of `bucket` and groups the layout's objects by build. */
export async function inventory(s3: S3Client, bucket: string): Promise<BucketInventory> {
  const builds = new Map<string, FoundBuildKeys & { markers: Set<BuildResult> }>();
  const aliasKeys: { key: string; series: string }[] = [];
  let foreignObjects = 0;
  for await (const object of listObjects(s3, bucket)) {
    const parsed = parseKey(object.key);
    if (!parsed) {
      foreignObjects += 1;
      continue;
    }
    if (parsed.kind === "alias") {
      aliasKeys.push({ key: object.key, series: seriesKey(parsed) });
      continue;
    }
    const id = `${seriesKey(parsed.build)}/${parsed.build.buildDate}`;
    let entry = builds.get(id);
    if (!entry) {
      entry = { ...parsed.build, objects: [], bytes: 0, markers: new Set() };
      builds.set(id, entry);
    }
    entry.objects.push(object);
    entry.bytes += object.size;
    const result = markerResult(parsed);
    if (result) entry.markers.add(result);
  }
  const aliases = new Map<string, string>();
  for (const { key, series } of aliasKeys) {
    const target = parseLatestBuild(await readText(s3, bucket, key));
    if (target) aliases.set(series, target);
  }
  return {
    builds: [...builds.values()].map(({ markers, ...build }) => ({
      ...build,
      // Both markers means a confused build: no reliable result, so it is neither failed nor successful.
      ...(markers.size === 1 ? { result: [...markers][0] } : {}),
    })),
    aliases,
    foreignObjects,
  };
}

/** Every object of a bucket (key and size), page by page. */
export async function* listObjects(s3: S3Client, bucket: string, prefix?: string): AsyncGenerator<{ key: string; size: number }> {
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const item of page.Contents ?? []) {
      if (item.Key !== undefined) yield { key: item.Key, size: item.Size ?? 0 };
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

export async function readText(s3: S3Client, bucket: string, key: string): Promise<string> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return response.Body ? await response.Body.transformToString() : "";
}

/**
 * Deletes `keys` in batches of at most 1000; `last` keys go in a final batch of their own, so a
 * build interrupted half-way still carries its result marker. Throws when any key failed.
 */
export async function deleteKeys(s3: S3Client, bucket: string, keys: readonly string[], last: readonly string[] = []): Promise<number> {
  const lastSet = new Set(last);
  const first = keys.filter((k) => !lastSet.has(k));
  const final = keys.filter((k) => lastSet.has(k));
  let deleted = 0;
  for (const group of [first, final]) {
    for (let i = 0; i < group.length; i += DELETE_BATCH) {
      const batch = group.slice(i, i + DELETE_BATCH);
      const response = await s3.send(
        new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
      );
      const errors = response.Errors ?? [];
      if (errors.length > 0) {
        const sample = errors.slice(0, 3).map((e) => `${e.Key}: ${e.Code} ${e.Message ?? ""}`.trim());
        throw new Error(`could not delete ${errors.length} object(s) of ${bucket}: ${sample.join("; ")}`);
      }
      deleted += batch.length;
    }
  }
  return deleted;
}

/** An S3 client for MinIO or any S3 endpoint (path-style addressing, which MinIO needs). */
export function s3Client(options: { endpoint?: string; region?: string; accessKeyId?: string; secretAccessKey?: string }): S3Client {
  return new S3Client({
    endpoint: options.endpoint,
    region: options.region ?? "us-east-1",
    forcePathStyle: true,
    // Checksums only where S3 requires them: other S3 servers do not all take the SDK's newer
    // default (chunked uploads with trailing checksums), and copies stream with a known length.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    ...(options.accessKeyId && options.secretAccessKey
      ? { credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey } }
      : {}),
  });
}
