/**
 * Entry point of the Pulumi program: read and validate the stack's settings (failing before any
 * resource is registered), create the one Kubernetes provider, and declare the build cluster.
 */
import * as k8s from "@pulumi/kubernetes";
import { BuildCluster } from "../components/buildCluster";
import { loadSettings, secretSetting } from "./settings";

const settings = loadSettings();

const provider = new k8s.Provider("kubernetes", {
  context: settings.kubeContext,
  kubeconfig: settings.kubeconfig,
});

const secrets = {
  starlingxSshPassword: secretSetting("starlingxSshPassword"),
  starlingxSshPrivateKey: secretSetting("starlingxSshPrivateKey"),
};
const cluster = new BuildCluster("stx", { settings, secrets }, { providers: { kubernetes: provider } });

export const profile = settings.profile;
export const sharedNamespace = cluster.sharedNamespace;
export const tenantNamespaces = cluster.tenantNamespaces;
/** `pulumi stack output kubeconfigs --show-secrets` gives each user their kubeconfig. */
export const kubeconfigs = cluster.kubeconfigs;
