/**
 * What the reviewer identity may read: get/list/watch on exactly the Kubernetes kinds a stack
 * declares, derived from the resource types the program registers, never from a hand-kept list.
 * Secrets are the exception: no list or watch at all, and `get` only by name (see docs/review.md).
 */

/** A Kubernetes kind as RBAC names it: API group ("" for core) and plural resource. */
export interface KubernetesKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

export interface PolicyRule {
  readonly apiGroups: string[];
  readonly resources: string[];
  readonly verbs: string[];
  readonly resourceNames?: string[];
}

export const READ_VERBS = ["get", "list", "watch"];

/**
 * The Kubernetes kind of a Pulumi type token (`kubernetes:apps/v1:Deployment`), or undefined for
 * anything that is not one object of the API: components, providers, `kubernetes:yaml:*` groupings,
 * and Helm releases (a release is Helm's own record, kept by Helm; see `isHelmRelease`).
 */
export function kubernetesKind(type: string): KubernetesKind | undefined {
  const match = /^kubernetes:([^:/]+)\/([^:/]+):([A-Za-z0-9]+)$/.exec(type);
  if (!match) return undefined;
  const [, group, version, kind] = match;
  if (group === "helm.sh" || group === "yaml") return undefined;
  return { group: group === "core" ? "" : group, version, kind };
}

export function isHelmRelease(type: string): boolean {
  return /^kubernetes:helm\.sh\/v\d+:Release$/.test(type);
}

/**
 * The plural resource name of a kind: the API server's default pluralisation, which every built-in
 * kind this program uses and Tekton's CRDs follow (a CRD's own `spec.names.plural` wins: see
 * `reviewerRules`).
 */
export function defaultPlural(kind: string): string {
  const lower = kind.toLowerCase();
  if (lower === "endpoints") return lower;
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/.test(lower)) return `${lower}es`;
  return `${lower}s`;
}

/** `<group>/<Kind>`, the key CRD plurals are looked up by. */
export function kindKey(group: string, kind: string): string {
  return `${group}/${kind}`;
}

/**
 * Read rules for every kind among `types`, one rule per API group, resources sorted, Secrets left
 * out (`secretRule` covers them). `crdPlurals` holds the plural of each kind a declared
 * CustomResourceDefinition defines (`kindKey` → plural).
 */
export function reviewerRules(types: Iterable<string>, crdPlurals: ReadonlyMap<string, string> = new Map()): PolicyRule[] {
  const byGroup = new Map<string, Set<string>>();
  for (const type of types) {
    const kind = kubernetesKind(type);
    if (!kind || (kind.group === "" && kind.kind === "Secret")) continue;
    const plural = crdPlurals.get(kindKey(kind.group, kind.kind)) ?? defaultPlural(kind.kind);
    byGroup.set(kind.group, (byGroup.get(kind.group) ?? new Set()).add(plural));
  }
  return [...byGroup.keys()].sort().map((group) => ({
    apiGroups: [group],
    resources: [...byGroup.get(group)!].sort(),
    verbs: READ_VERBS,
  }));
}

/**
 * `get` on the Secrets the stack declares or reads, by name, and nothing else: a refresh reads each
 * of them (the provider's Read is a GET of the whole object), and a stack that copies a Secret
 * (starlingx: the platform's pull secret) reads it on every preview. Undefined when there are none
 * (an empty resourceNames would grant every Secret).
 */
export function secretRule(names: Iterable<string>): PolicyRule | undefined {
  const sorted = [...new Set(names)].filter((n) => n !== "").sort();
  if (sorted.length === 0) return undefined;
  return { apiGroups: [""], resources: ["secrets"], verbs: ["get"], resourceNames: sorted };
}

/** True when `rules` let `verb` on the kind of `type` (by default plural). */
export function allows(rules: readonly PolicyRule[], type: string, verb: string, name?: string): boolean {
  const kind = kubernetesKind(type);
  if (!kind) return false;
  const plural = defaultPlural(kind.kind);
  return rules.some((r) => r.apiGroups.includes(kind.group) && r.resources.includes(plural) && r.verbs.includes(verb)
    && (r.resourceNames === undefined || (name !== undefined && r.resourceNames.includes(name))));
}
