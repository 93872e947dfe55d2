/**
 * Where the shared services are reached from outside the cluster, derived from the exposure
 * settings: fixed NodePorts on one node (minikube) or Ingress hosts under one domain. Pure.
 */
import { isIP } from "net";
import { ExposureSettings, ServicesSettings } from "../settings/services";

/** Fixed NodePorts (inside the default 30000-32767 range), so URLs survive a redeploy. */
export const NODE_PORTS = { pulpApi: 30817, pulpContent: 30816, objectStore: 30900, registry: 30500 } as const;

export interface ServiceEndpoints {
  /** Pulp's base URL for the REST API (…/pulp/api/v3/ lives under it). */
  readonly pulpUrl: string;
  /** CONTENT_ORIGIN: the base URL apt and builds download from. */
  readonly pulpContentOrigin: string;
  /** URL users download published artifacts from; undefined when the store is not exposed. */
  readonly objectStorePublicUrl?: string;
  /** host[:port] of the registry for `docker login`. */
  readonly registryHost: string;
  /** Ingress host names, when exposure is "ingress". */
  readonly ingressHosts?: { readonly pulp: string; readonly objectStore: string; readonly registry: string };
}

export function serviceEndpoints(services: ServicesSettings, apiServer: string): ServiceEndpoints {
  const { exposure, pulp, objectStore } = services;
  const host = new URL(apiServer).hostname.replace(/^\[|\]$/g, "");
  if (exposure.kind === "nodePort") {
    const node = exposure.nodeAddress ?? host;
    const minioUrl = objectStore.mode === "minio" ? `http://${node}:${NODE_PORTS.objectStore}` : undefined;
    return {
      pulpUrl: `http://${node}:${NODE_PORTS.pulpApi}`,
      pulpContentOrigin: pulp.contentOrigin ?? `http://${node}:${NODE_PORTS.pulpContent}`,
      objectStorePublicUrl: objectStore.publicUrl ?? minioUrl,
      registryHost: `${node}:${NODE_PORTS.registry}`,
    };
  }
  const domain = ingressDomain(exposure, host);
  const scheme = exposure.clusterIssuer ? "https" : "http";
  const hosts = { pulp: `pulp.${domain}`, objectStore: `s3.${domain}`, registry: `registry.${domain}` };
  const minioUrl = objectStore.mode === "minio" ? `${scheme}://${hosts.objectStore}` : undefined;
  return {
    pulpUrl: `${scheme}://${hosts.pulp}`,
    pulpContentOrigin: pulp.contentOrigin ?? `${scheme}://${hosts.pulp}`,
    objectStorePublicUrl: objectStore.publicUrl ?? minioUrl,
    registryHost: hosts.registry,
    ingressHosts: hosts,
  };
}

/** An IP address has no sub-domains, so nip.io (which resolves a.b.c.d.nip.io to a.b.c.d) stands in. */
function ingressDomain(exposure: ExposureSettings, apiHost: string): string {
  if (exposure.domain) return exposure.domain;
  return isIP(apiHost) ? `${apiHost}.nip.io` : apiHost;
}

/** Ports of the shared services inside the cluster. */
export const SERVICE_PORTS = { objectStore: 9000, pulpApi: 24817, registry: 5000 } as const;

export interface InClusterEndpoints {
  /** S3 endpoint for pods: the MinIO Service, or the external endpoint. */
  readonly objectStore: string;
  readonly pulpApi: string;
  /** host:port pods push images to; undefined when the stack has no registry. */
  readonly registry?: string;
}

/** Where pods inside the cluster reach the shared services (Services in the shared namespace). */
export function inClusterEndpoints(services: ServicesSettings, namespace: string): InClusterEndpoints {
  const registry = services.registry;
  return {
    objectStore: services.objectStore.mode === "minio"
      ? `http://minio.${namespace}.svc:${SERVICE_PORTS.objectStore}`
      : requiredEndpoint(services.objectStore.endpoint),
    pulpApi: `http://pulp-api.${namespace}.svc:${SERVICE_PORTS.pulpApi}`,
    registry: registry.mode === "own"
      ? `registry.${namespace}.svc:${SERVICE_PORTS.registry}`
      : registry.mode === "platform" ? registry.platform.server : undefined,
  };
}

function requiredEndpoint(endpoint: string | undefined): string {
  if (!endpoint) throw new Error("stx-build-cluster:services.objectStore.endpoint is required in external mode");
  return endpoint;
}
