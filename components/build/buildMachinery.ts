import * as pulumi from "@pulumi/pulumi";
import { FarmDefaults } from "../../src/build/params";
import { BranchJob, planBranchJobs, RunOptions } from "../../src/build/runs";
import { sysboxNodeNames } from "../../src/settings/build";
import { Settings } from "../../src/settings/schema";
import { PIPELINE_SERVICE_ACCOUNT } from "../../src/tenancy/tenants";
import { IMAGES } from "../../src/versions";
import { BuildPipeline } from "./buildPipeline";
import { BuildTriggers } from "./buildTriggers";
import { Jenkins } from "./jenkins";
import { NodeLabelling, Sysbox } from "./sysbox";
import { Tekton } from "./tekton";
import { inheritedDependencies } from "../dependencies";
import { CREDENTIALS_SECRET } from "../services/objectStore";
import { inClusterEndpoints, serviceEndpoints } from "../../src/services/serviceEndpoints";

/** The Dashboard as seen from inside the cluster (`kubectl port-forward` or an Ingress for people). */
const DASHBOARD_URL = "http://tekton-dashboard.tekton-dashboard.svc:9097";

/** Where the shared services are; BuildCluster passes the real ones once those components exist. */
export interface SharedServices {
  readonly objectStoreEndpoint: string;
  readonly artifactsBucket: string;
  /** Name of the Secret (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) that build runs read in their namespace. */
  readonly objectStoreSecret: string;
  readonly pulpUrl: string;
  readonly registry: string;
  /** Where people browse artifacts (links in Jenkins reports). */
  readonly artifactsUrl: string;
}

/** The shared services as build runs reach them, from the same settings their components use. */
export function sharedServicesFor(settings: Settings): SharedServices {
  const { services, cluster } = settings;
  const inCluster = inClusterEndpoints(services, cluster.sharedNamespace);
  const bucket = services.objectStore.buckets.artifacts;
  const publicStore = serviceEndpoints(services, settings.apiServer).objectStorePublicUrl ?? inCluster.objectStore;
  return {
    objectStoreEndpoint: inCluster.objectStore,
    artifactsBucket: bucket,
    objectStoreSecret: CREDENTIALS_SECRET,
    pulpUrl: inCluster.pulpApi,
    registry: inCluster.registry ?? "",
    artifactsUrl: `${publicStore}/${bucket}`,
  };
}

export interface BuildMachineryArgs {
  readonly sharedNamespace: string;
  readonly tenantNamespaces: readonly string[];
  readonly tekton: Settings["build"]["tekton"];
  readonly imageBuilds: Settings["build"]["imageBuilds"];
  readonly defaults: FarmDefaults;
  readonly services: SharedServices;
  readonly jobs: readonly BranchJob[];
  readonly run: Omit<RunOptions, "namespace" | "generateName" | "params" | "labels">;
  readonly timeZone: string;
  readonly sysboxNodes: readonly string[];
  readonly labelling?: NodeLabelling;
  readonly jenkins?: { readonly storage: string; readonly storageClass: string; readonly chartPath?: string };
}

/** Tekton, the shared build Pipeline, sysbox, and the triggers (Jenkins or CronJobs) of one stack. */
export class BuildMachinery extends pulumi.ComponentResource {
  constructor(name: string, args: BuildMachineryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stx:build:BuildMachinery", name, {}, opts);
    // The shared and tenant namespaces (BuildCluster's dependsOn) must exist before anything in them.
    const child = { parent: this, dependsOn: inheritedDependencies(opts) };

    const tekton = new Tekton(`${name}-tekton`, {
      manifestDir: args.tekton.manifestDir,
      sharedNamespace: args.sharedNamespace,
      tenantNamespaces: args.tenantNamespaces,
      defaultTimeoutMinutes: args.tekton.defaultTimeoutMinutes,
      defaultServiceAccount: PIPELINE_SERVICE_ACCOUNT,
      dashboard: args.tekton.dashboard,
    }, child);

    new BuildPipeline(`${name}-pipeline`, {
      namespace: args.sharedNamespace,
      defaults: args.defaults,
      images: IMAGES,
      imageBuilds: args.imageBuilds,
      tektonReady: tekton.ready,
    }, child);

    if (args.labelling?.kind === "starlingx" && args.labelling.password === undefined && args.labelling.privateKey === undefined) {
      pulumi.log.warn(
        "no SSH credentials for the StarlingX host: set stx-build-cluster:starlingxSshPassword or starlingxSshPrivateKey (pulumi config set --secret) or node labelling will fail",
        this,
      );
    }
    if (args.sysboxNodes.length > 0 && args.labelling) {
      new Sysbox(`${name}-sysbox`, { nodes: args.sysboxNodes, labelling: args.labelling }, { parent: this });
    }

    const runnable = args.jobs.filter((job) => job.canBuild);
    for (const job of args.jobs.filter((j) => !j.canBuild && j.schedule)) {
      pulumi.log.warn(`${job.project}/${job.branch} is scheduled but its namespace is not privileged, which docker-in-docker needs; it gets no scheduled build`, this);
    }
    if (args.jenkins) {
      new Jenkins(`${name}-jenkins`, {
        namespace: args.sharedNamespace,
        jobs: runnable,
        run: args.run,
        storageClass: args.jenkins.storageClass,
        storage: args.jenkins.storage,
        chartPath: args.jenkins.chartPath,
        dashboardUrl: DASHBOARD_URL,
        artifactsUrl: args.services.artifactsUrl,
        distro: args.defaults.distro,
        keepRuns: args.tekton.keepRuns,
      }, { ...child, dependsOn: [...child.dependsOn, ...tekton.ready] });
    } else {
      new BuildTriggers(`${name}-triggers`, {
        jobs: runnable,
        run: args.run,
        timeZone: args.timeZone,
        keepRuns: args.tekton.keepRuns,
        distro: args.defaults.distro,
        dashboardUrl: DASHBOARD_URL,
        artifactsUrl: args.services.artifactsUrl,
      }, { ...child, dependsOn: [...child.dependsOn, ...tekton.ready] });
    }
    this.registerOutputs({});
  }
}

/** The machinery's arguments from the stack settings (pure apart from the secrets passed in). */
export function buildMachineryArgs(
  settings: Settings,
  tenantNamespaces: readonly string[],
  secrets: { starlingxSshPassword?: pulumi.Input<string>; starlingxSshPrivateKey?: pulumi.Input<string> } = {},
  services: SharedServices = sharedServicesFor(settings),
): BuildMachineryArgs {
  const { build, cluster } = settings;
  const nodes = cluster.nodes.map((n) => n.name);
  const host = build.starlingxHost;
  const labelling: NodeLabelling | undefined =
    settings.profile === "cengn"
      ? { kind: "node-patch" }
      : settings.profile === "starlingx"
        ? {
            kind: "starlingx",
            host: host?.address ?? new URL(settings.apiServer).hostname,
            port: host?.port ?? 22,
            user: host?.user ?? "sysadmin",
            password: secrets.starlingxSshPassword,
            privateKey: secrets.starlingxSshPrivateKey,
          }
        : undefined;
  return {
    sharedNamespace: cluster.sharedNamespace,
    tenantNamespaces,
    tekton: build.tekton,
    imageBuilds: build.imageBuilds,
    defaults: {
      objectStoreEndpoint: services.objectStoreEndpoint,
      artifactsBucket: services.artifactsBucket,
      objectStoreSecret: services.objectStoreSecret,
      pulpUrl: services.pulpUrl,
      registry: services.registry,
      builderImage: build.builderImage ?? IMAGES.stxBuilder,
      distro: build.distro,
      forcedWeekday: build.forcedBuildWeekday,
    },
    services,
    jobs: planBranchJobs(settings.projects, build.imageBuilds),
    run: {
      sharedNamespace: cluster.sharedNamespace,
      imageBuilds: build.imageBuilds,
      workspaceSize: build.workspaceSize,
      storageClass: cluster.storageClass,
      serviceAccount: PIPELINE_SERVICE_ACCOUNT,
      timeoutMinutes: build.tekton.defaultTimeoutMinutes,
    },
    timeZone: build.timeZone,
    sysboxNodes: sysboxNodeNames(build, nodes),
    labelling,
    jenkins: build.jenkins.enabled
      ? { storage: build.jenkins.storage, storageClass: cluster.storageClass, chartPath: build.jenkins.chartPath }
      : undefined,
  };
}
