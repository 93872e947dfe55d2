/**
 * Pulp's settings.py, rendered from plain values. Pure, so the file Pulp reads can be tested
 * without Pulumi; the component feeds it the generated secrets and stores the result in a Secret.
 */

/** APT's Release files still list md5 and sha1; Pulp refuses to sync them unless they are allowed. */
export const ALLOWED_CONTENT_CHECKSUMS = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"] as const;

/** Where every Pulp pod finds the database-fields key (mounted from the shared Secret). */
export const DB_ENCRYPTION_KEY_PATH = "/etc/pulp/keys/database_fields.symmetric.key";

/** The keys are not in here: django-storages reads AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY from the environment. */
export interface PulpS3Storage {
  readonly endpoint: string;
  readonly region: string;
  readonly bucket: string;
}

export interface PulpSettingsInput {
  readonly secretKey: string;
  readonly contentOrigin: string;
  readonly database: { readonly host: string; readonly port: number; readonly name: string; readonly user: string; readonly password: string };
  readonly redis: { readonly host: string; readonly port: number };
  /** Undefined: files under MEDIA_ROOT on the shared volume. */
  readonly s3?: PulpS3Storage;
  readonly redirectToObjectStorage: boolean;
}

/** The settings.py every Pulp pod mounts at /etc/pulp/settings.py. */
export function renderPulpSettings(input: PulpSettingsInput): string {
  if (!/^https?:\/\/[^/]+$/.test(input.contentOrigin)) {
    throw new Error(`CONTENT_ORIGIN "${input.contentOrigin}" must be a scheme and host without a path, e.g. https://pulp.example.org`);
  }
  const settings: Record<string, unknown> = {
    SECRET_KEY: input.secretKey,
    CONTENT_ORIGIN: input.contentOrigin,
    ALLOWED_CONTENT_CHECKSUMS: [...ALLOWED_CONTENT_CHECKSUMS],
    DB_ENCRYPTION_KEY: DB_ENCRYPTION_KEY_PATH,
    DATABASES: {
      default: {
        ENGINE: "django.db.backends.postgresql",
        HOST: input.database.host,
        PORT: input.database.port,
        NAME: input.database.name,
        USER: input.database.user,
        PASSWORD: input.database.password,
      },
    },
    CACHE_ENABLED: true,
    REDIS_HOST: input.redis.host,
    REDIS_PORT: input.redis.port,
    // Clients authenticate with basic auth; no token server is deployed.
    TOKEN_AUTH_DISABLED: true,
    ANALYTICS: false,
    ...storageSettings(input),
  };
  const lines = Object.entries(settings).map(([key, value]) => `${key} = ${pythonLiteral(value)}`);
  return `# Rendered by stx-build-cluster (src/services/pulpConfig.ts); edits are overwritten.\n${lines.join("\n")}\n`;
}

function storageSettings(input: PulpSettingsInput): Record<string, unknown> {
  const staticFiles = { BACKEND: "django.contrib.staticfiles.storage.StaticFilesStorage" };
  if (!input.s3) {
    // Pulp's default file-system storage under MEDIA_ROOT, on the shared volume.
    return { MEDIA_ROOT: "/var/lib/pulp/media" };
  }
  const s3 = input.s3;
  return {
    MEDIA_ROOT: "",
    STORAGES: {
      default: {
        BACKEND: "storages.backends.s3.S3Storage",
        OPTIONS: {
          bucket_name: s3.bucket,
          endpoint_url: s3.endpoint,
          region_name: s3.region,
          signature_version: "s3v4",
          addressing_style: "path",
          default_acl: "private",
          file_overwrite: false,
        },
      },
      staticfiles: staticFiles,
    },
    // Off unless clients can reach the store: otherwise apt would be redirected to an unreachable URL.
    REDIRECT_TO_OBJECT_STORAGE: input.redirectToObjectStorage,
  };
}

/** A Python literal for JSON-like data; JSON string escapes are valid Python escapes. */
export function pythonLiteral(value: unknown): string {
  if (value === null || value === undefined) return "None";
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`cannot write ${value} into settings.py`);
    return String(value);
  }
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(pythonLiteral).join(", ")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) => `${JSON.stringify(k)}: ${pythonLiteral(v)}`);
    return `{${entries.join(", ")}}`;
  }
  throw new Error(`cannot write a ${typeof value} into settings.py`);
}
