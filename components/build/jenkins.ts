import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as yaml from "js-yaml";
import { standardLabels } from "../../src/labels";
import { BranchJob, branchRunParams, labelValue, pipelineRunManifest, RUN_LABELS, RunOptions, STATE_CLAIM } from "../../src/build/runs";
import { SWITCHES } from "../../src/build/params";
import { starterScript } from "../../src/build/starter";
import { CHARTS, IMAGES } from "../../src/versions";
import { groovyString as g } from "../../src/quoting";
import { inheritedDependencies } from "../dependencies";

export interface JenkinsArgs {
  readonly namespace: string;
  /** One job per project branch; scheduled branches also get a cron trigger. */
  readonly jobs: readonly BranchJob[];
  readonly run: Omit<RunOptions, "namespace" | "generateName" | "params" | "labels">;
  readonly storageClass: string;
  readonly storage: string;
  /** A local copy of the pinned chart (archive or directory); the chart repository when undefined. */
  readonly chartPath?: string;
  /** Base URL of the Tekton Dashboard, for links in the job's report. */
  readonly dashboardUrl: string;
  /** Base URL the artifacts are browsed at, for links in the job's report. */
  readonly artifactsUrl: string;
  readonly distro: string;
  /** Finished runs kept per branch. */
  readonly keepRuns: number;
}

export const JENKINS_AGENT_ACCOUNT = "jenkins-agent";
/** What Jenkins may do in a build namespace: start runs and follow them. Bound per namespace only. */
export const BUILD_STARTER_ROLE = "stx-build-starter";

/**
 * Jenkins from the official chart, configured as code: one job per project branch that starts the
 * build's PipelineRun, follows it and reports the result with links to logs and artifacts. Its
 * agents may create runs only in build namespaces (a RoleBinding in each; nothing cluster-wide).
 */
export class Jenkins extends pulumi.ComponentResource {
  /** Secret holding the generated admin password. */
  public readonly adminSecret: pulumi.Output<string>;

  constructor(name: string, args: JenkinsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stx:build:Jenkins", name, {}, opts);
    const child = { parent: this, dependsOn: inheritedDependencies(opts) };
    const labels = standardLabels("jenkins");

    const password = new random.RandomPassword(`${name}-admin-password`, { length: 32, special: false }, child);
    const admin = new k8s.core.v1.Secret(`${name}-admin`, {
      metadata: { name: "jenkins-admin", namespace: args.namespace, labels },
      stringData: { "jenkins-admin-user": "admin", "jenkins-admin-password": password.result },
    }, child);

    const agent = new k8s.core.v1.ServiceAccount(`${name}-agent`, {
      metadata: { name: JENKINS_AGENT_ACCOUNT, namespace: args.namespace, labels },
    }, child);
    const starter = new k8s.rbac.v1.ClusterRole(`${name}-starter`, {
      metadata: { name: BUILD_STARTER_ROLE, labels },
      rules: [
        { apiGroups: ["tekton.dev"], resources: ["pipelineruns"], verbs: ["create", "get", "list", "watch"] },
        { apiGroups: ["tekton.dev"], resources: ["taskruns"], verbs: ["get", "list", "watch"] },
        { apiGroups: [""], resources: ["pods", "pods/log"], verbs: ["get", "list", "watch"] },
      ],
    }, child);
    for (const namespace of [...new Set(args.jobs.map((j) => j.namespace))]) {
      new k8s.rbac.v1.RoleBinding(`${name}-starter-${namespace}`, {
        metadata: { name: "jenkins-build-starter", namespace, labels },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: starter.metadata.name },
        subjects: [{ kind: "ServiceAccount", name: agent.metadata.name, namespace: args.namespace }],
      }, child);
    }

    for (const job of args.jobs) {
      const run = pipelineRunManifest({
        ...args.run,
        namespace: job.namespace,
        generateName: "jenkins-",
        stateClaim: STATE_CLAIM,
        params: branchRunParams(job, "scheduled"),
        labels: { [RUN_LABELS.project]: labelValue(job.project), [RUN_LABELS.branch]: labelValue(job.branch), [RUN_LABELS.trigger]: "jenkins" },
      });
      new k8s.core.v1.ConfigMap(`${name}-job-${job.namespace}`, {
        metadata: { name: jobConfigMapName(job), namespace: args.namespace, labels },
        data: {
          "pipelinerun.json": JSON.stringify(run, null, 2),
          "start.sh": starterScript({ ...job, distro: args.distro, keepRuns: args.keepRuns, dashboardUrl: args.dashboardUrl, artifactsUrl: args.artifactsUrl }),
        },
      }, child);
    }

    new k8s.helm.v3.Release(`${name}-release`, {
      name: "jenkins",
      namespace: args.namespace,
      ...chartSource(args.chartPath),
      values: jenkinsValues(args, admin.metadata.name),
    }, { ...child, dependsOn: [...child.dependsOn, admin, agent] });

    this.adminSecret = admin.metadata.name;
    this.registerOutputs({ adminSecret: this.adminSecret });
  }
}

/** The pinned chart from its repository, or a local copy of it (air-gapped sites, tests). */
export function chartSource(chartPath?: string): Pick<k8s.helm.v3.ReleaseArgs, "chart" | "version" | "repositoryOpts"> {
  if (chartPath !== undefined) return { chart: chartPath };
  return { chart: CHARTS.jenkins.chart, version: CHARTS.jenkins.version, repositoryOpts: { repo: CHARTS.jenkins.repo } };
}

/** Helm values: restricted-compliant pods, persistence, JCasC with the admin from our Secret and the jobs. */
export function jenkinsValues(args: JenkinsArgs, adminSecret: pulumi.Input<string>): Record<string, unknown> {
  return {
    controller: {
      admin: { existingSecret: adminSecret, userKey: "jenkins-admin-user", passwordKey: "jenkins-admin-password" },
      containerSecurityContext: { ...RESTRICTED, runAsUser: 1000, runAsGroup: 1000, readOnlyRootFilesystem: true },
      podSecurityContextOverride: { runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
      // The chart's JCasC reload sidecar (and its init container) keep capabilities by default,
      // which the shared namespace's "restricted" Pod Security level refuses.
      sidecars: { configAutoReload: { containerSecurityContext: { ...RESTRICTED, readOnlyRootFilesystem: true } } },
      // Job DSL turns the jobs below into Jenkins jobs.
      additionalPlugins: ["job-dsl"],
      JCasC: {
        configScripts: {
          "stx-jobs": yaml.dump({ jobs: args.jobs.map((job) => ({ script: jobDsl(job) })) }, { lineWidth: -1, noRefs: true }),
        },
      },
    },
    persistence: { enabled: true, storageClass: args.storageClass, size: args.storage },
    serviceAccountAgent: { create: false, name: JENKINS_AGENT_ACCOUNT },
    agent: { enabled: true, podRetention: "Never" },
  };
}

const RESTRICTED = {
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

/** Jenkins parameters shown on every job: the pipeline's switches, same names, same defaults. */
export const JENKINS_PARAMETERS = Object.keys(SWITCHES) as (keyof typeof SWITCHES)[];

/** ConfigMap (in the Jenkins namespace) holding a job's PipelineRun template and start script. */
export function jobConfigMapName(job: BranchJob): string {
  return `jenkins-job-${job.namespace.replace(/^build-/, "")}`.slice(0, 63).replace(/-+$/, "");
}

/**
 * Job DSL of one branch's job: the switches as parameters, the daily trigger when scheduled, no
 * concurrent builds. Every value enters as a Groovy string literal (src/quoting.ts), so a name
 * cannot close it; the Jenkinsfile only runs the shared start script and has no logic of its own.
 */
export function jobDsl(job: BranchJob): string {
  const params = JENKINS_PARAMETERS.map((p) => `    booleanParam(${g(p)}, ${SWITCHES[p].default === true}, ${g(SWITCHES[p].description)})`);
  const description = `StarlingX build of ${job.project} ${job.branch}, published as ${job.releaseId}; unchanged sources are skipped unless FORCE_BUILD is set`;
  return [
    `pipelineJob(${g(job.jobName)}) {`,
    `  description(${g(description)})`,
    "  properties {",
    "    disableConcurrentBuilds()",
    ...(job.schedule ? [`    pipelineTriggers { triggers { cron { spec(${g(job.schedule)}) } } }`] : []),
    "  }",
    "  parameters {",
    ...params,
    "  }",
    "  definition {",
    "    cps {",
    "      sandbox()",
    `      script(${g(jenkinsfile(job))})`,
    "    }",
    "  }",
    "}",
  ].join("\n");
}

/** The Jenkinsfile: an agent pod with kubectl and the job's ConfigMap, running the start script. */
export function jenkinsfile(job: BranchJob): string {
  const pod = {
    spec: {
      serviceAccountName: JENKINS_AGENT_ACCOUNT,
      securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } },
      containers: [
        { name: "jnlp", securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } } },
        {
          name: "kubectl",
          image: IMAGES.kubectl,
          command: ["sleep"],
          args: ["infinity"],
          env: [{ name: "HOME", value: "/tmp" }],
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
          volumeMounts: [{ name: "run", mountPath: "/run/build" }],
        },
      ],
      volumes: [{ name: "run", configMap: { name: jobConfigMapName(job) } }],
    },
  };
  return [
    "pipeline {",
    `  agent { kubernetes { yaml ${g(JSON.stringify(pod))} } }`,
    "  stages {",
    "    stage('build') {",
    "      steps { container('kubectl') { sh 'sh /run/build/start.sh' } }",
    "    }",
    "  }",
    "}",
  ].join("\n");
}
