/**
 * The StarlingX build as Tekton objects: one Task per stage and the Pipeline that orders them,
 * as plain objects (pure, so the whole shape is unit-tested without Pulumi). They live in the
 * shared namespace; runs in every build namespace resolve them with Tekton's cluster resolver.
 */
import { ImageBuildMode } from "../settings/build";
import { FarmDefaults, pipelineParams, PipelineParam, SwitchName } from "./params";
import { SCRIPTS } from "./scripts";

export const PIPELINE_NAME = "stx-build";
export const WORKSPACE = "source";
export const TEKTON_API = "tekton.dev/v1";

export interface ImageRefs {
  readonly kaniko: string;
  readonly dockerDaemon: string;
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
  /** Needs a system container (sysbox) or privileges: package builds (chroots) and Docker. */
  readonly system: boolean;
}

/** The stages in the order StarlingX builds today (stx-tools' build flow, on Kubernetes). */
export const STAGES: readonly Stage[] = [
  { name: "get-sources", task: "stx-get-sources", runAfter: [], switches: [], system: false },
  { name: "download-prerequisites", task: "stx-download-prerequisites", runAfter: ["get-sources"], switches: ["BUILD_PACKAGES"], system: true },
  { name: "build-packages-std", task: "stx-build-packages", runAfter: ["download-prerequisites"], switches: ["BUILD_PACKAGES"], fixed: { BUILD_TYPE: "std" }, system: true },
  { name: "build-packages-rt", task: "stx-build-packages", runAfter: ["build-packages-std"], switches: ["BUILD_PACKAGES", "BUILD_RT"], fixed: { BUILD_TYPE: "rt" }, system: true },
  { name: "build-iso", task: "stx-build-iso", runAfter: ["build-packages-rt"], switches: ["BUILD_ISO"], system: true },
  { name: "build-base-image", task: "stx-build-base-image", runAfter: ["build-packages-rt"], switches: ["BUILD_IMAGES"], system: false },
  { name: "build-wheels", task: "stx-build-wheels", runAfter: ["build-base-image"], switches: ["BUILD_IMAGES"], system: true },
  { name: "build-app-images", task: "stx-build-app-images", runAfter: ["build-wheels"], switches: ["BUILD_IMAGES"], system: true },
  { name: "build-helm-charts", task: "stx-build-helm-charts", runAfter: ["build-app-images", "build-packages-rt"], switches: ["BUILD_HELM_CHARTS"], system: false },
  { name: "publish", task: "stx-publish", runAfter: ["build-iso", "build-helm-charts"], switches: [], system: false },
];
/** Runs whatever happened before it: logs, CONTEXT, the result marker and the latest_build alias. */
export const FINALLY_STAGE = { name: "record-result", task: "stx-record-result" } as const;
/** Stages whose pods need a Docker daemon. */
export const DOCKER_STAGES = ["build-wheels", "build-app-images"] as const;

type Obj = Record<string, unknown>;
type Step = Obj;

const env = (names: readonly string[]) => names.map((name) => ({ name, value: `$(params.${name})` }));
const storeCredentials = [
  { name: "ACCESS_KEY", valueFrom: { secretKeyRef: { name: "$(params.OBJECT_STORE_SECRET)", key: "AWS_ACCESS_KEY_ID" } } },
  { name: "SECRET_KEY", valueFrom: { secretKeyRef: { name: "$(params.OBJECT_STORE_SECRET)", key: "AWS_SECRET_ACCESS_KEY" } } },
];
const workspaceEnv = { name: "WORKSPACE", value: `$(workspaces.${WORKSPACE}.path)` };
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
  // Without sysbox or privileges no Docker daemon can run: image stages are off unless asked for.
  const params = pipelineParams(args.defaults).map((p) =>
    p.name === "BUILD_IMAGES" && args.imageBuilds === "none" ? { ...p, default: "false" } : p,
  );
  const tasks = taskSpecs(args.images, args.imageBuilds).map(({ name, description, params: names, spec }) => ({
    apiVersion: TEKTON_API,
    kind: "Task",
    metadata: { name, namespace: args.namespace, labels: args.labels },
    spec: {
      description,
      params: [...new Set(names)].map((n) => ({ name: n, type: "string" })),
      workspaces: [{ name: WORKSPACE, description: "The checkout, build tree and .stx/ bookkeeping of one run." }],
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

interface TaskSpec {
  name: string;
  description: string;
  params: string[];
  spec: Obj;
}

function taskSpecs(images: ImageRefs, mode: ImageBuildMode): TaskSpec[] {
  const builder = "$(params.BUILDER_IMAGE)";
  // Only minikube's fallback runs privileged; under sysbox the same steps need no privileges.
  const system: Obj = mode === "docker-in-docker" ? { securityContext: { privileged: true } } : {};
  const step = (name: string, image: string, script: string, envNames: string[], extra: Obj = {}): Step => ({
    name,
    image,
    script,
    env: [workspaceEnv, ...env(envNames)],
    ...extra,
  });
  const buildStep = (name: string, script: string, envNames: string[]) =>
    step(name, builder, script, [...envNames, "DRY_RUN"], system);
  const dockerDaemon = {
    name: "docker-daemon",
    image: images.dockerDaemon,
    args: ["--host=tcp://127.0.0.1:2375", "--mtu=$(params.DOCKER_MTU)"],
    // Set and empty (no TLS). Without `value`: the API server drops an empty one, and the
    // provider would then show a change on every preview.
    env: [{ name: "DOCKER_TLS_CERTDIR" }],
    // The daemon is only reachable on the pod's loopback; sysbox gives it its own user namespace.
    securityContext: mode === "docker-in-docker" ? { privileged: true } : {},
    readinessProbe: { tcpSocket: { port: 2375 }, periodSeconds: 2 },
  };
  const withBuilder = (names: string[]) => ["BUILDER_IMAGE", "DRY_RUN", ...names];
  return [
    {
      name: "stx-get-sources",
      description: "Check out the manifest's projects at the branch (plus a private patch), write CONTEXT, and decide whether a scheduled build is needed.",
      params: withBuilder(["MANIFEST_URL", "MANIFEST_BRANCH", "MANIFEST_FILE", "RELEASE_ID", "DISTRO", "PATCH_PROJECT", "PATCH_URL", "PATCH_REF", "TRIGGER", "FORCE_BUILD", "FORCED_WEEKDAY", ...STORE_PARAMS]),
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
          step("label-run", images.kubectl, SCRIPTS.labelRun, [], {
            env: [
              workspaceEnv,
              runNamespace,
              { name: "PIPELINE_RUN", valueFrom: { fieldRef: { fieldPath: "metadata.labels['tekton.dev/pipelineRun']" } } },
              { name: "RESULT_BUILD_DATE", value: "$(results.build-date.path)" },
              { name: "HOME", value: "/tmp" },
            ],
          }),
          step("checkout", builder, SCRIPTS.checkout, ["MANIFEST_URL", "MANIFEST_BRANCH", "MANIFEST_FILE", "PATCH_PROJECT", "PATCH_URL", "PATCH_REF", "DRY_RUN"]),
          step("decide", images.objectStoreClient, SCRIPTS.decide, [], {
            env: [workspaceEnv, ...env(["TRIGGER", "FORCE_BUILD", "FORCED_WEEKDAY", ...STORE_PARAMS]), ...storeCredentials, { name: "RESULT_BUILD_NEEDED", value: "$(results.build-needed.path)" }],
          }),
        ],
      },
    },
    {
      name: "stx-download-prerequisites",
      description: "Download the 3rd-party packages and sources the build needs into the shared Pulp.",
      params: withBuilder(["PULP_URL", "CLEAN_DOWNLOADS", "CLEAN_REPOMGR"]),
      spec: { steps: [buildStep("download", SCRIPTS.download, ["PULP_URL", "CLEAN_DOWNLOADS", "CLEAN_REPOMGR"])] },
    },
    {
      name: "stx-build-packages",
      description: "Build the Debian packages of one build type (std or rt) with build-pkgs.",
      params: withBuilder(["BUILD_TYPE", "PULP_URL", "CLEAN_PACKAGES"]),
      spec: { steps: [buildStep("build-pkgs", SCRIPTS.buildPackages, ["BUILD_TYPE", "PULP_URL", "CLEAN_PACKAGES"])] },
    },
    {
      name: "stx-build-iso",
      description: "Build the installer ISO with build-image.",
      params: withBuilder(["PULP_URL", "CLEAN_ISO"]),
      spec: { steps: [buildStep("build-image", SCRIPTS.buildIso, ["PULP_URL", "CLEAN_ISO"])] },
    },
    {
      name: "stx-build-base-image",
      description: "Build the stx-debian base image from its Dockerfile with kaniko (no Docker daemon).",
      params: withBuilder(["REGISTRY", "CLEAN_DOCKER"]),
      spec: {
        steps: [
          step("prepare-context", builder, SCRIPTS.prepareBaseImage, ["REGISTRY", "DRY_RUN"]),
          step("kaniko", images.kaniko, SCRIPTS.kaniko, ["CLEAN_DOCKER", "DRY_RUN"]),
        ],
      },
    },
    {
      name: "stx-build-wheels",
      description: "Build the Python wheels tarball (needs a Docker daemon).",
      params: withBuilder(["REGISTRY", "DOCKER_MTU"]),
      spec: { steps: [buildStep("build-wheels", SCRIPTS.buildWheels, ["REGISTRY"])], sidecars: [dockerDaemon] },
    },
    {
      name: "stx-build-app-images",
      description: "Build and push the application images (needs a Docker daemon).",
      params: withBuilder(["REGISTRY", "DOCKER_MTU", "CLEAN_DOCKER"]),
      spec: { steps: [buildStep("build-images", SCRIPTS.buildImages, ["REGISTRY", "CLEAN_DOCKER"])], sidecars: [dockerDaemon] },
    },
    {
      name: "stx-build-helm-charts",
      description: "Package the application Helm charts.",
      params: withBuilder([]),
      spec: { steps: [step("build-helm-charts", builder, SCRIPTS.buildHelmCharts, ["DRY_RUN"])] },
    },
    {
      name: "stx-publish",
      description: "Upload the outputs and CONTEXT to <release-id>/<distro>/<build-date>/outputs/ in the object store.",
      params: STORE_PARAMS,
      spec: { steps: [step("upload", images.objectStoreClient, SCRIPTS.publish, [], { env: [workspaceEnv, ...env(STORE_PARAMS), ...storeCredentials] })] },
    },
    {
      name: "stx-record-result",
      description: "Always: upload the logs as plain files, write the success/fail marker, and move latest_build after a success.",
      params: [...STORE_PARAMS, "AGGREGATE_STATUS"],
      spec: {
        steps: [
          step("record", images.objectStoreClient, SCRIPTS.finish, [], {
            env: [workspaceEnv, ...env([...STORE_PARAMS, "AGGREGATE_STATUS"]), ...storeCredentials],
          }),
        ],
      },
    },
  ];
}
