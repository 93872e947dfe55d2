import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { shellQuote } from "../../src/quoting";
import { standardLabels } from "../../src/labels";

/** How nodes get the `sysbox-install=yes` label the installer DaemonSet selects. */
export type NodeLabelling =
  /** Plain Kubernetes (kubeadm): a server-side-apply patch of each Node. */
  | { readonly kind: "node-patch" }
  /** StarlingX owns its node labels: `system host-label-assign` on the controller, over SSH. */
  | {
      readonly kind: "starlingx";
      readonly host: string;
      readonly port: number;
      readonly user: string;
      readonly password?: pulumi.Input<string>;
      readonly privateKey?: pulumi.Input<string>;
    };

export interface SysboxArgs {
  /** Nodes that get sysbox. */
  readonly nodes: readonly string[];
  readonly labelling: NodeLabelling;
  /** The sysbox-deploy-k8s image for the nodes' Kubernetes version (src/build/sysboxSupport.ts). */
  readonly image: string;
}

export const SYSBOX_RUNTIME_CLASS = "sysbox-runc";
export const INSTALL_LABEL = { "sysbox-install": "yes" } as const;
const NAMESPACE = "kube-system";

/**
 * The sysbox runtime for builds that need a Docker daemon or chroots without privileges: the
 * upstream sysbox-deploy-k8s installer DaemonSet on labelled nodes and the `sysbox-runc`
 * RuntimeClass, whose scheduling keeps such pods on nodes where sysbox is installed and running.
 */
export class Sysbox extends pulumi.ComponentResource {
  public readonly runtimeClassName: pulumi.Output<string>;

  constructor(name: string, args: SysboxArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stx:build:Sysbox", name, {}, opts);
    const child = { parent: this };
    const labels = standardLabels("sysbox");

    const nodeLabels = args.nodes.map((node) => labelNode(`${name}-label-${node}`, node, args.labelling, child));

    const account = new k8s.core.v1.ServiceAccount(`${name}-installer`, {
      metadata: { name: "sysbox-label-node", namespace: NAMESPACE, labels },
    }, child);
    // The installer marks its node sysbox-runtime=running when done, and restarts pods it displaced.
    const role = new k8s.rbac.v1.ClusterRole(`${name}-node-labeler`, {
      metadata: { name: "sysbox-node-labeler", labels },
      rules: [
        { apiGroups: [""], resources: ["nodes"], verbs: ["get", "patch"] },
        { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "delete", "watch"] },
      ],
    }, child);
    new k8s.rbac.v1.ClusterRoleBinding(`${name}-node-labeler`, {
      metadata: { name: "sysbox-label-node-rb", labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role.metadata.name },
      subjects: [{ kind: "ServiceAccount", name: account.metadata.name, namespace: NAMESPACE }],
    }, child);

    new k8s.apps.v1.DaemonSet(`${name}-deploy`, {
      metadata: { name: "sysbox-deploy-k8s", namespace: NAMESPACE, labels },
      spec: {
        selector: { matchLabels: { ...INSTALL_LABEL } },
        updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
        template: {
          metadata: { labels: { ...INSTALL_LABEL, ...labels } },
          spec: {
            serviceAccountName: account.metadata.name,
            nodeSelector: { ...INSTALL_LABEL },
            tolerations: [{ key: "sysbox-runtime", operator: "Equal", value: "not-running", effect: "NoSchedule" }],
            containers: [{
              name: "sysbox-deploy-k8s",
              image: args.image,
              command: ["bash", "-c", "/opt/sysbox/scripts/sysbox-deploy-k8s.sh ce install"],
              env: [{ name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }],
              // Installs CRI-O and sysbox on the host: this one pod needs full host access.
              securityContext: { privileged: true },
              // It copies binaries and restarts the runtime, then idles; bounded like every pod.
              resources: { requests: { cpu: "100m", memory: "128Mi", "ephemeral-storage": "1Gi" }, limits: { cpu: "1", memory: "512Mi", "ephemeral-storage": "4Gi" } },
              volumeMounts: HOST_PATHS.map(([volume, , mountPath]) => ({ name: volume, mountPath })),
            }],
            volumes: HOST_PATHS.map(([volume, hostPath]) => ({ name: volume, hostPath: { path: hostPath } })),
          },
        },
      },
    }, { ...child, dependsOn: nodeLabels });

    const runtimeClass = new k8s.node.v1.RuntimeClass(`${name}-runtime-class`, {
      metadata: { name: SYSBOX_RUNTIME_CLASS, labels },
      handler: SYSBOX_RUNTIME_CLASS,
      scheduling: { nodeSelector: { ...INSTALL_LABEL, "sysbox-runtime": "running" } },
    }, child);

    this.runtimeClassName = runtimeClass.metadata.name;
    this.registerOutputs({ runtimeClassName: this.runtimeClassName });
  }
}

/** [volume name, host path, mount path] of what the installer writes on the host. */
const HOST_PATHS: readonly (readonly [string, string, string])[] = [
  ["host-etc", "/etc", "/mnt/host/etc"],
  ["host-osrelease", "/etc/os-release", "/mnt/host/os-release"],
  ["host-dbus", "/var/run/dbus", "/var/run/dbus"],
  ["host-run-systemd", "/run/systemd", "/run/systemd"],
  ["host-lib-systemd", "/lib/systemd/system", "/mnt/host/lib/systemd/system"],
  ["host-etc-systemd", "/etc/systemd/system", "/mnt/host/etc/systemd/system"],
  ["host-lib-sysctl", "/lib/sysctl.d", "/mnt/host/lib/sysctl.d"],
  ["host-opt-lib-sysctl", "/opt/lib/sysctl.d", "/mnt/host/opt/lib/sysctl.d"],
  ["host-usr-bin", "/usr/bin/", "/mnt/host/usr/bin"],
  ["host-opt-bin", "/opt/bin/", "/mnt/host/opt/bin"],
  ["host-usr-local-bin", "/usr/local/bin/", "/mnt/host/usr/local/bin"],
  ["host-opt-local-bin", "/opt/local/bin/", "/mnt/host/opt/local/bin"],
  ["host-usr-lib-mod-load", "/usr/lib/modules-load.d", "/mnt/host/usr/lib/modules-load.d"],
  ["host-opt-lib-mod-load", "/opt/lib/modules-load.d", "/mnt/host/opt/lib/modules-load.d"],
  ["host-run", "/run", "/mnt/host/run"],
  ["host-var-lib", "/var/lib", "/mnt/host/var/lib"],
];

function labelNode(name: string, node: string, labelling: NodeLabelling, opts: pulumi.CustomResourceOptions): pulumi.Resource {
  if (labelling.kind === "node-patch") {
    return new k8s.core.v1.NodePatch(name, { metadata: { name: node, labels: { ...INSTALL_LABEL } } }, opts);
  }
  const openrc = "source /etc/platform/openrc";
  return new command.remote.Command(name, {
    connection: {
      host: labelling.host,
      port: labelling.port,
      user: labelling.user,
      password: labelling.password,
      privateKey: labelling.privateKey,
    },
    create: `${openrc} && system host-label-assign --overwrite ${shellWord(node)} sysbox-install=yes`,
    delete: `${openrc} && system host-label-remove ${shellWord(node)} sysbox-install`,
  }, opts);
}

/** Node names are DNS names (cluster.nodes[].name is checked); quoted all the same, as every shell word. */
const shellWord = shellQuote;
