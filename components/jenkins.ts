import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as yaml from "js-yaml";
import { standardLabels } from "../src/labels";
import { BranchJob, branchRunParams, labelValue, pipelineRunManifest, RUN_LABELS, RunOptions } from "../src/pipeline/runs";
import { SWITCHES } from "../src/pipeline/params";
import { CHARTS, IMAGES } from "../src/versions";

export interface JenkinsArgs {
  readonly namespace: string;
  /** One job per project branch; scheduled branches also get a cron trigger. */
  readonly jobs: readonly BranchJob[];
  readonly run: Omit<RunOptions, "namespace" | "generateName" | "params" | "labels">;
  readonly storageClass: string;
  readonly storage: string;
  /** Base URL of the Tekton Dashboard, for links in the job's report. */
  readonly dashboardUrl: string;
  /** Base URL the artifacts are browsed at, for links in the job's report. */
  readonly artifactsUrl: string;
  readonly distro: string;
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
    const child = { parent: this };
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

    new k8s.helm.v3.Release(`${name}-release`, {
      name: "jenkins",
      namespace: args.namespace,
      chart: CHARTS.jenkins.chart,
      version: CHARTS.jenkins.version,
      repositoryOpts: { repo: CHARTS.jenkins.repo },
      values: jenkinsValues(args, admin.metadata.name),
    }, { ...child, dependsOn: [admin, agent] });

    this.adminSecret = admin.metadata.name;
    this.registerOutputs({ adminSecret: this.adminSecret });
  }
}

/** Helm values: restricted-compliant pods, persistence, JCasC with the admin from our Secret and the jobs. */
export function jenkinsValues(args: JenkinsArgs, adminSecret: pulumi.Input<string>): Record<string, unknown> {
  const restricted = {
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
  return {
    controller: {
      admin: { existingSecret: adminSecret, userKey: "jenkins-admin-user", passwordKey: "jenkins-admin-password" },
      containerSecurityContext: { ...restricted, runAsUser: 1000, runAsGroup: 1000, readOnlyRootFilesystem: true },
      podSecurityContextOverride: { runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
      // Job DSL reads the jobs below; pipeline-utility-steps gives readJSON/writeJSON.
      additionalPlugins: ["job-dsl", "pipeline-utility-steps"],
      JCasC: {
        configScripts: {
          "stx-jobs": yaml.dump({ jobs: args.jobs.map((job) => ({ script: jobDsl(job, args) })) }, { lineWidth: -1, noRefs: true }),
        },
      },
    },
    persistence: { enabled: true, storageClass: args.storageClass, size: args.storage },
    serviceAccountAgent: { create: false, name: JENKINS_AGENT_ACCOUNT },
    agent: { enabled: true, podRetention: "Never" },
  };
}

/** Jenkins parameters shown on every job: the pipeline's switches, same names, same defaults. */
export const JENKINS_PARAMETERS = Object.keys(SWITCHES) as (keyof typeof SWITCHES)[];

/** Job DSL of one branch's job: parameters, daily trigger when scheduled, no concurrent builds. */
export function jobDsl(job: BranchJob, args: Pick<JenkinsArgs, "run" | "dashboardUrl" | "artifactsUrl" | "distro">): string {
  const params = JENKINS_PARAMETERS.map(
    (p) => `    booleanParam('${p}', ${SWITCHES[p].default}, '${SWITCHES[p].description.replace(/'/g, "\\'")}')`,
  ).join("\n");
  const trigger = job.schedule ? `  properties { pipelineTriggers { triggers { cron { spec('${job.schedule}') } } } }\n` : "";
  return [
    `pipelineJob('${job.jobName}') {`,
    `  description('StarlingX build of ${job.project} ${job.branch}, published as ${job.releaseId}')`,
    "  properties { disableConcurrentBuilds() }",
    trigger.trimEnd(),
    "  parameters {",
    params,
    "  }",
    "  definition {",
    "    cps {",
    "      sandbox()",
    `      script('''${jenkinsfile(job, args)}''')`,
    "    }",
    "  }",
    "}",
  ].filter((line) => line !== "").join("\n");
}

/** The Jenkinsfile: create the PipelineRun (schedule or hand), follow it, link logs and artifacts. */
export function jenkinsfile(job: BranchJob, args: Pick<JenkinsArgs, "run" | "dashboardUrl" | "artifactsUrl" | "distro">): string {
  const run = pipelineRunManifest({
    ...args.run,
    namespace: job.namespace,
    generateName: "jenkins-",
    params: branchRunParams(job, "manual"),
    labels: { [RUN_LABELS.project]: labelValue(job.project), [RUN_LABELS.branch]: labelValue(job.branch), [RUN_LABELS.trigger]: "jenkins" },
  });
  const template = JSON.stringify(run);
  const switches = JENKINS_PARAMETERS.map((p) => `[name: '${p}', value: "\${params.${p}}"]`).join(", ");
  return `
pipeline {
  agent { kubernetes { yaml """
spec:
  serviceAccountName: ${JENKINS_AGENT_ACCOUNT}
  containers:
  - name: kubectl
    image: ${IMAGES.kubectl}
    command: [sleep, infinity]
""" } }
  stages {
    stage('Build') {
      steps { container('kubectl') { script {
        def run = readJSON(text: '${template.replace(/'/g, "\\'")}')
        run.spec.params += [${switches}]
        if (currentBuild.getBuildCauses('hudson.triggers.TimerTrigger$TimerTriggerCause')) {
          run.spec.params.find { it.name == 'TRIGGER' }.value = 'scheduled'
        }
        writeJSON(file: 'run.json', json: run)
        def name = sh(returnStdout: true, script: 'kubectl create -f run.json -o jsonpath={.metadata.name}').trim()
        echo "Tekton run: ${args.dashboardUrl}/#/namespaces/${job.namespace}/pipelineruns/\${name}"
        def status = ''
        while (!(status in ['True', 'False'])) {
          sleep 60
          status = sh(returnStdout: true, script: "kubectl get pipelinerun \${name} -n ${job.namespace} -o jsonpath='{.status.conditions[?(@.type==\\"Succeeded\\")].status}'").trim()
        }
        def date = sh(returnStdout: true, script: "kubectl get pipelinerun \${name} -n ${job.namespace} -o jsonpath='{.status.results[?(@.name==\\"build-date\\")].value}'").trim()
        echo "Artifacts and logs: ${args.artifactsUrl}/${job.releaseId}/${args.distro}/\${date}/outputs/"
        if (status != 'True') { error("Tekton run \${name} failed") }
      } } }
    }
  }
}`.trim();
}
