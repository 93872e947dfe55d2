/**
 * The StarlingX build as Tekton objects: one Task per stage and the Pipeline that orders them,
 * as plain objects (pure, so the whole shape is unit-tested without Pulumi). They live in the
 * shared namespace; runs in every build namespace resolve them with Tekton's cluster resolver.
 */
import { ImageBuildMode } from "../settings/build";
import { FarmDefaults, pipelineParams, PipelineParam, SwitchName } from "./params";
import { SCRIPTS } from "./scripts";
import { builderEnvironment, LOCALDISK, REGISTRY_AUTH } from "./contract";
import { sidecarsFor } from "./services";

export const PIPELINE_NAME = "stx-build";
export const WORKSPACE = "source";
export const TEKTON_API = "tekton.dev/v1";

export interface ImageRefs {
  readonly objectStoreClient: string;
  /** kubectl with a POSIX shell: the step that labels the run with its build id. */
  readonly kubectl: string;
}

/** A stage of the build: which Task runs it, after what, and under which switches. */
export interface Stage {
  readonly name: string;
  readonly task: string;
  readonly runAfter: readonly string[];
  /** Switches that must all be "true" for the stage to run. */
  readonly switches: readonly SwitchName[];
  /** Fixed Task parameters of this use (e.g. BUILD_TYPE). */
  readonly fixed?: Readonly<Record<string, string>>;
  /** Needs a system container (sysbox) or privileges: package builds (schroots), LAT and Docker. */
  readonly system: boolean;
}

/** The stages in the order StarlingX builds today (stx-tools' build flow, on Kubernetes). */
export const STAGES: readonly Stage[] = [
  { name: "get-sources", task: "stx-get-sources", runAfter: [], switches: [], system: false },
  { name: "download-prerequisites", task: "stx-download-prerequisites", runAfter: ["get-sources"], switches: ["BUILD_PACKAGES"], system: false },
  { name: "build-packages-std", task: "stx-build-packages", runAfter: ["download-prerequisites"], switches: ["BUILD_PACKAGES"], fixed: { BUILD_TYPE: "std" }, system: true },
  { name: "build-packages-rt", task: "stx-build-packages", runAfter: ["build-packages-std"], switches: ["BUILD_PACKAGES", "BUILD_RT"], fixed: { BUILD_TYPE: "rt" }, system: true },
  { name: "build-iso", task: "stx-build-iso", runAfter: ["build-packages-rt"], switches: ["BUILD_ISO"], system: true },
  { name: "build-base-image", task: "stx-build-base-image", runAfter: ["build-packages-rt"], switches: ["BUILD_IMAGES"], system: true },
  { name: "build-wheels", task: "stx-build-wheels", runAfter: ["build-base-image"], switches: ["BUILD_IMAGES"], system: true },
  { name: "build-app-images", task: "stx-build-app-images", runAfter: ["build-wheels"], switches: ["BUILD_IMAGES"], system: true },
  { name: "build-helm-charts", task: "stx-build-helm-charts", runAfter: ["build-app-images", "build-packages-rt"], switches: ["BUILD_HELM_CHARTS"], system: false },
  { name: "publish", task: "stx-publish", runAfter: ["build-iso", "build-helm-charts"], switches: [], system: false },
];
/** Runs whatever happened before it: logs, CONTEXT, the result marker and the latest_build alias. */
export const FINALLY_STAGE = { name: "record-result", task: "stx-record-result" } as const;
/** Stages whose pods need a Docker daemon. */
export const DOCKER_STAGES = ["build-base-image", "build-wheels", "build-app-images"] as const;
/** Switches of the stages that need a system container: off by default where none can run. */
export const SYSTEM_SWITCHES = ["BUILD_PACKAGES", "BUILD_ISO", "BUILD_IMAGES"] as const;

type Obj = Record<string, unknown>;
type Step = Obj;

const env = (names: readonly string[]) => names.map((name) => ({ name, value: `$(params.${name})` }));
const storeCredentials = [
  { name: "ACCESS_KEY", valueFrom: { secretKeyRef: { name: "$(params.OBJECT_STORE_SECRET)", key: "AWS_ACCESS_KEY_ID" } } },
  { name: "SECRET_KEY", valueFrom: { secretKeyRef: { name: "$(params.OBJECT_STORE_SECRET)", key: "AWS_SECRET_ACCESS_KEY" } } },
];
const workspaceEnv = { name: "WORKSPACE", value: `$(workspaces.${WORKSPACE}.path)` };
/** The run's state volume sits where the tools expect their shared disk (src/build/contract.ts). */
export const WORKSPACE_MOUNT = LOCALDISK;
const runNamespace = { name: "RUN_NAMESPACE", value: "$(context.taskRun.namespace)" };
const STORE_PARAMS = ["OBJECT_STORE_ENDPOINT", "ARTIFACTS_BUCKET", "OBJECT_STORE_SECRET", "DRY_RUN"];

/** Every Task of the build and the Pipeline, for a stack's image build mode. */
export function buildPipelineObjects(args: {
  namespace: string;
  defaults: FarmDefaults;
  images: ImageRefs;
  imageBuilds: ImageBuildMode;
  labels: Record<string, string>;
}): { tasks: Obj[]; pipeline: Obj } {
  // Without sysbox or privileges neither schroots, LAT nor a Docker daemon can run: those stages
  // are off unless a run asks for them (and then fail in their own step, never wait for a node).
  const params = pipelineParams(args.defaults).map((p) =>
    (SYSTEM_SWITCHES as readonly string[]).includes(p.name) && args.imageBuilds === "none" ? { ...p, default: "false" } : p,
  );
  const tasks = taskSpecs(args.images, args.imageBuilds).map(({ name, description, params: names, spec }) => ({
    apiVersion: TEKTON_API,
    kind: "Task",
    metadata: { name, namespace: args.namespace, labels: args.labels },
    spec: {
      description,
      params: [...new Set(names)].map((n) => ({ name: n, type: "string" })),
      workspaces: [{ name: WORKSPACE, mountPath: WORKSPACE_MOUNT, description: "The build state: checkout, aptly, pkgbuilder chroots, LAT output, Docker cache and the run's .stx/ bookkeeping." }],
      ...spec,
    },
  }));
  return { tasks, pipeline: pipelineObject(args.namespace, params, tasks, args.labels) };
}

function pipelineObject(namespace: string, params: PipelineParam[], tasks: Obj[], labels: Record<string, string>): Obj {
  const taskParams = (taskName: string) =>
    ((tasks.find((t) => (t.metadata as Obj).name === taskName)?.spec as Obj).params as { name: string }[]).map((p) => p.name);
  const ref = (task: string) => ({
    resolver: "cluster",
    params: [
      { name: "kind", value: "task" },
      { name: "name", value: task },
      { name: "namespace", value: namespace },
    ],
  });
  const use = (stage: Stage | typeof FINALLY_STAGE, extra: Obj) => ({
    name: stage.name,
    taskRef: ref(stage.task),
    params: taskParams(stage.task).map((p) => ({
      name: p,
      value: "fixed" in stage && stage.fixed?.[p] !== undefined ? stage.fixed[p] : p === "AGGREGATE_STATUS" ? "$(tasks.status)" : `$(params.${p})`,
    })),
    workspaces: [{ name: WORKSPACE, workspace: WORKSPACE }],
    ...extra,
  });
  return {
    apiVersion: TEKTON_API,
    kind: "Pipeline",
    metadata: { name: PIPELINE_NAME, namespace, labels },
    spec: {
      description: "StarlingX Debian build: sources, prerequisites into Pulp, packages (std, rt), ISO, images, Helm charts, publish.",
      params: params.map((p) => ({ name: p.name, type: "string", description: p.description, ...(p.default === undefined ? {} : { default: p.default }) })),
      workspaces: [{ name: WORKSPACE }],
      tasks: STAGES.map((stage) => {
        const when = [
          ...(stage.name === "get-sources"
            ? []
            : [{ input: "$(tasks.get-sources.results.build-needed)", operator: "in", values: ["true"] }]),
          ...stage.switches.map((s) => ({ input: `$(params.${s})`, operator: "in", values: ["true"] })),
        ];
        return use(stage, {
          ...(stage.runAfter.length ? { runAfter: [...stage.runAfter] } : {}),
          ...(when.length ? { when } : {}),
        });
      }),
      finally: [use(FINALLY_STAGE, {})],
      results: [
        { name: "build-date", value: "$(tasks.get-sources.results.build-date)" },
        { name: "build-needed", value: "$(tasks.get-sources.results.build-needed)" },
      ],
    },
  };
}

/**
 * Registry credentials of the image steps: the namespace's dockerconfigjson Secret (REGISTRY_SECRET,
 * optional so a stack without a registry still runs) is mounted read-only and copied by the step
 * into DOCKER_CONFIG, an emptyDir, because the docker CLI also writes there (buildx state).
 */
const REGISTRY_AUTH_VOLUMES = [
  { name: "registry-secret", secret: { secretName: "$(params.REGISTRY_SECRET)", optional: true } },
  { name: "docker-config", emptyDir: { sizeLimit: "16Mi" } },
];
function withRegistryAuth(step: Step): Step {
  return {
    ...step,
    env: [...(step.env as Obj[]), { name: "DOCKER_CONFIG", value: REGISTRY_AUTH.dockerConfig }],
    volumeMounts: [
      { name: "registry-secret", mountPath: REGISTRY_AUTH.secretDir, readOnly: true },
      { name: "docker-config", mountPath: REGISTRY_AUTH.dockerConfig },
    ],
  };
}

interface TaskSpec {
  name: string;
  description: string;
  params: string[];
  spec: Obj;
}

/** Parameters every Task with a builder step declares: the builder's environment refers to them. */
const BUILDER_PARAMS = ["BUILDER_IMAGE", "DRY_RUN", "MY_RELEASE", "MAX_CPUS", "DEBIAN_SNAPSHOT", "DEBIAN_SECURITY_SNAPSHOT", "DEBIAN_DISTRIBUTION", "STX_MIRROR_URL"];
const SERVICE_PARAMS: Readonly<Record<string, readonly string[]>> = {
  aptly: ["APTLY_IMAGE"],
  pkgbuilder: ["PKGBUILDER_IMAGE"],
  lat: ["LAT_IMAGE"],
  "docker-daemon": ["DOCKER_IMAGE", "DOCKER_MTU", "REGISTRY", "REGISTRY_INSECURE", "REGISTRY_SECRET"],
};

function taskSpecs(images: ImageRefs, mode: ImageBuildMode): TaskSpec[] {
  const builder = "$(params.BUILDER_IMAGE)";
  const toolEnv = builderEnvironment((name) => `$(params.${name})`);
  // Only minikube's fallback runs privileged; under sysbox the same steps need no privileges.
  const system: Obj = mode === "docker-in-docker" ? { securityContext: { privileged: true } } : {};
  const step = (name: string, image: string, script: string, envNames: string[], extra: Obj = {}): Step => ({
    name,
    image,
    script,
    env: [workspaceEnv, ...env(envNames)],
    ...extra,
  });
  // A step of StarlingX's tools: the builder image with everything localrc and buildrc would set.
  const toolStep = (name: string, script: string, envNames: string[]) => ({
    ...step(name, builder, script, [...envNames, "DRY_RUN"], system),
    env: [workspaceEnv, ...toolEnv, ...env([...envNames, "DRY_RUN"])],
  });
  // A stage of the tools: its builder steps plus the sidecars its tools need (src/build/services.ts).
  const toolTask = (name: string, description: string, names: string[], steps: Step[]): TaskSpec => {
    const sidecars = sidecarsFor(name, mode, toolEnv);
    const sidecarParams = sidecars.flatMap((s) => SERVICE_PARAMS[s.name as string] ?? []);
    const docker = sidecars.some((s) => s.name === "docker-daemon");
    return {
      name,
      description,
      params: [...BUILDER_PARAMS, ...names, ...sidecarParams],
      spec: {
        steps: docker ? steps.map(withRegistryAuth) : steps,
        ...(sidecars.length ? { sidecars } : {}),
        ...(docker ? { volumes: REGISTRY_AUTH_VOLUMES } : {}),
      },
    };
  };
  return [
    {
      name: "stx-get-sources",
      description: "Check out the manifest's projects at the branch (plus a private patch), write CONTEXT, and decide whether a scheduled build is needed.",
      params: [...BUILDER_PARAMS, "MANIFEST_URL", "MANIFEST_BRANCH", "MANIFEST_FILE", "RELEASE_ID", "DISTRO", "PATCH_PROJECT", "PATCH_URL", "PATCH_REF", "REUSE_FROM", "TRIGGER", "FORCE_BUILD", "FORCED_WEEKDAY", ...STORE_PARAMS],
      spec: {
        results: [
          { name: "build-date", description: "UTC start time YYYYMMDDTHHMMSSZ, the build's path segment." },
          { name: "build-needed", description: '"false" when a scheduled build found nothing changed.' },
        ],
        steps: [
          step("start", builder, SCRIPTS.start, ["RELEASE_ID", "DISTRO", "DRY_RUN"], {
            env: [workspaceEnv, ...env(["RELEASE_ID", "DISTRO", "DRY_RUN"]), runNamespace],
          }),
          // Retention finds a build's PipelineRuns by BUILD_ID_LABEL, and the build id holds the
          // build-date: the UTC time this run started, which only the run knows (a run may wait for
          // quota, and users start runs with plain kubectl). So the run labels itself, once, for
          // every starter alike (CronJob, Jenkins, users); until it has, the build has no
          // build-date and no step writes anything, so no artifact can exist for an unlabelled run.
          // Its token comes from the run's podTemplate for this task (runs.ts): the farm's default
          // pod template mounts none.
          step("label-run", images.kubectl, SCRIPTS.labelRun, [], {
            env: [
              workspaceEnv,
              runNamespace,
              { name: "PIPELINE_RUN", valueFrom: { fieldRef: { fieldPath: "metadata.labels['tekton.dev/pipelineRun']" } } },
              { name: "RESULT_BUILD_DATE", value: "$(results.build-date.path)" },
              { name: "HOME", value: "/tmp" },
            ],
          }),
          {
            ...step("checkout", builder, SCRIPTS.checkout, ["MANIFEST_URL", "MANIFEST_BRANCH", "MANIFEST_FILE", "PATCH_PROJECT", "PATCH_URL", "PATCH_REF", "DRY_RUN"]),
            env: [workspaceEnv, ...toolEnv, ...env(["MANIFEST_URL", "MANIFEST_BRANCH", "MANIFEST_FILE", "PATCH_PROJECT", "PATCH_URL", "PATCH_REF", "DRY_RUN"])],
          },
          step("decide", images.objectStoreClient, SCRIPTS.decide, [], {
            env: [workspaceEnv, ...env(["TRIGGER", "FORCE_BUILD", "FORCED_WEEKDAY", "REUSE_FROM", ...STORE_PARAMS]), ...storeCredentials, { name: "RESULT_BUILD_NEEDED", value: "$(results.build-needed.path)" }],
          }),
        ],
      },
    },
    toolTask("stx-download-prerequisites", "Download the 3rd-party packages and sources the build needs (through the farm's Pulp mirror) into this build state's aptly.",
      ["CLEAN_DOWNLOADS", "CLEAN_REPOMGR"], [toolStep("download", SCRIPTS.download, ["CLEAN_DOWNLOADS", "CLEAN_REPOMGR"])]),
    toolTask("stx-build-packages", "Build the Debian packages of one build type (std or rt) with build-pkgs and pkgbuilder.",
      ["BUILD_TYPE", "CLEAN_PACKAGES"], [toolStep("build-pkgs", SCRIPTS.buildPackages, ["BUILD_TYPE", "CLEAN_PACKAGES"])]),
    toolTask("stx-build-iso", "Build the installer ISO with build-image and LAT.",
      ["CLEAN_ISO"], [toolStep("build-image", SCRIPTS.buildIso, ["CLEAN_ISO"])]),
    toolTask("stx-build-base-image", "Build the stx-<distro> base image with build-stx-base.sh (it renders the Dockerfile's *.in files) and push it.",
      ["REGISTRY", "CLEAN_DOCKER"], [toolStep("build-stx-base", SCRIPTS.buildBaseImage, ["REGISTRY", "CLEAN_DOCKER"])]),
    toolTask("stx-build-wheels", "Build the Python wheels tarball (needs a Docker daemon).",
      ["REGISTRY", "CLEAN_DOCKER"], [toolStep("build-wheels", SCRIPTS.buildWheels, ["REGISTRY", "CLEAN_DOCKER"])]),
    toolTask("stx-build-app-images", "Build and push the application images (needs a Docker daemon).",
      ["REGISTRY", "CLEAN_DOCKER"], [toolStep("build-images", SCRIPTS.buildImages, ["REGISTRY", "CLEAN_DOCKER"])]),
    toolTask("stx-build-helm-charts", "Package the application Helm charts.", [], [toolStep("build-helm-charts", SCRIPTS.buildHelmCharts, [])]),
    {
      name: "stx-publish",
      description: "Upload the outputs and CONTEXT to <release-id>/<distro>/<build-date>/outputs/ in the object store.",
      params: STORE_PARAMS,
      spec: { steps: [step("upload", images.objectStoreClient, SCRIPTS.publish, [], { env: [workspaceEnv, ...env(STORE_PARAMS), ...storeCredentials] })] },
    },
    {
      name: "stx-record-result",
      description: "Always: upload the logs as plain files, write the success/fail marker and a listing, and move latest_build after a success.",
      params: [...STORE_PARAMS, "ARTIFACTS_URL", "AGGREGATE_STATUS"],
      spec: {
        steps: [
          step("record", images.objectStoreClient, SCRIPTS.finish, [], {
            env: [workspaceEnv, ...env([...STORE_PARAMS, "ARTIFACTS_URL", "AGGREGATE_STATUS"]), ...storeCredentials],
          }),
        ],
      },
    },
  ];
}
