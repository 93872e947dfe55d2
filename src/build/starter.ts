/**
 * The script that starts one build and follows it, shared by the CronJob (no Jenkins) and the
 * Jenkins jobs, so both behave the same: prune old runs, refuse to overlap a scheduled run, apply
 * the switches given as environment variables, create the PipelineRun, wait, and print links to
 * the run, its logs and its artifacts. Runs in the pinned kubectl image (sh, kubectl, jq).
 */
import { SWITCHES } from "./params";
import { labelValue, RUN_LABELS } from "./runs";
import { LISTING_FILE, releaseRoot } from "../artifacts";
import { shellQuote as quote } from "../quoting";

/** Where the PipelineRun template (JSON) is mounted next to the script. */
export const RUN_TEMPLATE = "/run/build/pipelinerun.json";

export interface StarterOptions {
  readonly project: string;
  readonly branch: string;
  readonly namespace: string;
  readonly releaseId: string;
  readonly distro: string;
  /** Finished runs kept for this branch. */
  readonly keepRuns: number;
  /** The Tekton Dashboard as people reach it (NodePort or Ingress), not the in-cluster Service. */
  readonly dashboardUrl: string;
  /** `<public object-store URL>/<bucket>`: the published/ prefix below it is anonymously readable. */
  readonly artifactsUrl: string;
  /**
   * How long a manual start waits for a running build of the branch before it gives up: runs of a
   * branch share its ReadWriteOnce state volume (STATE_CLAIM), which has one writer at a time.
   */
  readonly waitMinutes?: number;
  /** Seconds between status checks. */
  readonly pollSeconds?: number;
}

/** A whole number for the script's arithmetic; anything else is a programming error, not input. */
function count(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`starter script: ${what} must be a whole number, not ${value}`);
  return value;
}

/**
 * Every value from settings enters the script once, as a single-quoted word assigned to a
 * variable, and is used only as "$variable" after that: a branch named `x$(id)` stays text.
 */
export function starterScript(o: StarterOptions): string {
  const selector = `${RUN_LABELS.project}=${labelValue(o.project)},${RUN_LABELS.branch}=${labelValue(o.branch)}`;
  const keep = count(o.keepRuns, "keepRuns");
  const poll = count(o.pollSeconds ?? 60, "pollSeconds");
  const waitMinutes = count(o.waitMinutes ?? 600, "waitMinutes");
  return `#!/bin/sh
set -eu
ns=${quote(o.namespace)}
selector=${quote(selector)}
what=${quote(`${o.project} ${o.branch}`)}
dashboard=${quote(o.dashboardUrl)}
outputs=${quote(`${o.artifactsUrl}/${releaseRoot(o.releaseId)}${o.distro}`)}
template="\${RUN_TEMPLATE:-${RUN_TEMPLATE}}"
work="$(mktemp -d)"

# Bounded history: the newest ${keep} finished runs of this branch stay, older ones go.
kubectl get pipelineruns -n "$ns" -l "$selector" -o json \\
  | jq -r --argjson keep ${keep} '[.items[] | select(.status.completionTime != null)] | sort_by(.metadata.creationTimestamp) | .[:-$keep][] | .metadata.name' \\
  | while read -r old; do kubectl delete pipelinerun -n "$ns" "$old"; done

trigger="\${TRIGGER:-scheduled}"
# Runs of this branch share its state volume (ReadWriteOnce, one writer): never two at once. A
# scheduled start is skipped; a manual one waits for the running build, and gives up after a while.
running_runs() { kubectl get pipelineruns -n "$ns" -l "$selector" -o json | jq -r '[.items[] | select(.status.completionTime == null)] | length'; }
running="$(running_runs)"
if [ "$trigger" = "scheduled" ] && [ "$running" != "0" ]; then
  echo "a build of $what is still running; this scheduled start is skipped"
  exit 0
fi
waited=0
while [ "$running" != "0" ]; do
  if [ "$waited" -ge ${waitMinutes * 60} ]; then
    echo "a build of $what is still running after ${waitMinutes} minutes; not starting another on its state volume" >&2
    exit 3
  fi
  echo "a build of $what is running; waiting for it to finish (its state volume has one writer)"
  sleep ${poll}
  waited=$((waited + ${Math.max(poll, 1)}))
  running="$(running_runs)"
done

cp "$template" "$work/run.json"
set_param() {
  jq --arg name "$1" --arg value "$2" '.spec.params |= (map(select(.name != $name)) + [{name: $name, value: $value}])' "$work/run.json" > "$work/next.json"
  mv "$work/next.json" "$work/run.json"
}
set_param TRIGGER "$trigger"
for switch in ${Object.keys(SWITCHES).join(" ")}; do
  value="$(printenv "$switch" || true)"
  case "$value" in
    "") ;;
    true|false) set_param "$switch" "$value" ;;
    *) echo "$switch must be true or false, not '$value'" >&2; exit 2 ;;
  esac
done

name="$(kubectl create -f "$work/run.json" -o jsonpath='{.metadata.name}')"
echo "Tekton run: ${o.dashboardUrl ? `${o.dashboardUrl}/#/namespaces/$ns/pipelineruns/$name` : "pipelinerun $name in namespace $ns (no Dashboard link: build.tekton.dashboardAccess)"}"
status=""
while [ "$status" != "True" ] && [ "$status" != "False" ]; do
  sleep ${poll}
  status="$(kubectl get pipelinerun -n "$ns" "$name" -o jsonpath='{.status.conditions[?(@.type=="Succeeded")].status}')"
done
date="$(kubectl get pipelinerun -n "$ns" "$name" -o jsonpath='{.status.results[?(@.name=="build-date")].value}')"
needed="$(kubectl get pipelinerun -n "$ns" "$name" -o jsonpath='{.status.results[?(@.name=="build-needed")].value}')"
if [ "$needed" = "false" ]; then
  echo "skipped: sources unchanged since the last successful build (set FORCE_BUILD=true to build anyway)"
elif [ -n "$date" ]; then
  echo "Artifacts: $outputs/$date/outputs/${LISTING_FILE}"
  echo "Logs: $outputs/$date/outputs/logs/"
fi
rm -rf "$work"
if [ "$status" = "True" ]; then echo "build succeeded"; else echo "build failed" >&2; exit 1; fi
`;
}
