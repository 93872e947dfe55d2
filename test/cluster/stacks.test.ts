/**
 * `pulumi up` for real: the Pulumi engine (Automation API, file backend, passphrase secrets) deploys
 * each stack to a throwaway control plane on loopback, and the assertions look at the live cluster
 * as a user would (kubectl, `auth can-i`, the user's own kubeconfig). Stacks run one after another
 * on the same cluster, each ending with `pulumi destroy` (they share the namespace stx-system).
 *
 * Needs the toolchain: `bash scripts/toolchain.sh` (see docs/cluster-tests.md).
 */
import { OpMap, Stack } from "@pulumi/pulumi/automation";
import { expect } from "chai";
import * as fs from "fs";
import * as https from "https";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import { decodeConfigValue, parseSettings, Settings } from "../../src/settings";
import { ADMISSION_POLICY_NAME, hasAdmissionPolicyV1 } from "../../src/tenancy/admission";
import { OWNER_SERVICE_ACCOUNT, PIPELINE_SERVICE_ACCOUNT, planTenants, TenantPlan } from "../../src/tenancy/tenants";
import { LoopbackCluster, loopbackOverrides, requireTools, stackFileValue, toolchainBinDir } from "../../tools/loopback/cluster";
import { JENKINS_CHART, missingMessage, upstreamArtifact } from "../../tools/upstreamArtifacts";
import { projectCopy } from "../../tools/pulumiCli";
import { IMAGES } from "../../src/versions";
import { localStack, PROJECT, REPO_ROOT } from "../../tools/localStack";
import { ControlPlane, KubectlError } from "../../tools/loopback/controlPlane";
import { docsToolsImagesRun } from "./nodeKaniko";

const STACKS = ["minikube", "cengn", "starlingx"] as const;

/** Objects a real cluster of the stack's kind already has, which the program reads. */
const PLATFORM: Record<(typeof STACKS)[number], object[]> = {
  minikube: [],
  cengn: [],
  // StarlingX's platform registry login (an admin's), which must never reach a tenant namespace.
  starlingx: [{
    apiVersion: "v1", kind: "Secret", type: "kubernetes.io/dockerconfigjson",
    metadata: { name: "default-registry-key", namespace: "kube-system" },
    stringData: { ".dockerconfigjson": JSON.stringify({ auths: { "registry.local:9001": { auth: Buffer.from("admin:test").toString("base64") } } }) },
  }],
};

const SHARED = "stx-system";
const binDir = toolchainBinDir();

/** What the kept-runs quota test saw per stack (asserted once, at the end). */
interface QuotaOutcome {
  stack: string;
  namespace: string;
  keep: number;
  quota: number;
  admitted: number;
  refused?: string;
}
const quotaOutcomes: QuotaOutcome[] = [];

/** A timed-out test's `pulumi` operation is cancelled (SIGINT to the engine), so it cannot hang the run. */
let engine = new AbortController();

describe("cluster: pulumi up against a real API server", function () {
  // A program that throws can leave the engine waiting: fail the test rather than hang CI.
  this.timeout(5 * 60_000);
  let cluster: LoopbackCluster;
  let work: string;
  /** Why the Jenkins chart is not there (then cengn runs without Jenkins), or undefined. */
  let jenkinsMissing: string | undefined;

  before(async function () {
    requireTools(binDir);
    // Without the exact upstream chart, cengn deploys without Jenkins (loopbackOverrides) and only
    // the Jenkins test skips, naming the file.
    jenkinsMissing = missingMessage(await upstreamArtifact(JENKINS_CHART));
    if (jenkinsMissing) console.log(`    cengn runs without Jenkins: ${jenkinsMissing}`);
    work = fs.mkdtempSync(path.join(os.tmpdir(), "stx-stacks-"));
    cluster = new LoopbackCluster(binDir, STACKS.map((s) => stackFileValue(s, "kubeContext") ?? s), []);
    await cluster.start();
  });

  beforeEach(function () {
    engine = new AbortController();
  });

  afterEach(function () {
    // Harmless after an operation ended; stops one a timed-out test left running.
    engine.abort();
  });

  after(async function () {
    await cluster?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  for (const stackName of STACKS) {
    describe(`stack ${stackName}`, function () {
      let stack: Stack;
      let settings: Settings;
      let plans: TenantPlan[];
      let outputs: Record<string, unknown>;

      before(async function () {
        // A copy of the project files, so the tests' config changes never touch the repo.
        const workDir = projectCopy(path.join(work, stackName), stackName);
        stack = await localStack({
          stack: stackName, workDir, binDir, passphrase: "cluster-tests",
          backendDir: path.join(work, "state"), env: { KUBECONFIG: cluster.kubeconfig },
        });
        // What the platform itself provides on a real cluster of this kind.
        for (const obj of PLATFORM[stackName]) cluster.kubectl(["apply", "-f", "-"], JSON.stringify(obj));
        // Otherwise the stack file as committed (the admin kubeconfig, via $KUBECONFIG, has a context
        // named like the stack's kubeContext): only what would need the internet or a real host
        // changes, as for `npm start` (loopbackOverrides; docs/cluster-tests.md, "Overrides").
        for (const [key, value] of Object.entries(await loopbackOverrides(stackName, cluster))) {
          await stack.setConfig(`${PROJECT}:${key}`, { value }, true);
        }
        // minikube also installs the kaniko Task for the tools images (off by default everywhere).
        if (stackName === "minikube") await stack.setConfig(`${PROJECT}:build.toolsImageBuild.enabled`, { value: "true" }, true);
        settings = await stackSettings(stack);
        plans = planTenants(settings);
        // Its storage classes (the stack's default one first).
        const classes = [settings.cluster.storageClass, settings.cluster.sharedStorageClass].filter((c): c is string => c !== undefined);
        cluster.useStorageClasses(classes);
        await cluster.addNodes(settings.cluster.nodes.map((n) => ({
          ...n,
          labels: { ...n.labels, "node-role.kubernetes.io/worker": "", "topology.kubernetes.io/zone": stackName },
        })));
      });

      it("pulumi preview of the new stack plans to create every tenant", async function () {
        const preview = await stack.preview({ diff: true, signal: engine.signal });
        const creates = preview.changeSummary.create ?? 0;
        // Per tenant at least: Namespace, LimitRange, ResourceQuota, 2 ServiceAccounts, 3 RoleBindings, 2 NetworkPolicies.
        expect(creates, preview.stdout).to.be.at.least(10 * plans.length);
      });

      it("pulumi up creates the stack", async function () {
        // The official provider awaits every Deployment, StatefulSet, claim, Ingress and Helm release.
        this.timeout(10 * 60_000);
        // Users reach the API server at the address written into their kubeconfigs.
        await stack.setConfig(`${PROJECT}:apiServer`, { value: cluster.server });
        const result = await stack.up({ onOutput: progress, signal: engine.signal });
        expect(result.summary.result).to.equal("succeeded");
        outputs = Object.fromEntries(Object.entries(result.outputs).map(([k, v]) => [k, v.value]));
        expect(outputs.sharedNamespace).to.equal(SHARED);
        expect(Object.values(outputs.tenantNamespaces as object)).to.have.members(plans.map((p) => p.namespace));
        expect(result.outputs.kubeconfigs.secret, "kubeconfigs is a secret output").to.equal(true);
      });

      it("every declared tenant object exists with its settings", function () {
        for (const plan of plans) {
          const ns = JSON.parse(cluster.kubectl(["get", "namespace", plan.namespace, "-o", "json"]));
          expect(ns.metadata.labels["pod-security.kubernetes.io/enforce"], plan.namespace).to.equal(plan.podSecurity);
          expect(ns.metadata.labels["stx.starlingx.io/tenant"]).to.equal(plan.namespace);
          const limits = JSON.parse(cluster.kubectl(["get", "limitrange", "container-limits", "-n", plan.namespace, "-o", "json"]));
          const container = limits.spec.limits.find((l: { type: string }) => l.type === "Container");
          expect(Object.keys(container.max)).to.have.members(["cpu", "memory", "ephemeral-storage"]);
          const quota = JSON.parse(cluster.kubectl(["get", "resourcequota", "build-quota", "-n", plan.namespace, "-o", "json"]));
          expect(quota.spec.hard["count/pipelineruns.tekton.dev"]).to.equal(String(plan.quota.pipelineRuns));
          expect(names(cluster, "serviceaccounts", plan.namespace)).to.include.members([OWNER_SERVICE_ACCOUNT, PIPELINE_SERVICE_ACCOUNT]);
          expect(names(cluster, "rolebindings", plan.namespace)).to.include.members(["tenant-owners", "tenant-pipeline"]);
          expect(names(cluster, "networkpolicies", plan.namespace)).to.have.members(["deny-from-other-namespaces", "allowed-egress"]);
          expect(names(cluster, "rolebindings", SHARED)).to.include(`read-shared-pipelines-${plan.namespace}`);
        }
      });

      it("RBAC: a user may act in their own namespace only", function () {
        checkRbacMatrix(cluster, plans);
      });

      it("a user's kubeconfig (secret output) works against the cluster, inside its namespace only", function () {
        const kubeconfigs = outputs.kubeconfigs as Record<string, string>;
        const users = plans.filter((p) => p.issuesKubeconfig);
        expect(Object.keys(kubeconfigs)).to.have.members(users.map((p) => p.owner));
        for (const plan of users) {
          const file = path.join(work, `${stackName}-${plan.owner}.kubeconfig`);
          fs.writeFileSync(file, kubeconfigs[plan.owner], { mode: 0o600 });
          const me = JSON.parse(cluster.kubectl(["auth", "whoami", "-o", "json"], undefined, file));
          expect(me.status.userInfo.username).to.equal(`system:serviceaccount:${plan.namespace}:${OWNER_SERVICE_ACCOUNT}`);
          expect(cluster.kubectl(["get", "pods", "-o", "name"], undefined, file)).to.equal("");
          expect(() => cluster.kubectl(["get", "pods", "-n", SHARED], undefined, file)).to.throw(KubectlError, /forbidden/i);
        }
      });

      it("no tenant namespace holds the platform's registry login", function () {
        const platformLogin = Buffer.from("admin:test").toString("base64");
        for (const plan of plans) {
          const secrets = cluster.kubectl(["get", "secrets", "-n", plan.namespace, "-o", "json"]);
          const decoded = JSON.parse(secrets).items.flatMap((s: any) => Object.values(s.data ?? {}).map((v) => Buffer.from(v as string, "base64").toString()));
          expect(decoded.join("\n"), plan.namespace).to.not.contain(platformLogin);
        }
      });

      it("the Tekton Dashboard is reachable neither anonymously nor by a tenant (no NodePort, Ingress or API proxy)", async function () {
        if (!settings.build.tekton.dashboard) this.skip();
        expect(settings.build.tekton.dashboardAccess).to.equal("port-forward");
        const service = JSON.parse(cluster.kubectl(["get", "service", "-n", "tekton-dashboard", "tekton-dashboard", "-o", "json"]));
        expect(service.spec.type).to.equal("ClusterIP");
        const ingresses = cluster.kubectl(["get", "ingress", "--all-namespaces", "-o", "json"]);
        expect(ingresses).to.not.contain("tekton-dashboard");
        const exposed = JSON.parse(cluster.kubectl(["get", "service", "--all-namespaces", "-o", "json"])).items
          .filter((s: any) => ["NodePort", "LoadBalancer", "ExternalName"].includes(s.spec.type))
          .map((s: any) => `${s.metadata.namespace}/${s.metadata.name}: ${JSON.stringify(s.spec.selector ?? s.spec.externalName)}`);
        expect(exposed.join("\n")).to.not.match(/dashboard/);
        // The API server's service proxy, the one path left: anonymous is refused, and so is every tenant.
        const proxy = `${cluster.server}/api/v1/namespaces/tekton-dashboard/services/tekton-dashboard:9097/proxy/`;
        const anonymous = await new Promise<number>((resolve, reject) => {
          https.get(proxy, { rejectUnauthorized: false }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on("error", reject);
        });
        expect(anonymous).to.be.oneOf([401, 403]);
        for (const plan of plans.filter((p) => p.issuesKubeconfig)) {
          const file = path.join(work, `${stackName}-${plan.owner}.kubeconfig`);
          expect(() => cluster.kubectl(["get", "--raw", "/api/v1/namespaces/tekton-dashboard/services/tekton-dashboard:9097/proxy/"], undefined, file), plan.owner)
            .to.throw(KubectlError, /forbidden/i);
          expect(() => cluster.kubectl(["port-forward", "-n", "tekton-dashboard", "svc/tekton-dashboard", "0:9097", "--pod-running-timeout=5s"], undefined, file), plan.owner)
            .to.throw(KubectlError, /forbidden|cannot/i);
        }
      });

      it("the API server rejects a container above the LimitRange max", function () {
        const plan = plans[0];
        const pod = podManifest("too-big", { limits: { cpu: "100000" } });
        expect(() => cluster.kubectl(["create", "-n", plan.namespace, "-f", "-"], JSON.stringify(pod)))
          .to.throw(KubectlError, /maximum cpu usage per Container/);
      });

      it("the API server rejects PipelineRuns above the quota (Tekton's own CRD and webhook)", async function () {
        const plan = plans[plans.length - 1];
        const quotaKey = "count/pipelineruns.tekton.dev";
        // The quota controller must have counted the new resource before admission can enforce it
        // (it rediscovers resources every 30 s; Tekton's CRDs came with this stack's up).
        const used = () => JSON.parse(cluster.kubectl(["get", "resourcequota", "build-quota", "-n", plan.namespace, "-o", "json"])).status?.used?.[quotaKey];
        await eventually(() => used() === "0");
        // Valid for Tekton's webhook, and pending: the controller starts nothing for them.
        const run = (i: number) => JSON.stringify({
          apiVersion: "tekton.dev/v1", kind: "PipelineRun", metadata: { name: `run-${i}`, namespace: plan.namespace },
          spec: { status: "PipelineRunPending", pipelineRef: { name: "not-started" } },
        });
        for (let i = 0; i < plan.quota.pipelineRuns; i++) cluster.kubectl(["create", "-f", "-"], run(i));
        // The quota controller's resync recounts from its informer; one that ran before the informer
        // saw the new runs wrote a lower count, and admission then let one more in (seen once in CI).
        // Once it counts them all, a recount agrees.
        await eventually(() => used() === String(plan.quota.pipelineRuns));
        await new Promise((r) => setTimeout(r, 2000));
        await eventually(() => used() === String(plan.quota.pipelineRuns));
        expect(() => cluster.kubectl(["create", "-f", "-"], run(plan.quota.pipelineRuns))).to.throw(KubectlError, /exceeded quota: build-quota/);
        cluster.kubectl(["delete", "pipelineruns.tekton.dev", "--all", "-n", plan.namespace, "--wait=true"]);
      });

      it("a build namespace holding as many finished runs as its schedule keeps, plus one, still admits a new run", async function () {
        this.timeout(8 * 60_000);
        const keep = settings.build.tekton.keepRuns;
        const scheduled = new Set(settings.projects.flatMap((p) => p.branches.filter((b) => b.schedule).map((b) => buildNamespaceOf(plans, p.name, b.name))));
        const target = plans.find((p) => scheduled.has(p.namespace)) ?? plans.find((p) => p.kind === "build");
        if (!target) this.skip();
        const ns = target!.namespace;
        const quotaKey = "count/pipelineruns.tekton.dev";
        // Counted and empty: the quota test before may have used this namespace, and the quota
        // controller releases its deleted runs asynchronously (once, on starlingx, 22 still counted).
        await eventually(() => JSON.parse(cluster.kubectl(["get", "resourcequota", "build-quota", "-n", ns, "-o", "json"]))
          .status?.used?.[quotaKey] === "0", 180_000);
        // Finished at once: its only task is skipped by its `when`, so no pod is needed.
        const run = (name: string) => JSON.stringify({
          apiVersion: "tekton.dev/v1", kind: "PipelineRun", metadata: { name, namespace: ns },
          spec: { pipelineSpec: { tasks: [{
            name: "skipped", when: [{ input: "no", operator: "in", values: ["yes"] }],
            taskSpec: { steps: [{ name: "noop", image: "busybox", script: "true" }] },
          }] } },
        });
        const outcome: QuotaOutcome = { stack: stackName, namespace: ns, keep, quota: target!.quota.pipelineRuns, admitted: 0 };
        quotaOutcomes.push(outcome);
        try {
          for (let i = 0; i <= keep; i++) {
            try {
              cluster.kubectl(["create", "-f", "-"], run(`finished-${i}`));
            } catch (e) {
              outcome.refused = `finished run ${i + 1} of ${keep + 1}: ${(e as Error).message.split("\n").pop()}`;
              return;
            }
            outcome.admitted++;
          }
          await eventually(() => JSON.parse(cluster.kubectl(["get", "pipelineruns.tekton.dev", "-n", ns, "-o", "json"])).items
            .filter((r: { status?: { completionTime?: string } }) => r.status?.completionTime).length === keep + 1, 180_000);
          try {
            cluster.kubectl(["create", "-f", "-"], run("new-run"));
          } catch (e) {
            outcome.refused = `the new run: ${(e as Error).message.split("\n").pop()}`;
          }
        } finally {
          cluster.kubectl(["delete", "pipelineruns.tekton.dev", "--all", "-n", ns, "--wait=true", "--timeout=120s"]);
        }
      });

      it("Tekton's webhook serves: our Tasks and Pipeline pass its validation, an invalid Task is refused", async function () {
        // The webhook registers its rules once it runs; then every Tekton object goes through it.
        await eventually(() => (JSON.parse(cluster.kubectl(["get", "validatingwebhookconfiguration", "validation.webhook.pipeline.tekton.dev", "-o", "json"]))
          .webhooks?.[0]?.rules ?? []).length > 0);
        const bad = { apiVersion: "tekton.dev/v1", kind: "Task", metadata: { name: "invalid", namespace: SHARED }, spec: { steps: [{ name: "no-image-no-script" }] } };
        expect(() => cluster.kubectl(["create", "--dry-run=server", "-f", "-"], JSON.stringify(bad)))
          .to.throw(KubectlError, /admission webhook "validation.webhook.pipeline.tekton.dev" denied the request/);
        // What pulumi up created is what the webhook admits now (up may have raced its start-up).
        for (const kind of ["tasks.tekton.dev", "pipelines.tekton.dev"]) {
          const list = JSON.parse(cluster.kubectl(["get", kind, "-n", SHARED, "-o", "json"]));
          expect(list.items.length, kind).to.be.greaterThan(0);
          for (const item of list.items) {
            delete item.metadata.resourceVersion;
            cluster.kubectl(["replace", "--dry-run=server", "-f", "-"], JSON.stringify({ ...item, metadata: { ...item.metadata, resourceVersion: undefined } }));
          }
        }
      });

      it("a private build started as docs/build.md says becomes TaskRuns and pods that admission accepts", async function () {
        this.timeout(12 * 60_000);
        const user = plans.find((p) => p.kind === "user");
        expect(user, "a user namespace").to.not.equal(undefined);
        const runtimeClass = cluster.kubectl(["get", "runtimeclass", "sysbox-runc", "--ignore-not-found", "-o", "name"]) !== "";
        if (runtimeClass) {
          // What the sysbox installer does on a node once sysbox is up.
          for (const n of settings.cluster.nodes) cluster.kubectl(["label", "node", n.name, "sysbox-runtime=running", "sysbox-install=yes", "--overwrite"]);
        }
        const manifest = privateBuildManifest(user!.namespace, user!.owner, runtimeClass);
        const created = cluster.kubectl(["create", "-o", "jsonpath={.metadata.name}", "-f", "-"], yaml.dump(manifest));
        const ns = user!.namespace;
        try {
          // The cluster resolver fetched the shared Pipeline, and the controller started its first tasks.
          await eventually(() => cluster.kubectl(["get", "taskruns.tekton.dev", "-n", ns, "-l", `tekton.dev/pipelineRun=${created}`, "-o", "name"]) !== "", 180_000)
            .catch((e: Error) => { throw new Error(`${e.message}: ${cluster.kubectl(["get", "pipelinerun", created, "-n", ns, "-o", "yaml"])}`); });
          await eventually(() => cluster.kubectl(["get", "pods", "-n", ns, "-l", `tekton.dev/pipelineRun=${created}`, "-o", "name"]) !== "", 120_000)
            .catch((e: Error) => { throw new Error(`${e.message}: ${cluster.kubectl(["get", "taskruns", "-n", ns, "-o", "yaml"])}`); });
          // Admitted by Pod Security, the LimitRange and the quota, scheduled, and running (kwok).
          await eventually(() => {
            const pods = JSON.parse(cluster.kubectl(["get", "pods", "-n", ns, "-l", `tekton.dev/pipelineRun=${created}`, "-o", "json"])).items;
            return pods.length > 0 && pods.every((p: { status?: { phase?: string } }) => ["Running", "Succeeded"].includes(p.status?.phase ?? ""));
          }, 120_000).catch((e: Error) => {
            const pods = JSON.parse(cluster.kubectl(["get", "pods", "-n", ns, "-l", `tekton.dev/pipelineRun=${created}`, "-o", "json"])).items;
            throw new Error(`${e.message}: ${JSON.stringify(pods.map((p: { metadata: { name: string }; spec: object; status: object }) => ({ name: p.metadata.name, status: p.status })), null, 1).slice(0, 6000)}`);
          });
          // kwok completes the pods with the Tasks' results (tektonKwokStages): how far does the run get?
          const condition = () => JSON.parse(cluster.kubectl(["get", "pipelinerun", created, "-n", ns, "-o", "json"])).status?.conditions?.[0];
          await eventually(() => ["True", "False"].includes(condition()?.status), 150_000).catch(() => undefined);
          const state = condition();
          const taskRuns = JSON.parse(cluster.kubectl(["get", "taskruns.tekton.dev", "-n", ns, "-l", `tekton.dev/pipelineRun=${created}`, "-o", "json"])).items;
          for (const tr of taskRuns) {
            const c = tr.status?.conditions?.[0];
            expect(`${c?.reason}: ${c?.message}`, tr.metadata.name).not.to.match(/forbidden|exceeded quota|violates PodSecurity|PodCreationFailed|must be less than or equal/i);
          }
          expect(`${state?.reason}: ${state?.message}`).not.to.match(/forbidden|exceeded quota|violates PodSecurity|CouldntGetPipeline|PipelineValidationFailed/i);
          const pods = JSON.parse(cluster.kubectl(["get", "pods", "-n", ns, "-l", `tekton.dev/pipelineRun=${created}`, "-o", "json"])).items;
          const report = pods.map((p: { metadata: { labels: Record<string, string> }; status: { phase: string } }) => `${p.metadata.labels["tekton.dev/pipelineTask"]}: ${p.status.phase}`);
          console.log(`      private build ${ns}/${created}: pods ${report.join(", ")}; run ${state?.status}/${state?.reason}: ${state?.message}`);
        } finally {
          cluster.kubectl(["delete", "pipelinerun", created, "-n", ns, "--wait=true", "--timeout=120s"]);
        }
      });

      if (stackName === "minikube") {
        it("the tools-image TaskRun started as docs/build.md says runs kaniko as root without privilege in a branch namespace", async function () {
          this.timeout(5 * 60_000);
          const branch = plans.find((p) => p.kind === "build");
          expect(branch, "a branch namespace").to.not.equal(undefined);
          const ns = branch!.namespace;
          const created = cluster.kubectl(["create", "-n", ns, "-o", "jsonpath={.metadata.name}", "-f", "-"], yaml.dump(docsToolsImagesRun()));
          cluster.kubectl(["apply", "-f", "-"], JSON.stringify({
            apiVersion: "v1", kind: "Namespace",
            metadata: { name: BASELINE_NAMESPACE, labels: { "pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/enforce-version": "latest" } },
          }));
          try {
            // The cluster resolver fetched the shared Task; Pod Security (baseline), the LimitRange and the quota admitted its pod.
            await eventually(() => cluster.kubectl(["get", "pods", "-n", ns, "-l", `tekton.dev/taskRun=${created}`, "-o", "name"]) !== "", 180_000)
              .catch((e: Error) => { throw new Error(`${e.message}: ${cluster.kubectl(["get", "taskrun", created, "-n", ns, "-o", "yaml"])}`); });
            const pod = JSON.parse(cluster.kubectl(["get", "pods", "-n", ns, "-l", `tekton.dev/taskRun=${created}`, "-o", "json"])).items[0];
            const steps = pod.spec.containers as { name: string; image: string; securityContext: Record<string, unknown> }[];
            expect(steps.map((c) => c.name)).to.deep.equal(["step-stx-builder", "step-stx-pkgbuilder", "step-stx-aptly"]);
            expect(steps.map((c) => c.image)).to.deep.equal([IMAGES.kaniko, IMAGES.kaniko, IMAGES.kaniko]);
            for (const c of steps) expect(c.securityContext, c.name).to.deep.include({ runAsUser: 0, privileged: false, allowPrivilegeEscalation: false });
            const condition = JSON.parse(cluster.kubectl(["get", "taskrun", created, "-n", ns, "-o", "json"])).status?.conditions?.[0];
            expect(`${condition?.reason}: ${condition?.message}`).not.to.match(/forbidden|exceeded quota|violates PodSecurity|PodCreationFailed|must be less than or equal/i);
            // This branch namespace may be privileged (minikube's master is): the same pod, Tekton's
            // init containers included, must also pass Pod Security baseline, the level of the others.
            const level = cluster.kubectl(["get", "namespace", ns, "-o", "jsonpath={.metadata.labels.pod-security\\.kubernetes\\.io/enforce}"]);
            await eventually(() => cluster.kubectl(["get", "serviceaccount", "default", "-n", BASELINE_NAMESPACE, "--ignore-not-found", "-o", "name"]) !== "", 60_000);
            cluster.kubectl(["create", "--dry-run=server", "-f", "-"], JSON.stringify(baselineCopy(pod)));
            console.log(`      tools images ${ns} (Pod Security ${level}) / ${created}: pod ${pod.metadata.name} admitted, and its copy under baseline; run ${condition?.status}/${condition?.reason}`);
          } finally {
            cluster.kubectl(["delete", "taskrun", created, "-n", ns, "--wait=true", "--timeout=120s"]);
            cluster.kubectl(["delete", "namespace", BASELINE_NAMESPACE, "--wait=false"]);
          }
        });
      }

      it("Jenkins (the real chart) runs in the shared namespace: its pods are admitted", function () {
        if (!settings.build.jenkins.enabled) {
          if (stackName === "cengn" && jenkinsMissing) console.log(`      skipped: ${jenkinsMissing}`);
          this.skip();
        }
        const pods = JSON.parse(cluster.kubectl(["get", "pods", "-n", SHARED, "-l", "app.kubernetes.io/instance=jenkins", "-o", "json"])).items;
        const events = cluster.kubectl(["get", "events", "-n", SHARED, "--field-selector", "reason=FailedCreate", "-o", "jsonpath={.items[*].message}"]);
        expect(pods.length, `no Jenkins pod in ${SHARED}: ${events}`).to.be.greaterThan(0);
        for (const p of pods) expect(p.status?.phase, p.metadata.name).to.equal("Running");
        expect(events, "FailedCreate events in the shared namespace").to.equal("");
      });

      it("Pod Security: privileged pods only where the tenant is privileged", function () {
        const privileged = podManifest("privileged", { requests: { cpu: "100m" } }, true);
        for (const plan of plans) {
          const create = () => cluster.kubectl(["create", "--dry-run=server", "-n", plan.namespace, "-f", "-"], JSON.stringify(privileged));
          if (plan.podSecurity === "baseline") expect(create, plan.namespace).to.throw(KubectlError, /violates PodSecurity "baseline:latest"/);
          else expect(create, plan.namespace).not.to.throw();
        }
      });

      it("a tenant's externalIPs, NodePort or hostPath objects are refused (admission policy, quota)", function () {
        const plan = plans.find((p) => p.issuesKubeconfig)!;
        const file = path.join(work, `${stackName}-${plan.owner}-escape.kubeconfig`);
        fs.writeFileSync(file, (outputs.kubeconfigs as Record<string, string>)[plan.owner], { mode: 0o600 });
        const asTenant = (object: object) => () => cluster.kubectl(["create", "-f", "-"], JSON.stringify(object), file);
        const service = (name: string, spec: object) => ({ apiVersion: "v1", kind: "Service", metadata: { name }, spec: { ports: [{ port: 80 }], selector: { a: "b" }, ...spec } });
        // The quota counts NodePorts as 0 on every stack, whatever the cluster's version.
        expect(asTenant(service("escape-nodeport", { type: "NodePort" }))).to.throw(KubectlError, /services\.nodeports|must be of type ClusterIP/);
        if (!hasAdmissionPolicyV1(settings.cluster.kubernetesVersion)) return;
        expect(asTenant(service("escape-external-ips", { externalIPs: ["192.0.2.1"] })))
          .to.throw(KubectlError, new RegExp(`${ADMISSION_POLICY_NAME}.*externalIPs \\(CVE-2020-8554`));
        const hostPath = { ...podManifest("escape-hostpath", { requests: { cpu: "100m" } }) as any };
        hostPath.spec.volumes = [{ name: "root", hostPath: { path: "/" } }];
        expect(asTenant(hostPath)).to.throw(KubectlError, /hostPath volumes|violates PodSecurity/);
        // What builds create still passes.
        cluster.kubectl(["create", "--dry-run=server", "-f", "-"], JSON.stringify(service("plain", {})), file);
      });

      it("a second preview shows no changes", async function () {
        const preview = await stack.preview({ diff: true, signal: engine.signal });
        expect(changes(preview.changeSummary), preview.stdout).to.deep.equal({});
      });

      it("adding a user in config creates exactly that user's objects and touches no other tenant", async function () {
        const users = settings.users.length;
        await stack.setConfig(`${PROJECT}:users[${users}].name`, { value: "newcomer" }, true);
        const ops: { op: string; urn: string }[] = [];
        const result = await stack.up({
          onOutput: progress,
          signal: engine.signal,
          onEvent: (e) => {
            const m = e.resOutputsEvent?.metadata;
            if (m) ops.push({ op: m.op, urn: m.urn });
          },
        });
        const changed = ops.filter((o) => !["same", "read"].includes(o.op));
        const created = changed.filter((o) => o.op === "create");
        expect(created.length, JSON.stringify(changed)).to.be.greaterThan(10);
        for (const o of created) expect(o.urn, "only the new user's objects are created").to.match(/user-newcomer/);
        // Shared objects that enumerate tenants (retention jobs, the object store's user list,
        // the dashboard) may change; nothing of another tenant may, and nothing is deleted.
        for (const o of changed.filter((c) => c.op !== "create")) {
          expect(["update", "replace", "create-replacement", "delete-replaced"], o.urn).to.include(o.op);
          for (const plan of plans) expect(o.urn, `${plan.namespace} untouched`).not.to.contain(`::${plan.namespace}`);
        }
        expect(result.summary.resourceChanges?.delete ?? 0).to.equal(0);
        settings = await stackSettings(stack);
        plans = planTenants(settings);
        expect(plans.map((p) => p.namespace)).to.include("user-newcomer");
        checkRbacMatrix(cluster, plans);
      });

      it("pulumi destroy --exclude-protected removes the tenants and leaves protected data volumes", async function () {
        const state = (await stack.exportStack()).deployment as { resources?: StateResource[] };
        // Data volumes are declared protect + retainOnDelete: destroy must not take them.
        const kept = (state.resources ?? []).filter((r) => r.type === "kubernetes:core/v1:PersistentVolumeClaim" && (r.protect || r.retainOnDelete));
        const result = await stack.destroy({ onOutput: progress, excludeProtected: true, signal: engine.signal });
        expect(result.summary.result).to.equal("succeeded");
        for (const pvc of kept) {
          expect(() => cluster.kubectl(["get", "pvc", "-n", pvc.outputs.metadata.namespace, pvc.outputs.metadata.name]), pvc.urn).not.to.throw();
        }
        for (const plan of plans) {
          expect(cluster.kubectl(["get", "namespace", plan.namespace, "--ignore-not-found", "-o", "name"]), plan.namespace).to.equal("");
        }
        const after = (await stack.exportStack()).deployment as { resources?: StateResource[] };
        for (const r of after.resources ?? []) {
          for (const plan of plans) expect(r.urn, "no tenant object left in state").not.to.contain(`::${plan.namespace}`);
        }
      });

      it("a full destroy after unprotecting removes everything (the next stack reuses the cluster)", async function () {
        const exported = await stack.exportStack();
        const deployment = exported.deployment as { resources?: StateResource[] };
        for (const r of deployment.resources ?? []) r.protect = false;
        await stack.importStack(exported);
        const result = await stack.destroy({ onOutput: progress, signal: engine.signal });
        expect(result.summary.result).to.equal("succeeded");
        expect(cluster.kubectl(["get", "namespace", SHARED, "--ignore-not-found", "-o", "name"])).to.equal("");
        const after = (await stack.exportStack()).deployment as { resources?: StateResource[] };
        expect((after.resources ?? []).filter((r) => r.type !== "pulumi:pulumi:Stack").map((r) => r.urn)).to.deep.equal([]);
      });
    });
  }

  // A suite of its own after the stacks' suites, so it runs last: a stack refused here does not stop
  // the other stacks (mocha bails on the first failure).
  describe("after every stack", function () {
    it("quota vs kept runs: keep+1 finished runs never stop a new run, on every stack", function () {
      const refused = quotaOutcomes.filter((o) => o.refused);
      expect(refused.map((o) => `${o.stack} ${o.namespace}: keeps ${o.keep} finished runs, quota allows ${o.quota} PipelineRuns; ` +
        `${o.admitted} admitted, then refused ${o.refused}`), "PipelineRuns refused by the quota").to.deep.equal([]);
    });
  });
});

function buildNamespaceOf(plans: readonly TenantPlan[], project: string, branch: string): string | undefined {
  return plans.find((p) => p.kind === "build" && p.owner === `${project}/${branch}`)?.namespace;
}

interface StateResource {
  urn: string;
  type: string;
  retainOnDelete?: boolean;
  protect?: boolean;
  outputs: { metadata: { name: string; namespace: string } };
}

/** Who may do what: owners act in their own namespace, and never in another tenant's or the shared one. */
function checkRbacMatrix(cluster: ControlPlane, plans: readonly TenantPlan[]): void {
  const users = plans.filter((p) => p.kind === "user");
  const canI = (as: string, verb: string, resource: string, ns: string) => {
    try {
      return cluster.kubectl(["auth", "can-i", verb, resource, "-n", ns, "--as", as]);
    } catch (e) {
      if (e instanceof KubectlError) return e.stdout.trim(); // "no" exits 1
      throw e;
    }
  };
  for (const user of users) {
    const as = `system:serviceaccount:${user.namespace}:${OWNER_SERVICE_ACCOUNT}`;
    for (const target of plans) {
      const allowed = target.members.includes(user.owner) ? "yes" : "no";
      for (const [verb, resource] of [["create", "pods"], ["delete", "secrets"], ["create", "pipelineruns.tekton.dev"]]) {
        expect(canI(as, verb, resource, target.namespace), `${as} ${verb} ${resource} in ${target.namespace}`).to.equal(allowed);
      }
    }
    expect(canI(as, "create", "pods", SHARED), `${as} create pods in ${SHARED}`).to.equal("no");
    expect(canI(as, "get", "secrets", SHARED), `${as} get secrets in ${SHARED}`).to.equal("no");
    expect(canI(as, "list", "pipelines.tekton.dev", SHARED), `${as} reads shared pipelines`).to.equal("yes");
  }
}

async function stackSettings(stack: Stack): Promise<Settings> {
  const prefix = `${PROJECT}:`;
  const all = await stack.getAllConfig();
  return parseSettings(Object.fromEntries(Object.entries(all)
    .filter(([k]) => k.startsWith(prefix))
    .map(([k, v]) => [k.slice(prefix.length), decodeConfigValue(v.value)])));
}

/** A value from a stack file, read without YAML tooling (only flat `key: value` lines are needed). */
function names(cluster: ControlPlane, kind: string, ns: string): string[] {
  return cluster.kubectl(["get", kind, "-n", ns, "-o", "jsonpath={.items[*].metadata.name}"]).split(/\s+/).filter(Boolean);
}

function changes(summary: OpMap): Record<string, number> {
  return Object.fromEntries(Object.entries(summary).filter(([op, n]) => op !== "same" && op !== "read" && (n ?? 0) > 0));
}

function podManifest(name: string, resources: object, privileged = false): object {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name },
    spec: { containers: [{ name: "main", image: "debian:bookworm", resources, securityContext: privileged ? { privileged: true } : undefined }] },
  };
}

/** The toolchain component that builds a binary. */
/**
 * The PipelineRun of docs/build.md's "Private builds", as a user copies it: its namespace and
 * user swapped for this stack's first user, DRY_RUN on, and the sysbox parts only where the stack
 * has sysbox (the doc: "leave out on minikube").
 */
function privateBuildManifest(namespace: string, user: string, sysbox: boolean): Record<string, any> {
  const doc = fs.readFileSync(path.join(REPO_ROOT, "docs", "build.md"), "utf8");
  const section = doc.slice(doc.indexOf("## Private builds"));
  const body = /kubectl create -f - <<'EOF'\n([\s\S]*?)\nEOF\n/.exec(section)?.[1];
  if (!body) throw new Error("docs/build.md has no `kubectl create -f - <<'EOF'` block under Private builds");
  const run = yaml.load(body.replace(/user-alice/g, namespace).replace(/private\/alice\//g, `private/${user}/`)) as Record<string, any>;
  run.spec.params = [...(run.spec.params ?? []).filter((p: { name: string }) => p.name !== "DRY_RUN"), { name: "DRY_RUN", value: "true" }];
  if (!sysbox) {
    delete run.spec.taskRunSpecs;
    if (run.spec.taskRunTemplate) delete run.spec.taskRunTemplate.podTemplate;
  }
  return run;
}

/**
 * A pod's copy for a server-side dry run in a namespace that enforces Pod Security baseline
 * (one the test makes): not bound to a node, with the default ServiceAccount and
 * without the token volume its own admission added.
 */
function baselineCopy(pod: { spec: Record<string, any> }): object {
  const token = (v: { name: string }) => v.name.startsWith("kube-api-access-");
  const strip = (c: { volumeMounts?: { name: string }[] }) => ({ ...c, volumeMounts: (c.volumeMounts ?? []).filter((m) => !token(m)) });
  const { nodeName: _node, serviceAccountName: _sa, serviceAccount: _legacy, ...spec } = pod.spec;
  return {
    apiVersion: "v1", kind: "Pod", metadata: { name: "kaniko-baseline-copy", namespace: BASELINE_NAMESPACE },
    spec: { ...spec, volumes: (spec.volumes ?? []).filter((v: { name: string }) => !token(v)), initContainers: (spec.initContainers ?? []).map(strip), containers: spec.containers.map(strip) },
  };
}
const BASELINE_NAMESPACE = "tools-images-baseline";

async function eventually(check: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const ok = () => {
    try {
      return check();
    } catch {
      return false;
    }
  };
  while (!ok()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function progress(out: string): void {
  if (process.env.STX_CLUSTER_VERBOSE) process.stdout.write(out);
}
