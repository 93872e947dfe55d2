/**
 * Who may open connections to the pods of the shared namespace: an allow-list, as NetworkPolicy
 * specs. Tenants reach only the ports their builds use; Pulp's Redis and PostgreSQL only Pulp.
 * Pure: components/services/sharedNetwork.ts declares the policies, tenant egress uses the same
 * list (components/tenancy/tenantNamespace.ts), and test/components/services/isolation.test.ts
 * proves the result with a policy analyser.
 */
import { TENANT_LABEL } from "../labels";
import { ServicesSettings } from "../settings/services";
import { REGISTRY_PORT } from "./registryConfig";
import { SERVICE_PORTS } from "./serviceEndpoints";

/** Label selecting a shared service's pods (the Deployments' selectors use it). */
export const APP_LABEL = "app.kubernetes.io/name";
/** Set on the Pulp pods that need its database and Redis (api, content, worker, migration). */
export const PULP_BACKEND_CLIENT = { "stx.starlingx.io/pulp-backend-client": "true" } as const;
export const PULP_CONTENT_PORT = 24816;
export const REDIS_PORT = 6379;
export const POSTGRES_PORT = 5432;
/** The backends nobody but Pulp may reach: a build holding Redis or the database holds Pulp. */
export const PULP_BACKENDS = [
  { name: "pulp-redis", port: REDIS_PORT },
  { name: "pulp-database", port: POSTGRES_PORT },
] as const;

/** One port of a shared service that tenants' builds open, and why they need it. */
export interface SharedPort {
  /** Value of APP_LABEL on the pods serving it, which is also the Service's name. */
  readonly app: string;
  readonly port: number;
  /** Exposed outside the cluster (NodePort or Ingress) when the stack exposes services. */
  readonly exposed: boolean;
  /** Opened to tenants' builds. False where using the port needs a login no tenant holds. */
  readonly tenants: boolean;
  readonly why: string;
}

/**
 * The ports builds use, from what the pipeline calls (src/build/scripts.ts, definition.ts): apt
 * through CONTENT_ORIGIN, the artifact store (decide, upload, record steps) and the registry (the
 * Docker daemon sidecar); the store and registry only where this stack runs its own. Pulp's API
 * stays closed to tenants: every call needs a login, and no tenant is given one (the admin
 * password stays in the shared namespace; a build's repositories are its own aptly sidecar's,
 * REPOMGR_URL). Admins reach it from outside, the shared namespace's jobs from inside.
 */
export function tenantPorts(services: Pick<ServicesSettings, "objectStore" | "registry">): SharedPort[] {
  return [
    { app: "pulp-api", port: SERVICE_PORTS.pulpApi, exposed: true, tenants: false, why: "REST API: every call needs a login, which only the shared namespace's jobs and admins hold" },
    { app: "pulp-content", port: PULP_CONTENT_PORT, exposed: true, tenants: true, why: "content app: apt in every build downloads packages and mirrors (CONTENT_ORIGIN)" },
    ...(services.objectStore.mode === "minio"
      ? [{ app: "minio", port: SERVICE_PORTS.objectStore, exposed: true, tenants: true, why: "S3: decide, upload and record steps read and write artifacts, logs, CONTEXT, latest_build" }]
      : []),
    ...(services.registry.mode === "own"
      ? [{ app: "registry", port: REGISTRY_PORT, exposed: true, tenants: true, why: "registry API: the image stages' Docker daemon pushes and pulls intermediate images" }]
      : []),
  ];
}

/** Where traffic from outside the cluster arrives from, as the stack exposes services. */
export type ExternalPeers =
  /** NodePorts: clients' (or the node's, after SNAT) addresses, anything outside the pod range. */
  | { readonly kind: "nodePort"; readonly podCidr: string }
  /** Ingress: the controller's pods, in their namespace. */
  | { readonly kind: "ingress"; readonly controllerNamespace: string }
  | { readonly kind: "none" };

type Peer = Record<string, unknown>;
type IngressRule = { from: Peer[]; ports?: { protocol: "TCP" | "UDP"; port: number }[] };
export interface PolicySpec {
  readonly name: string;
  readonly spec: { podSelector: Record<string, unknown>; policyTypes: ["Ingress"]; ingress: IngressRule[] };
}

const tcp = (port: number) => ({ protocol: "TCP" as const, port });
const namespaceNamed = (name: string): Peer => ({ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": name } } });
/** Every tenant namespace carries TENANT_LABEL; nothing else does. */
export const TENANT_NAMESPACES: Peer = { namespaceSelector: { matchExpressions: [{ key: TENANT_LABEL, operator: "Exists" }] } };

/**
 * The shared namespace's ingress policies. Policies add up, so: deny everything, then allow
 * (1) each port from tenants (where they may use it), the namespace itself and outside peers; (2) everything
 * between the namespace's own pods (Jenkins and its agents, retention jobs, Pulp and the registry
 * on S3) except the backends; (3) each backend from Pulp's pods only.
 */
export function sharedPolicies(ports: readonly SharedPort[], external: ExternalPeers): PolicySpec[] {
  const outside: Peer[] = external.kind === "nodePort"
    ? [{ ipBlock: { cidr: "0.0.0.0/0", except: [external.podCidr] } }]
    : external.kind === "ingress" ? [namespaceNamed(external.controllerNamespace)] : [];
  const backends = PULP_BACKENDS.map((b) => b.name);
  return [
    { name: "default-deny-ingress", spec: { podSelector: {}, policyTypes: ["Ingress"], ingress: [] } },
    ...ports.map((p) => ({
      name: `allow-${p.app}-${p.port}`,
      spec: {
        podSelector: { matchLabels: { [APP_LABEL]: p.app } },
        policyTypes: ["Ingress"] as ["Ingress"],
        ingress: [{ from: [...(p.tenants ? [TENANT_NAMESPACES] : []), { podSelector: {} }, ...(p.exposed ? outside : [])], ports: [tcp(p.port)] }],
      },
    })),
    {
      name: "allow-within-namespace",
      spec: {
        podSelector: { matchExpressions: [{ key: APP_LABEL, operator: "NotIn", values: backends }] },
        policyTypes: ["Ingress"],
        ingress: [{ from: [{ podSelector: {} }] }],
      },
    },
    ...PULP_BACKENDS.map((b) => ({
      name: `allow-${b.name}-from-pulp`,
      spec: {
        podSelector: { matchLabels: { [APP_LABEL]: b.name } },
        policyTypes: ["Ingress"] as ["Ingress"],
        ingress: [{ from: [{ podSelector: { matchLabels: { ...PULP_BACKEND_CLIENT } } }], ports: [tcp(b.port)] }],
      },
    })),
  ];
}

/** Tenant egress to the shared namespace: the same ports, to the same pods, and nothing else there. */
export function tenantEgressToShared(sharedNamespace: string, ports: readonly SharedPort[]): { to: Peer[]; ports: ReturnType<typeof tcp>[] }[] {
  return ports.filter((p) => p.tenants).map((p) => ({
    to: [{ ...namespaceNamed(sharedNamespace), podSelector: { matchLabels: { [APP_LABEL]: p.app } } }],
    ports: [tcp(p.port)],
  }));
}
