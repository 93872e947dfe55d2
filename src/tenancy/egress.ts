/**
 * Where a tenant's pods may connect outside their namespace besides DNS and the shared build ports:
 * the internet, minus every range that belongs to the cluster or its platform. NetworkPolicies
 * only allow, so this is an allow-list of 0.0.0.0/0 with holes: pod and Service ranges (other
 * tenants), the nodes (kubelet, NodePorts), the API server, link-local (cloud metadata at
 * 169.254.169.254) and the platform's own networks (StarlingX management, cluster-host, OAM). The
 * API server is allowed back on its port alone: the get-sources step labels its PipelineRun.
 */
import { EgressExclusions } from "../settings/cluster";

/** Link-local, always excluded: instance metadata services live there. */
export const LINK_LOCAL = "169.254.0.0/16";

export interface EgressRanges {
  readonly podCidr: string;
  readonly serviceCidr: string;
  readonly exclusions: EgressExclusions;
}

type Rule = { to: { ipBlock: { cidr: string; except?: string[] } }[]; ports?: { protocol: "TCP"; port: number }[] };

/** The internet rule and, per API server endpoint, a rule for its port. */
export function internetEgress(ranges: EgressRanges): Rule[] {
  const api = ranges.exclusions.apiServerEndpoints.map((endpoint) => {
    const [address, port] = endpoint.split(":");
    return { cidr: `${address}/32`, port: Number(port) };
  });
  const except = [...new Set([
    ranges.podCidr,
    ranges.serviceCidr,
    LINK_LOCAL,
    ...ranges.exclusions.nodeCidrs,
    ...api.map((a) => a.cidr),
    ...ranges.exclusions.platformCidrs,
  ])];
  return [
    { to: [{ ipBlock: { cidr: "0.0.0.0/0", except } }] },
    ...api.map((a) => ({ to: [{ ipBlock: { cidr: a.cidr } }], ports: [{ protocol: "TCP" as const, port: a.port }] })),
  ];
}
