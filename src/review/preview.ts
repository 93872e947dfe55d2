/**
 * The plan in `pulumi preview --json` (the CLI's PreviewDigest, pkg/display/json.go), read into the
 * changes a reviewer cares about: what is created, updated, replaced or deleted, where (which
 * tenant or shared service), and whether data could be lost.
 */

/** A resource's state as the preview prints it (apitype.ResourceV3; secrets already "[secret]"). */
export interface ResourceState {
  readonly urn: string;
  readonly type: string;
  readonly custom?: boolean;
  readonly id?: string;
  readonly inputs?: Record<string, unknown>;
  readonly outputs?: Record<string, unknown>;
  readonly protect?: boolean;
  readonly retainOnDelete?: boolean;
  readonly parent?: string;
}

export interface PreviewStep {
  readonly op: string;
  readonly urn: string;
  readonly oldState?: ResourceState;
  readonly newState?: ResourceState;
  readonly diffReasons?: string[];
  readonly replaceReasons?: string[];
  readonly detailedDiff?: Record<string, { kind: string; inputDiff?: boolean }> | null;
}

export interface PreviewDiagnostic {
  readonly urn?: string;
  readonly message?: string;
  readonly severity?: string;
}

export interface PreviewJson {
  readonly config?: Record<string, string>;
  readonly steps?: PreviewStep[];
  readonly diagnostics?: PreviewDiagnostic[];
  readonly changeSummary?: Record<string, number>;
}

export type Operation = "create" | "update" | "replace" | "delete";
export const OPERATIONS: readonly Operation[] = ["create", "update", "replace", "delete"];

/**
 * The step ops that stand for one of the four operations. A replacement shows as three steps
 * (create-replacement, replace, delete-replaced): only `replace` is counted.
 */
const OPERATION_OF_STEP: Record<string, Operation | undefined> = {
  create: "create", update: "update", replace: "replace", delete: "delete",
};

/** Where a change belongs: one tenant's namespace, or one shared service. */
export interface Owner {
  readonly kind: "tenant" | "service";
  readonly name: string;
}

export interface Change {
  readonly op: Operation;
  readonly urn: string;
  readonly type: string;
  /** "Kind namespace/name" for a Kubernetes object, "type name" otherwise. */
  readonly label: string;
  readonly owner: Owner;
  /** Why the data in it matters, when it holds data; undefined otherwise. */
  readonly data?: string;
  /** Protected in the state: deleting it fails the update (and the review). */
  readonly protect: boolean;
  /** Pulumi's reason: the properties that force the replacement, or why it is deleted. */
  readonly reason?: string;
  readonly step: PreviewStep;
}

/** The type chain (parents first) and logical name of a URN `urn:pulumi:<stack>::<project>::<types>::<name>`. */
export function parseUrn(urn: string): { types: string[]; name: string } {
  const parts = urn.split("::");
  if (parts.length < 4 || !parts[0].startsWith("urn:pulumi:")) throw new Error(`not a Pulumi URN: ${urn}`);
  return { types: parts[2].split("$"), name: parts.slice(3).join("::") };
}

/** metadata of a Kubernetes object in a state, when there is one. */
function metadataOf(state?: ResourceState): { name?: string; namespace?: string } | undefined {
  const meta = (state?.inputs?.metadata ?? state?.outputs?.metadata) as { name?: unknown; namespace?: unknown } | undefined;
  if (!meta) return undefined;
  return { name: typeof meta.name === "string" ? meta.name : undefined, namespace: typeof meta.namespace === "string" ? meta.namespace : undefined };
}

/** The changes of a preview, in step order. `tenantNamespaces` names the tenants of the stack. */
export function changesOf(preview: PreviewJson, knownTenants: ReadonlySet<string> = new Set()): Change[] {
  const tenantNamespaces = new Set([...knownTenants, ...newTenants(preview)]);
  return (preview.steps ?? []).flatMap((step) => {
    const op = OPERATION_OF_STEP[step.op];
    const state = step.newState ?? step.oldState;
    if (!op || !state) return [];
    const { types, name } = parseUrn(step.urn);
    const meta = metadataOf(step.newState) ?? metadataOf(step.oldState);
    const kind = state.type.split(":").pop() ?? state.type;
    const objectName = meta?.name ? (meta.namespace ? `${meta.namespace}/${meta.name}` : meta.name) : name;
    const protect = step.oldState?.protect === true;
    return [{
      op,
      urn: step.urn,
      type: state.type,
      label: state.type.startsWith("kubernetes:") ? `${kind} ${objectName}` : `${state.type} ${name}`,
      owner: ownerOf(types, name, state.type, meta, tenantNamespaces),
      data: dataReason(types, state.type, meta?.name, step.oldState ?? state),
      protect,
      reason: reasonOf(op, step),
      step,
    }];
  });
}

/** Namespaces a TenantNamespace component declares in this preview (a user or branch being added or removed). */
function newTenants(preview: PreviewJson): string[] {
  return (preview.steps ?? []).flatMap((step) => {
    const state = step.newState ?? step.oldState;
    if (state?.type !== "kubernetes:core/v1:Namespace" || !parseUrn(step.urn).types.includes("stx:tenancy:TenantNamespace")) return [];
    const name = metadataOf(state)?.name;
    return name ? [name] : [];
  });
}

/**
 * A tenant when the object is in (or is) a tenant namespace, or belongs to a tenant's component
 * (whose children are named after its namespace, e.g. the RoleBinding in the shared namespace);
 * else the shared service that declares it.
 */
export function ownerOf(
  types: readonly string[], logicalName: string, type: string, meta: { name?: string; namespace?: string } | undefined, tenants: ReadonlySet<string>,
): Owner {
  const namespace = type === "kubernetes:core/v1:Namespace" ? meta?.name : meta?.namespace;
  if (types.includes("stx:tenancy:TenantNamespace")) {
    const byName = [...tenants].filter((t) => logicalName === t || logicalName.startsWith(`${t}-`)).sort((a, b) => b.length - a.length)[0];
    const tenant = byName ?? (namespace && tenants.has(namespace) ? namespace : undefined);
    if (tenant) return { kind: "tenant", name: tenant };
  }
  if (namespace && tenants.has(namespace)) return { kind: "tenant", name: namespace };
  // The innermost of our components that is not the whole cluster: Pulp, ObjectStore, Tekton, ...
  const component = [...types].reverse().find((t) => t.startsWith("stx:") && t !== "stx:cluster:BuildCluster" && t !== "stx:tenancy:TenantNamespace");
  return { kind: "service", name: component ? component.split(":").pop()! : "cluster" };
}

/** Why a resource holds data, if it does (the objects the rendered plan puts at the top). */
export function dataReason(types: readonly string[], type: string, name: string | undefined, state: ResourceState): string | undefined {
  if (type === "kubernetes:core/v1:Namespace") return "a namespace: deleting it deletes everything in it";
  if (type === "kubernetes:core/v1:PersistentVolumeClaim") return "a volume claim: its data goes with it unless retained";
  if (type === "kubernetes:core/v1:PersistentVolume") return "a volume";
  if (types.includes("stx:services:ObjectStore")) return "part of the object store (artifacts, logs, backups)";
  if (name === "pulp-database") return "part of Pulp's database";
  if (state.protect) return "protected in the state";
  if (state.retainOnDelete) return "retained on delete";
  return undefined;
}

function reasonOf(op: Operation, step: PreviewStep): string | undefined {
  if (op === "replace") {
    const keys = step.replaceReasons?.length ? step.replaceReasons : replaceKeysOf(step);
    return keys.length ? `replaced because ${keys.map((k) => `\`${k}\``).join(", ")} changed` : "replaced (the provider gave no property)";
  }
  if (op === "delete") return "no longer declared by the program";
  return undefined;
}

function replaceKeysOf(step: PreviewStep): string[] {
  return Object.entries(step.detailedDiff ?? {}).filter(([, d]) => d.kind.endsWith("-replace")).map(([k]) => k);
}

/** Changes that delete (or replace, which deletes first or after) a protected resource. */
export function protectedDeletions(changes: readonly Change[]): Change[] {
  return changes.filter((c) => c.protect && (c.op === "delete" || c.op === "replace"));
}

/** Counts of each operation. */
export function countOps(changes: readonly Change[]): Record<Operation, number> {
  const counts = { create: 0, update: 0, replace: 0, delete: 0 };
  for (const c of changes) counts[c.op] += 1;
  return counts;
}

/** Errors the engine reported (a preview that deletes a protected resource fails with one). */
export function errorsOf(preview: PreviewJson): PreviewDiagnostic[] {
  return (preview.diagnostics ?? []).filter((d) => d.severity === "error");
}
