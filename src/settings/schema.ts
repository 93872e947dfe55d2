/**
 * The whole stack configuration as one validated, typed object. Pure: it takes the raw values
 * (as `pulumi config` holds them) and returns settings or throws a SettingsError that lists every
 * problem with the setting's path and what is allowed. Nothing here touches Pulumi or a cluster.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { build, buildProblems } from "./build";
import { releaseIdProblems, runHistoryProblems } from "./runs";
import { urlSetting } from "./fields";
import { cluster, clusterProblems } from "./cluster";
import { mergeSettings, Profile, PROFILE_DEFAULTS, PROFILES } from "./profiles";
import { backup, backupProblems, retention } from "./retention";
import {
  effectiveTenantDefaults,
  Problem,
  project,
  ProjectSettings,
  tenantDefaults,
  tenantDefaultsProblems,
  user,
  UserSettings,
} from "./tenancy";
import { services, servicesProblems } from "./services";

/** The Pulumi config namespace of every setting. */
export const CONFIG_NAMESPACE = "stx-build-cluster";

const settingsShape = z.strictObject({
    profile: z.enum(PROFILES),
    /** kubeconfig context to deploy to; the current context when left out. */
    kubeContext: z.string().min(1).optional(),
    /** Path of the kubeconfig file; the usual search ($KUBECONFIG, ~/.kube/config) when left out. */
    kubeconfig: z.string().min(1).optional(),
    /** The API server URL written into the users' kubeconfigs. */
    apiServer: urlSetting(["https"], "https://build.example.org:6443"),
    cluster,
    tenancy: tenantDefaults,
    users: z.array(user).min(1, { message: "must list at least one user" }),
    projects: z.array(project).default([]),
    retention,
    services,
    backup,
    build,
});

export type Settings = z.output<typeof settingsShape>;

export type ClusterSettings = Settings["cluster"];
export type { RetentionSettings, BackupSettings } from "./retention";
export type { BuildSettings } from "./build";
export { Profile, ProjectSettings, UserSettings };

/**
 * Raised for any invalid configuration; `problems` holds one line per setting. A RunError, which
 * the SDK's program runner prints as its message alone: a user gets the setting and what is
 * allowed, not a stack trace of the validator.
 */
export class SettingsError extends pulumi.RunError {
  constructor(public readonly problems: readonly string[]) {
    super(
      `invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "SettingsError";
  }
}

/** Validates raw stack config (profile defaults applied first) and returns typed settings. */
export function parseSettings(raw: Record<string, unknown>): Settings {
  const profile = raw.profile;
  if (!PROFILES.includes(profile as Profile)) {
    const found = profile === undefined ? "is required" : `is ${JSON.stringify(profile)}`;
    throw new SettingsError([`${CONFIG_NAMESPACE}:profile ${found}; it must be one of ${PROFILES.join(", ")}`]);
  }
  const merged = mergeSettings(PROFILE_DEFAULTS[profile as Profile], raw);
  const result = settingsShape.safeParse(merged, { error: describeIssue, reportInput: true });
  if (!result.success) throw new SettingsError(result.error.issues.flatMap(problemLines));
  // Cross-field checks compare parsed values, so they run only once every field is well-formed.
  const problems = crossFieldProblems(result.data);
  if (problems.length > 0) throw new SettingsError(problems.map((p) => `${settingPath(p.path)}: ${p.message}`));
  return result.data;
}

/** One line per problem; a missing value says so even where the field has its own message. */
function problemLines(issue: z.core.$ZodIssue): string[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map(
      (key) => `${settingPath([...issue.path, key])}: unknown setting; check the spelling against the README's config reference`,
    );
  }
  const missing = issue.code === "invalid_type" && issue.input === undefined;
  return [`${settingPath(issue.path)}: ${missing ? `is required (${issue.expected})` : issue.message}`];
}

/** "users[1].name" with the config namespace in front, as `pulumi config set --path` spells it. */
export function settingPath(path: readonly PropertyKey[]): string {
  const text = path
    .map((key, index) => (typeof key === "number" ? `[${key}]` : index === 0 ? String(key) : `.${String(key)}`))
    .join("");
  return `${CONFIG_NAMESPACE}:${text}`;
}

/** Messages for zod's built-in checks, phrased as what is allowed. */
function describeIssue(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case "invalid_type":
      return `must be ${issue.expected}, not ${typeOf(issue.input)}`;
    case "invalid_value":
      return `is ${JSON.stringify(issue.input)}; it must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    default:
      return undefined;
  }
}

function typeOf(value: unknown): string {
  return Array.isArray(value) ? "a list" : value === null ? "null" : typeof value === "object" ? "an object" : `${typeof value} ${JSON.stringify(value)}`;
}

function crossFieldProblems(settings: Settings): Problem[] {
  return [
    ...clusterProblems(settings),
    ...tenantDefaultsProblems(settings.tenancy, ["tenancy"]),
    ...settings.users.flatMap((u, i) => tenantProblems(settings, u, ["users", i])),
    ...duplicates(settings.users.map((u) => u.name), "users", "user"),
    ...duplicates(settings.projects.map((p) => p.name), "projects", "project"),
    ...settings.projects.flatMap((p, i) => projectProblems(settings, p, i)),
    ...servicesProblems(settings.services, settings.cluster),
    ...backupProblems(settings),
    ...buildProblems(settings.build, {
      profile: settings.profile,
      nodes: settings.cluster.nodes.map((n) => n.name),
      kubernetesVersion: settings.cluster.kubernetesVersion,
      quotaStorage: settings.tenancy.quota.storage,
      users: settings.users.length,
      registryMode: settings.services.registry.mode,
    }),
    ...runHistoryProblems({
      quota: settings.tenancy.quota.pipelineRuns,
      keepRuns: settings.build.tekton.keepRuns,
      prunerKeep: settings.retention.pipelineRuns.keep,
      users: settings.users,
      projects: settings.projects,
    }),
    ...releaseIdProblems(settings.projects),
  ];
}

function tenantProblems(
  settings: Settings,
  tenant: Pick<UserSettings, "limits" | "quota" | "podSecurity">,
  path: (string | number)[],
): Problem[] {
  const problems: Problem[] = [];
  if (tenant.limits || tenant.quota) {
    problems.push(...tenantDefaultsProblems(effectiveTenantDefaults(settings.tenancy, tenant), path));
  }
  if (tenant.podSecurity === "privileged" && settings.profile !== "minikube") {
    problems.push({
      path: [...path, "podSecurity"],
      message: `"privileged" is only allowed on the minikube profile (its docker-in-docker fallback); on ${settings.profile} image builds use the sysbox runtime, so use "baseline"`,
    });
  }
  return problems;
}

function projectProblems(settings: Settings, proj: ProjectSettings, index: number): Problem[] {
  const known = new Set(settings.users.map((u) => u.name));
  const path = ["projects", index];
  const problems = duplicates(proj.branches.map((b) => b.name), [...path, "branches"], "branch");
  proj.branches.forEach((branch, b) => {
    problems.push(...tenantProblems(settings, branch, [...path, "branches", b]));
    branch.maintainers.forEach((name, m) => {
      if (!known.has(name)) {
        problems.push({
          path: [...path, "branches", b, "maintainers", m],
          message: `"${name}" is not a configured user; maintainers must be listed under users`,
        });
      }
    });
  });
  return problems;
}

function duplicates(names: readonly string[], listPath: string | (string | number)[], what: string): Problem[] {
  const base = Array.isArray(listPath) ? listPath : [listPath];
  const firstIndex = new Map<string, number>();
  const problems: Problem[] = [];
  names.forEach((name, index) => {
    const first = firstIndex.get(name);
    if (first === undefined) firstIndex.set(name, index);
    else problems.push({ path: [...base, index, "name"], message: `duplicate ${what} "${name}" (also at index ${first})` });
  });
  return problems;
}
