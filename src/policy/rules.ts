/**
 * The farm's own rules, checked by `pulumi preview --policy-pack policy` (policy/pack.ts) and by
 * the unit tests on every stack under mocks. Pure: each takes what Pulumi's policy SDK hands a
 * policy (type, inputs, protect) and returns what is wrong.
 */
import { TENANT_LABEL } from "../labels";

/** One resource as a policy sees it. */
export interface PolicyObject {
  readonly type: string;
  readonly props: Record<string, any>;
  readonly protect: boolean;
}

/**
 * The one pod allowed to be privileged outside minikube: sysbox's upstream installer, which installs
 * a container runtime on the host (components/build/sysbox.ts).
 */
export const NODE_INSTALLERS: readonly { namespace: string; name: string }[] = [{ namespace: "kube-system", name: "sysbox-deploy-k8s" }];

/** Branch state volumes: checkout, caches and the last build tree, rebuilt by the next build; they go with their branch's namespace. */
export const DISPOSABLE_VOLUME_COMPONENT = "build-state";

function metadata(obj: PolicyObject): { name?: string; namespace?: string; labels?: Record<string, string> } {
  return obj.props.metadata ?? {};
}

/** Every object in `props` (containers, steps, sidecars...) that is privileged or names an image, with its path. */
function walk(value: unknown, path: string, visit: (node: Record<string, any>, path: string) => void): void {
  if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${path}[${i}]`, visit));
  else if (value !== null && typeof value === "object") {
    visit(value as Record<string, any>, path);
    for (const [k, v] of Object.entries(value)) walk(v, path ? `${path}.${k}` : k, visit);
  }
}

/** Why the object would run a privileged pod (or allow one) where the profile forbids it; undefined when fine. */
export function privilegedViolation(obj: PolicyObject, profile: string): string | undefined {
  if (profile === "minikube") return undefined;
  const meta = metadata(obj);
  if (obj.type === "kubernetes:core/v1:Namespace" && meta.labels?.["pod-security.kubernetes.io/enforce"] === "privileged") {
    return `namespace ${meta.name} allows privileged pods (pod-security enforce=privileged) on the ${profile} profile`;
  }
  if (NODE_INSTALLERS.some((i) => i.namespace === meta.namespace && i.name === meta.name)) return undefined;
  const found: string[] = [];
  walk(obj.props, "", (node, path) => {
    if (node.securityContext?.privileged === true) found.push(path || "(top)");
  });
  return found.length ? `privileged container(s) at ${found.join(", ")} on the ${profile} profile; only minikube may run them` : undefined;
}

/** Why a data volume is not protected; undefined when it is, or is not a data volume. */
export function unprotectedVolume(obj: PolicyObject): string | undefined {
  if (obj.type !== "kubernetes:core/v1:PersistentVolumeClaim") return undefined;
  if (metadata(obj).labels?.["app.kubernetes.io/component"] === DISPOSABLE_VOLUME_COMPONENT) return undefined;
  const meta = metadata(obj);
  return obj.protect ? undefined : `volume claim ${meta.namespace}/${meta.name} holds data but is not protected (protect: true, see dataVolume in components/services/serviceKit.ts)`;
}

/** Images named by tag only (no @sha256: digest): their content can change under the same name. */
export function imagesWithoutDigest(obj: PolicyObject): string[] {
  const images = new Set<string>();
  walk(obj.props, "", (node) => {
    if (typeof node.image === "string" && !/@sha256:[0-9a-f]{64}$/.test(node.image)) images.add(node.image);
  });
  return [...images].sort();
}

/** Tenant namespaces (labelled with the tenant label) that have no ResourceQuota among `objects`. */
export function tenantsWithoutQuota(objects: readonly PolicyObject[]): string[] {
  const tenants = objects
    .filter((o) => o.type === "kubernetes:core/v1:Namespace" && metadata(o).labels?.[TENANT_LABEL] !== undefined)
    .map((o) => metadata(o).name ?? "");
  const withQuota = new Set(objects.filter((o) => o.type === "kubernetes:core/v1:ResourceQuota").map((o) => metadata(o).namespace));
  return tenants.filter((ns) => !withQuota.has(ns)).sort();
}
