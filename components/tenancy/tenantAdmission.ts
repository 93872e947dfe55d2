import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { standardLabels } from "../../src/labels";
import { ADMISSION_POLICY_NAME, admissionBindingSpec, admissionPolicySpec, hasAdmissionPolicyV1 } from "../../src/tenancy/admission";

export interface TenantAdmissionArgs {
  /** cluster.kubernetesVersion: the v1 API exists from 1.30. */
  readonly kubernetesVersion: string;
}

/**
 * The ValidatingAdmissionPolicy and its binding that refuse escape hatches (externalIPs, node
 * ports, host namespaces and paths) in every tenant namespace (src/tenancy/admission.ts).
 */
export class TenantAdmission extends pulumi.ComponentResource {
  constructor(name: string, args: TenantAdmissionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stx:tenancy:TenantAdmission", name, {}, opts);
    const labels = standardLabels("tenancy");
    if (!hasAdmissionPolicyV1(args.kubernetesVersion)) {
      pulumi.log.warn(
        `cluster.kubernetesVersion is ${args.kubernetesVersion}: ValidatingAdmissionPolicy v1 needs 1.30, so tenants' externalIPs are not refused here; ` +
          "enable the API server's DenyServiceExternalIPs admission plugin (docs/services.md)",
        this,
      );
      this.registerOutputs({});
      return;
    }
    const policy = new k8s.admissionregistration.v1.ValidatingAdmissionPolicy(`${name}-policy`, {
      metadata: { name: ADMISSION_POLICY_NAME, labels },
      spec: admissionPolicySpec(),
    }, { parent: this });
    new k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(`${name}-binding`, {
      metadata: { name: ADMISSION_POLICY_NAME, labels },
      spec: admissionBindingSpec(),
    }, { parent: this, dependsOn: [policy] });
    this.registerOutputs({});
  }
}
