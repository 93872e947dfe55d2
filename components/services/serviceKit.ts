/**
 * Small building blocks shared by the service components (Pulp, object store, registry): the
 * security context Pod Security "restricted" demands, resources, data volumes and exposure.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { createHash } from "crypto";
import { ContainerResources } from "../../src/settings/services";
import { disruptionPlan, spreadConstraint } from "../../src/services/disruption";

/** Every pod in the shared namespace runs as this: non-root, no privileges, default seccomp. */
export function restrictedPod(uid: number, gid = uid): k8s.types.input.core.v1.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: gid,
    fsGroup: gid,
    fsGroupChangePolicy: "OnRootMismatch",
    seccompProfile: { type: "RuntimeDefault" },
  };
}

export const RESTRICTED_CONTAINER: k8s.types.input.core.v1.SecurityContext = {
  allowPrivilegeEscalation: false,
  runAsNonRoot: true,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

export function resources(r: ContainerResources): k8s.types.input.core.v1.ResourceRequirements {
  return { requests: { ...r.requests }, limits: { ...r.limits } };
}

/** Resources of short-lived Jobs (migrations, buckets, content); small and fixed. */
export const JOB_RESOURCES: ContainerResources = {
  requests: { cpu: "50m", memory: "128Mi" },
  limits: { cpu: "500m", memory: "512Mi" },
};

export interface DataVolumeArgs {
  readonly namespace: string;
  readonly name: string;
  readonly size: string;
  readonly storageClass: string;
  readonly accessMode?: "ReadWriteOnce" | "ReadWriteMany";
  readonly labels: Record<string, string>;
}

/**
 * A volume that holds data nobody can download again (databases, artifacts, images): protected
 * from `pulumi destroy` and kept in the cluster if it ever leaves the program.
 */
export function dataVolume(logicalName: string, args: DataVolumeArgs, opts: pulumi.CustomResourceOptions): k8s.core.v1.PersistentVolumeClaim {
  return new k8s.core.v1.PersistentVolumeClaim(logicalName, {
    metadata: { name: args.name, namespace: args.namespace, labels: args.labels },
    spec: {
      accessModes: [args.accessMode ?? "ReadWriteOnce"],
      storageClassName: args.storageClass,
      resources: { requests: { storage: args.size } },
    },
  }, { ...opts, protect: true, retainOnDelete: true });
}

/**
 * A generated password that data on a protected volume was set up with (PostgreSQL's, MinIO's
 * root): protected like the volume, so `pulumi destroy --exclude-protected` keeps it and the next
 * `up` starts the service with the password its data knows. Regenerated, PostgreSQL refused Pulp
 * and the farm never came back (found on the real node, docs/cluster-tests.md).
 */
export function dataPassword(logicalName: string, args: random.RandomPasswordArgs, opts: pulumi.CustomResourceOptions): random.RandomPassword {
  return new random.RandomPassword(logicalName, args, { ...opts, protect: true });
}

/** How one service is exposed outside the cluster. */
export type ServiceExposure =
  | { readonly kind: "nodePort"; readonly nodePort: number }
  | {
    readonly kind: "ingress";
    readonly host: string;
    readonly ingressClass: string;
    /** TLS from a cert-manager ClusterIssuer, or from a Secret the site provides (one of them is required by the settings). */
    readonly clusterIssuer?: string;
    readonly tlsSecret?: string;
  }
  | { readonly kind: "internal" };

/** An Ingress for one host whose paths go to services of the namespace. */
export function hostIngress(
  logicalName: string,
  args: {
    readonly namespace: string;
    readonly name: string;
    readonly exposure: Extract<ServiceExposure, { kind: "ingress" }>;
    readonly paths: readonly { readonly path: string; readonly service: pulumi.Input<string>; readonly port: number }[];
    readonly labels: Record<string, string>;
  },
  opts: pulumi.CustomResourceOptions,
): k8s.networking.v1.Ingress {
  const { exposure } = args;
  return new k8s.networking.v1.Ingress(logicalName, {
    metadata: {
      name: args.name,
      namespace: args.namespace,
      labels: args.labels,
      annotations: {
        // Packages, images and ISOs are large; the controller must not cap uploads.
        "nginx.ingress.kubernetes.io/proxy-body-size": "0",
        "nginx.ingress.kubernetes.io/proxy-read-timeout": "600",
        ...(exposure.clusterIssuer ? { "cert-manager.io/cluster-issuer": exposure.clusterIssuer } : {}),
      },
    },
    spec: {
      ingressClassName: exposure.ingressClass,
      tls: exposure.clusterIssuer || exposure.tlsSecret
        ? [{ hosts: [exposure.host], secretName: exposure.tlsSecret ?? `${args.name}-tls` }]
        : undefined,
      rules: [{
        host: exposure.host,
        http: {
          paths: args.paths.map((p) => ({
            path: p.path,
            pathType: "Prefix",
            backend: { service: { name: p.service, port: { number: p.port } } },
          })),
        },
      }],
    },
  }, opts);
}

/** Service type and port list for an exposure (a NodePort only on the first, public port). */
/**
 * A Service with one port, named like the app, and (on Ingress stacks) the host Ingress in front of
 * it: what MinIO and the registry both expose.
 */
export function exposedService(
  logicalName: string,
  args: {
    readonly namespace: string;
    readonly name: string;
    readonly exposure: ServiceExposure;
    readonly selector: Record<string, string>;
    readonly port: { readonly name: string; readonly port: number };
    readonly labels: Record<string, string>;
  },
  opts: pulumi.CustomResourceOptions,
): void {
  const { namespace, name, exposure, labels, port } = args;
  new k8s.core.v1.Service(logicalName, { metadata: { name, namespace, labels }, spec: serviceSpec(exposure, args.selector, [port]) }, opts);
  if (exposure.kind === "ingress") {
    hostIngress(logicalName, { namespace, name, exposure, labels, paths: [{ path: "/", service: name, port: port.port }] }, opts);
  }
}

export function serviceSpec(
  exposure: ServiceExposure,
  selector: Record<string, string>,
  ports: readonly { readonly name: string; readonly port: number }[],
): k8s.types.input.core.v1.ServiceSpec {
  const nodePort = exposure.kind === "nodePort";
  return {
    type: nodePort ? "NodePort" : "ClusterIP",
    selector,
    ports: ports.map((p, i) => ({
      name: p.name,
      port: p.port,
      targetPort: p.port,
      nodePort: nodePort && i === 0 ? exposure.nodePort : undefined,
    })),
  };
}

/** A short hash for names that must change when their content does (Jobs). */
export function shortHash(...parts: readonly string[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part).update("\0");
  return hash.digest("hex").slice(0, 8);
}

export interface ScheduledJob {
  readonly schedule: string;
  readonly timeZone?: string;
  /** Longest a single run may take. */
  readonly deadlineSeconds?: number;
  readonly labels: Record<string, string>;
  /** The pod; restartPolicy is set here. */
  readonly pod: Omit<k8s.types.input.core.v1.PodSpec, "restartPolicy">;
}

/**
 * The CronJob spec every periodic job of the farm shares: never two runs at once, a short history,
 * no retries inside a run (the next schedule is the retry), and no catching up on missed runs
 * older than an hour.
 */
export function scheduledJobSpec(job: ScheduledJob): k8s.types.input.batch.v1.CronJobSpec {
  return {
    schedule: job.schedule,
    timeZone: job.timeZone,
    concurrencyPolicy: "Forbid",
    startingDeadlineSeconds: 3600,
    successfulJobsHistoryLimit: 3,
    failedJobsHistoryLimit: 3,
    jobTemplate: {
      spec: {
        backoffLimit: 0,
        activeDeadlineSeconds: job.deadlineSeconds,
        template: { metadata: { labels: job.labels }, spec: { ...job.pod, restartPolicy: "Never" } },
      },
    },
  };
}

export interface SingleWriterArgs {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Record<string, string>;
  /** Labels that select its pods (added to `labels` on the pods). */
  readonly selector: Record<string, string>;
  /** The user the server runs and owns its files as. */
  readonly uid: number;
  readonly containers: k8s.types.input.core.v1.Container[];
  readonly volumes: k8s.types.input.core.v1.Volume[];
}

/**
 * A one-replica server that owns a ReadWriteOnce data volume (MinIO, PostgreSQL). One writer per
 * volume: the old pod must be gone before the new one mounts it, hence Recreate.
 */
export function singleWriterDeployment(logicalName: string, args: SingleWriterArgs, opts: pulumi.CustomResourceOptions): k8s.apps.v1.Deployment {
  return new k8s.apps.v1.Deployment(logicalName, {
    metadata: { name: args.name, namespace: args.namespace, labels: args.labels },
    spec: {
      replicas: 1,
      strategy: { type: "Recreate" },
      selector: { matchLabels: args.selector },
      template: {
        metadata: { labels: { ...args.labels, ...args.selector } },
        // MinIO and PostgreSQL never call the Kubernetes API: no token in their pods.
        spec: { automountServiceAccountToken: false, securityContext: restrictedPod(args.uid), containers: args.containers, volumes: args.volumes },
      },
    },
  }, opts);
}

/**
 * Drain safety for a Deployment of `replicas` on a cluster of `nodes`: the pod spec fields that
 * spread it over nodes, and (only where it can never block a drain) a PodDisruptionBudget.
 */
export function replicatedPlacement(
  logicalName: string,
  args: { namespace: string; name: string; labels: Record<string, string>; selector: Record<string, string>; replicas: number; nodes: number },
  opts: pulumi.CustomResourceOptions,
): Pick<k8s.types.input.core.v1.PodSpec, "topologySpreadConstraints"> {
  const plan = disruptionPlan(args.replicas, args.nodes);
  if (plan.maxUnavailable !== undefined) {
    new k8s.policy.v1.PodDisruptionBudget(logicalName, {
      metadata: { name: args.name, namespace: args.namespace, labels: args.labels },
      spec: { maxUnavailable: plan.maxUnavailable, selector: { matchLabels: args.selector } },
    }, opts);
  }
  return plan.spread ? { topologySpreadConstraints: [spreadConstraint(args.selector)] } : {};
}
