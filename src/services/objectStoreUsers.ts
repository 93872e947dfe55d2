/**
 * Object store users of the tenant namespaces (MinIO mode): one user per namespace. A tenant reads
 * only its own prefix and the published builds, writes only under its own prefix, and deletes
 * there only when its release class is not kept forever: no tenant key can read another tenant's
 * private builds or delete a release build. Pure: the component turns the plan into Secrets and
 * the bucket Job's `mc admin` commands.
 */
import { createHash } from "crypto";
import { privateReleaseId, PUBLISHED_ROOT, releaseClass, releaseRoot } from "../artifacts";
import { RetentionSettings } from "../settings/retention";
import { TenantPlan } from "../tenancy/tenants";

export interface TenantStoreUser {
  /** The tenant namespace that receives the keys. */
  readonly namespace: string;
  /** MinIO access key (and policy name): `stx-` and 16 hex digits of the namespace, 20 characters. */
  readonly accessKey: string;
  /** Key prefix in the artifacts bucket the tenant may write under, ending in "/". */
  readonly writePrefix: string;
  /** True when the prefix holds builds kept forever (retention.days of its class): no deletes. */
  readonly keepForever: boolean;
}

/**
 * Every tenant's store user, from the tenant plan: a user tenant writes `private/<name>/`, a
 * branch tenant its release root (`published/<release-id>/`).
 */
export function tenantStoreUsers(tenants: readonly TenantPlan[], days: RetentionSettings["days"]): TenantStoreUser[] {
  return tenants.map((tenant) => {
    const accessKey = `stx-${createHash("sha256").update(tenant.namespace).digest("hex").slice(0, 16)}`;
    if (tenant.kind === "user") {
      // `private/<user>/`, checked against the layout's grammar for private release-ids.
      return { namespace: tenant.namespace, accessKey, writePrefix: privateReleaseId(tenant.owner, "x").replace(/x$/, ""), keepForever: false };
    }
    if (!tenant.releaseId) throw new Error(`build tenant ${tenant.namespace} has no release-id`);
    const keepForever = days[releaseClass(tenant.releaseId)] === "forever";
    return { namespace: tenant.namespace, accessKey, writePrefix: releaseRoot(tenant.releaseId), keepForever };
  });
}

/** An IAM-style policy document, as MinIO's `mc admin policy create` takes it. */
export interface PolicyDocument {
  readonly Version: "2012-10-17";
  readonly Statement: readonly {
    readonly Effect: "Allow";
    readonly Action: readonly string[];
    readonly Resource: readonly string[];
    readonly Condition?: Record<string, Record<string, readonly string[]>>;
  }[];
}

const WRITE_OBJECT = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"];

/**
 * Listing and reading of the tenant's own prefix and of the published builds (builds read other
 * builds' CONTEXT, latest_build and shared APT repositories there), writing only below its own
 * prefix, deleting there too unless `keepForever`. Nothing else, in this bucket or any other:
 * another tenant's private prefix is neither listed nor read.
 */
export function tenantPolicy(bucket: string, user: Pick<TenantStoreUser, "writePrefix" | "keepForever">): PolicyDocument {
  const { writePrefix } = user;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new Error(`"${bucket}" is not an S3 bucket name`);
  if (!writePrefix.endsWith("/") || writePrefix.startsWith("/") || /[*?]|(^|\/)\.\.?\//.test(writePrefix)) {
    throw new Error(`"${writePrefix}" is not a key prefix ending in "/" (no wildcards, no . or .. segments)`);
  }
  const readable = [...new Set([PUBLISHED_ROOT, writePrefix])];
  const objects = (prefixes: readonly string[]) => prefixes.map((p) => `arn:aws:s3:::${bucket}/${p}*`);
  return {
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Action: ["s3:GetBucketLocation"], Resource: [`arn:aws:s3:::${bucket}`] },
      {
        Effect: "Allow", Action: ["s3:ListBucket"], Resource: [`arn:aws:s3:::${bucket}`],
        Condition: { StringLike: { "s3:prefix": readable.map((p) => `${p}*`) } },
      },
      { Effect: "Allow", Action: ["s3:GetObject"], Resource: objects(readable) },
      { Effect: "Allow", Action: user.keepForever ? WRITE_OBJECT : [...WRITE_OBJECT, "s3:DeleteObject"], Resource: objects([writePrefix]) },
    ],
  };
}

/** A short hash of the user set (names, prefixes, bucket): names the Job so a change runs it again. */
export function storeUsersHash(bucket: string, users: readonly TenantStoreUser[]): string {
  const text = JSON.stringify([bucket, users.map((u) => [u.namespace, u.accessKey, u.writePrefix, u.keepForever])]);
  return createHash("sha256").update(text).digest("hex").slice(0, 10);
}

/** Access keys (and policy names) this program manages: nothing else in the store is ever touched. */
export const MANAGED_USER = /^stx-[0-9a-f]{16}$/;

/** Managed users or policies present in the store but no longer declared: the ones to remove. */
export function staleStoreUsers(present: readonly string[], desired: readonly string[]): string[] {
  const keep = new Set(desired);
  return [...new Set(present)].filter((name) => MANAGED_USER.test(name) && !keep.has(name)).sort();
}

/**
 * The `mc` commands that create or update every tenant user from the mounted users Secret
 * (`<dir>/users`: one access key a line; `<dir>/<key>.secret`; `<dir>/<key>.json`, its policy).
 * Secret keys are read from files, never written into the Job spec.
 */
export function storeUsersScript(dir: string): string {
  return [
    `while read -r user; do`,
    `  [ -n "$user" ] || continue`,
    `  mc admin policy create store "$user" "${dir}/$user.json"`,
    `  mc admin user add store "$user" "$(cat "${dir}/$user.secret")"`,
    // attach fails when the policy is attached already; then the user must show it.
    `  mc admin policy attach store "$user" --user "$user" >/dev/null 2>&1 || mc admin user info store "$user" --json | grep -Eq '"policyName": ?"([^"]*,)?'"$user"'(,|")'`,
    `done < "${dir}/users"`,
    // Reconcile: the mounted list is the whole desired set, so a managed user (MANAGED_USER) or
    // policy not in it belongs to a removed tenant and goes; users and policies of others stay.
    `mc admin user list store --json | sed -n 's/.*"accessKey": *"\\([^"]*\\)".*/\\1/p' > /tmp/present-users`,
    `mc admin policy list store --json | sed -n 's/.*"policy": *"\\([^"]*\\)".*/\\1/p' > /tmp/present-policies`,
    `for name in $(cat /tmp/present-users); do`,
    `  echo "$name" | grep -Eq '${MANAGED_USER.source}' && ! grep -qx "$name" "${dir}/users" && mc admin user remove store "$name"`,
    `done`,
    `for name in $(cat /tmp/present-policies); do`,
    `  echo "$name" | grep -Eq '${MANAGED_USER.source}' && ! grep -qx "$name" "${dir}/users" && mc admin policy remove store "$name"`,
    `done`,
    `true`,
  ].join("\n");
}
