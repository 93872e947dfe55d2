import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { standardLabels } from "../../src/labels";
import { ManifestName } from "../../src/versions";
import { ManifestSources, verifiedManifestFile } from "../../src/build/manifests";
import { inheritedDependencies } from "../dependencies";

export type TektonManifest = ManifestName;

export interface TektonArgs {
  /** Directory with `<name>.yaml` copies of the release manifests; the pinned URLs when undefined. */
  readonly manifestDir?: string;
  /** The site's SHA-256 pins of the manifests (build.tekton.manifestSha256); src/versions.ts otherwise. */
  readonly manifestSha256?: ManifestSources["manifestSha256"];
  /** Namespace of our shared Tasks and Pipelines: the only one the cluster resolver reads from. */
  readonly sharedNamespace: string;
  /** Tenant namespaces the Dashboard shows (it sees nothing else). */
  readonly tenantNamespaces: readonly string[];
  readonly defaultTimeoutMinutes: number;
  /** ServiceAccount runs use when they name none. */
  readonly defaultServiceAccount: string;
  readonly dashboard: boolean;
}

const PIPELINES_NS = "tekton-pipelines";
const WEBHOOK_DEPLOYMENT = "tekton-pipelines-webhook";
const RESOLVERS_NS = "tekton-pipelines-resolvers";
const DASHBOARD_NS = "tekton-dashboard";

/**
 * Tekton Pipelines, Triggers and the read-only Dashboard from pinned upstream release manifests,
 * configured for a shared farm. `ready` is what our Tasks and Pipelines must wait for: the
 * admission webhook's Deployment and Service, and its webhook configurations once the webhook has
 * registered its rules and CA (Pulumi awaits each).
 */
export class Tekton extends pulumi.ComponentResource {
  /** The webhook's Deployment, Service and registered configurations; depend on these before creating Tekton objects. */
  public readonly ready: pulumi.Output<pulumi.Resource>[];
  public readonly dashboardService?: pulumi.Output<string>;
  /** Resolves once every object of the release manifests is declared (a ConfigFile declares them late). */
  public readonly declared: pulumi.Output<unknown>;

  constructor(name: string, args: TektonArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stx:build:Tekton", name, {}, opts);
    const child = { parent: this, dependsOn: inheritedDependencies(opts) };
    // Each manifest is applied from a local file whose SHA-256 was checked against its pin.
    const source = (manifest: TektonManifest) => verifiedManifestFile(manifest, { manifestDir: args.manifestDir, manifestSha256: args.manifestSha256 });

    const pipelines = manifest(`${name}-pipelines`, source("tekton-pipelines"), [configurePipelines(args), awaitWebhookRegistration], child,
      (self) => [webhookOrder(
        (ns, cm) => pulumi.output(self).apply((c) => c.getResource("v1/ConfigMap", ns, cm)),
        () => [0, 1, 2, 3].map((i) => pulumi.output(self).apply((c) => webhookReady(c)[i])),
        () => pulumi.output(self).apply((c) => c.getResource("apps/v1/Deployment", PIPELINES_NS, WEBHOOK_DEPLOYMENT)),
        () => pulumi.output(self).apply((c) => c.getResource("v1/Service", PIPELINES_NS, WEBHOOK_DEPLOYMENT)),
      )]);
    const webhook = webhookReady(pipelines);
    // Triggers and the Dashboard build on Pipelines' CRDs, so they follow its webhook. A ConfigFile
    // does not hand its dependsOn to the objects it declares; the transformation does.
    const afterPipelines = waitFor(webhook);
    const manifests = [
      pipelines,
      manifest(`${name}-triggers`, source("tekton-triggers"), [afterPipelines], child),
      manifest(`${name}-interceptors`, source("tekton-interceptors"), [afterPipelines], child),
    ];

    if (args.dashboard) {
      manifests.push(manifest(`${name}-dashboard`, source("tekton-dashboard"), [dashboardPerTenant(args.tenantNamespaces), afterPipelines], child));
      for (const namespace of args.tenantNamespaces) {
        // Tenant mode: read access per namespace instead of the release's cluster-wide binding.
        new k8s.rbac.v1.RoleBinding(`${name}-dashboard-${namespace}`, {
          metadata: { name: "tekton-dashboard-tenant", namespace, labels: standardLabels("tekton") },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "tekton-dashboard-tenant" },
          subjects: [{ kind: "ServiceAccount", name: "tekton-dashboard", namespace: DASHBOARD_NS }],
        }, child);
      }
      this.dashboardService = pulumi.output(`tekton-dashboard.${DASHBOARD_NS}.svc:9097`);
    }

    this.ready = webhook;
    this.declared = pulumi.all(manifests.map((m) => m.resources));
    this.registerOutputs({ dashboardService: this.dashboardService });
  }
}

/**
 * The admission webhooks every Tekton object goes through. The release declares them without rules
 * or CA; the webhook process fills both in once it has its certificate. Its Deployment is Ready
 * earlier (the release's readiness probe answers as soon as the process starts), so that alone
 * does not mean Tekton objects are defaulted and validated yet.
 */
const VALIDATION_WEBHOOK = "validation.webhook.pipeline.tekton.dev";
const DEFAULTING_WEBHOOK = "webhook.pipeline.tekton.dev";
const ADMISSION_WEBHOOKS = {
  [VALIDATION_WEBHOOK]: "ValidatingWebhookConfiguration",
  [DEFAULTING_WEBHOOK]: "MutatingWebhookConfiguration",
} as const;

/** What Tekton objects (and the release's ConfigMaps outside the webhook's namespace) wait for. */
function webhookReady(pipelines: k8s.yaml.ConfigFile): pulumi.Output<pulumi.Resource>[] {
  return [
    pipelines.getResource("apps/v1/Deployment", PIPELINES_NS, "tekton-pipelines-webhook"),
    pipelines.getResource("v1/Service", PIPELINES_NS, "tekton-pipelines-webhook"),
    pipelines.getResource("admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration", VALIDATION_WEBHOOK),
    pipelines.getResource("admissionregistration.k8s.io/v1/MutatingWebhookConfiguration", DEFAULTING_WEBHOOK),
  ];
}

/**
 * The release's ConfigMaps go through the webhook's own config validation (every ConfigMap labelled
 * part-of tekton-pipelines), which refuses them from the moment the webhook registered its rules
 * until its Service has an endpoint. So, as with `kubectl apply` of the whole release, every
 * ConfigMap comes before the webhook's Deployment (the other Deployments of its namespace wait for
 * that namespace's ConfigMaps, which they read at start-up); one that comes after the webhook in
 * the manifest waits until it serves.
 */
export function webhookOrder(
  configMap: (namespace: string, name: string) => pulumi.Input<pulumi.Resource>,
  webhook: () => pulumi.Input<pulumi.Resource>[],
  webhookDeployment: () => pulumi.Input<pulumi.Resource>,
  webhookService: () => pulumi.Input<pulumi.Resource>,
): Transformation {
  const configMaps: [string, string][] = [];
  let webhookDeclared = false;
  return (obj, opts) => {
    const ns = obj?.metadata?.namespace;
    if (/^(Validating|Mutating)WebhookConfiguration$/.test(obj?.kind) &&
      (obj.webhooks ?? []).some((w: any) => w?.clientConfig?.service?.name === WEBHOOK_DEPLOYMENT && w.clientConfig.service.namespace === PIPELINES_NS)) {
      // Registered after the webhook's Deployment, so that `destroy` removes them before it: with
      // the webhook gone they would refuse every change to the objects they cover, deletes included.
      waitFor([webhookDeployment(), webhookService()])(obj, opts);
      return;
    }
    if (obj?.kind === "Service" && ns === PIPELINES_NS && obj.metadata?.name === WEBHOOK_DEPLOYMENT) {
      // Created once the webhook's pods are Ready, so the provider's await of the Service (until it
      // has endpoints) ends when the webhook can be called, not when the Endpoints merely exist.
      waitFor([webhookDeployment()])(obj, opts);
      return;
    }
    if (obj?.kind === "ConfigMap" && obj.apiVersion === "v1") {
      if (!webhookDeclared) configMaps.push([ns, obj.metadata.name]);
      else if (obj.metadata?.labels?.["app.kubernetes.io/part-of"] === "tekton-pipelines") waitFor(webhook())(obj, opts);
      return;
    }
    if (obj?.kind !== "Deployment" || ns !== PIPELINES_NS) return;
    const isWebhook = obj.metadata?.name === WEBHOOK_DEPLOYMENT;
    webhookDeclared ||= isWebhook;
    waitFor(configMaps.filter(([n]) => isWebhook || n === PIPELINES_NS).map(([n, name]) => configMap(n, name)))(obj, opts);
  };
}

/** Pulumi awaits the webhooks' registration: a CA bundle and rules, written by Tekton's webhook itself. */
export const awaitWebhookRegistration: Transformation = (obj) => {
  const kind = ADMISSION_WEBHOOKS[obj?.metadata?.name as keyof typeof ADMISSION_WEBHOOKS];
  if (kind === undefined || obj.kind !== kind) return;
  obj.metadata.annotations = {
    ...(obj.metadata.annotations ?? {}),
    "pulumi.com/waitFor": JSON.stringify(["jsonpath={.webhooks[0].clientConfig.caBundle}", "jsonpath={.webhooks[0].rules}"]),
  };
};

/**
 * A release manifest. Its objects are created in parallel, and the official provider does not retry
 * an object whose namespace does not exist yet: objects in a namespace the manifest itself declares
 * (earlier in the file, as every Tekton release does) wait for that Namespace.
 */
function manifest(
  name: string, file: string, transformations: Transformation[], opts: pulumi.ComponentResourceOptions,
  /** Transformations that refer to the manifest's own objects (resolved once it is declared). */
  ordering: (self: Promise<k8s.yaml.ConfigFile>) => Transformation[] = () => [],
): k8s.yaml.ConfigFile {
  let declared: (configFile: k8s.yaml.ConfigFile) => void = () => undefined;
  const configFile = new Promise<k8s.yaml.ConfigFile>((resolve) => (declared = resolve));
  const created = new k8s.yaml.ConfigFile(name, {
    file,
    transformations: [
      ...transformations,
      ...ordering(configFile),
      afterOwnNamespaces((ns) => pulumi.output(configFile).apply((c) => c.getResource("v1/Namespace", ns))),
    ],
  }, opts);
  declared(created);
  return created;
}

/** Makes an object wait for its Namespace when that Namespace came earlier in the same manifest. */
export function afterOwnNamespaces(namespace: (name: string) => pulumi.Input<pulumi.Resource>): Transformation {
  const seen = new Set<string>();
  return (obj, opts) => {
    if (obj?.kind === "Namespace" && obj.apiVersion === "v1") {
      seen.add(obj.metadata?.name);
      return;
    }
    const ns = obj?.metadata?.namespace;
    if (typeof ns === "string" && seen.has(ns)) waitFor([namespace(ns)])(obj, opts);
  };
}

/** The pinned upstream URL, or `<dir>/<name>.yaml` on air-gapped sites (and in tests). */

type Transformation = (obj: any, opts: pulumi.CustomResourceOptions) => void;

/** Makes every object of a manifest wait for `resources`. */
export function waitFor(resources: pulumi.Input<pulumi.Resource>[]): Transformation {
  return (_obj, opts) => {
    const given = opts.dependsOn === undefined ? [] : Array.isArray(opts.dependsOn) ? opts.dependsOn : [opts.dependsOn];
    opts.dependsOn = [...(given as pulumi.Input<pulumi.Resource>[]), ...resources];
  };
}

/** The ConfigMaps of the release, changed for a shared farm before they are applied. */
export function configurePipelines(args: Pick<TektonArgs, "sharedNamespace" | "defaultTimeoutMinutes" | "defaultServiceAccount">): Transformation {
  const data: Record<string, Record<string, string>> = {
    [`${PIPELINES_NS}/config-defaults`]: {
      "default-timeout-minutes": String(args.defaultTimeoutMinutes),
      "default-service-account": args.defaultServiceAccount,
      // Build pods need no API token, and get the runtime's default seccomp profile.
      "default-pod-template": [
        "automountServiceAccountToken: false",
        "securityContext:",
        "  seccompProfile:",
        "    type: RuntimeDefault",
      ].join("\n"),
      "default-managed-by-label-value": "stx-build-cluster",
    },
    [`${PIPELINES_NS}/feature-flags`]: {
      "enable-api-fields": "beta",
      "await-sidecar-readiness": "true",
      "keep-pod-on-cancel": "false",
    },
    [`${RESOLVERS_NS}/resolvers-feature-flags`]: {
      // Runs in every build namespace resolve the shared Tasks and Pipeline by name.
      "enable-cluster-resolver": "true",
      // Nothing is fetched from outside the farm at run time.
      "enable-hub-resolver": "false",
      "enable-bundles-resolver": "false",
      "enable-git-resolver": "false",
    },
    [`${RESOLVERS_NS}/cluster-resolver-config`]: {
      "default-kind": "task",
      "default-namespace": args.sharedNamespace,
      "allowed-namespaces": args.sharedNamespace,
    },
  };
  return (obj) => {
    if (obj?.kind !== "ConfigMap") return;
    const settings = data[`${obj.metadata?.namespace}/${obj.metadata?.name}`];
    if (settings) obj.data = { ...(obj.data ?? {}), ...settings };
  };
}

/** Read-only, and limited to the tenant namespaces instead of the whole cluster. */
export function dashboardPerTenant(namespaces: readonly string[]): Transformation {
  return (obj) => {
    if (obj?.kind === "ClusterRoleBinding" && obj.metadata?.name === "tekton-dashboard-tenant") {
      // Replaced by RoleBindings per tenant namespace; an empty List declares nothing.
      obj.apiVersion = "v1";
      obj.kind = "List";
      obj.items = [];
      return;
    }
    if (obj?.kind !== "Deployment" || obj.metadata?.name !== "tekton-dashboard") return;
    for (const container of obj.spec?.template?.spec?.containers ?? []) {
      const args = (container.args ?? []).filter((a: string) => !/^--(read-only|namespaces?)=/.test(a));
      container.args = [...args, "--read-only=true", `--namespaces=${namespaces.join(",")}`];
    }
  };
}
