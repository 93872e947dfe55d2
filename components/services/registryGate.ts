import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { standardLabels } from "../../src/labels";
import { programBundle } from "../../src/retention/bundle";
import { RegistryRules } from "../../src/services/registryAccess";
import { REGISTRY_PORT, REGISTRY_UPSTREAM_PORT } from "../../src/services/registryConfig";
import { GATE_BUNDLE_FILE, GATE_LOADER, GATE_LOADER_FILE, GateConfig, passwordDigest } from "../../src/services/registryGate";
import { IMAGES } from "../../src/versions";
import { RESTRICTED_CONTAINER, shortHash } from "./serviceKit";

/** Name of the dockerconfigjson Secret with a login: the platform's in the shared namespace, each tenant's in its own. */
export const REGISTRY_SECRET = "registry-credentials";
const GATE_DIR = "/opt/registry-gate";
const CONFIG_DIR = "/etc/registry-gate";

export interface RegistryGateArgs {
  /** The shared namespace (registry, gate config, the platform login's Secret). */
  readonly namespace: string;
  /** Who may do what, from the tenant plan (registryRules). */
  readonly rules: RegistryRules;
  /** host[:port] names clients use for the registry; each login's Secret covers all of them. */
  readonly hosts: readonly string[];
  /** The Namespace resource of each tenant namespace, which its login Secret waits for. */
  readonly tenantResources: ReadonlyMap<string, pulumi.Resource>;
}

/**
 * The registry gate (src/services/registryGate.ts) as the registry pod's front container: one
 * generated password per login, each tenant's login only in its own namespace, the platform's
 * only in the shared namespace, and the gate's config (rules and password digests) in a Secret
 * that only the registry pod mounts. The registry component adds `container` and `volumes` to its pod.
 */
export class RegistryGate extends pulumi.ComponentResource {
  public readonly container: k8s.types.input.core.v1.Container;
  public readonly volumes: k8s.types.input.core.v1.Volume[];
  /** Changes whenever the logins, rules or program change: rolls the pods (subPath-free mounts refresh, but the gate reads once). */
  public readonly configHash: pulumi.Output<string>;
  /** The platform login's Secret in the shared namespace. */
  public readonly platformSecret: pulumi.Output<string>;

  constructor(name: string, args: RegistryGateArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stx:services:RegistryGate", name, {}, opts);
    const child = { parent: this };
    const labels = standardLabels("registry");
    const digests: Record<string, pulumi.Output<string>> = {};
    let platformSecret: pulumi.Output<string> | undefined;
    for (const login of args.rules.logins) {
      const logical = login.namespace ? `${name}-${login.namespace}` : name;
      const password = new random.RandomPassword(`${logical}-password`, { length: 32, special: false }, child);
      digests[login.user] = password.result.apply(passwordDigest);
      const resource = login.namespace ? args.tenantResources.get(login.namespace) : undefined;
      if (login.namespace && !resource) throw new Error(`registry login ${login.user}: namespace ${login.namespace} is not a tenant of this stack`);
      const secret = new k8s.core.v1.Secret(`${logical}-credentials`, {
        metadata: { name: REGISTRY_SECRET, namespace: login.namespace ?? args.namespace, labels },
        type: "kubernetes.io/dockerconfigjson",
        stringData: pulumi.secret({ ".dockerconfigjson": password.result.apply((p) => dockerConfigJson(args.hosts, login.user, p)) }),
      }, { ...child, dependsOn: resource ? [resource] : [] });
      if (login.platform) platformSecret = secret.metadata.name;
    }
    if (!platformSecret) throw new Error("registry rules have no platform login");
    const config: pulumi.Output<GateConfig> = pulumi.all(digests).apply((passwords) => ({
      upstream: `http://127.0.0.1:${REGISTRY_UPSTREAM_PORT}`, realm: "stx-build-cluster", rules: args.rules, passwords,
    }));
    const configSecret = new k8s.core.v1.Secret(`${name}-config`, {
      metadata: { name: "registry-gate", namespace: args.namespace, labels },
      type: "Opaque",
      stringData: pulumi.secret({ "config.json": config.apply((c) => JSON.stringify(c)) }),
    }, child);
    const bundle = programBundle("registryGateMain", "services");
    const program = new k8s.core.v1.ConfigMap(`${name}-program`, {
      metadata: { name: "registry-gate-program", namespace: args.namespace, labels },
      binaryData: { [GATE_BUNDLE_FILE]: bundle.gzipped.toString("base64") },
      data: { [GATE_LOADER_FILE]: GATE_LOADER },
    }, child);
    this.configHash = config.apply((c) => shortHash(JSON.stringify(c), bundle.sha256));
    this.platformSecret = platformSecret;
    this.volumes = [
      { name: "gate-program", configMap: { name: program.metadata.name } },
      { name: "gate-config", secret: { secretName: configSecret.metadata.name, defaultMode: 0o440 } },
      { name: "gate-tmp", emptyDir: { sizeLimit: "16Mi" } },
    ];
    this.container = {
      name: "gate",
      image: IMAGES.node,
      command: ["node", `${GATE_DIR}/${GATE_LOADER_FILE}`],
      env: [
        { name: "GATE_CONFIG", value: `${CONFIG_DIR}/config.json` },
        { name: "GATE_PORT", value: String(REGISTRY_PORT) },
        { name: "TMPDIR", value: "/tmp" },
      ],
      ports: [{ name: "registry", containerPort: REGISTRY_PORT }],
      readinessProbe: { httpGet: { path: "/healthz", port: REGISTRY_PORT }, periodSeconds: 10, failureThreshold: 3 },
      livenessProbe: { tcpSocket: { port: REGISTRY_PORT }, initialDelaySeconds: 10, periodSeconds: 20, failureThreshold: 5 },
      resources: { requests: { cpu: "25m", memory: "48Mi" }, limits: { cpu: "1", memory: "192Mi" } },
      securityContext: RESTRICTED_CONTAINER,
      volumeMounts: [
        { name: "gate-program", mountPath: GATE_DIR, readOnly: true },
        { name: "gate-config", mountPath: CONFIG_DIR, readOnly: true },
        { name: "gate-tmp", mountPath: "/tmp" },
      ],
    };
    this.registerOutputs({ configHash: this.configHash, platformSecret: this.platformSecret });
  }
}

/** The .dockerconfigjson document for one user of a registry reached under one or more host names. */
export function dockerConfigJson(servers: readonly string[], user: string, password: string): string {
  const auth = Buffer.from(`${user}:${password}`).toString("base64");
  return JSON.stringify({ auths: Object.fromEntries(servers.map((server) => [server, { username: user, password, auth }])) });
}
