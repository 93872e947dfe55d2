/**
 * Checks that tie settings of different sections together for build runs: the PipelineRun quota
 * against the run history that schedules and the pruner keep, and release-ids across projects.
 */
import { releaseIdForBranch } from "../artifacts";
import { Problem } from "./tenancy";

interface Quota {
  readonly quota?: { readonly pipelineRuns?: number };
}

/**
 * `count/pipelineruns.tekton.dev` counts finished runs too, and schedules keep `keepRuns` of them.
 * Pruning runs before a start, so a run that finished since then is one more: the quota must hold
 * what is kept, plus that one, plus the new run, or a namespace can stop starting runs.
 */
export function runHistoryProblems(args: {
  quota: number;
  keepRuns: number;
  prunerKeep: number;
  users: readonly (Quota & { readonly name: string })[];
  projects: readonly { readonly branches: readonly Quota[] }[];
}): Problem[] {
  const kept = Math.max(args.keepRuns, args.prunerKeep);
  const needed = kept + 2;
  const why = `build.tekton.keepRuns (${args.keepRuns}) and retention.pipelineRuns.keep (${args.prunerKeep}) keep ${kept} finished runs, which the quota counts, and one more may finish before the next prune; it needs at least ${needed} so a new run can still start`;
  const problems: Problem[] = [];
  const check = (value: number | undefined, path: (string | number)[]) => {
    if (value !== undefined && value < needed) problems.push({ path, message: `${value} is too small: ${why}` });
  };
  check(args.quota, ["tenancy", "quota", "pipelineRuns"]);
  args.users.forEach((u, i) => check(u.quota?.pipelineRuns, ["users", i, "quota", "pipelineRuns"]));
  args.projects.forEach((p, i) => p.branches.forEach((b, j) => check(b.quota?.pipelineRuns, ["projects", i, "branches", j, "quota", "pipelineRuns"])));
  return problems;
}

/** Two branches publishing to one release-id would share one latest_build and one prefix. */
export function releaseIdProblems(projects: readonly { readonly name: string; readonly branches: readonly { readonly name: string; readonly releaseId?: string }[] }[]): Problem[] {
  const seen = new Map<string, string>();
  const problems: Problem[] = [];
  projects.forEach((project, i) =>
    project.branches.forEach((branch, j) => {
      const id = branch.releaseId ?? releaseIdForBranch(branch.name);
      const owner = `${project.name} ${branch.name}`;
      const first = seen.get(id);
      if (first === undefined) seen.set(id, owner);
      else
        problems.push({
          path: ["projects", i, "branches", j, "releaseId"],
          message: `publishes to release-id "${id}", as ${first} does; give one of them its own releaseId (e.g. "feature/${project.name}-${branch.name.replace(/[^A-Za-z0-9.-]+/g, "-")}")`,
        });
    }),
  );
  return problems;
}
