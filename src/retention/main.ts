/**
 * Entry point of the retention jobs that run inside the cluster (bundled into one file, see
 * bundle.ts). The first argument picks the job; everything else comes from the environment:
 *
 *   artifacts    delete expired builds (S3_*, RETENTION_POLICY, DRY_RUN, PULP_*, in-cluster API)
 *   backup       copy builds of the backed-up classes to a second location (S3_*, BACKUP_*)
 *   restore <release-id>/<distro>/<build-date>
 *                copy one build back from that location into the store (S3_*, BACKUP_*)
 *   prune-runs   keep the newest KEEP_PIPELINERUNS finished PipelineRuns per namespace (DRY_RUN)
 *   registry-readonly on|off
 *                switch the registry Deployment (REGISTRY_NAMESPACE, REGISTRY_DEPLOYMENT) in or
 *                out of read-only mode for garbage collection, and wait until it has rolled out
 *
 * Exit status: 0 when everything asked for was done, 1 on any failure, 2 on bad configuration.
 */
import * as fs from "fs";
import { BackupTarget, runBackup } from "./backup";
import { parseBuildArgument, runRestore } from "./restore";
import { inClusterKube, KubeClient, KubeOptions, runsToPrune } from "./kube";
import { waitForEndpoints } from "./network";
import { checkPolicy, PolicyError, RetentionPolicy } from "./policy";
import { PulpClient } from "./pulp";
import { setRegistryReadOnly } from "./registry";
import { runRetention } from "./runner";
import { s3Client } from "./store";
import { RELEASE_CLASSES, ReleaseClass } from "../artifacts";

export class ConfigError extends Error {}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new ConfigError(`${name} is not set`);
  return value;
}

function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const value = (env[name] ?? "false").toLowerCase();
  if (!["true", "false", "1", "0", ""].includes(value)) throw new ConfigError(`${name} is "${env[name]}"; use true or false`);
  return value === "true" || value === "1";
}

/** The policy from RETENTION_POLICY (JSON of the `retention` settings' days, failedDays, keepSuccessful). */
export function policyFromEnv(env: NodeJS.ProcessEnv): RetentionPolicy {
  let policy: RetentionPolicy;
  try {
    policy = JSON.parse(required(env, "RETENTION_POLICY"));
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`RETENTION_POLICY is not JSON: ${(error as Error).message}`);
  }
  return checkPolicy(policy);
}

function sourceS3(env: NodeJS.ProcessEnv) {
  return {
    s3: s3Client({
      endpoint: required(env, "S3_ENDPOINT"),
      region: env.S3_REGION,
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    }),
    bucket: required(env, "S3_BUCKET"),
  };
}

function kubeFromEnv(env: NodeJS.ProcessEnv): KubeClient | undefined {
  const options: KubeOptions | undefined = env.KUBE_API_URL
    ? { apiUrl: env.KUBE_API_URL, token: env.KUBE_TOKEN }
    : inClusterKube(env);
  return options ? new KubeClient(options) : undefined;
}

/** PIPELINERUN_NAMESPACES: comma-separated namespaces to look in; every namespace when unset. */
function namespacesFromEnv(env: NodeJS.ProcessEnv): string[] | undefined {
  const list = (env.PIPELINERUN_NAMESPACES ?? "").split(",").map((n) => n.trim()).filter(Boolean);
  return list.length > 0 ? list : undefined;
}

function pulpFromEnv(env: NodeJS.ProcessEnv): PulpClient | undefined {
  if (!env.PULP_URL) return undefined;
  return new PulpClient({
    baseUrl: env.PULP_URL,
    apiRoot: env.PULP_API_ROOT,
    username: env.PULP_USERNAME,
    password: env.PULP_PASSWORD,
  });
}

export function backupTargetFromEnv(env: NodeJS.ProcessEnv): BackupTarget {
  if (env.BACKUP_DIR) return { kind: "directory", path: env.BACKUP_DIR };
  return {
    kind: "s3",
    s3: s3Client({
      endpoint: required(env, "BACKUP_S3_ENDPOINT"),
      region: env.BACKUP_S3_REGION,
      accessKeyId: env.BACKUP_AWS_ACCESS_KEY_ID,
      secretAccessKey: env.BACKUP_AWS_SECRET_ACCESS_KEY,
    }),
    bucket: required(env, "BACKUP_S3_BUCKET"),
  };
}

function classesFromEnv(env: NodeJS.ProcessEnv): ReleaseClass[] {
  const classes = (env.BACKUP_CLASSES ?? "release").split(",").map((c) => c.trim()).filter(Boolean);
  for (const c of classes) {
    if (!RELEASE_CLASSES.includes(c as ReleaseClass)) throw new ConfigError(`BACKUP_CLASSES has "${c}"; use ${RELEASE_CLASSES.join(", ")}`);
  }
  return classes as ReleaseClass[];
}

/** Runs one job; resolves to the exit status. */
export async function main(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const log = (line: string) => console.log(line);
  // The shared services behind NetworkPolicies (network.ts); the API server is not one of them.
  const reach = (...names: string[]) => waitForEndpoints(names.map((n) => env[n]).filter((u): u is string => Boolean(u)), log);
  try {
    switch (args[0] ?? "artifacts") {
      case "artifacts": {
        const policy = policyFromEnv(env);
        // PipelineRuns of expired builds go too, unless DELETE_PIPELINERUNS=false.
        const deleteRuns = env.DELETE_PIPELINERUNS === undefined || flag(env, "DELETE_PIPELINERUNS");
        const kube = deleteRuns ? kubeFromEnv(env) : undefined;
        const source = sourceS3(env);
        await reach("S3_ENDPOINT", "PULP_URL");
        const summary = await runRetention({
          ...source,
          policy,
          dryRun: flag(env, "DRY_RUN"),
          pulp: pulpFromEnv(env),
          kube,
          namespaces: namespacesFromEnv(env),
          log,
        });
        return summary.failures.length > 0 ? 1 : 0;
      }
      case "backup": {
        const [source, target, classes] = [sourceS3(env), backupTargetFromEnv(env), classesFromEnv(env)];
        await reach("S3_ENDPOINT", ...(target.kind === "s3" ? ["BACKUP_S3_ENDPOINT"] : []));
        const summary = await runBackup({ ...source, target, classes, log });
        return summary.failures.length > 0 ? 1 : 0;
      }
      case "restore": {
        if (!args[1]) throw new ConfigError("restore needs the build: restore <release-id>/<distro>/<build-date>");
        let build;
        try {
          build = parseBuildArgument(args[1]);
        } catch (error) {
          throw new ConfigError((error as Error).message);
        }
        const [store, backup] = [sourceS3(env), backupTargetFromEnv(env)];
        await reach("S3_ENDPOINT", ...(backup.kind === "s3" ? ["BACKUP_S3_ENDPOINT"] : []));
        const summary = await runRestore({ ...store, source: backup, build, log });
        return summary.failures.length > 0 ? 1 : 0;
      }
      case "prune-runs": {
        const kube = kubeFromEnv(env);
        if (!kube) throw new ConfigError("no Kubernetes API: not in a cluster and KUBE_API_URL is not set");
        const keep = Number(required(env, "KEEP_PIPELINERUNS"));
        const prune = runsToPrune(await kube.listPipelineRuns(undefined, namespacesFromEnv(env)), keep);
        const dryRun = flag(env, "DRY_RUN");
        for (const run of prune) {
          log(`${dryRun ? "would delete" : "delete"} pipelinerun ${run.namespace}/${run.name} (created ${run.created})`);
          if (!dryRun) await kube.deletePipelineRun(run);
        }
        log(`summary ${JSON.stringify({ keepPerNamespace: keep, deleted: prune.length, dryRun })}`);
        return 0;
      }
      case "registry-readonly": {
        const kube = kubeFromEnv(env);
        if (!kube) throw new ConfigError("no Kubernetes API: not in a cluster and KUBE_API_URL is not set");
        const mode = args[1];
        if (mode !== "on" && mode !== "off") throw new ConfigError('registry-readonly takes "on" or "off"');
        await setRegistryReadOnly(kube, required(env, "REGISTRY_NAMESPACE"), required(env, "REGISTRY_DEPLOYMENT"), mode === "on", {
          timeoutMs: Number(env.ROLLOUT_TIMEOUT_SECONDS ?? "300") * 1000,
          log,
        });
        // Leaving the window reports how the collection that ran inside it went.
        if (mode === "off" && env.GC_STATUS_FILE) {
          const status = fs.existsSync(env.GC_STATUS_FILE) ? fs.readFileSync(env.GC_STATUS_FILE, "utf8").trim() : "missing";
          if (status !== "0") {
            console.error(`error: registry garbage-collect ended with status ${status}`);
            return 1;
          }
          log("registry garbage-collect succeeded");
        }
        return 0;
      }
      default:
        throw new ConfigError(`unknown job "${args[0]}"; use artifacts, backup, restore, prune-runs or registry-readonly`);
    }
  } catch (error) {
    console.error(`${error instanceof ConfigError || error instanceof PolicyError ? "configuration" : "error"}: ${(error as Error).message}`);
    return error instanceof ConfigError || error instanceof PolicyError ? 2 : 1;
  }
}
