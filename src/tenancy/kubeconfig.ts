/** A kubeconfig for one ServiceAccount token (JSON is valid YAML, and kubectl reads it). */
export interface KubeconfigArgs {
  /** Namespace the context defaults to. */
  readonly namespace: string;
  readonly apiServer: string;
  readonly token: string;
  /** The cluster's CA, base64 as the token Secret holds it. */
  readonly caData: string;
  /** Context name; the namespace by default. */
  readonly context?: string;
  /** User name; `<namespace>-owner` by default. */
  readonly user?: string;
}

export function renderKubeconfig(args: KubeconfigArgs): string {
  const cluster = "stx-build-cluster";
  const user = args.user ?? `${args.namespace}-owner`;
  const context = args.context ?? args.namespace;
  return JSON.stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: cluster, cluster: { server: args.apiServer, "certificate-authority-data": args.caData } }],
      users: [{ name: user, user: { token: args.token } }],
      contexts: [{ name: context, context: { cluster, user, namespace: args.namespace } }],
      "current-context": context,
    },
    null,
    2,
  );
}

export function decodeBase64(value: string | undefined): string {
  return value ? Buffer.from(value, "base64").toString("utf8") : "";
}
