/**
 * Settings for tenants: the defaults every namespace gets, the users, and the projects whose
 * branches build in namespaces of their own.
 */
import { z } from "zod";
import { parseQuantity } from "../quantity";
import {
  gitRefName,
  podSecurityLevel,
  positiveQuantity,
  RESOURCE_NAMES,
  resourceTriple,
  schedule,
  simpleName,
  urlSetting,
  wholeCount,
  ResourceTriple,
} from "./fields";

const ratio = z.number().min(1, { message: "must be at least 1 (a limit is never below its request)" });
/** Largest limit/request quotient a container may have (cpu and memory). */
export const limitRequestRatio = z.strictObject({ cpu: ratio, memory: ratio });

/** Per-container limits applied by a LimitRange. */
export const containerLimits = z.strictObject({
  /** Smallest request a container may make: no swarm of 1m/1Mi pods. */
  min: resourceTriple,
  defaultRequest: resourceTriple,
  default: resourceTriple,
  max: resourceTriple,
  /** limit / request of any container, so a small request cannot carry a node-sized limit. */
  maxLimitRequestRatio: limitRequestRatio,
});
export type ContainerLimits = z.output<typeof containerLimits>;

/** What a whole namespace may hold at once. */
export const namespaceQuota = z.strictObject({
  requests: resourceTriple,
  /** Sum of the limits of every pod (limits.cpu, limits.memory, limits.ephemeral-storage). */
  limits: resourceTriple,
  /** Pods at once, finished ones not counted (a run's task pods, its affinity assistant, starters). */
  pods: wholeCount,
  persistentVolumeClaims: wholeCount,
  storage: positiveQuantity,
  pipelineRuns: wholeCount,
});
export type NamespaceQuota = z.output<typeof namespaceQuota>;

export const tenantDefaults = z.strictObject({
  limits: containerLimits,
  quota: namespaceQuota,
});
export type TenantDefaults = z.output<typeof tenantDefaults>;

/** Overrides for one tenant; anything left out comes from `tenancy`. */
const tenantOverrides = {
  podSecurity: podSecurityLevel.optional(),
  limits: z
    .strictObject({
      min: resourceTriple.partial().optional(),
      defaultRequest: resourceTriple.partial().optional(),
      default: resourceTriple.partial().optional(),
      max: resourceTriple.partial().optional(),
      maxLimitRequestRatio: limitRequestRatio.partial().optional(),
    })
    .optional(),
  quota: z
    .strictObject({
      requests: resourceTriple.partial().optional(),
      limits: resourceTriple.partial().optional(),
      pods: wholeCount.optional(),
      persistentVolumeClaims: wholeCount.optional(),
      storage: positiveQuantity.optional(),
      pipelineRuns: wholeCount.optional(),
    })
    .optional(),
};

export const user = z.strictObject({
  name: simpleName,
  /** Shown in the kubeconfig and in reports; not used for authentication. */
  email: z.email({ message: "must be an e-mail address" }).optional(),
  ...tenantOverrides,
});
export type UserSettings = z.output<typeof user>;

const RELEASE_ID = /^(master|(feature|release|milestone)\/[A-Za-z0-9][A-Za-z0-9._-]*)$/;

export const branch = z.strictObject({
  /** The git branch of the manifest repository, e.g. "master" or "r/stx.9.0". */
  name: gitRefName,
  /** Where its builds are published; derived from the branch name when left out. */
  releaseId: z
    .string()
    .regex(RELEASE_ID, { message: 'must be "master", "feature/<name>", "release/<name>" or "milestone/<tag>"' })
    .optional(),
  /** Cron schedule of the daily build; a branch without one builds on demand only. */
  schedule: schedule.optional(),
  /** Users who may start and manage this branch's builds. */
  maintainers: z.array(simpleName).default([]),
  ...tenantOverrides,
});
export type BranchSettings = z.output<typeof branch>;

export const project = z.strictObject({
  name: simpleName,
  /** Git URL of the repo manifest repository. */
  manifestUrl: urlSetting(["https", "http", "ssh"], "https://opendev.org/starlingx/manifest.git"),
  /** Manifest file inside that repository. */
  manifest: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9._-]*(\/[A-Za-z0-9_][A-Za-z0-9._-]*)*\.xml$/, { message: "must be a relative path of an .xml file in the manifest repository (letters, digits, '.', '_', '-', '/'), e.g. default.xml" }).default("default.xml"),
  branches: z.array(branch).min(1, { message: "must list at least one branch" }),
});
export type ProjectSettings = z.output<typeof project>;

export type Problem = { path: (string | number)[]; message: string };

/** Cross-field checks of the defaults: each limit ordered, the quota room for one container. */
export function tenantDefaultsProblems(defaults: TenantDefaults, path: (string | number)[]): Problem[] {
  return [...limitsProblems(defaults.limits, [...path, "limits"]), ...quotaProblems(defaults, path)];
}

function limitsProblems(limits: ContainerLimits, path: (string | number)[]): Problem[] {
  const problems: Problem[] = [];
  for (const resource of RESOURCE_NAMES) {
    const request = parseQuantity(limits.defaultRequest[resource]);
    const limit = parseQuantity(limits.default[resource]);
    const max = parseQuantity(limits.max[resource]);
    if (request > limit) {
      problems.push({
        path: [...path, "defaultRequest", resource],
        message: `${limits.defaultRequest[resource]} is above the default limit ${limits.default[resource]}; a request must not exceed its limit`,
      });
    }
    if (request > max) {
      problems.push({
        path: [...path, "defaultRequest", resource],
        message: `${limits.defaultRequest[resource]} is above max ${limits.max[resource]}; defaultRequest must be at most max`,
      });
    }
    if (limit > max) {
      problems.push({
        path: [...path, "default", resource],
        message: `${limits.default[resource]} is above max ${limits.max[resource]}; the default limit must be at most max`,
      });
    }
    if (parseQuantity(limits.min[resource]) > request) {
      problems.push({
        path: [...path, "min", resource],
        message: `${limits.min[resource]} is above defaultRequest ${limits.defaultRequest[resource]}; min must be at most defaultRequest`,
      });
    }
  }
  problems.push(...ratioProblems(limits, path), ...affinityAssistantProblems(limits, path));
  return problems;
}

/**
 * Tekton's affinity assistant (one pod per PipelineRun with workspaces) asks for exactly this
 * (requests = limits, pkg/reconciler/pipelinerun/affinity_assistant.go at the pinned v1.15.1): a
 * LimitRange minimum above it refuses the pod, and every task pod of the run then waits,
 * unschedulable, for a pod that never comes.
 */
export const AFFINITY_ASSISTANT = { cpu: "50m", memory: "100Mi" } as const;

function affinityAssistantProblems(limits: ContainerLimits, path: (string | number)[]): Problem[] {
  return (["cpu", "memory"] as const)
    .filter((resource) => parseQuantity(limits.min[resource]) > parseQuantity(AFFINITY_ASSISTANT[resource]))
    .map((resource) => ({
      path: [...path, "min", resource],
      message: `${limits.min[resource]} is above what Tekton's affinity assistant asks for (${AFFINITY_ASSISTANT[resource]}), so every build run's pods would wait for it forever: at most ${AFFINITY_ASSISTANT[resource]}`,
    }));
}

/**
 * Tekton divides defaultRequest among a Task's steps, down to min, while each keeps the default
 * limit, and does not adjust for ratios (tektoncd/pipeline#4230): the LimitRange would refuse a
 * step pod whose default / min exceeds the ratio.
 */
function ratioProblems(limits: ContainerLimits, path: (string | number)[]): Problem[] {
  return (["cpu", "memory"] as const).flatMap((resource) => {
    const quotient = parseQuantity(limits.default[resource]) / parseQuantity(limits.min[resource]);
    const allowed = limits.maxLimitRequestRatio[resource];
    return quotient > allowed
      ? [{
          path: [...path, "maxLimitRequestRatio", resource],
          message: `${allowed} is below default / min (${limits.default[resource]} / ${limits.min[resource]} = ${+quotient.toFixed(2)}); Tekton lowers a step's request to min but keeps the default limit, so build pods would be refused: raise it to at least ${Math.ceil(quotient)}, or raise min`,
        }]
      : [];
  });
}

function quotaProblems(defaults: TenantDefaults, path: (string | number)[]): Problem[] {
  const limits = RESOURCE_NAMES.filter(
    (resource) => parseQuantity(defaults.quota.limits[resource]) < parseQuantity(defaults.limits.default[resource]),
  ).map((resource) => ({
    path: [...path, "quota", "limits", resource],
    message: `${defaults.quota.limits[resource]} is smaller than one container's default limit (${defaults.limits.default[resource]}); no pod could start`,
  }));
  return [...limits, ...RESOURCE_NAMES.filter(
    (resource) => parseQuantity(defaults.quota.requests[resource]) < parseQuantity(defaults.limits.defaultRequest[resource]),
  ).map((resource) => ({
    path: [...path, "quota", "requests", resource],
    message: `${defaults.quota.requests[resource]} is smaller than one container's default request (${defaults.limits.defaultRequest[resource]}); no pod could start`,
  }))];
}

/** A tenant's effective limits and quota: the defaults with its overrides laid over them. */
export function effectiveTenantDefaults(
  defaults: TenantDefaults,
  overrides: Pick<UserSettings, "limits" | "quota">,
): TenantDefaults {
  const limits = overrides.limits ?? {};
  const quota = overrides.quota ?? {};
  return {
    limits: {
      min: withOverrides(defaults.limits.min, limits.min),
      defaultRequest: withOverrides(defaults.limits.defaultRequest, limits.defaultRequest),
      default: withOverrides(defaults.limits.default, limits.default),
      max: withOverrides(defaults.limits.max, limits.max),
      maxLimitRequestRatio: { ...defaults.limits.maxLimitRequestRatio, ...(limits.maxLimitRequestRatio ?? {}) },
    },
    quota: {
      requests: withOverrides(defaults.quota.requests, quota.requests),
      limits: withOverrides(defaults.quota.limits, quota.limits),
      pods: quota.pods ?? defaults.quota.pods,
      persistentVolumeClaims: quota.persistentVolumeClaims ?? defaults.quota.persistentVolumeClaims,
      storage: quota.storage ?? defaults.quota.storage,
      pipelineRuns: quota.pipelineRuns ?? defaults.quota.pipelineRuns,
    },
  };
}

function withOverrides(base: ResourceTriple, overrides: Partial<ResourceTriple> | undefined): ResourceTriple {
  return { ...base, ...(overrides ?? {}) };
}
