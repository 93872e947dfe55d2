/**
 * PipelineRuns of the build, and which branches get which trigger. One function writes the
 * PipelineRun for every starter (the CronJob, Jenkins, and the command users run), so all of them
 * start the same thing.
 */
import { buildNamespace, userNamespace } from "../tenancy/naming";
import { ImageBuildMode } from "../settings/build";
import { ProjectSettings } from "../settings/tenancy";
import { DOCKER_STAGES, PIPELINE_NAME, STAGES, TEKTON_API, WORKSPACE } from "./definition";
import { privateReleaseId, releaseIdForBranch } from "../artifacts";

/** Labels every build run carries, so runs of one project/branch are found (and pruned) together. */
/** The PersistentVolumeClaim in each build namespace that keeps a branch's build state between builds. */
export const STATE_CLAIM = "stx-build-state";

export const RUN_LABELS = {
  project: "stx.starlingx.io/project",
  branch: "stx.starlingx.io/branch",
  trigger: "stx.starlingx.io/trigger",
} as const;

export interface RunOptions {
  readonly namespace: string;
  /** Namespace of the shared Pipeline. */
  readonly sharedNamespace: string;
  readonly generateName: string;
  readonly params: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
  readonly imageBuilds: ImageBuildMode;
  readonly workspaceSize: string;
  readonly storageClass?: string;
  readonly serviceAccount: string;
  readonly timeoutMinutes: number;
  /**
   * The branch's build-state claim (STATE_CLAIM): its checkout, aptly repositories, package build
   * tree and caches carry over to the next build. Undefined: a fresh volume for this run only.
   */
  readonly stateClaim?: string;
}

/** A PipelineRun of the shared build Pipeline, resolved across namespaces by the cluster resolver. */
export function pipelineRunManifest(run: RunOptions): Record<string, unknown> {
  const systemStages = STAGES.filter((s) => s.privileges === "system").map((s) => s.name);
  const sysbox = run.imageBuilds === "sysbox" ? { runtimeClassName: "sysbox-runc" } : undefined;
  return {
    apiVersion: TEKTON_API,
    kind: "PipelineRun",
    metadata: {
      generateName: run.generateName,
      namespace: run.namespace,
      labels: { ...(run.labels ?? {}) },
      // Tekton deletes a run's own workspace volume when it completes (215 orphaned PVCs otherwise);
      // a branch's state claim is not the run's and stays.
      annotations: { "tekton.dev/auto-cleanup-pvc": "true" },
    },
    spec: {
      pipelineRef: {
        resolver: "cluster",
        params: [
          { name: "kind", value: "pipeline" },
          { name: "name", value: PIPELINE_NAME },
          { name: "namespace", value: run.sharedNamespace },
        ],
      },
      params: Object.entries(run.params).map(([name, value]) => ({ name, value })),
      timeouts: { pipeline: `${run.timeoutMinutes}m` },
      taskRunTemplate: {
        serviceAccountName: run.serviceAccount,
        // The run's pods share one RWO volume, so Tekton keeps them (and its affinity assistant) on
        // one node; under sysbox that node must be one where sysbox runs.
        ...(sysbox ? { podTemplate: { nodeSelector: { "sysbox-runtime": "running" } } } : {}),
      },
      taskRunSpecs: [
        // label-run patches its own PipelineRun: only get-sources gets an API token (the farm's
        // default pod template mounts none).
        { pipelineTaskName: "get-sources", podTemplate: { automountServiceAccountToken: true } },
        ...(sysbox ? systemStages.map((pipelineTaskName) => ({ pipelineTaskName, podTemplate: sysbox })) : []),
      ],
      workspaces: [
        run.stateClaim
          ? { name: WORKSPACE, persistentVolumeClaim: { claimName: run.stateClaim } }
          : {
              name: WORKSPACE,
              volumeClaimTemplate: {
                spec: {
                  accessModes: ["ReadWriteOnce"],
                  resources: { requests: { storage: run.workspaceSize } },
                  ...(run.storageClass ? { storageClassName: run.storageClass } : {}),
                },
              },
            },
      ],
    },
  };
}

/** One project branch's builds: where they run, publish, and when they start by themselves. */
export interface BranchJob {
  readonly project: string;
  readonly branch: string;
  readonly namespace: string;
  readonly releaseId: string;
  readonly manifestUrl: string;
  readonly manifest: string;
  /** Cron schedule of the daily build; undefined for on-demand only. */
  readonly schedule?: string;
  /** Jenkins job name / CronJob name stem, e.g. "starlingx-r-stx.10.0". */
  readonly jobName: string;
  /** False where the namespace cannot run the build's privileged pods (minikube, baseline namespace). */
  readonly canBuild: boolean;
}

export function planBranchJobs(
  projects: readonly ProjectSettings[],
  imageBuilds: ImageBuildMode,
): BranchJob[] {
  return projects.flatMap((project) =>
    project.branches.map((branch) => ({
      project: project.name,
      branch: branch.name,
      namespace: buildNamespace(project.name, branch.name),
      releaseId: branch.releaseId ?? releaseIdForBranch(branch.name),
      manifestUrl: project.manifestUrl,
      manifest: project.manifest,
      schedule: branch.schedule,
      jobName: `${project.name}-${branch.name.replace(/[^A-Za-z0-9._-]+/g, "-")}`,
      canBuild: imageBuilds !== "docker-in-docker" || branch.podSecurity === "privileged",
    })),
  );
}

/** The parameters a branch's runs always pass. */
export function branchRunParams(job: BranchJob, trigger: "scheduled" | "manual"): Record<string, string> {
  return {
    MANIFEST_URL: job.manifestUrl,
    MANIFEST_BRANCH: job.branch,
    MANIFEST_FILE: job.manifest,
    RELEASE_ID: job.releaseId,
    TRIGGER: trigger,
  };
}

/** Label values must be DNS-ish; a branch like "r/stx.10.0" becomes "r-stx.10.0". */
export function labelValue(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "").slice(0, 63);
}

/** The PipelineRun a user creates for a private build of their patch, in their own namespace. */
export function privateRunManifest(args: {
  user: string;
  topic: string;
  manifestUrl: string;
  branch: string;
  patch?: { project: string; url?: string; ref: string };
  /**
   * Release-id of the branch build to start from (build-pkgs --reuse of its published
   * repositories); the branch's own release-id when left out, false to build everything.
   */
  reuseFrom?: string | false;
  base: Omit<RunOptions, "namespace" | "generateName" | "params">;
}): Record<string, unknown> {
  const reuseFrom = args.reuseFrom === undefined ? releaseIdForBranch(args.branch) : args.reuseFrom;
  return pipelineRunManifest({
    ...args.base,
    namespace: userNamespace(args.user),
    generateName: `private-${labelValue(args.topic).toLowerCase()}-`.slice(0, 40),
    params: {
      MANIFEST_URL: args.manifestUrl,
      MANIFEST_BRANCH: args.branch,
      RELEASE_ID: privateReleaseId(args.user, args.topic),
      ...(args.patch ? { PATCH_PROJECT: args.patch.project, PATCH_REF: args.patch.ref } : {}),
      ...(args.patch?.url ? { PATCH_URL: args.patch.url } : {}),
      ...(reuseFrom ? { REUSE_FROM: reuseFrom } : {}),
    },
  });
}

export { DOCKER_STAGES };
