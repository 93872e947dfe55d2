/**
 * What a throwaway control plane on loopback needs before a stack deploys to it, shared by
 * `npm start` (tools/start.ts), the CLI cluster test and the benchmark. The control plane itself is
 * test/cluster/controlPlane.ts (ControlPlane), used as is.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ControlPlane } from "../test/cluster/controlPlane";
import { REPO_ROOT } from "./pulumiCli";

/** The binaries a loopback deployment through the CLI needs (scripts/toolchain.sh builds them). */
export const CLUSTER_TOOLS = [
  "pulumi", "pulumi-language-nodejs", "pulumi-resource-kubernetes", "etcd", "kube-apiserver",
  "kube-controller-manager", "kube-scheduler", "kubectl", "kwok",
] as const;

/** Where scripts/toolchain.sh puts the binaries. */
export function toolchainBinDir(): string {
  return process.env.STX_TOOLCHAIN_BIN
    ?? execFileSync("bash", [path.join(REPO_ROOT, "scripts", "toolchain.sh"), "--bin-dir"], { encoding: "utf8" }).trim();
}

/** Throws naming the command to run when a binary is missing; never builds anything itself. */
export function requireTools(binDir: string, tools: readonly string[] = CLUSTER_TOOLS): void {
  const missing = tools.filter((t) => !fs.existsSync(path.join(binDir, t)));
  if (missing.length) throw new Error(`missing in ${binDir}: ${missing.join(", ")}; run: bash scripts/toolchain.sh ${missing.join(" ")}`);
}

/**
 * Config a loopback cluster needs on top of a stack file (same as the cluster tests' overrides):
 * there is no internet for Tekton's release manifests or Jenkins' chart, and no StarlingX host.
 */
export function loopbackOverrides(stack: string): Record<string, string> {
  const tekton = { "build.tekton.manifestDir": path.join(REPO_ROOT, "test", "fixtures", "tekton") };
  if (stack === "cengn") return { ...tekton, "build.jenkins.enabled": "false" };
  if (stack === "starlingx") return { ...tekton, "build.imageBuilds": "none" };
  return tekton;
}

/** Minimal Tekton CRDs (PipelineRun, Pipeline, Task), so the stack's Tasks and quotas are admitted. */
export function tektonStandInCrds(): object[] {
  return ["PipelineRun", "Pipeline", "Task"].map((kind) => {
    const singular = kind.toLowerCase();
    return {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: `${singular}s.tekton.dev` },
      spec: {
        group: "tekton.dev",
        scope: "Namespaced",
        names: { plural: `${singular}s`, singular, kind, listKind: `${kind}List` },
        versions: [{
          name: "v1", served: true, storage: true,
          schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
        }],
      },
    };
  });
}

/** Starts a control plane whose admin kubeconfig has the given contexts, with Tekton's CRDs loaded. */
export async function startLoopbackCluster(binDir: string, contexts: readonly string[]): Promise<ControlPlane> {
  const cluster = new ControlPlane({ binDir, contexts, preload: tektonStandInCrds() });
  try {
    await cluster.start();
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}

/** A flat `key: value` from a stack file (enough for kubeContext). */
export function stackFileValue(stack: string, key: string): string | undefined {
  const text = fs.readFileSync(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`), "utf8");
  return new RegExp(`^\\s*stx-build-cluster:${key}:\\s*(\\S+)\\s*$`, "m").exec(text)?.[1];
}
