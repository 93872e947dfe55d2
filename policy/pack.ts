/**
 * The policy pack `pulumi preview --policy-pack policy` runs. The rules are in
 * src/policy/rules.ts; this file only states their enforcement:
 * - mandatory: no privileged pod outside minikube, every data volume protected, a quota in every
 *   tenant namespace;
 * - advisory (a warning in the plan): images without a digest. The images pinned in
 *   src/versions.ts are tags today, so a mandatory rule would fail every stack.
 */
import * as pulumi from "@pulumi/pulumi";
import { PolicyPack, ResourceValidationArgs } from "@pulumi/policy";
import { imagesWithoutDigest, PolicyObject, privilegedViolation, tenantsWithoutQuota, unprotectedVolume } from "../src/policy/rules";

/** The stack's profile (stack config), or the stack's name when the pack is given no config. */
function profile(): string {
  return new pulumi.Config("stx-build-cluster").get("profile") ?? pulumi.getStack();
}

function policyObject(args: Pick<ResourceValidationArgs, "type" | "props" | "opts">): PolicyObject {
  return { type: args.type, props: args.props, protect: args.opts.protect };
}

export const pack = new PolicyPack("stx-build-cluster", {
  policies: [
    {
      name: "no-privileged-outside-minikube",
      description: "Only the minikube profile may run privileged pods (docker-in-docker); elsewhere sysbox does.",
      enforcementLevel: "mandatory",
      validateResource: (args, report) => {
        const problem = privilegedViolation(policyObject(args), profile());
        if (problem) report(problem);
      },
    },
    {
      name: "data-volumes-protected",
      description: "Every volume claim that holds data is protected from deletion (branch state volumes are caches).",
      enforcementLevel: "mandatory",
      validateResource: (args, report) => {
        const problem = unprotectedVolume(policyObject(args));
        if (problem) report(problem);
      },
    },
    {
      name: "images-pinned-by-digest",
      description: "Images should be pinned by digest (advisory: src/versions.ts pins tags today).",
      enforcementLevel: "advisory",
      validateResource: (args, report) => {
        const images = imagesWithoutDigest(policyObject(args));
        if (images.length) report(`image(s) without a digest: ${images.join(", ")}`);
      },
    },
    {
      name: "tenant-quota",
      description: "Every tenant namespace has a ResourceQuota.",
      enforcementLevel: "mandatory",
      validateStack: (args, report) => {
        const missing = tenantsWithoutQuota(args.resources.map((r) => policyObject(r)));
        if (missing.length) report(`tenant namespace(s) without a ResourceQuota: ${missing.join(", ")}`);
      },
    },
  ],
});
