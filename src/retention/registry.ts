/**
 * The registry's read-only window for garbage collection. Distribution's `registry
 * garbage-collect` must not run while images are pushed; the registry refuses writes while
 * `storage.maintenance.readonly.enabled` is true. The GC job sets that through an environment
 * variable on the registry Deployment (a config override the registry reads at start), waits for
 * the rollout, collects, and removes the variable again.
 */
import { KubeClient } from "./kube";

export const READONLY_ENV = "REGISTRY_STORAGE_MAINTENANCE_READONLY";
const READONLY_VALUE = '{"enabled":true}';

export async function setRegistryReadOnly(
  kube: KubeClient,
  namespace: string,
  name: string,
  readOnly: boolean,
  options: { timeoutMs: number; log: (line: string) => void; pollMs?: number },
): Promise<void> {
  const deployment = await kube.getDeployment(namespace, name);
  const containers: { name: string; env?: { name: string }[] }[] = deployment.spec.template.spec.containers;
  const patch = {
    spec: {
      template: {
        spec: {
          containers: containers.map((c) => ({
            name: c.name,
            env: readOnly
              ? [{ name: READONLY_ENV, value: READONLY_VALUE }]
              : [{ name: READONLY_ENV, $patch: "delete" }],
          })),
        },
      },
    },
  };
  const hasVariable = containers.some((c) => (c.env ?? []).some((e) => e.name === READONLY_ENV));
  if (hasVariable === readOnly) {
    options.log(`registry ${namespace}/${name} is already ${readOnly ? "read-only" : "writable"}`);
  } else {
    await kube.patchDeployment(namespace, name, patch);
    options.log(`registry ${namespace}/${name} set ${readOnly ? "read-only" : "writable"}; waiting for the rollout`);
  }
  await waitForRollout(kube, namespace, name, options);
}

/** Waits until the Deployment's newest generation is observed and all its replicas are updated and available. */
async function waitForRollout(
  kube: KubeClient,
  namespace: string,
  name: string,
  options: { timeoutMs: number; pollMs?: number },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const d = await kube.getDeployment(namespace, name);
    const want = d.spec.replicas ?? 1;
    const s = d.status ?? {};
    const done =
      (s.observedGeneration ?? 0) >= d.metadata.generation &&
      (s.updatedReplicas ?? 0) === want &&
      (s.availableReplicas ?? 0) === want &&
      (s.replicas ?? 0) === want;
    if (done) return;
    if (Date.now() > deadline) throw new Error(`registry ${namespace}/${name} did not finish rolling out in time`);
    await new Promise((r) => setTimeout(r, options.pollMs ?? 2000));
  }
}
