import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { decodeBase64, renderKubeconfig } from "../../src/tenancy/kubeconfig";

export interface ServiceAccountKubeconfigArgs {
  readonly namespace: string;
  /** Name of the ServiceAccount; its token Secret is `<serviceAccount>-token`. */
  readonly serviceAccount: string;
  readonly labels: Record<string, string>;
  /** API server URL written into the kubeconfig. */
  readonly apiServer: string;
  /** Context and user names (see renderKubeconfig); the namespace and `<namespace>-owner` by default. */
  readonly context?: string;
  readonly user?: string;
}

/**
 * A long-lived token Secret for a ServiceAccount, and a kubeconfig (secret) built from the token as
 * the token controller filled it. Used for each user's owner and for the reviewer.
 */
export function serviceAccountKubeconfig(
  name: string,
  args: ServiceAccountKubeconfigArgs,
  opts: pulumi.CustomResourceOptions,
): pulumi.Output<string> {
  const tokenSecret = new k8s.core.v1.Secret(name, {
    metadata: {
      name: `${args.serviceAccount}-token`,
      namespace: args.namespace,
      labels: args.labels,
      annotations: {
        "kubernetes.io/service-account.name": args.serviceAccount,
        // The token controller fills the token after creation: the provider waits for it, so the
        // Secret it returns (its outputs) holds the token.
        "pulumi.com/waitFor": "jsonpath={.data.token}",
      },
    },
    type: "kubernetes.io/service-account-token",
  }, opts);
  // The provider returns the Secret as it was once the wait was met, token included. (A
  // Secret.get read it back before; every preview then read each user's Secret again, about a
  // fifth of the no-op preview's time at 50 users: bench/engine.ts.)
  return pulumi.secret(tokenSecret.data.apply((data) => renderKubeconfig({
    namespace: args.namespace,
    apiServer: args.apiServer,
    token: decodeBase64(data?.["token"]),
    caData: data?.["ca.crt"] ?? "",
    context: args.context,
    user: args.user,
  })));
}
