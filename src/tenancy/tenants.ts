/**
 * Which tenant namespaces a stack has: one per user for private builds, one per project branch
 * for the shared builds. Pure, so the plan can be tested and benchmarked without Pulumi.
 */
import { releaseIdForBranch } from "../artifacts";
import { buildNamespace, TenantKind, userNamespace } from "./naming";
import { Settings } from "../settings/schema";
import { effectiveTenantDefaults, TenantDefaults } from "../settings/tenancy";

export interface TenantPlan {
  readonly kind: TenantKind;
  /** Namespace name (a DNS-1123 label). */
  readonly namespace: string;
  /** Who this tenant is, for labels and reports: a user name or "project/branch". */
  readonly owner: string;
  readonly podSecurity: "baseline" | "privileged";
  readonly limits: TenantDefaults["limits"];
  readonly quota: TenantDefaults["quota"];
  /** Users who get the owner role here (their identity is the "owner" ServiceAccount of their own namespace). */
  readonly members: readonly string[];
  /** Only user namespaces get a kubeconfig; build namespaces are reached by their maintainers' identity. */
  readonly issuesKubeconfig: boolean;
  /** Build tenants: where the branch publishes (its `releaseId`, or `releaseIdForBranch`). */
  readonly releaseId?: string;
}

/** Every tenant of the stack, users first, in configuration order. */
export function planTenants(settings: Pick<Settings, "users" | "projects" | "tenancy">): TenantPlan[] {
  const users = settings.users.map(
    (user): TenantPlan => ({
      kind: "user",
      namespace: userNamespace(user.name),
      owner: user.name,
      podSecurity: user.podSecurity ?? "baseline",
      ...effectiveTenantDefaults(settings.tenancy, user),
      members: [user.name],
      issuesKubeconfig: true,
    }),
  );
  const builds = settings.projects.flatMap((project) =>
    project.branches.map(
      (branch): TenantPlan => ({
        kind: "build",
        namespace: buildNamespace(project.name, branch.name),
        owner: `${project.name}/${branch.name}`,
        podSecurity: branch.podSecurity ?? "baseline",
        ...effectiveTenantDefaults(settings.tenancy, branch),
        members: branch.maintainers,
        issuesKubeconfig: false,
        releaseId: branch.releaseId ?? releaseIdForBranch(branch.name),
      }),
    ),
  );
  return [...users, ...builds];
}

/** The ServiceAccount a user acts as, in kubeconfigs and in RoleBindings of build namespaces. */
export const OWNER_SERVICE_ACCOUNT = "owner";
/** The ServiceAccount pipeline runs use inside a tenant namespace. */
export const PIPELINE_SERVICE_ACCOUNT = "pipeline";
