/**
 * Which sysbox-deploy-k8s installer a stack gets, from the Kubernetes minor version its nodes run.
 * Pure data and logic: the settings refuse a stack that wants sysbox where no row fits, and the
 * Sysbox component deploys the image of the row that does.
 *
 * Each row's range is what the installer script of that release accepts: sysbox-deploy-k8s.sh
 * (nestybox/sysbox-pkgr, k8s/scripts/sysbox-deploy-k8s.sh, function is_supported_k8s_version)
 * reads the kubelet's minor version from the node and stops with "Sysbox is not supported on this
 * Kubernetes version" outside its list. A row carries an image only when the exact tag is shown
 * upstream; a row without one is known support we cannot deploy yet, and is refused by name.
 */
import { IMAGES } from "../versions";

export interface SysboxRelease {
  /** The sysbox release line, e.g. "v0.6.5". */
  readonly release: string;
  /** Lowest and highest Kubernetes minor (1.<minor>) the installer accepts. */
  readonly minMinor: number;
  readonly maxMinor: number;
  /** What the installer leaves the node running pods with. */
  readonly runtime: "cri-o" | "containerd (2.0.0 or 2.0.5+), else CRI-O";
  /** The pinned installer image, or undefined when no exact upstream tag is confirmed. */
  readonly image?: string;
  /** Where the range and the image come from. */
  readonly evidence: string;
}

export const SYSBOX_RELEASES: readonly SysboxRelease[] = [
  {
    release: "v0.6.5",
    // CHANGELOG [0.6.3] added Kubernetes 1.27 and 1.28; [0.6.5] added 1.29 and 1.30 and
    // deprecated 1.26. This line's installer always switches the node to CRI-O.
    minMinor: 27,
    maxMinor: 30,
    runtime: "cri-o",
    image: IMAGES.sysboxDeploy,
    evidence: "nestybox/sysbox CHANGELOG.md [0.6.5], [0.6.3]; sysbox-k8s-manifests/sysbox-install.yaml (image sysbox-deploy-k8s:v0.6.5)",
  },
  {
    release: "v0.7",
    // The containerd-aware installer: is_supported_k8s_version accepts v1.32 to v1.35 and calls
    // v1.19 to v1.31 EOL; runtime_precheck keeps containerd when it supports user namespaces.
    minMinor: 32,
    maxMinor: 35,
    runtime: "containerd (2.0.0 or 2.0.5+), else CRI-O",
    // No exact sysbox-deploy-k8s tag of this line is shown in nestybox's own manifests or docs
    // as stored for us, so none is pinned: these versions are refused until one is.
    image: undefined,
    evidence: "nestybox/sysbox-pkgr k8s/scripts/sysbox-deploy-k8s.sh (is_supported_k8s_version, runtime_precheck)",
  },
];

/** "1.30" -> 30; undefined for anything that is not "1.<minor>". */
export function kubernetesMinor(version: string): number | undefined {
  const match = /^1\.(0|[1-9]\d{0,2})$/.exec(version);
  return match ? Number(match[1]) : undefined;
}

export type SysboxChoice =
  | { readonly ok: true; readonly release: SysboxRelease; readonly image: string }
  | { readonly ok: false; readonly reason: string };

/** The installer for a Kubernetes version, or why there is none. */
export function sysboxFor(kubernetesVersion: string, releases: readonly SysboxRelease[] = SYSBOX_RELEASES): SysboxChoice {
  const minor = kubernetesMinor(kubernetesVersion);
  if (minor === undefined) return { ok: false, reason: `"${kubernetesVersion}" is not a Kubernetes version of the form 1.<minor>` };
  const fitting = releases.filter((r) => minor >= r.minMinor && minor <= r.maxMinor);
  const deployable = fitting.find((r) => r.image !== undefined);
  if (deployable) return { ok: true, release: deployable, image: deployable.image! };
  const pinned = releases.filter((r) => r.image !== undefined).map(rangeText).join(", ");
  if (fitting.length > 0) {
    const names = fitting.map((r) => `${r.release} (${rangeText(r)})`).join(", ");
    return {
      ok: false,
      reason: `Kubernetes ${kubernetesVersion} is supported only by sysbox ${names}, whose sysbox-deploy-k8s image tag is not confirmed upstream and so not pinned; pinned installers cover ${pinned}`,
    };
  }
  return { ok: false, reason: `no sysbox-deploy-k8s release supports Kubernetes ${kubernetesVersion}; pinned installers cover ${pinned}` };
}

function rangeText(release: SysboxRelease): string {
  return `1.${release.minMinor}-1.${release.maxMinor}`;
}
