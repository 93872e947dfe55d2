import * as pulumi from "@pulumi/pulumi";
import { FarmDefaults } from "../../src/build/params";
import { BranchJob, planBranchJobs, RunOptions, STATE_CLAIM } from "../../src/build/runs";
import { builtToolsTag, sysboxNodeNames, toolImageRefs } from "../../src/settings/build";
import { downloadSettings, pulpContentUrl } from "../../src/build/downloads";
import { toolsAptMirror } from "../../src/build/toolsImages";
import { stageServiceSpec } from "../../src/build/services";
import * as k8s from "@pulumi/kubernetes";
import { Settings } from "../../src/settings/schema";
import { PIPELINE_SERVICE_ACCOUNT } from "../../src/tenancy/tenants";
import { IMAGES } from "../../src/versions";
import { BuildPipeline } from "./buildPipeline";
import { BuildTriggers } from "./buildTriggers";
import { Jenkins } from "./jenkins";
import { NodeLabelling, Sysbox } from "./sysbox";
import { sysboxFor } from "../../src/build/sysboxSupport";
import { Tekton } from "./tekton";
import { ToolsImageBuild, ToolsImageBuildArgs } from "./toolsImages";
import { DEBIAN_DISTRIBUTION } from "../../src/build/downloads";
import { inheritedDependencies } from "../dependencies";
import { CREDENTIALS_SECRET } from "../services/objectStore";
import { REGISTRY_SECRET } from "../services/registry";
import { inClusterEndpoints, NODE_PORTS, serviceEndpoints } from "../../src/services/serviceEndpoints";
import { hostIngress, ServiceExposure } from "../services/serviceKit";
import { standardLabels } from "../../src/labels";

/** The upstream Dashboard's Service (tekton-dashboard release.yaml). */
const DASHBOARD = { namespace: "tekton-dashboard", service: "tekton-dashboard", port: 9097 } as const;

/** How people reach the Dashboard: the stack's NodePort on the node, or an Ingress host. */
export type DashboardExposure = ServiceExposure;

/** Where the shared services are; BuildCluster passes the real ones once those components exist. */
export interface SharedServices {
  readonly objectStoreEndpoint: string;
  readonly artifactsBucket: string;
  /** Name of the Secret (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) that build runs read in their namespace. */
  readonly objectStoreSecret: string;
  readonly pulpUrl: string;
  readonly registry: string;
  /** Where people browse artifacts (links in Jenkins reports): the public object-store URL and bucket. */
  readonly artifactsUrl: string;
  /** The Tekton Dashboard as people open it, and how it is exposed. */
  readonly dashboardUrl: string;
  readonly dashboardExposure: DashboardExposure;
  /** Pulp's third-party mirrors, which the tools download through. */
  readonly mirrors: Settings["services"]["pulp"]["mirrors"];
}

/** The shared services as build runs reach them, from the same settings their components use. */
export function sharedServicesFor(settings: Settings): SharedServices {
  const { services, cluster } = settings;
  const inCluster = inClusterEndpoints(services, cluster.sharedNamespace);
  const bucket = services.objectStore.buckets.artifacts;
  const urls = serviceEndpoints(services, settings.apiServer);
  const publicStore = urls.objectStorePublicUrl ?? inCluster.objectStore;
  const exposure = services.exposure;
  return {
    objectStoreEndpoint: inCluster.objectStore,
    artifactsBucket: bucket,
    objectStoreSecret: CREDENTIALS_SECRET,
    pulpUrl: inCluster.pulpApi,
    registry: inCluster.registry ?? "",
    artifactsUrl: `${publicStore}/${bucket}`,
    dashboardUrl: urls.dashboardUrl,
    dashboardExposure: exposure.kind === "nodePort"
      ? { kind: "nodePort", nodePort: NODE_PORTS.dashboard }
      : {
        kind: "ingress", host: urls.ingressHosts!.dashboard, ingressClass: exposure.ingressClass,
        clusterIssuer: exposure.clusterIssuer, tlsSecret: exposure.tlsSecret,
      },
    mirrors: services.pulp.mirrors,
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
  /** The installer image for the nodes' Kubernetes version; set whenever sysboxNodes is not empty. */
  readonly sysboxImage?: string;
  readonly labelling?: NodeLabelling;
  readonly jenkins?: { readonly storage: string; readonly storageClass: string; readonly chartPath?: string };
  /** The kaniko Task that builds the tools images; undefined when build.toolsImageBuild is off. */
  readonly toolsImageBuild?: ToolsImageBuildArgs;
}

/** Tekton, the shared build Pipeline, sysbox, and the triggers (Jenkins or CronJobs) of one stack. */
export class BuildMachinery extends pulumi.ComponentResource {
  /** Resolves once every object beneath is declared (Tekton's manifests declare theirs late). */
  public readonly declared: pulumi.Output<unknown>;

  constructor(name: string, args: BuildMachineryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stx:build:BuildMachinery", name, {}, opts);
    // The shared and tenant namespaces (BuildCluster's dependsOn) must exist before anything in them.
    const child = { parent: this, dependsOn: inheritedDependencies(opts) };

    // The Dashboard shows every tenant's runs and logs and has no login: exposed only when asked
    // for ("public", refused by the settings on stacks with more than one user).
    const exposed = args.tekton.dashboard && args.tekton.dashboardAccess === "public";
    const tekton = new Tekton(`${name}-tekton`, {
      manifestDir: args.tekton.manifestDir,
      manifestSha256: args.tekton.manifestSha256,
      sharedNamespace: args.sharedNamespace,
      tenantNamespaces: args.tenantNamespaces,
      defaultTimeoutMinutes: args.tekton.defaultTimeoutMinutes,
      defaultServiceAccount: PIPELINE_SERVICE_ACCOUNT,
      dashboard: args.tekton.dashboard,
    }, { ...child, transformations: exposed ? [dashboardNodePort(args.services.dashboardExposure)] : [] });
    this.declared = tekton.declared;
    if (exposed) this.dashboardIngress(name, args.sharedNamespace, args.services.dashboardExposure);
    // Reports link to the Dashboard only where people can open it.
    const dashboardUrl = exposed ? args.services.dashboardUrl : "";

    new BuildPipeline(`${name}-pipeline`, {
      namespace: args.sharedNamespace,
      defaults: args.defaults,
      images: IMAGES,
      imageBuilds: args.imageBuilds,
      tektonReady: tekton.ready,
    }, child);

    if (args.toolsImageBuild) {
      new ToolsImageBuild(`${name}-tools-images`, { ...args.toolsImageBuild, tektonReady: tekton.ready }, child);
    }

    if (args.sysboxNodes.length > 0 && args.labelling?.kind === "starlingx" && args.labelling.password === undefined && args.labelling.privateKey === undefined) {
      pulumi.log.warn(
        "no SSH credentials for the StarlingX host: set stx-build-cluster:starlingxSshPassword or starlingxSshPrivateKey (pulumi config set --secret) or node labelling will fail",
        this,
      );
    }
    if (args.sysboxNodes.length > 0 && args.labelling) {
      if (args.sysboxImage === undefined) throw new Error("sysbox nodes without an installer image for the cluster's Kubernetes version");
      new Sysbox(`${name}-sysbox`, { nodes: args.sysboxNodes, labelling: args.labelling, image: args.sysboxImage }, { parent: this });
    }

    // Each branch keeps its build state (checkout, aptly, package tree, caches) between builds.
    for (const job of args.jobs) {
      new k8s.core.v1.PersistentVolumeClaim(`${name}-state-${job.namespace}`, {
        metadata: { name: STATE_CLAIM, namespace: job.namespace, labels: { "app.kubernetes.io/part-of": "stx-build-cluster", "app.kubernetes.io/component": "build-state" } },
        spec: {
          accessModes: ["ReadWriteOnce"],
          resources: { requests: { storage: args.run.workspaceSize } },
          ...(args.run.storageClass ? { storageClassName: args.run.storageClass } : {}),
        },
      }, child);
    }
    // docker build reaches the running image stage's aptly and files server by this Service name.
    for (const namespace of [...new Set([...args.tenantNamespaces, ...args.jobs.map((j) => j.namespace)])]) {
      const service = stageServiceSpec(namespace, { "app.kubernetes.io/part-of": "stx-build-cluster", "app.kubernetes.io/component": "build-services" });
      new k8s.core.v1.Service(`${name}-build-services-${namespace}`, service, child);
    }
    if (args.imageBuilds === "none") {
      pulumi.log.warn("build.imageBuilds is \"none\": no runtime for system containers here, so package, ISO and image stages are off by default (BUILD_PACKAGES, BUILD_ISO, BUILD_IMAGES = false)", this);
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
        dashboardUrl,
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
        dashboardUrl,
        artifactsUrl: args.services.artifactsUrl,
      }, { ...child, dependsOn: [...child.dependsOn, ...tekton.ready] });
    }
    this.registerOutputs({});
  }

  /**
   * Ingress stacks: the Dashboard under its own host. The Ingress sits in the shared namespace
   * (where the TLS Secret and the Ingress rules of the other services are) and reaches the
   * Dashboard through an ExternalName Service.
   */
  private dashboardIngress(name: string, namespace: string, exposure: DashboardExposure): void {
    if (exposure.kind !== "ingress") return;
    const labels = standardLabels("tekton-dashboard");
    const child = { parent: this };
    const service = new k8s.core.v1.Service(`${name}-dashboard`, {
      metadata: { name: "tekton-dashboard", namespace, labels },
      spec: { type: "ExternalName", externalName: `${DASHBOARD.service}.${DASHBOARD.namespace}.svc.cluster.local`, ports: [{ name: "http", port: DASHBOARD.port }] },
    }, child);
    hostIngress(`${name}-dashboard`, {
      namespace, name: "tekton-dashboard", exposure, labels,
      paths: [{ path: "/", service: service.metadata.name, port: DASHBOARD.port }],
    }, child);
  }
}

/** NodePort stacks: the Dashboard's own Service gets the stack's fixed NodePort, so its link works from a browser. */
function dashboardNodePort(exposure: DashboardExposure): pulumi.ResourceTransformation {
  return (args) => {
    const props = args.props as { metadata?: { name?: string; namespace?: string }; spec?: Record<string, unknown> };
    if (exposure.kind !== "nodePort" || args.type !== "kubernetes:core/v1:Service") return undefined;
    if (props.metadata?.name !== DASHBOARD.service || props.metadata?.namespace !== DASHBOARD.namespace) return undefined;
    const ports = ((props.spec?.ports as Record<string, unknown>[] | undefined) ?? []).map((p, i) => (i === 0 ? { ...p, nodePort: exposure.nodePort } : p));
    return { props: { ...props, spec: { ...props.spec, type: "NodePort", ports } }, opts: args.opts };
  };
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
      artifactsUrl: services.artifactsUrl,
      objectStoreSecret: services.objectStoreSecret,
      pulpUrl: services.pulpUrl,
      registry: services.registry,
      // Our own registry's Service speaks plain HTTP inside the cluster; the platform's is TLS.
      registryInsecure: settings.services.registry.mode === "own",
      registrySecret: REGISTRY_SECRET,
      toolImages: toolImageRefs(build),
      dockerImage: IMAGES.dockerDaemon,
      downloads: downloadSettings(services.mirrors, cluster.sharedNamespace, build.debianSnapshot),
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
    sysboxImage: sysboxImage(cluster.kubernetesVersion),
    labelling,
    jenkins: build.jenkins.enabled
      ? { storage: build.jenkins.storage, storageClass: cluster.storageClass, chartPath: build.jenkins.chartPath }
      : undefined,
    toolsImageBuild: toolsImageBuildArgs(settings, services),
  };
}

/** The kaniko Task's arguments, when the stack builds its tools images (and has a registry: the settings refuse it otherwise). */
function toolsImageBuildArgs(settings: Settings, services: SharedServices): ToolsImageBuildArgs | undefined {
  const { build, cluster } = settings;
  const wanted = build.toolsImageBuild;
  if (!wanted.enabled || !services.registry) return undefined;
  const downloads = downloadSettings(services.mirrors, cluster.sharedNamespace, build.debianSnapshot);
  return {
    namespace: cluster.sharedNamespace,
    kanikoImage: wanted.kanikoImage,
    gitUrl: wanted.gitUrl,
    gitRef: wanted.gitRef,
    commit: wanted.commit,
    registry: services.registry,
    registryInsecure: settings.services.registry.mode === "own",
    registrySecret: REGISTRY_SECRET,
    repository: wanted.repository,
    tag: builtToolsTag(build),
    codename: DEBIAN_DISTRIBUTION,
    // Pulp's mirror of Debian laid out by host name, else the StarlingX mirror (or Pulp's copy of
    // it) with stx-init-env's default dist path when stx.conf names none (stx-init-env:789-799).
    ...(toolsAptMirror(services.mirrors, pulpContentUrl(cluster.sharedNamespace), DEBIAN_DISTRIBUTION) ?? { osMirrorUrl: downloads.osMirrorUrl, osMirrorDistPath: "debian/debian/" }),
    debianSnapshot: build.debianSnapshot,
    registryMap: wanted.registryMap,
  };
}

/** The installer image for a Kubernetes version, when one is pinned (the settings refuse the rest). */
function sysboxImage(kubernetesVersion: string): string | undefined {
  const choice = sysboxFor(kubernetesVersion);
  return choice.ok ? choice.image : undefined;
}
