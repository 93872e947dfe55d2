/**
 * Who may do what in our own registry, per repository prefix, and how one request of the registry
 * API (v2) maps onto those rules. Pure: the registry gate (src/services/registryGate.ts) asks
 * `decide` for every request, and the component derives the rules from the tenant plan.
 *
 * - every tenant namespace has one login (its pipeline runs' `registry-credentials`, readable by
 *   its owner or the branch's maintainers) that pushes only under `<namespace>/`;
 * - it pulls its own prefix and every branch namespace's (shared builds' images), never another
 *   user's private prefix;
 * - under the prefixes of branches whose builds are kept forever (release branches), a tag once
 *   pushed is never overwritten and nothing is deleted, by any tenant login;
 * - the platform login (shared namespace only) may do everything; only it lists the catalog.
 */
import { releaseClass } from "../artifacts";
import { RetentionSettings } from "../settings/retention";
import { TenantPlan } from "../tenancy/tenants";

export type RegistryAction = "pull" | "push" | "delete";

export interface RegistryLogin {
  readonly user: string;
  /** The tenant namespace whose Secret carries this login; undefined for the platform's. */
  readonly namespace?: string;
  /** Repository prefixes (ending in "/") per action; "" stands for every repository. */
  readonly pull: readonly string[];
  readonly push: readonly string[];
  readonly delete: readonly string[];
  /** Exempt from the immutable prefixes (the platform's maintenance login only). */
  readonly platform: boolean;
}

export interface RegistryRules {
  readonly logins: readonly RegistryLogin[];
  /** Prefixes whose tags are never overwritten and whose manifests and blobs are never deleted. */
  readonly immutable: readonly string[];
}

/** The login of a tenant namespace (namespace names are DNS labels, valid user names). */
export function tenantRegistryUser(namespace: string): string {
  return `tenant-${namespace}`;
}

/** The repository prefix a tenant pushes under: its namespace, a valid repository path component. */
export function registryPrefix(tenant: Pick<TenantPlan, "namespace">): string {
  return `${tenant.namespace}/`;
}

/** The rules for a stack's tenants; `platformUser` is the shared namespace's login. */
export function registryRules(tenants: readonly TenantPlan[], days: RetentionSettings["days"], platformUser: string): RegistryRules {
  const shared = tenants.filter((t) => t.kind === "build").map(registryPrefix);
  const immutable = tenants
    .filter((t) => t.kind === "build" && t.releaseId && days[releaseClass(t.releaseId)] === "forever")
    .map(registryPrefix);
  const logins = tenants.map((tenant): RegistryLogin => {
    const own = registryPrefix(tenant);
    return {
      user: tenantRegistryUser(tenant.namespace),
      namespace: tenant.namespace,
      pull: [...new Set([own, ...shared])],
      push: [own],
      delete: immutable.includes(own) ? [] : [own],
      platform: false,
    };
  });
  const platform: RegistryLogin = { user: platformUser, pull: [""], push: [""], delete: [""], platform: true };
  const users = new Set([platform, ...logins].map((l) => l.user));
  if (users.size !== logins.length + 1) throw new Error(`registry logins are not unique: ${[...users].join(", ")}`);
  return { logins: [platform, ...logins], immutable };
}

/** Whether `login` may perform `action` on `repository` (prefix rules only; immutability is `decide`'s). */
export function mayAct(login: RegistryLogin, action: RegistryAction, repository: string): boolean {
  return login[action].some((prefix) => repository.startsWith(prefix));
}

/** What the gate does with one request. */
export type Decision =
  | {
    readonly allow: true;
    readonly action?: RegistryAction;
    readonly repository?: string;
    /** Forward only if this tag does not exist yet (a push to an immutable prefix). */
    readonly tagMustBeAbsent?: string;
    /** A cross-repository mount from a repository the login may not pull: forward as a plain upload. */
    readonly dropMount?: boolean;
  }
  | { readonly allow: false; readonly status: 403 | 404 | 405; readonly reason: string };

// distribution's reference grammar (reference/regexp.go): path components, tags and digests.
const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const NAME = `${COMPONENT}(?:/${COMPONENT})*`;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const ROUTE = new RegExp(`^/v2/(${NAME})/(tags/list|manifests/([^/]+)|blobs/uploads/?([^/]*)|blobs/([^/]+)|referrers/([^/]+))$`);
const UUID = /^[A-Za-z0-9_=-]+$/;

const refuse = (status: 403 | 404 | 405, reason: string): Decision => ({ allow: false, status, reason });

/** The decision for `method` on `url` (path and query of the request) by `login`. */
export function decide(rules: RegistryRules, login: RegistryLogin, method: string, url: URL): Decision {
  const path = url.pathname;
  if (path === "/v2/" || path === "/v2") return { allow: true };
  if (path === "/v2/_catalog") return login.platform ? { allow: true } : refuse(403, "only the platform lists the catalog");
  const match = ROUTE.exec(path);
  if (!match) return refuse(404, `not a registry API path: ${path}`);
  const [, repository, route, reference, upload, blob, referrersOf] = match;
  const action = routeAction(method, route, reference ?? blob ?? referrersOf, upload);
  if (typeof action !== "string") return action;
  if (!mayAct(login, action, repository)) return refuse(403, `${login.user} may not ${action} ${repository}`);
  const immutable = !login.platform && rules.immutable.some((p) => repository.startsWith(p));
  if (immutable && action === "delete") return refuse(403, `${repository} holds release images: nothing is deleted there`);
  if (immutable && route.startsWith("manifests/") && method === "PUT" && !DIGEST.test(reference)) {
    return { allow: true, action, repository, tagMustBeAbsent: reference };
  }
  const from = url.searchParams.get("from");
  if (upload !== undefined && url.searchParams.has("mount") && (!from || !mayAct(login, "pull", from))) {
    return { allow: true, action, repository, dropMount: true };
  }
  return { allow: true, action, repository };
}

/** The action a route and method need, or the refusal for a malformed reference or method. */
function routeAction(method: string, route: string, reference: string | undefined, upload: string | undefined): RegistryAction | Decision {
  const read = method === "GET" || method === "HEAD";
  if (route === "tags/list" || route.startsWith("referrers/")) {
    if (reference !== undefined && !DIGEST.test(reference)) return refuse(404, `not a digest: ${reference}`);
    return read ? "pull" : refuse(405, `${method} is not allowed on ${route}`);
  }
  if (upload !== undefined) {
    if (upload !== "" && !UUID.test(upload)) return refuse(404, "not an upload id");
    if (upload === "" && method !== "POST") return refuse(405, `${method} does not start an upload`);
    return ["POST", "PATCH", "PUT", "GET", "HEAD", "DELETE"].includes(method) ? "push" : refuse(405, `${method} is not an upload method`);
  }
  const isManifest = route.startsWith("manifests/");
  if (!reference || !(DIGEST.test(reference) || (isManifest && TAG.test(reference)))) return refuse(404, `not a valid reference: ${reference}`);
  if (read) return "pull";
  if (method === "DELETE") return "delete";
  if (isManifest && method === "PUT") return "push";
  return refuse(405, `${method} is not allowed on ${isManifest ? "manifests" : "blobs"}`);
}
