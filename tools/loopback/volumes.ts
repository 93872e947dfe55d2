/**
 * A test-side volume provisioner: claims of a StorageClass whose provisioner is
 * TEST_PROVISIONER get a PersistentVolume of their size and access modes (a hostPath directory
 * under the cluster's temp dir, which the real node's pods mount; kwok's simulated pods mount
 * nothing), so they bind as on a real cluster and whatever waits for them
 * (the Kubernetes provider's await, the scheduler, Tekton's workspaces) goes on.
 * The controller manager's own host-path provisioner offers ReadWriteOnce only.
 */
import * as fs from "fs";
import * as path from "path";
import { ControlPlane } from "./controlPlane";

export const TEST_PROVISIONER = "stx-test.invalid/hostpath";

/** StorageClasses a cluster of a stack's kind has, served by the test provisioner; the first is the default. */
export function storageClasses(names: readonly string[]): object[] {
  return [...new Set(names)].map((name, i) => ({
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name, annotations: i === 0 ? { "storageclass.kubernetes.io/is-default-class": "true" } : {} },
    provisioner: TEST_PROVISIONER,
    reclaimPolicy: "Delete",
    volumeBindingMode: "Immediate",
  }));
}

interface Claim {
  metadata: { name: string; namespace: string; uid: string };
  spec: { storageClassName?: string; accessModes?: string[]; resources?: { requests?: { storage?: string } }; volumeMode?: string };
  status?: { phase?: string };
}

export class TestProvisioner {
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly cluster: ControlPlane) {}

  start(): void {
    this.tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private tick(): void {
    if (this.stopped || this.cluster.isStopping) return;
    try {
      this.provision();
    } catch {
      /* the API server is busy or going away: next round */
    }
    this.timer = setTimeout(() => this.tick(), 2000);
    this.timer.unref();
  }

  /**
   * The volume's directory, world-writable as minikube's and Rancher's local-path provisioners
   * make theirs: a hostPath volume ignores fsGroup, and the services run as non-root users.
   */
  private volumeDir(uid: string): string {
    const dir = path.join(this.cluster.dir, "volumes", uid);
    fs.mkdirSync(dir, { recursive: true });
    fs.chmodSync(dir, 0o777);
    return dir;
  }

  private provision(): void {
    const classes = JSON.parse(this.cluster.kubectl(["get", "storageclasses", "-o", "json"])).items as { metadata: { name: string }; provisioner: string }[];
    const ours = new Set(classes.filter((c) => c.provisioner === TEST_PROVISIONER).map((c) => c.metadata.name));
    if (ours.size === 0) return;
    const claims = JSON.parse(this.cluster.kubectl(["get", "pvc", "--all-namespaces", "-o", "json"])).items as Claim[];
    const volumes = claims.filter((c) => c.status?.phase === "Pending" && ours.has(c.spec.storageClassName ?? "")).map((c) => ({
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: `pvc-${c.metadata.uid}`, annotations: { "pv.kubernetes.io/provisioned-by": TEST_PROVISIONER } },
      spec: {
        capacity: { storage: c.spec.resources?.requests?.storage ?? "1Gi" },
        accessModes: c.spec.accessModes ?? ["ReadWriteOnce"],
        volumeMode: c.spec.volumeMode ?? "Filesystem",
        storageClassName: c.spec.storageClassName,
        persistentVolumeReclaimPolicy: "Retain",
        claimRef: { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace: c.metadata.namespace, name: c.metadata.name, uid: c.metadata.uid },
        hostPath: { path: this.volumeDir(c.metadata.uid), type: "Directory" },
      },
    }));
    if (volumes.length) this.cluster.kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: volumes }));
    // Released volumes (their claim is gone) go too, as with reclaimPolicy Delete.
    const pvs = JSON.parse(this.cluster.kubectl(["get", "pv", "-o", "json"])).items as { metadata: { name: string }; status?: { phase?: string } }[];
    const released = pvs.filter((v) => v.status?.phase === "Released").map((v) => v.metadata.name);
    if (released.length) this.cluster.kubectl(["delete", "pv", "--wait=false", ...released]);
  }
}
