import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { standardLabels } from "../../src/labels";
import { BranchJob, branchRunParams, labelValue, pipelineRunManifest, RUN_LABELS, RunOptions } from "../../src/build/runs";
import { starterScript } from "../../src/build/starter";
import { IMAGES } from "../../src/versions";
import { inheritedDependencies } from "../dependencies";
import { scheduledJobSpec } from "../services/serviceKit";

export interface BuildTriggersArgs {
  /** Scheduled branches only; each gets one CronJob in its build namespace. */
  readonly jobs: readonly BranchJob[];
  readonly run: Omit<RunOptions, "namespace" | "generateName" | "params" | "labels">;
  /** Time zone of the schedules. */
  readonly timeZone: string;
  /** Finished runs kept per branch. */
  readonly keepRuns: number;
  readonly distro: string;
  readonly dashboardUrl: string;
  readonly artifactsUrl: string;
}

export const SCHEDULER_ACCOUNT = "build-scheduler";

/**
 * Daily builds where there is no Jenkins: a CronJob per scheduled branch that creates the
 * PipelineRun with kubectl and waits for it, so `concurrencyPolicy: Forbid` also keeps two runs of
 * one branch from overlapping. Its ServiceAccount may start runs in that one namespace only.
 */
export class BuildTriggers extends pulumi.ComponentResource {
  public readonly cronJobs: pulumi.Output<string>[];

  constructor(name: string, args: BuildTriggersArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stx:build:BuildTriggers", name, {}, opts);
    const child = { parent: this, dependsOn: inheritedDependencies(opts) };
    const labels = standardLabels("build-triggers");

    this.cronJobs = args.jobs.filter((job) => job.schedule !== undefined).map((job) => {
      const ns = job.namespace;
      const account = new k8s.core.v1.ServiceAccount(`${name}-${ns}-sa`, {
        metadata: { name: SCHEDULER_ACCOUNT, namespace: ns, labels },
      }, child);
      const role = new k8s.rbac.v1.Role(`${name}-${ns}-role`, {
        metadata: { name: SCHEDULER_ACCOUNT, namespace: ns, labels },
        rules: [
          { apiGroups: ["tekton.dev"], resources: ["pipelineruns"], verbs: ["create", "get", "list", "watch", "delete"] },
        ],
      }, child);
      new k8s.rbac.v1.RoleBinding(`${name}-${ns}-binding`, {
        metadata: { name: SCHEDULER_ACCOUNT, namespace: ns, labels },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
        subjects: [{ kind: "ServiceAccount", name: account.metadata.name, namespace: ns }],
      }, child);
      const run = scheduledRun(job, args.run);
      const config = new k8s.core.v1.ConfigMap(`${name}-${ns}-run`, {
        metadata: { name: "scheduled-build", namespace: ns, labels },
        data: {
          "pipelinerun.json": JSON.stringify(run, null, 2),
          "start.sh": starterScript({ ...job, namespace: ns, distro: args.distro, keepRuns: args.keepRuns, dashboardUrl: args.dashboardUrl, artifactsUrl: args.artifactsUrl }),
        },
      }, child);
      const cron = new k8s.batch.v1.CronJob(`${name}-${ns}-cron`, {
        metadata: { name: "scheduled-build", namespace: ns, labels },
        spec: scheduledJobSpec({
          schedule: job.schedule!,
          timeZone: args.timeZone,
          labels,
          pod: {
            serviceAccountName: account.metadata.name,
            securityContext: { runAsNonRoot: true, runAsUser: 65534, seccompProfile: { type: "RuntimeDefault" } },
            containers: [{
              name: "start-build",
              image: IMAGES.kubectl,
              command: ["/bin/sh", "/run/build/start.sh"],
              // HOME on the writable scratch volume, for kubectl's cache.
              env: [{ name: "TRIGGER", value: "scheduled" }, { name: "HOME", value: "/tmp" }],
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, readOnlyRootFilesystem: true },
              resources: { requests: { cpu: "50m", memory: "64Mi", "ephemeral-storage": "16Mi" }, limits: { cpu: "200m", memory: "128Mi", "ephemeral-storage": "64Mi" } },
              volumeMounts: [{ name: "run", mountPath: "/run/build" }, { name: "tmp", mountPath: "/tmp" }],
            }],
            volumes: [{ name: "run", configMap: { name: config.metadata.name } }, { name: "tmp", emptyDir: { sizeLimit: "16Mi" } }],
          },
        }),
      }, child);
      return cron.metadata.name;
    });
    this.registerOutputs({ cronJobs: this.cronJobs });
  }
}

/** The PipelineRun a branch's schedule creates. */
export function scheduledRun(job: BranchJob, base: BuildTriggersArgs["run"]): Record<string, unknown> {
  return pipelineRunManifest({
    ...base,
    namespace: job.namespace,
    generateName: "scheduled-",
    params: branchRunParams(job, "scheduled"),
    labels: {
      [RUN_LABELS.project]: labelValue(job.project),
      [RUN_LABELS.branch]: labelValue(job.branch),
      [RUN_LABELS.trigger]: "scheduled",
    },
  });
}
