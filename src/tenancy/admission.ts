/**
 * What tenants may not create even inside their own namespace, as a ValidatingAdmissionPolicy
 * (Kubernetes' own CEL admission, admissionregistration.k8s.io/v1 since 1.30). Pod Security
 * "baseline" already refuses host namespaces, hostPath and host ports, but tenants on minikube may
 * be "privileged" (docker-in-docker) and baseline says nothing about Services: externalIPs lets a
 * tenant take over traffic to any address (CVE-2020-8554), NodePort and LoadBalancer open the
 * namespace to the outside. The ResourceQuota counts NodePorts and LoadBalancers as 0 as well.
 */
import { TENANT_LABEL } from "../labels";

export const ADMISSION_POLICY_NAME = "stx-tenant-escape-hatches";

/** The first minor with admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy. */
export const ADMISSION_POLICY_MINOR = 30;

export interface Validation {
  readonly expression: string;
  readonly message: string;
  readonly reason: "Forbidden";
}

/** Every container list of a pod, for checks on each container. */
const CONTAINER_LISTS = ["containers", "initContainers", "ephemeralContainers"] as const;
const noHostPort = CONTAINER_LISTS.map(
  (list) => `(!has(object.spec.${list}) || object.spec.${list}.all(c, !has(c.ports) || c.ports.all(p, !has(p.hostPort) || p.hostPort == 0)))`,
).join(" && ");
const isService = "object.kind == 'Service'";
const isPod = "object.kind == 'Pod'";

export const VALIDATIONS: readonly Validation[] = [
  {
    expression: `!(${isService}) || !has(object.spec.externalIPs) || size(object.spec.externalIPs) == 0`,
    message: "Services in tenant namespaces may not set spec.externalIPs (CVE-2020-8554: it captures traffic to those addresses cluster-wide)",
    reason: "Forbidden",
  },
  {
    expression: `!(${isService}) || !has(object.spec.type) || object.spec.type == 'ClusterIP'`,
    message: "Services in tenant namespaces must be of type ClusterIP: NodePort and LoadBalancer open the namespace outside the cluster, ExternalName redirects other clients' names",
    reason: "Forbidden",
  },
  {
    expression: `!(${isPod}) || !((has(object.spec.hostNetwork) && object.spec.hostNetwork) || (has(object.spec.hostPID) && object.spec.hostPID) || (has(object.spec.hostIPC) && object.spec.hostIPC))`,
    message: "pods in tenant namespaces may not use the node's network, PID or IPC namespace (hostNetwork, hostPID, hostIPC), whatever the namespace's Pod Security level",
    reason: "Forbidden",
  },
  {
    expression: `!(${isPod}) || !has(object.spec.volumes) || object.spec.volumes.all(v, !has(v.hostPath))`,
    message: "pods in tenant namespaces may not mount hostPath volumes, whatever the namespace's Pod Security level",
    reason: "Forbidden",
  },
  {
    expression: `!(${isPod}) || (${noHostPort})`,
    message: "containers in tenant namespaces may not bind host ports (hostPort), whatever the namespace's Pod Security level",
    reason: "Forbidden",
  },
];

/** The policy's spec: Services and Pods, created or updated. */
export function admissionPolicySpec(): Record<string, unknown> {
  const rule = (resource: string) => ({ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: [resource] });
  return {
    failurePolicy: "Fail",
    matchConstraints: { resourceRules: [rule("services"), rule("pods")] },
    validations: VALIDATIONS.map((v) => ({ ...v })),
  };
}

/** The binding's spec: deny, in every namespace carrying TENANT_LABEL (which tenants cannot change). */
export function admissionBindingSpec(): Record<string, unknown> {
  return {
    policyName: ADMISSION_POLICY_NAME,
    validationActions: ["Deny"],
    matchResources: { namespaceSelector: { matchExpressions: [{ key: TENANT_LABEL, operator: "Exists" }] } },
  };
}

/** True when the cluster's minor has the v1 API; older clusters rely on DenyServiceExternalIPs (docs/services.md). */
export function hasAdmissionPolicyV1(kubernetesVersion: string): boolean {
  return Number(kubernetesVersion.split(".")[1]) >= ADMISSION_POLICY_MINOR;
}
