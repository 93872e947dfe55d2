import { expect } from "chai";
import * as yaml from "js-yaml";
import { jobConfigMapName } from "../../../components/build/jenkins";
import { planBranchJobs } from "../../../src/build/runs";
import { parseSettings } from "../../../src/settings/schema";
import { planTenants } from "../../../src/tenancy/tenants";
import { CHARTS, IMAGES } from "../../../src/versions";
import { ProgramRun, runStack, stackFileConfig, TEKTON_FIXTURES } from "../../../tools/mockedProgram";

const T = {
  configFile: "kubernetes:yaml:ConfigFile",
  task: "kubernetes:tekton.dev/v1:Task",
  pipeline: "kubernetes:tekton.dev/v1:Pipeline",
  deployment: "kubernetes:apps/v1:Deployment",
  service: "kubernetes:core/v1:Service",
  configMap: "kubernetes:core/v1:ConfigMap",
  roleBinding: "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
  clusterRoleBinding: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
  role: "kubernetes:rbac.authorization.k8s.io/v1:Role",
  runtimeClass: "kubernetes:node.k8s.io/v1:RuntimeClass",
  daemonSet: "kubernetes:apps/v1:DaemonSet",
  nodePatch: "kubernetes:core/v1:NodePatch",
  remoteCommand: "command:remote:Command",
  release: "kubernetes:helm.sh/v3:Release",
  cronJob: "kubernetes:batch/v1:CronJob",
  password: "random:index/randomPassword:RandomPassword",
};
const STACKS = ["minikube", "cengn", "starlingx"] as const;
const SHARED = "stx-system";

for (const stack of STACKS) {
  describe(`build machinery on the ${stack} stack`, () => {
    let run: ProgramRun;
    const settings = parseSettings(stackFileConfig(stack));
    const jobs = planBranchJobs(settings.projects, settings.build.imageBuilds);
    const tenants = planTenants(settings).map((p) => p.namespace);

    before(async () => {
      run = await runStack(stack);
    });

    it("installs Tekton Pipelines, Triggers, interceptors and Dashboard from the (overridable) release manifests", () => {
      const files = run.ofType(T.configFile).map((c) => c.inputs.file);
      expect(files).to.have.members(
        ["tekton-pipelines", "tekton-triggers", "tekton-interceptors", "tekton-dashboard"].map((m) => `${TEKTON_FIXTURES}/${m}.yaml`),
      );
    });

    it("creates our Tasks and the Pipeline only after Tekton's webhook Deployment and Service, and its registration", () => {
      const webhook = run.object(T.deployment, "tekton-pipelines-webhook", "tekton-pipelines");
      run.object(T.service, "tekton-pipelines-webhook", "tekton-pipelines");
      const tektonObjects = [...run.objects(T.task, SHARED), ...run.objects(T.pipeline, SHARED)];
      expect(tektonObjects.length).to.equal(11);
      for (const object of tektonObjects) expect(object.options.dependsOn, object.name).to.include(webhook.name);
      // Both the Deployment and the Service (same logical name, different type) are awaited.
      const pipeline = run.object(T.pipeline, "stx-build", SHARED);
      expect(pipeline.options.dependsOn.filter((d) => d === webhook.name)).to.have.length(2);
      // And the webhook configurations, awaited until the webhook registered its rules and CA.
      expect(pipeline.options.dependsOn).to.include.members(["validation.webhook.pipeline.tekton.dev", "webhook.pipeline.tekton.dev"]);
    });

    it("installs Triggers and the Dashboard after Pipelines, and nothing into a namespace before it exists", () => {
      const webhook = run.object(T.deployment, "tekton-pipelines-webhook", "tekton-pipelines").name;
      expect(run.object(T.deployment, "tekton-triggers-webhook", "tekton-triggers").options.dependsOn).to.include(webhook);
      expect(run.object(T.deployment, "tekton-dashboard", "tekton-dashboard").options.dependsOn).to.include(webhook);
      expect(run.object(T.task, "stx-publish", SHARED).options.dependsOn).to.include("stx-shared");
      for (const ns of tenants) {
        // TenantNamespace components are named after their namespace; depending on one waits for its children.
        expect(run.object(T.roleBinding, "tekton-dashboard-tenant", ns).options.dependsOn).to.include(ns);
      }
    });

    it("declares the shared pipeline with every stage, the finally step and the usual switches", () => {
      const spec = run.object(T.pipeline, "stx-build", SHARED).inputs.spec;
      expect(spec.tasks).to.have.length(10);
      expect(spec.finally[0].name).to.equal("record-result");
      const params = spec.params.map((p: { name: string }) => p.name);
      expect(params).to.include.members(["BUILD_PACKAGES", "BUILD_ISO", "BUILD_RT", "CLEAN_PACKAGES", "FORCE_BUILD", "DRY_RUN", "MANIFEST_URL", "MANIFEST_BRANCH", "RELEASE_ID"]);
      const defaults = Object.fromEntries(spec.params.map((p: { name: string; default?: string }) => [p.name, p.default]));
      // Clearly marked in-cluster defaults until the object store and Pulp are wired in.
      expect(defaults.OBJECT_STORE_ENDPOINT).to.equal(`http://minio.${SHARED}.svc:9000`);
      expect(defaults.OBJECT_STORE_SECRET).to.equal("object-store-credentials");
      expect(defaults.PULP_URL).to.equal(`http://pulp-api.${SHARED}.svc:24817`);
    });

    it("downloads Debian from the stack's pinned snapshot through its Pulp mirror, and gives every build namespace the Service docker build reaches aptly by", () => {
      const defaults = Object.fromEntries(run.object(T.pipeline, "stx-build", SHARED).inputs.spec.params.map((p: { name: string; default?: string }) => [p.name, p.default]));
      expect(defaults.DEBIAN_SNAPSHOT).to.equal(`http://pulp-content.${SHARED}.svc:24816/pulp/content/debian-snapshot/${settings.build.debianSnapshot}`);
      expect(defaults.DEBIAN_SECURITY_SNAPSHOT).to.equal(`http://pulp-content.${SHARED}.svc:24816/pulp/content/debian-security-snapshot/${settings.build.debianSnapshot}`);
      for (const namespace of new Set([...tenants, ...jobs.map((j) => j.namespace)])) {
        const service = run.object(T.service, "stx-build-services", namespace);
        expect(service.inputs.spec.selector).to.deep.equal({ "stx-build-cluster.io/build-services": "true" });
      }
    });

    it("configures Tekton for a shared farm: timeouts, pod template, cluster resolver limited to the shared namespace", () => {
      const defaults = run.object(T.configMap, "config-defaults", "tekton-pipelines").inputs.data;
      expect(defaults["default-timeout-minutes"]).to.equal(String(settings.build.tekton.defaultTimeoutMinutes));
      expect(defaults["default-pod-template"]).to.contain("RuntimeDefault");
      expect(defaults._example).to.equal("fixture");
      const resolvers = run.object(T.configMap, "resolvers-feature-flags", "tekton-pipelines-resolvers").inputs.data;
      expect(resolvers["enable-cluster-resolver"]).to.equal("true");
      const cluster = run.object(T.configMap, "cluster-resolver-config", "tekton-pipelines-resolvers").inputs.data;
      expect(cluster["allowed-namespaces"]).to.equal(SHARED);
      expect(run.object(T.configMap, "feature-flags", "tekton-pipelines").inputs.data["enable-api-fields"]).to.equal("beta");
    });

    it("shows the Dashboard read-only and only for tenant namespaces", () => {
      const dashboard = run.object(T.deployment, "tekton-dashboard", "tekton-dashboard");
      const args: string[] = dashboard.inputs.spec.template.spec.containers[0].args;
      expect(args).to.include("--read-only=true").and.not.include("--read-only=false");
      expect(args).to.include(`--namespaces=${tenants.join(",")}`);
      for (const ns of tenants) run.object(T.roleBinding, "tekton-dashboard-tenant", ns);
      const cluster = run.ofType(T.clusterRoleBinding).map((b) => b.inputs.metadata.name);
      expect(cluster).to.not.include("tekton-dashboard-tenant");
    });

    it("exposes the login-less Dashboard nowhere: no Ingress, NodePort or LoadBalancer leads to it", () => {
      expect(settings.build.tekton.dashboardAccess).to.equal("port-forward");
      const service = run.object(T.service, "tekton-dashboard", "tekton-dashboard");
      expect(service.inputs.spec.type ?? "ClusterIP").to.equal("ClusterIP");
      for (const s of run.ofType(T.service)) {
        expect([s.inputs.metadata.name, s.inputs.spec?.type ?? "ClusterIP"]).to.not.deep.equal(["tekton-dashboard", "ExternalName"]);
      }
      const ingresses = run.ofType("kubernetes:networking.k8s.io/v1:Ingress");
      expect(JSON.stringify(ingresses.map((i) => i.inputs))).to.not.contain("tekton-dashboard");
      // Reports carry no link to a Dashboard people cannot open.
      for (const cm of run.ofType(T.configMap).filter((c) => c.inputs.data?.["start.sh"])) {
        expect(cm.inputs.data["start.sh"]).to.contain("no Dashboard link: build.tekton.dashboardAccess");
      }
    });

    if (stack === "minikube") {
      it("exposes it on its NodePort when a one-user stack sets dashboardAccess: public", async () => {
        const open = await runStack(stack, { build: { tekton: { dashboardAccess: "public" } } });
        const service = open.object(T.service, "tekton-dashboard", "tekton-dashboard");
        expect(service.inputs.spec.type).to.equal("NodePort");
        expect(service.inputs.spec.ports[0].nodePort).to.equal(30097);
      });
    }

    it(stack !== "cengn" ? "has no sysbox (unsupported on minikube and StarlingX hosts)" : "installs sysbox on the configured nodes", () => {
      const runtimeClasses = run.ofType(T.runtimeClass);
      if (stack !== "cengn") {
        expect(runtimeClasses).to.be.empty;
        expect(run.ofType(T.daemonSet)).to.be.empty;
        expect(run.ofType(T.nodePatch).concat(run.ofType(T.remoteCommand))).to.be.empty;
        return;
      }
      const rc = run.object(T.runtimeClass, "sysbox-runc");
      expect(rc.inputs.handler).to.equal("sysbox-runc");
      expect(rc.inputs.scheduling.nodeSelector["sysbox-install"]).to.equal("yes");
      const ds = run.object(T.daemonSet, "sysbox-deploy-k8s", "kube-system");
      expect(ds.inputs.spec.template.spec.containers[0].image).to.equal(IMAGES.sysboxDeploy);
      expect(ds.inputs.spec.template.spec.nodeSelector).to.deep.equal({ "sysbox-install": "yes" });
      const nodes = settings.cluster.nodes.map((n) => n.name);
      if (stack === "cengn") {
        const patched = run.ofType(T.nodePatch).map((p) => [p.inputs.metadata.name, p.inputs.metadata.labels["sysbox-install"]]);
        expect(patched).to.have.deep.members(nodes.map((n) => [n, "yes"]));
        expect(run.ofType(T.remoteCommand)).to.be.empty;
      } else {
        const commands = run.ofType(T.remoteCommand);
        expect(commands.map((c) => c.inputs.create)).to.have.members(
          nodes.map((n) => `source /etc/platform/openrc && system host-label-assign --overwrite '${n}' sysbox-install=yes`),
        );
        expect(commands[0].inputs.connection.host).to.equal("10.10.10.2");
        expect(run.ofType(T.nodePatch)).to.be.empty;
      }
      for (const binding of run.ofType(T.clusterRoleBinding).filter((b) => b.inputs.metadata.name !== "stx-reviewer")) {
        expect(binding.inputs.subjects).to.deep.equal([{ kind: "ServiceAccount", name: "sysbox-label-node", namespace: "kube-system" }]);
      }
    });

    if (stack === "cengn") {
      it("runs Jenkins from the pinned official chart with a generated admin password", () => {
        const release = run.ofType(T.release)[0];
        expect(release.inputs).to.deep.include({ chart: "jenkins", version: CHARTS.jenkins.version, namespace: SHARED });
        expect(release.inputs.repositoryOpts.repo).to.equal("https://charts.jenkins.io");
        expect(release.inputs.values.controller.admin.existingSecret).to.equal("jenkins-admin");
        // Every container of the controller pod meets the shared namespace's "restricted" level.
        for (const sc of [release.inputs.values.controller.containerSecurityContext, release.inputs.values.controller.sidecars.configAutoReload.containerSecurityContext]) {
          expect(sc).to.deep.include({ runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
        }
        expect(jenkinsPasswords(run)).to.have.length(1);
        expect(JSON.stringify(release.inputs.values)).to.not.contain("random-");
      });

      it("configures one Jenkins job per project branch, with the build switches and a daily trigger where scheduled", () => {
        const release = run.ofType(T.release)[0];
        const casc = yaml.load(release.inputs.values.controller.JCasC.configScripts["stx-jobs"]) as { jobs: { script: string }[] };
        expect(casc.jobs).to.have.length(jobs.length);
        for (const job of jobs) {
          const script = casc.jobs.find((j) => j.script.startsWith(`pipelineJob('${job.jobName}')`))?.script;
          expect(script, job.jobName).to.be.a("string");
          for (const p of ["BUILD_PACKAGES", "BUILD_ISO", "BUILD_RT", "CLEAN_PACKAGES", "FORCE_BUILD", "DRY_RUN"]) expect(script).to.contain(`booleanParam('${p}'`);
          expect(script).to.contain("disableConcurrentBuilds()");
          expect(script).to.contain("sh /run/build/start.sh");
          // JCasC resolves ${...} in its YAML and the chart passes it through Helm's tpl: neither may appear.
          expect(script).to.not.contain("${");
          expect(script).to.not.contain("{{");
          if (job.schedule) expect(script).to.contain(`cron { spec('${job.schedule}') }`);
          else expect(script).to.not.contain("cron {");
          const config = run.object(T.configMap, jobConfigMapName(job), SHARED).inputs.data;
          expect(script).to.contain(`"name":"${jobConfigMapName(job)}"`);
          const pr = JSON.parse(config["pipelinerun.json"]);
          expect(pr.metadata.namespace).to.equal(job.namespace);
          expect(pr.spec.params).to.deep.include({ name: "MANIFEST_BRANCH", value: job.branch });
          expect(config["start.sh"]).to.contain(`ns='${job.namespace}'`);
        }
        expect(scheduledBuilds(run)).to.be.empty;
      });

      it("lets Jenkins create runs only in build namespaces", () => {
        const buildNamespaces = jobs.map((j) => j.namespace);
        const bindings = run.ofType(T.roleBinding).filter((b) => b.inputs.metadata.name === "jenkins-build-starter");
        expect(bindings.map((b) => b.inputs.metadata.namespace)).to.have.members(buildNamespaces);
        for (const b of bindings) {
          expect(b.inputs.roleRef).to.deep.include({ kind: "ClusterRole", name: "stx-build-starter" });
          expect(b.inputs.subjects).to.deep.equal([{ kind: "ServiceAccount", name: "jenkins-agent", namespace: SHARED }]);
        }
        const userNamespaces = planTenants(settings).filter((p) => p.kind === "user").map((p) => p.namespace);
        for (const b of bindings) expect(userNamespaces).to.not.include(b.inputs.metadata.namespace);
      });
    } else {
      it("has no Jenkins", () => {
        expect(run.ofType(T.release)).to.be.empty;
        expect(jenkinsPasswords(run)).to.be.empty;
      });
    }

    it("starts a daily build per scheduled branch where Jenkins is off, with RBAC confined to its namespace", () => {
      const scheduled = settings.build.jenkins.enabled ? [] : jobs.filter((j) => j.schedule && j.canBuild);
      const crons = scheduledBuilds(run);
      expect(crons.map((c) => c.inputs.metadata.namespace)).to.have.members(scheduled.map((j) => j.namespace));
      for (const job of scheduled) {
        const cron = run.object(T.cronJob, "scheduled-build", job.namespace);
        expect(cron.inputs.spec.schedule).to.equal(job.schedule);
        expect(cron.inputs.spec.concurrencyPolicy).to.equal("Forbid");
        expect(cron.inputs.spec.jobTemplate.spec.template.spec.containers[0].image).to.equal(IMAGES.kubectl);
        const role = run.object(T.role, "build-scheduler", job.namespace);
        expect(role.inputs.rules).to.deep.equal([
          { apiGroups: ["tekton.dev"], resources: ["pipelineruns"], verbs: ["create", "get", "list", "watch", "delete"] },
        ]);
        const binding = run.object(T.roleBinding, "build-scheduler", job.namespace);
        expect(binding.inputs.subjects).to.deep.equal([{ kind: "ServiceAccount", name: "build-scheduler", namespace: job.namespace }]);
        const data = run.object(T.configMap, "scheduled-build", job.namespace).inputs.data;
        const pr = JSON.parse(data["pipelinerun.json"]);
        expect(data["start.sh"]).to.contain(`ns='${job.namespace}'`);
        expect(cron.inputs.spec.jobTemplate.spec.template.spec.containers[0].env).to.deep.include({ name: "TRIGGER", value: "scheduled" });
        expect(pr.metadata.annotations["tekton.dev/auto-cleanup-pvc"]).to.equal("true");
        expect(pr.spec.params).to.deep.include({ name: "TRIGGER", value: "scheduled" });
        expect(pr.spec.params).to.deep.include({ name: "RELEASE_ID", value: job.releaseId });
      }
    });
  });
}

describe("build machinery with settings changed", () => {
  it("schedules minikube builds with a CronJob and runs them with the docker-in-docker fallback", async () => {
    const run = await runStack("minikube", {
      projects: [{ name: "starlingx", manifestUrl: "https://opendev.org/starlingx/manifest.git", branches: [
        { name: "master", schedule: "0 4 * * *", maintainers: ["developer"], podSecurity: "privileged" },
        { name: "r/stx.10.0", schedule: "0 5 * * *", maintainers: ["developer"] },
      ] }],
    });
    const crons = scheduledBuilds(run);
    // The baseline namespace cannot run the privileged fallback, so it gets no schedule.
    expect(crons.map((c) => c.inputs.metadata.namespace)).to.deep.equal(["build-starlingx-master"]);
    const pr = JSON.parse(run.object(T.configMap, "scheduled-build", "build-starlingx-master").inputs.data["pipelinerun.json"]);
    expect(pr.spec.taskRunSpecs.map((t: any) => t.pipelineTaskName)).to.deep.equal(["get-sources"]);
    const images = run.object(T.task, "stx-build-app-images", SHARED);
    expect(images.inputs.spec.sidecars.find((c: any) => c.name === "docker-daemon").securityContext).to.deep.equal({ privileged: true });
  });

  it("labels no StarlingX node for sysbox, which cannot run there, and turns system stages off", async () => {
    const run = await runStack("starlingx", { starlingxSshPassword: "s3cret" });
    expect(run.ofType(T.remoteCommand)).to.be.empty;
    const pipeline = run.object(T.pipeline, "stx-build", SHARED);
    const defaultOf = (name: string) => pipeline.inputs.spec.params.find((p: any) => p.name === name).default;
    expect(["BUILD_PACKAGES", "BUILD_ISO", "BUILD_IMAGES"].map(defaultOf)).to.deep.equal(["false", "false", "false"]);
  });


  it("installs the kaniko Task for the tools images only when build.toolsImageBuild is on, with the stack's registry", async () => {
    const off = await runStack("minikube");
    expect(off.objects(T.task, SHARED).map((t) => t.inputs.metadata.name)).to.not.include("stx-tools-images");
    const run = await runStack("minikube", { build: { toolsImageBuild: { enabled: true } } });
    const task = run.object(T.task, "stx-tools-images", SHARED);
    const defaultOf = (name: string) => task.inputs.spec.params.find((p: any) => p.name === name).default;
    expect(defaultOf("KANIKO_IMAGE")).to.equal(IMAGES.kaniko);
    // The registry as pods reach it, plain HTTP inside the cluster (our own registry's Service).
    expect([defaultOf("REGISTRY"), defaultOf("INSECURE_REGISTRY")]).to.deep.equal(["registry.stx-system.svc:5000", "registry.stx-system.svc:5000"]);
    expect([defaultOf("TAG"), defaultOf("DEBIAN_SNAPSHOT"), defaultOf("REGISTRY_SECRET")]).to.deep.equal(["master-debian-trixie-amd64-52d6081eb456", "20260516T111458Z", "registry-credentials"]);
    expect(task.inputs.spec.steps.map((s: any) => s.securityContext.privileged)).to.deep.equal([false, false, false]);
  });

  it("labels only the nodes named in build.sysboxNodes", async () => {
    const run = await runStack("cengn", { build: { sysboxNodes: ["build-02"] } });
    expect(run.ofType(T.nodePatch).map((p) => p.inputs.metadata.name)).to.deep.equal(["build-02"]);
  });

  it("installs Jenkins from a local copy of the chart when build.jenkins.chartPath is set", async () => {
    const run = await runStack("cengn", { build: { jenkins: { chartPath: "/mirror/jenkins-5.8.73.tgz" } } });
    const release = run.ofType(T.release)[0];
    expect(release.inputs.chart).to.equal("/mirror/jenkins-5.8.73.tgz");
    expect(release.inputs).to.not.have.property("repositoryOpts");
  });

  it("pins one Tekton Pipelines version for the release URL and the cluster tests' toolchain", async () => {
    const { MANIFESTS } = await import("../../../src/versions");
    const pins = (await import("fs")).readFileSync(require.resolve("../../../../scripts/toolchain.versions"), "utf8");
    const version = /^TEKTON_PIPELINE_VERSION=(\S+)$/m.exec(pins)?.[1];
    expect(MANIFESTS["tekton-pipelines"].url).to.contain(`/pipeline/previous/v${version}/release.yaml`);
  });

  it("makes Pulumi await the registration of Tekton's admission webhooks, and no other object", async () => {
    const { awaitWebhookRegistration } = await import("../../../components/build/tekton");
    const config = (kind: string, name: string) =>
      ({ apiVersion: "admissionregistration.k8s.io/v1", kind, metadata: { name } as { name: string; annotations?: Record<string, string> }, webhooks: [{ name }] });
    const validation = config("ValidatingWebhookConfiguration", "validation.webhook.pipeline.tekton.dev");
    const defaulting = config("MutatingWebhookConfiguration", "webhook.pipeline.tekton.dev");
    const other = config("ValidatingWebhookConfiguration", "config.webhook.pipeline.tekton.dev");
    for (const obj of [validation, defaulting, other]) awaitWebhookRegistration(obj, {});
    for (const obj of [validation, defaulting]) {
      expect(JSON.parse(obj.metadata.annotations?.["pulumi.com/waitFor"] ?? "[]"))
        .to.deep.equal(["jsonpath={.webhooks[0].clientConfig.caBundle}", "jsonpath={.webhooks[0].rules}"]);
    }
    expect(other.metadata).to.not.have.property("annotations");
  });

  it("creates a manifest's namespaced objects after the Namespace it declares (the provider does not retry them)", async () => {
    const { afterOwnNamespaces } = await import("../../../components/build/tekton");
    const asked: string[] = [];
    const transform = afterOwnNamespaces((ns) => {
      asked.push(ns);
      return ns as never;
    });
    const opts = (obj: object) => {
      const o: { dependsOn?: unknown } = {};
      transform(obj, o as never);
      return o.dependsOn;
    };
    expect(opts({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "early", namespace: "tekton-pipelines" } })).to.equal(undefined);
    expect(opts({ apiVersion: "v1", kind: "Namespace", metadata: { name: "tekton-pipelines" } })).to.equal(undefined);
    expect(opts({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "tekton-pipelines" } })).to.deep.equal(["tekton-pipelines"]);
    expect(opts({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "elsewhere" } })).to.equal(undefined);
    expect(opts({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "r" } })).to.equal(undefined);
    expect(asked).to.deep.equal(["tekton-pipelines"]);
  });

  it("orders Tekton's release around its config-validating webhook", async () => {
    const { webhookOrder } = await import("../../../components/build/tekton");
    const transform = webhookOrder((ns, name) => `${ns}/${name}` as never, () => ["webhook" as never], () => "deployment" as never, () => "service" as never);
    const deps = (obj: object) => {
      const o: { dependsOn?: unknown } = {};
      transform(obj, o as never);
      return o.dependsOn;
    };
    const part = { "app.kubernetes.io/part-of": "tekton-pipelines" };
    const cm = (name: string, namespace: string) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace, labels: part } });
    const deployment = (name: string) => ({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name, namespace: "tekton-pipelines" } });
    expect(deps(cm("feature-flags", "tekton-pipelines"))).to.equal(undefined);
    expect(deps(cm("resolvers-feature-flags", "tekton-pipelines-resolvers"))).to.equal(undefined);
    expect(deps(deployment("tekton-pipelines-controller"))).to.deep.equal(["tekton-pipelines/feature-flags"]);
    expect(deps(deployment("tekton-pipelines-webhook")))
      .to.deep.equal(["tekton-pipelines/feature-flags", "tekton-pipelines-resolvers/resolvers-feature-flags"]);
    expect(deps(cm("late", "tekton-pipelines-resolvers"))).to.deep.equal(["webhook"]);
    const service = { service: { name: "tekton-pipelines-webhook", namespace: "tekton-pipelines" } };
    expect(deps({ apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingWebhookConfiguration", metadata: { name: "config.webhook.pipeline.tekton.dev" },
      webhooks: [{ name: "config.webhook.pipeline.tekton.dev", clientConfig: service }] })).to.deep.equal(["deployment", "service"]);
    expect(deps({ apiVersion: "v1", kind: "Service", metadata: { name: "tekton-pipelines-webhook", namespace: "tekton-pipelines" } })).to.deep.equal(["deployment"]);
  });
});

/** The CronJobs that start builds (other components, such as retention, have CronJobs of their own). */
function scheduledBuilds(run: ProgramRun) {
  return run.ofType(T.cronJob).filter((c) => c.inputs.metadata.name === "scheduled-build");
}

function jenkinsPasswords(run: ProgramRun) {
  return run.ofType(T.password).filter((p) => p.name.includes("jenkins"));
}
