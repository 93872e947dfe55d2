/**
 * The StarlingX build as Tekton objects: one Task per stage and the Pipeline that orders them,
 * as plain objects (pure, so the whole shape is unit-tested without Pulumi). They live in the
 * shared namespace; runs in every build namespace resolve them with Tekton's cluster resolver.
 */
import { ImageBuildMode } from "../settings/build";
import { FarmDefaults, pipelineParams, PipelineParam } from "./params";
import { SCRIPTS } from "./scripts";
import { builderEnvironment, LOCALDISK, REGISTRY_AUTH } from "./contract";
import { sidecarsFor } from "./services";
import { dockerStages, STAGE_RECORDS, StageRecord, taskRecords } from "./stages";
import { STAGE_SERVICE } from "./contract";

export const PIPELINE_NAME = "stx-build";
export const WORKSPACE = "source";
export const TEKTON_API = "tekton.dev/v1";

export interface ImageRefs {
  readonly objectStoreClient: string;
  /** kubectl with a POSIX shell: the step that labels the run with its build id. */
  readonly kubectl: string;
}

/** A stage of the build as the Pipeline uses it (from its record in stages.ts). */
export type Stage = StageRecord;

/** The stages in the order StarlingX builds them: the records of stages.ts. */
export const STAGES: readonly Stage[] = STAGE_RECORDS;
/** Runs whatever happened before it: logs, CONTEXT, the result marker and the latest_build alias. */
export const FINALLY_STAGE = { name: "record-result", task: "stx-record-result" } as const;
/** Stages whose pods need a Docker daemon. */
export const DOCKER_STAGES = dockerStages();
/** Switches of the stages that need a system container: off by default where none can run. */
export const SYSTEM_SWITCHES = [...new Set(STAGE_RECORDS.filter((s) => s.privileges === "system").flatMap((s) => s.switches))];

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
  const tasks = taskSpecs(args.images, args.imageBuilds).map(({ name, description, labels, params: names, spec }) => ({
    apiVersion: TEKTON_API,
    kind: "Task",
    metadata: { name, namespace: args.namespace, labels: { ...args.labels, ...(labels ?? {}) } },
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
      description: "StarlingX Debian build: sources, prerequisites into the build's aptly, packages (std, rt), ISO, images, Helm charts, publish.",
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
  labels?: Record<string, string>;
  params: string[];
  spec: Obj;
}

/** Parameters every Task with a builder step declares: the builder's environment refers to them. */
const BUILDER_PARAMS = ["BUILDER_IMAGE", "DRY_RUN", "MY_RELEASE", "MAX_CPUS", "DEBIAN_SNAPSHOT", "DEBIAN_SECURITY_SNAPSHOT", "DEBIAN_DISTRIBUTION", "OS_MIRROR_URL"];
const SERVICE_PARAMS: Readonly<Record<string, readonly string[]>> = {
  aptly: ["APTLY_IMAGE"],
  pkgbuilder: ["PKGBUILDER_IMAGE"],
  lat: ["LAT_IMAGE"],
  "docker-daemon": ["DOCKER_IMAGE", "DOCKER_MTU", "REGISTRY", "REGISTRY_INSECURE", "REGISTRY_SECRET"],
  files: ["BUILDER_IMAGE"],
};

function scriptOf(key: string): string {
  const script = (SCRIPTS as Record<string, string>)[key];
  if (script === undefined) throw new Error(`no script "${key}" in scripts.ts`);
  return script;
}

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
  const toolTask = (record: StageRecord, steps: Step[]): TaskSpec => {
    const { task: name, description } = record;
    const names = [...record.params];
    const sidecars = sidecarsFor(name, mode, toolEnv);
    const sidecarParams = sidecars.flatMap((s) => SERVICE_PARAMS[s.name as string] ?? []);
    const docker = sidecars.some((s) => s.name === "docker-daemon");
    return {
      name,
      description,
      // docker build reaches aptly and the files server through STAGE_SERVICE, which selects this label.
      ...(docker ? { labels: { [STAGE_SERVICE.label.key]: STAGE_SERVICE.label.value } } : {}),
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
      description: STAGE_RECORDS[0].description,
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
    ...taskRecords().filter((r) => r.step).map((r) => toolTask(r, [toolStep(r.step!.name, scriptOf(r.step!.script), [...r.params])])),
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
