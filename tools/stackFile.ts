/**
 * Reading a committed stack file (`Pulumi.<stack>.yaml`) as the program's settings would see it,
 * for the tools that start clusters and the tests that run the program.
 */
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { CONFIG_NAMESPACE } from "../src/settings/schema";

const REPO_ROOT = path.resolve(__dirname, "..", "..");

/** The stack file's settings, keys without the project namespace. */
export function stackFileConfig(stack: string): Record<string, unknown> {
  const file = path.join(REPO_ROOT, `Pulumi.${stack}.yaml`);
  const doc = yaml.load(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> };
  const prefix = `${CONFIG_NAMESPACE}:`;
  return Object.fromEntries(
    Object.entries(doc.config ?? {})
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, value]) => [key.slice(prefix.length), value]),
  );
}
