/**
 * Settings of the cluster itself: storage, address ranges, the shared namespace, the nodes, and
 * the addresses tenants' internet egress must not reach (src/tenancy/egress.ts).
 */
import { z } from "zod";
import { buildNamespace, isDnsLabel, userNamespace } from "../tenancy/naming";
import { positiveQuantity } from "./fields";
import { Problem } from "./tenancy";

const dnsLabel = z.string().refine(isDnsLabel, {
  message: "must be a DNS-1123 label (lower-case letters, digits and '-', at most 63 characters)",
});

const cidr = z.cidrv4({ message: 'must be an IPv4 CIDR such as "10.0.0.0/24"' });

const node = z.strictObject({
  name: z.string().max(253).regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, {
    message: "must be the Kubernetes node name (a DNS name: lower-case letters, digits, '-' and '.')",
  }),
  cpu: positiveQuantity,
  memory: positiveQuantity,
  ephemeralStorage: positiveQuantity,
  labels: z.record(z.string(), z.string()).default({}),
});

/** "10.0.0.1:6443": an IPv4 address and a port. */
const endpoint = z.string().regex(/^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d):([1-9]\d{0,4})$/, {
  message: 'must be an IPv4 address and port such as "10.0.0.1:6443"',
}).refine((text) => Number(text.split(":")[1]) <= 65535, { message: "must have a port from 1 to 65535" });

/** Where tenants' pods may not go on their way to the internet (besides pod and Service ranges). */
export const egressExclusions = z.strictObject({
  /** The nodes' addresses: kubelet (10250), NodePorts and anything else listening on a node. */
  nodeCidrs: z.array(cidr).default([]),
  /**
   * The API server as pods reach it after the `kubernetes` Service is translated (the control
   * plane's address and port). Excluded from the internet rule and allowed on that port alone:
   * the get-sources step labels its own PipelineRun.
   */
  apiServerEndpoints: z.array(endpoint).default([]),
  /** Other networks of the platform (StarlingX management, cluster-host, OAM). */
  platformCidrs: z.array(cidr).default([]),
});
export type EgressExclusions = z.output<typeof egressExclusions>;

export const cluster = z.strictObject({
  /** StorageClass for ReadWriteOnce data volumes. */
  storageClass: z.string().min(1),
  /** StorageClass for ReadWriteMany volumes, where the cluster has a shared file system. */
  sharedStorageClass: z.string().min(1).optional(),
  podCidr: z.cidrv4({ message: 'must be an IPv4 CIDR such as "10.244.0.0/16"' }),
  serviceCidr: z.cidrv4({ message: 'must be an IPv4 CIDR such as "10.96.0.0/12"' }),
  /** Namespace of the shared services (Pulp, object store, registry, shared Tasks). */
  sharedNamespace: dnsLabel.default("stx-system"),
  /** The nodes builds run on, with their capacity (used for sizing and node labels). */
  nodes: z.array(node).default([]),
  /** Kubernetes minor version the nodes run ("1.<minor>"); selects the sysbox installer. */
  kubernetesVersion: z.string().regex(/^1\.(0|[1-9]\d{0,2})$/, { message: 'must be a Kubernetes minor version such as "1.30" (1.<minor>)' }),
  egressExclusions: egressExclusions.prefault({}),
});
export type ClusterSettings = z.output<typeof cluster>;

/** Namespaces of Kubernetes and of the platforms the program installs into; never the shared one. */
export const SYSTEM_NAMESPACES = [
  "default", "kube-system", "kube-public", "kube-node-lease",
  "tekton-pipelines", "tekton-pipelines-resolvers", "tekton-dashboard",
  "ingress-nginx", "cert-manager", "armada", "flux-helm", "deployment",
] as const;

/** A pod or Service range narrower than this is a mistake, and 0.0.0.0/0 is refused by the API server. */
const WIDEST_PREFIX = 8;

/** Cross-field checks of the cluster section; `tenants` are the stack's users and project branches. */
export function clusterProblems(settings: {
  cluster: ClusterSettings;
  users: readonly { name: string }[];
  projects: readonly { name: string; branches: readonly { name: string }[] }[];
}): Problem[] {
  const { cluster: c } = settings;
  const problems: Problem[] = [];
  const shared = c.sharedNamespace;
  if ((SYSTEM_NAMESPACES as readonly string[]).includes(shared)) {
    problems.push({ path: ["cluster", "sharedNamespace"], message: `"${shared}" belongs to Kubernetes or the platform; use a namespace of the farm's own, e.g. "stx-system"` });
  }
  const tenants = [
    ...settings.users.map((u) => [userNamespace(u.name), `user ${u.name}`] as const),
    ...settings.projects.flatMap((p) => p.branches.map((b) => [buildNamespace(p.name, b.name), `${p.name} ${b.name}`] as const)),
  ];
  const clash = tenants.find(([ns]) => ns === shared);
  if (clash) {
    problems.push({ path: ["cluster", "sharedNamespace"], message: `"${shared}" is the namespace of ${clash[1]}; the shared services need one of their own` });
  } else if (/^(user|build)-/.test(shared)) {
    problems.push({ path: ["cluster", "sharedNamespace"], message: `"${shared}" starts with "user-" or "build-", which name tenant namespaces; use another name, e.g. "stx-system"` });
  }
  for (const key of ["podCidr", "serviceCidr"] as const) {
    const prefix = Number(c[key].split("/")[1]);
    if (prefix < WIDEST_PREFIX) {
      problems.push({ path: ["cluster", key], message: `${c[key]} is wider than /${WIDEST_PREFIX}; it must be the cluster's own range (kubeadm --pod-network-cidr / --service-cidr), such as "10.244.0.0/16"` });
    }
  }
  const ex = c.egressExclusions;
  [...ex.nodeCidrs.map((v, i) => ["nodeCidrs", i, v] as const), ...ex.platformCidrs.map((v, i) => ["platformCidrs", i, v] as const)].forEach(([list, i, value]) => {
    if (Number(value.split("/")[1]) < WIDEST_PREFIX) {
      problems.push({ path: ["cluster", "egressExclusions", list, i], message: `${value} is wider than /${WIDEST_PREFIX}: it would cut builds off the internet; name the network itself` });
    }
  });
  return problems;
}
