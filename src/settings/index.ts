/**
 * The one place that reads `pulumi.Config`. Every value under the project's namespace is read,
 * so a misspelt key is reported instead of silently ignored, then handed to the pure validator.
 */
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE, parseSettings, Settings } from "./schema";

export * from "./schema";

/**
 * Settings that hold credentials. They stay out of the plain settings object and are read only
 * through `secretSetting`, so they remain secret Outputs all the way into Kubernetes Secrets.
 */
export const SECRET_SETTINGS: readonly string[] = [
  // Keys of an external S3 endpoint (services.objectStore.mode "external").
  "objectStoreAccessKey",
  "objectStoreSecretKey",
  // SSH to the StarlingX controller for `system host-label-assign` (one of the two is enough).
  "starlingxSshPassword",
  "starlingxSshPrivateKey",
];

/** A credential from stack config (`pulumi config set --secret`), as a secret Output. */
export function secretSetting(key: string): pulumi.Output<string> | undefined {
  if (!SECRET_SETTINGS.includes(key)) throw new Error(`"${key}" is not declared in SECRET_SETTINGS`);
  return new pulumi.Config(CONFIG_NAMESPACE).getSecret(key);
}

/** The stack's settings, validated; throws SettingsError before any resource is registered. */
export function loadSettings(): Settings {
  return parseSettings(rawStackConfig());
}

/** Every `stx-build-cluster:*` value of the stack, with structured values decoded. */
export function rawStackConfig(): Record<string, unknown> {
  const prefix = `${CONFIG_NAMESPACE}:`;
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (key.startsWith(prefix) && !SECRET_SETTINGS.includes(key.slice(prefix.length))) {
      raw[key.slice(prefix.length)] = decodeConfigValue(value);
    }
  }
  return raw;
}

/** Pulumi hands objects, lists, numbers and booleans over as JSON text; plain strings as they are. */
export function decodeConfigValue(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}
