/** Labels every object of this program carries, so `kubectl get -l` finds them all. */
export const PART_OF = "stx-build-cluster";

export function standardLabels(component: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    "app.kubernetes.io/part-of": PART_OF,
    "app.kubernetes.io/managed-by": "pulumi",
    "app.kubernetes.io/component": component,
    ...extra,
  };
}

/** Label naming the tenant a namespace belongs to; NetworkPolicies and reports select on it. */
export const TENANT_LABEL = "stx.starlingx.io/tenant";
export const TENANT_KIND_LABEL = "stx.starlingx.io/tenant-kind";
