/**
 * Object store users of the tenant namespaces (MinIO mode): one user per namespace, allowed to
 * read the whole artifacts bucket and to write and delete only where that namespace publishes, so
 * no tenant holds keys that could delete a release build. Pure: the component turns the plan into
 * Secrets and the bucket Job's `mc admin` commands.
 */
import { createHash } from "crypto";
import { privateReleaseId, releaseIdForBranch } from "../artifacts";
import { buildNamespace, userNamespace } from "../tenancy/naming";
import { Settings } from "../settings/schema";

export interface TenantStoreUser {
  /** The tenant namespace that receives the keys. */
  readonly namespace: string;
  /** MinIO access key (and policy name): `stx-` and 16 hex digits of the namespace, 20 characters. */
  readonly accessKey: string;
  /** Key prefix in the artifacts bucket the tenant may write and delete under, ending in "/". */
  readonly writePrefix: string;
}

/** Every tenant's store user: `user-<name>` writes `private/<name>/`, a branch namespace its release-id. */
export function tenantStoreUsers(settings: Pick<Settings, "users" | "projects">): TenantStoreUser[] {
  const users = settings.users.map((u) => storeUser(userNamespace(u.name), privatePrefix(u.name)));
  const branches = settings.projects.flatMap((p) =>
    p.branches.map((b) => storeUser(buildNamespace(p.name, b.name), `${b.releaseId ?? releaseIdForBranch(b.name)}/`)),
  );
  return [...users, ...branches];
}

/** `private/<user>/`, checked against the layout's grammar for private release-ids. */
function privatePrefix(user: string): string {
  return privateReleaseId(user, "x").replace(/x$/, "");
}

function storeUser(namespace: string, writePrefix: string): TenantStoreUser {
  const accessKey = `stx-${createHash("sha256").update(namespace).digest("hex").slice(0, 16)}`;
  return { namespace, accessKey, writePrefix };
}

/** An IAM-style policy document, as MinIO's `mc admin policy create` takes it. */
export interface PolicyDocument {
  readonly Version: "2012-10-17";
  readonly Statement: readonly {
    readonly Effect: "Allow";
    readonly Action: readonly string[];
    readonly Resource: readonly string[];
  }[];
}

const READ_OBJECT = ["s3:GetObject"];
const WRITE_OBJECT = ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"];

/**
 * Read of the whole artifacts bucket (listing included: builds read other builds' CONTEXT and
 * latest_build), write and delete only below `writePrefix`. Nothing else is allowed, in this
 * bucket or any other.
 */
export function tenantPolicy(bucket: string, writePrefix: string): PolicyDocument {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new Error(`"${bucket}" is not an S3 bucket name`);
  if (!writePrefix.endsWith("/") || writePrefix.startsWith("/") || /[*?]|(^|\/)\.\.?\//.test(writePrefix)) {
    throw new Error(`"${writePrefix}" is not a key prefix ending in "/" (no wildcards, no . or .. segments)`);
  }
  return {
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Action: ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"], Resource: [`arn:aws:s3:::${bucket}`] },
      { Effect: "Allow", Action: READ_OBJECT, Resource: [`arn:aws:s3:::${bucket}/*`] },
      { Effect: "Allow", Action: WRITE_OBJECT, Resource: [`arn:aws:s3:::${bucket}/${writePrefix}*`] },
    ],
  };
}

/** A short hash of the user set (names, prefixes, bucket): names the Job so a change runs it again. */
export function storeUsersHash(bucket: string, users: readonly TenantStoreUser[]): string {
  const text = JSON.stringify([bucket, users.map((u) => [u.namespace, u.accessKey, u.writePrefix])]);
  return createHash("sha256").update(text).digest("hex").slice(0, 10);
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
  ].join("\n");
}
