import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { standardLabels } from "../../src/labels";
import { ExternalPeers, sharedPolicies, SharedPort } from "../../src/services/sharedNetwork";

export interface SharedNetworkArgs {
  readonly namespace: string;
  /** The ports tenants' builds use (tenantPorts); everything else in the namespace is closed to them. */
  readonly tenantPorts: readonly SharedPort[];
  /** Where outside traffic comes from, as the stack exposes the services. */
  readonly external: ExternalPeers;
}

/**
 * The shared namespace's ingress allow-list: default deny, the build ports from tenants, the
 * namespace's own traffic, and Pulp's Redis and database from Pulp alone (src/services/sharedNetwork.ts).
 */
export class SharedNetwork extends pulumi.ComponentResource {
  constructor(name: string, args: SharedNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stx:services:SharedNetwork", name, {}, opts);
    const labels = standardLabels("network");
    for (const policy of sharedPolicies(args.tenantPorts, args.external)) {
      new k8s.networking.v1.NetworkPolicy(`${name}-${policy.name}`, {
        metadata: { name: policy.name, namespace: args.namespace, labels },
        spec: policy.spec,
      }, { parent: this });
    }
    this.registerOutputs({});
  }
}
