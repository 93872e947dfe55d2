/**
 * Entry point of the Pulumi program: read and validate the stack's settings (failing before any
 * resource is registered), create the one Kubernetes provider, and declare the build cluster.
 */
import * as k8s from "@pulumi/kubernetes";
import { BuildCluster } from "../components/buildCluster";
import { loadSettings, secretSetting, SettingsError } from "./settings";
import { verifyAllManifests } from "./build/manifests";

const settings = loadSettings();
// Tekton's release files are checked against their pins before a single resource is registered.
verifyAllManifests(settings.build.tekton);

const provider = new k8s.Provider("kubernetes", {
  context: settings.kubeContext,
  kubeconfig: settings.kubeconfig,
});

const secrets = {
  starlingxSshPassword: secretSetting("starlingxSshPassword"),
  starlingxSshPrivateKey: secretSetting("starlingxSshPrivateKey"),
};
const cluster = new BuildCluster("stx", { settings, objectStoreKeys: objectStoreKeys(), secrets }, { providers: { kubernetes: provider } });

export const profile = settings.profile;
export const sharedNamespace = cluster.sharedNamespace;
export const tenantNamespaces = cluster.tenantNamespaces;
/** `pulumi stack output kubeconfigs --show-secrets` gives each user their kubeconfig. */
export const kubeconfigs = cluster.kubeconfigs;
/** `pulumi stack output reviewerKubeconfig --show-secrets`: read-only, for `pulumi preview` in code review (docs/review.md). */
export const reviewerKubeconfig = cluster.reviewerKubeconfig;

/** Pulp's API and the URL apt sources point at; the admin password is a secret output. */
export const pulpUrl = cluster.services.pulp.url;
export const pulpContentUrl = cluster.services.pulp.contentUrl;
export const pulpAdminPassword = cluster.services.pulp.adminPassword;
/** The object store as other tools see it: endpoint, public URL, buckets, credentials Secret. */
export const objectStore = cluster.objectStoreOutput;
export const registryHost = cluster.services.registry.host;

/** The external S3 keys, required (and only read) when the object store is external. */
function objectStoreKeys() {
  if (settings.services.objectStore.mode !== "external") return undefined;
  const accessKey = secretSetting("objectStoreAccessKey");
  const secretKey = secretSetting("objectStoreSecretKey");
  if (!accessKey || !secretKey) {
    throw new SettingsError([
      'stx-build-cluster:services.objectStore.mode is "external": set stx-build-cluster:objectStoreAccessKey and stx-build-cluster:objectStoreSecretKey with `pulumi config set --secret`',
    ]);
  }
  return { accessKey, secretKey };
}
