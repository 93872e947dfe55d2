/**
 * The real node's addresses and configuration files (tools/loopback/node.ts), as plain data so
 * they can be read and tested without starting anything.
 */
import * as fs from "fs";
import * as path from "path";
import { TektonNetwork } from "./tekton";
import { NODE_PORTS } from "../../src/services/serviceEndpoints";

export interface NodeLayout {
  readonly id: number;
  /**
   * Host end of the node's /30 link: outside the pod range, so the host is an "outside" client to
   * the NetworkPolicies (NodePorts), as a person's machine is.
   */
  readonly hostLink: string;
  /** The node's InternalIP (kubelet refuses link-local addresses, so not the Tekton bridge's range). */
  readonly nodeAddress: string;
  /** Pod IPs of the real node: a /24 of the run's pod range that kwok never hands out. */
  readonly podSubnet: string;
  /** The range kwok's simulated pods take their IPs from (the lower half of the run's pod range). */
  readonly kwokCidr: string;
  /**
   * Where the node (and its pods, through kube-proxy) reach the API server: a forwarder on the
   * host end of the node's link (an Endpoints address may not be link-local, so not the Tekton bridge).
   */
  readonly apiAddress: string;
  readonly clusterDns: string;
  /** The pods' cgroup parent, one per run. */
  readonly cgroupRoot: string;
  file(dir: string, name: string): string;
}

/** The service range of the loopback API server (--service-cluster-ip-range). */
export const SERVICE_CIDR = "10.96.0.0/12";

export function nodeLayout(net: TektonNetwork): NodeLayout {
  const id = net.id;
  return {
    id,
    hostLink: `192.168.${id}.1`,
    nodeAddress: `192.168.${id}.2`,
    podSubnet: `10.${id}.128.0/24`,
    kwokCidr: `10.${id}.0.0/17`,
    apiAddress: `192.168.${id}.1`,
    clusterDns: "10.96.0.10",
    cgroupRoot: `stx-node-${id}`,
    file: (dir, name) => path.join(dir, name),
  };
}

/** Every file the node's processes read, by absolute path. */
export function nodeConfigFiles(clusterDir: string, dir: string, l: NodeLayout, name: string): Record<string, string> {
  const ca = path.join(clusterDir, "ca.crt");
  const server = `https://${l.apiAddress}:${apiPort(clusterDir)}`;
  return {
    [l.file(dir, "containerd.toml")]: containerdConfig(dir, l),
    [l.file(dir, "cni/10-stx.conflist")]: JSON.stringify(cniConfig(dir, l), null, 2),
    [l.file(dir, "kubelet.yaml")]: JSON.stringify(kubeletConfig(dir, l, ca), null, 2),
    [l.file(dir, "kubelet.kubeconfig")]: kubeconfig(server, ca, `system:node:${name}`, { cert: path.join(dir, "kubelet-client.crt"), key: path.join(dir, "kubelet-client.key") }),
    [l.file(dir, "admin.kubeconfig")]: kubeconfig(server, ca, "admin", { cert: path.join(clusterDir, "admin.crt"), key: path.join(clusterDir, "admin.key") }),
  };
}

/** The API server's port, from the admin kubeconfig the control plane wrote. */
function apiPort(clusterDir: string): string {
  const admin = JSON.parse(fs.readFileSync(path.join(clusterDir, "admin.kubeconfig"), "utf8")) as { clusters: { cluster: { server: string } }[] };
  return new URL(admin.clusters[0]!.cluster.server).port;
}

/**
 * containerd 1.6 (Debian): everything under the run's directory. restrict_oom_score_adj because
 * this VM's root lacks CAP_SYS_RESOURCE (every sandbox fails without it); cgroupfs because the
 * machine's cgroups are v1 and there is no systemd.
 */
export function containerdConfig(dir: string, l: NodeLayout): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return [
    "version = 2",
    `root = ${JSON.stringify(l.file(dir, "containerd/root"))}`,
    `state = ${JSON.stringify(l.file(dir, "containerd/state"))}`,
    "[grpc]",
    `  address = ${JSON.stringify(l.file(dir, "containerd.sock"))}`,
    "[ttrpc]",
    `  address = ${JSON.stringify(l.file(dir, "containerd.sock.ttrpc"))}`,
    `[${cri}]`,
    `  sandbox_image = "registry.k8s.io/pause:3.10.1"`,
    "  restrict_oom_score_adj = true",
    "  enable_selinux = false",
    "  disable_apparmor = true",
    // Pods' network namespaces under the run's state dir, not /var/run/netns: cleaned up with it.
    "  netns_mounts_under_state_dir = true",
    `[${cri}.containerd]`,
    '  snapshotter = "overlayfs"',
    '  default_runtime_name = "runc"',
    `[${cri}.containerd.runtimes.runc]`,
    '  runtime_type = "io.containerd.runc.v2"',
    `[${cri}.containerd.runtimes.runc.options]`,
    "  SystemdCgroup = false",
    // The farm's registry through its NodePort speaks plain HTTP: what `minikube start
    // --insecure-registry` writes, so pods run the images the farm builds (docs/build.md).
    `[${cri}.registry.mirrors."${l.nodeAddress}:${NODE_PORTS.registry}"]`,
    `  endpoint = ["http://${l.nodeAddress}:${NODE_PORTS.registry}"]`,
    `[${cri}.cni]`,
    '  bin_dir = "/usr/lib/cni"',
    `  conf_dir = ${JSON.stringify(l.file(dir, "cni"))}`,
    "  max_conf_num = 1",
    "",
  ].join("\n");
}

/** A bridge with bridge-nf-call-iptables on, so kube-proxy and kube-router see pod-to-pod traffic. */
export function cniConfig(dir: string, l: NodeLayout): object {
  return {
    cniVersion: "0.4.0",
    name: "stx-node",
    plugins: [
      {
        type: "bridge", bridge: `stxcni${l.id}`, isGateway: true, ipMasq: true, hairpinMode: true,
        ipam: { type: "host-local", ranges: [[{ subnet: l.podSubnet }]], routes: [{ dst: "0.0.0.0/0" }], dataDir: l.file(dir, "cni-ipam") },
      },
      { type: "portmap", capabilities: { portMappings: true } },
    ],
  };
}

export function kubeletConfig(dir: string, l: NodeLayout, ca: string): object {
  return {
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: ca } },
    authorization: { mode: "Webhook" },
    address: l.nodeAddress,
    tlsCertFile: l.file(dir, "kubelet-serving.crt"),
    tlsPrivateKeyFile: l.file(dir, "kubelet-serving.key"),
    containerRuntimeEndpoint: `unix://${l.file(dir, "containerd.sock")}`,
    cgroupDriver: "cgroupfs",
    cgroupRoot: `/${l.cgroupRoot}`,
    failSwapOn: false,
    clusterDNS: [l.clusterDns],
    clusterDomain: "cluster.local",
    resolvConf: "/etc/resolv.conf",
    podLogsDir: l.file(dir, "pod-logs"),
    volumePluginDir: l.file(dir, "volume-plugins"),
    staticPodPath: "",
    serializeImagePulls: false,
    // The images are loaded stand-ins that cannot be pulled again: never collect them.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    // A shared CI machine's disk is not this node's to guard: evict only when it is really full.
    evictionHard: { "memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%", "nodefs.inodesFree": "1%" },
    maxPods: 110,
    healthzPort: 0,
    readOnlyPort: 0,
  };
}

function kubeconfig(server: string, ca: string, user: string, cred: { cert: string; key: string }): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "stx-test", cluster: { server, "certificate-authority": ca } }],
    users: [{ name: user, user: { "client-certificate": cred.cert, "client-key": cred.key } }],
    contexts: [{ name: "stx-test", context: { cluster: "stx-test", user } }],
    "current-context": "stx-test",
  });
}

/** CoreDNS as kubeadm deploys it (ServiceAccount, ClusterRole, Corefile, Deployment, the kube-dns Service). */
export function corednsObjects(l: NodeLayout, image: string): object[] {
  const labels = { "k8s-app": "kube-dns" };
  const meta = (name: string) => ({ name, namespace: "kube-system", labels });
  const corefile = [
    ".:53 {",
    "    errors",
    "    health {",
    "       lameduck 5s",
    "    }",
    "    ready",
    "    kubernetes cluster.local in-addr.arpa ip6.arpa {",
    "       pods insecure",
    "       fallthrough in-addr.arpa ip6.arpa",
    "       ttl 30",
    "    }",
    "    cache 30",
    "    loadbalance",
    "}",
    "",
  ].join("\n");
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta("coredns") },
    {
      apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "system:coredns" },
      rules: [
        { apiGroups: [""], resources: ["endpoints", "services", "pods", "namespaces"], verbs: ["list", "watch"] },
        { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", metadata: { name: "system:coredns" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:coredns" },
      subjects: [{ kind: "ServiceAccount", name: "coredns", namespace: "kube-system" }],
    },
    { apiVersion: "v1", kind: "ConfigMap", metadata: meta("coredns"), data: { Corefile: corefile } },
    {
      apiVersion: "apps/v1", kind: "Deployment", metadata: meta("coredns"),
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: "coredns",
            nodeSelector: { type: "real" },
            dnsPolicy: "Default",
            containers: [{
              name: "coredns", image, imagePullPolicy: "Never", args: ["-conf", "/etc/coredns/Corefile"],
              ports: [{ containerPort: 53, protocol: "UDP", name: "dns" }, { containerPort: 53, protocol: "TCP", name: "dns-tcp" }],
              readinessProbe: { httpGet: { path: "/ready", port: 8181 }, periodSeconds: 2 },
              securityContext: { allowPrivilegeEscalation: false, capabilities: { add: ["NET_BIND_SERVICE"], drop: ["ALL"] }, readOnlyRootFilesystem: true },
              volumeMounts: [{ name: "config", mountPath: "/etc/coredns", readOnly: true }],
            }],
            volumes: [{ name: "config", configMap: { name: "coredns" } }],
          },
        },
      },
    },
    {
      apiVersion: "v1", kind: "Service", metadata: meta("kube-dns"),
      spec: {
        selector: labels, clusterIP: l.clusterDns,
        ports: [{ name: "dns", port: 53, protocol: "UDP" }, { name: "dns-tcp", port: 53, protocol: "TCP" }],
      },
    },
  ];
}
