/**
 * The shell scripts of the build Tasks, as text. Parameters reach them as environment variables
 * (never pasted into the script), every build step writes its output to a plain log file under
 * `.stx/logs/` of the workspace, and DRY_RUN turns every build or upload command into an echo.
 */
import { DECIDE_SHELL } from "./changes";
import { BUILD_ID_LABEL, CONTEXT_FILE, LISTING_FILE, OUTPUT_TYPES } from "../artifacts";
import { LAYOUT_SHELL } from "./layout";
import { LOCALDISK, OS, PATHS, REGISTRY_AUTH, REUSE, STAGE_SERVICE } from "./contract";

/** Where the run keeps its bookkeeping inside the workspace. */
export const STATE_DIR = ".stx";

// The workspace is the build state (kept per branch): only .stx/ is this run's, and the first step
// of a run starts it afresh.
const PREAMBLE = (stage: string, fresh = false) => `#!/bin/bash
set -euo pipefail
cd "\${WORKSPACE}"
${fresh ? `rm -rf ${STATE_DIR}\n` : ""}mkdir -p ${STATE_DIR}/logs ${STATE_DIR}/outputs
exec > >(tee -a "${STATE_DIR}/logs/${stage}.log") 2>&1
run() { if [ "\${DRY_RUN}" = "true" ]; then echo "+ $*"; else "$@"; fi; }
# Copies a tool's outputs into the run's outputs; a tool that made none leaves nothing to publish.
collect() {
  mkdir -p "$3"
  if [ -d "$1" ]; then run find "$1" -name "$2" -exec cp -t "$3" {} +; else echo "no outputs: $1 does not exist"; fi
}
# A stage whose record says privileges "system" mounts or chroots: stop at once, naming why, where
# the pod may not (a stack with build.imageBuilds "none", or a pod without sysbox).
need_system() {
  if [ "\${DRY_RUN}" = "true" ]; then return 0; fi
  if ! sudo -n unshare --mount true 2>/dev/null; then
    echo "$1 needs privileges 'system' ($2), which this pod does not have: run it on a stack whose build.imageBuilds is sysbox or docker-in-docker" >&2
    exit 1
  fi
}
`;

/** A bounded wait for the stage's Docker daemon sidecar: a missing daemon fails the step, never hangs it. */
const DOCKER_READY = `tries=0
until docker info >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "\${tries}" -gt 60 ]; then echo "no Docker daemon at \${DOCKER_HOST} after 120 s" >&2; exit 1; fi
  sleep 2
done
# The namespace's registry credentials (REGISTRY_SECRET) become the docker CLI's config.
if [ -f "${REGISTRY_AUTH.secretDir}/.dockerconfigjson" ]; then
  mkdir -p "\${DOCKER_CONFIG}" && cp "${REGISTRY_AUTH.secretDir}/.dockerconfigjson" "\${DOCKER_CONFIG}/config.json"
else
  echo "no registry credentials in this namespace (Secret REGISTRY_SECRET): pushes to \${REGISTRY} may be refused"
fi
# CLEAN_DOCKER empties this build state's daemon cache (no other build shares it).
if [ "\${CLEAN_DOCKER}" = "true" ]; then run docker system prune --all --force; fi`;

/** aptly's published tree, relative to the workspace (the state volume, mounted at LOCALDISK). */
const APTLY_PUBLISHED = PATHS.aptlyPublished.slice(LOCALDISK.length + 1);
/** Where get-sources leaves the reuse URLs for build-pkgs (empty files: no reuse). */
const SHARED_FILES = { repo: `${STATE_DIR}/shared-repo`, source: `${STATE_DIR}/shared-source` } as const;

/** POSIX sh for the object-store steps (rclone's image is Alpine: busybox sh, no bash). */
const STORE_PREAMBLE = `#!/bin/sh
set -eu
cd "\${WORKSPACE}"
${LAYOUT_SHELL}
run() { if [ "\${DRY_RUN}" = "true" ]; then echo "+ $*"; else "$@"; fi; }
# Any S3 endpoint (the in-cluster MinIO or an external store), addressed as "store:".
export RCLONE_CONFIG_STORE_TYPE=s3 RCLONE_CONFIG_STORE_PROVIDER=Other RCLONE_CONFIG_STORE_FORCE_PATH_STYLE=true
export RCLONE_CONFIG_STORE_ENDPOINT="\${OBJECT_STORE_ENDPOINT}"
export RCLONE_CONFIG_STORE_ACCESS_KEY_ID="\${ACCESS_KEY}" RCLONE_CONFIG_STORE_SECRET_ACCESS_KEY="\${SECRET_KEY}"
export RELEASE_ID="$(cat ${STATE_DIR}/release-id)" DISTRO="$(cat ${STATE_DIR}/distro)" BUILD_DATE="$(cat ${STATE_DIR}/build-date)"
`;

export const SCRIPTS = {
  start: `${PREAMBLE("get-sources", true)}
${LAYOUT_SHELL}
BUILD_DATE="$(stx_build_date)"; export BUILD_DATE
stx_build_prefix >/dev/null
stx_check_namespace
printf '%s' "\${RELEASE_ID}" > ${STATE_DIR}/release-id
printf '%s' "\${DISTRO}" > ${STATE_DIR}/distro
# Pending until label-run has labelled the PipelineRun: without ${STATE_DIR}/build-date no step writes.
printf '%s' "\${BUILD_DATE}" > ${STATE_DIR}/build-date.pending
`,
  labelRun: `#!/bin/sh
set -eu
cd "\${WORKSPACE}"
${LAYOUT_SHELL}
export RELEASE_ID="$(cat ${STATE_DIR}/release-id)" DISTRO="$(cat ${STATE_DIR}/distro)" BUILD_DATE="$(cat ${STATE_DIR}/build-date.pending)"
id="$(stx_build_id)"
if ! out="$(kubectl label pipelinerun -n "\${RUN_NAMESPACE}" "\${PIPELINE_RUN}" "${BUILD_ID_LABEL}=\${id}" --overwrite 2>&1)"; then
  echo "\${out}" >&2
  echo "cannot label PipelineRun \${PIPELINE_RUN} with its build id; an unlabelled run publishes nothing" >&2
  exit 1
fi
echo "\${out} (\${id})" | tee -a ${STATE_DIR}/logs/get-sources.log
mv ${STATE_DIR}/build-date.pending ${STATE_DIR}/build-date
printf '%s' "\${BUILD_DATE}" > "\${RESULT_BUILD_DATE}"
`,
  checkout: `${PREAMBLE("get-sources")}
# The checkout stays in the build state (where buildrc puts it), so a branch's next build syncs only what changed.
mkdir -p "\${MY_REPO_ROOT_DIR}" && cd "\${MY_REPO_ROOT_DIR}"
# Full history: debrepack.py counts commits for package revisions (git rev-list --count
# <base_srcrev>..HEAD), which a shallow clone miscounts or cannot resolve.
repo init -u "\${MANIFEST_URL}" -b "\${MANIFEST_BRANCH}" -m "\${MANIFEST_FILE}"
repo sync -j4 --force-sync --no-clone-bundle --current-branch
if [ -n "\${PATCH_PROJECT}" ]; then
  # A private build: the user's change on top of the manifest's checkout.
  cd "\${PATCH_PROJECT}"
  git fetch "\${PATCH_URL:-$(git remote get-url "$(git remote | head -n1)")}" "\${PATCH_REF}"
  git checkout -f FETCH_HEAD
  cd "\${MY_REPO_ROOT_DIR}"
fi
repo forall -c 'echo "(cd $REPO_PATH && git checkout -f $(git rev-parse HEAD))"' | sort -u > "\${WORKSPACE}/${STATE_DIR}/CONTEXT"
# The Debian pin is part of what was built (comment lines: the change detection compares sources only).
printf '# DEBIAN_SNAPSHOT=%s\n# DEBIAN_SECURITY_SNAPSHOT=%s\n' "\${DEBIAN_SNAPSHOT}" "\${DEBIAN_SECURITY_SNAPSHOT}" >> "\${WORKSPACE}/${STATE_DIR}/CONTEXT"
echo "checked out $(wc -l < "\${WORKSPACE}/${STATE_DIR}/CONTEXT") projects"
`,
  decide: `${STORE_PREAMBLE}
${DECIDE_SHELL}
CURRENT_CONTEXT=${STATE_DIR}/CONTEXT LAST_CONTEXT=${STATE_DIR}/last-CONTEXT
export CURRENT_CONTEXT LAST_CONTEXT
rm -f "\${LAST_CONTEXT}"
last="$(rclone cat "store:\${ARTIFACTS_BUCKET}/$(stx_latest_build_key)" 2>/dev/null | tr -d '[:space:]' || true)"
if [ -n "\${last}" ]; then
  last_context="$(BUILD_DATE="\${last}"; stx_outputs_key ${CONTEXT_FILE})" || last_context=""
  if [ -n "\${last_context}" ]; then rclone cat "store:\${ARTIFACTS_BUCKET}/\${last_context}" > "\${LAST_CONTEXT}" 2>/dev/null || rm -f "\${LAST_CONTEXT}"; fi
fi
# REUSE_FROM (a branch's release-id): build-pkgs starts from that branch's last successful build,
# read from its published APT repositories (anonymously readable under published/); nothing of the
# branch is written, its state volume is not even mounted here.
: > ${SHARED_FILES.repo}; : > ${SHARED_FILES.source}
if [ -n "\${REUSE_FROM:-}" ]; then
  case "\${REUSE_FROM}" in private/*) echo "REUSE_FROM=\${REUSE_FROM}: private builds publish no repositories; name a branch's release-id" >&2; exit 1;; esac
  reuse_date="$(RELEASE_ID="\${REUSE_FROM}"; rclone cat "store:\${ARTIFACTS_BUCKET}/$(stx_latest_build_key)" 2>/dev/null | tr -d '[:space:]' || true)"
  if [ -z "\${reuse_date}" ]; then
    if [ "\${DRY_RUN}" = "true" ]; then echo "REUSE_FROM=\${REUSE_FROM}: no successful build yet; a real run would stop here"
    else echo "REUSE_FROM=\${REUSE_FROM}: that release-id has no successful build (no latest_build) to reuse; leave REUSE_FROM empty to build everything" >&2; exit 1; fi
  else
    repo_key="$(RELEASE_ID="\${REUSE_FROM}"; BUILD_DATE="\${reuse_date}"; stx_shared_repo_key ${REUSE.repos.build})"
    source_key="$(RELEASE_ID="\${REUSE_FROM}"; BUILD_DATE="\${reuse_date}"; stx_shared_repo_key ${REUSE.repos.source})"
    printf '%s' "\${OBJECT_STORE_ENDPOINT}/\${ARTIFACTS_BUCKET}/\${repo_key}" > ${SHARED_FILES.repo}
    printf '%s' "\${OBJECT_STORE_ENDPOINT}/\${ARTIFACTS_BUCKET}/\${source_key}" > ${SHARED_FILES.source}
    echo "reusing \${REUSE_FROM} \${reuse_date}: $(cat ${SHARED_FILES.repo})" | tee -a ${STATE_DIR}/logs/get-sources.log
  fi
fi
decision="$(stx_decide_build)"
needed="\${decision%% *}"
echo "build needed: \${decision}" | tee -a ${STATE_DIR}/logs/get-sources.log
printf '%s' "\${needed}" > ${STATE_DIR}/build-needed
printf '%s' "\${needed}" > "\${RESULT_BUILD_NEEDED}"
`,
  download: `${PREAMBLE("download-prerequisites")}
need_system download-prerequisites "the downloader's apt chroot mounts /proc, /sys and /dev: starlingx/root build-tools/stx/stx_apt_cache.py create_apt_chroot"
# downloader fetches each file from OS_MIRROR_URL first, then from its upstream URL (utils.py
# get_download_url, stx_mirror_first), and Debian's packages from the pinned DEBIAN_SNAPSHOT; it
# keeps the files in OS_MIRROR on this build state and loads them into this state's aptly.
# The downloader's apt chroot copies the builder's /etc/apt/sources.list (stx_apt_cache.py), which
# the image baked with its own snapshot: point it at this build's pinned one, the single source of truth.
sources="deb \${DEBIAN_SNAPSHOT} \${DEBIAN_DISTRIBUTION} main contrib non-free non-free-firmware
deb \${DEBIAN_SNAPSHOT} \${DEBIAN_DISTRIBUTION}-updates main contrib non-free non-free-firmware
deb \${DEBIAN_SECURITY_SNAPSHOT} \${DEBIAN_DISTRIBUTION}-security main contrib non-free non-free-firmware"
if [ "\${DRY_RUN}" = "true" ]; then echo "+ /etc/apt/sources.list <- \${DEBIAN_SNAPSHOT}"
else printf '%s\n' "\${sources}" | sudo tee /etc/apt/sources.list >/dev/null && sudo rm -f /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; fi
if [ "\${CLEAN_DOWNLOADS}" = "true" ]; then run rm -rf "\${OS_MIRROR}"; fi
mkdir -p "\${OS_MIRROR}"
# repo_manage.py clean empties the aptly it talks to: this build state's own sidecar, nobody else's.
if [ "\${CLEAN_REPOMGR}" = "true" ]; then run repo_manage.py clean; fi
run downloader -b -s -B std,rt
`,
  buildPackages: `${PREAMBLE("build-packages-${BUILD_TYPE}")}
# Without --clean, build-pkgs skips packages whose sources it already built (its dsc cache and
# deb-local-build live in this build state), so a forced build of unchanged sources reuses them.
args=(-a -b "\${BUILD_TYPE}")
if [ "\${CLEAN_PACKAGES}" = "true" ]; then args+=(--clean); fi
# A private build with REUSE_FROM: build-pkgs mirrors the branch's published deb-local-build into
# this run's own aptly and builds only what the patch changed (${REUSE.source}).
if [ -s ${SHARED_FILES.repo} ] && [ -s ${SHARED_FILES.source} ]; then
  STX_SHARED_REPO="$(cat ${SHARED_FILES.repo})"; STX_SHARED_SOURCE="$(cat ${SHARED_FILES.source})"
  export STX_SHARED_REPO STX_SHARED_SOURCE
  args+=(--reuse)
fi
need_system "build-packages-\${BUILD_TYPE}" "pkgbuilder's schroots"
run build-pkgs "\${args[@]}"
collect "\${MY_BUILD_PKG_DIR}\${BUILD_TYPE}" '*.deb' "${STATE_DIR}/outputs/\${BUILD_TYPE}"
`,
  buildIso: `${PREAMBLE("build-iso")}
# LAT (the lat sidecar) writes the ISO to <shared disk>/deploy; build-image clears it first itself.
if [ "\${CLEAN_ISO}" = "true" ]; then run rm -rf "\${WORKSPACE}/deploy" "\${WORKSPACE}/workdir" "\${WORKSPACE}/sub_workdir"; fi
need_system build-iso "LAT mounts the image it builds"
run build-image
collect "\${WORKSPACE}/deploy" '*.iso*' "${STATE_DIR}/outputs/iso"
`,
  buildBaseImage: `${PREAMBLE("build-base-image")}
${DOCKER_READY}
# build-stx-base.sh renders the Dockerfile's *.in files itself (apt/stx.sources.list.in names
# deb-local-binary-containers, deb-local-binary and deb-local-build under REPOMGR_PUBLISH_URL), so
# it, not a copy of the directory, builds the image. Inside docker build 127.0.0.1 is the build
# container: the image reaches aptly by the build namespace's Service ${STAGE_SERVICE.name}, which the
# later image stages serve too.
version="$(cat ${STATE_DIR}/build-date)"
run build-stx-base.sh --os ${OS.id} --os-codename "\${DEBIAN_DISTRIBUTION}" --os-arch ${OS.arch} --stream ${OS.buildStream} --version "\${version}" \\
  --registry "\${REGISTRY}" --user starlingx --push --repomgr-publish-url "${STAGE_SERVICE.publishUrl}"
# The name build-stx-base.sh tags: <registry>/<user>/stx-<os>:<codename>-<arch>-<stream>-<version>.
printf '%s' "\${REGISTRY%/}/starlingx/stx-${OS.id}:\${DEBIAN_DISTRIBUTION}-${OS.arch}-${OS.buildStream}-\${version}" > ${STATE_DIR}/base-image-ref
`,
  buildWheels: `${PREAMBLE("build-wheels")}
${DOCKER_READY}
# The wheel builder's apt sources use REPOMGR_DEPLOY_URL inside docker build: the namespace's Service.
export REPOMGR_DEPLOY_URL="${STAGE_SERVICE.publishUrl}"
run build-wheel-tarball.sh --os ${OS.id} --os-codename "\${DEBIAN_DISTRIBUTION}" --stream ${OS.buildStream}
collect "\${MY_WORKSPACE}std/build-wheels-${OS.id}-\${DEBIAN_DISTRIBUTION}-${OS.buildStream}" '*.tar' "${STATE_DIR}/outputs/wheels"
`,
  buildImages: `${PREAMBLE("build-app-images")}
${DOCKER_READY}
# build-stx-images.sh has no cache switch (it builds with --no-cache itself); CLEAN_DOCKER above
# empties the daemon's cache instead. loci images need the wheels tarball, which it hands out as
# BUILDER_FILES_URL + its path (the files sidecar, through the namespace's Service).
wheels="$(find "\${MY_WORKSPACE}std/build-wheels-${OS.id}-\${DEBIAN_DISTRIBUTION}-${OS.buildStream}" -maxdepth 1 -name '*.tar' ! -name '*-py2.tar' 2>/dev/null | sort | tail -n 1)"
if [ -z "\${wheels}" ]; then
  if [ "\${DRY_RUN}" = "true" ]; then wheels="\${MY_WORKSPACE}std/build-wheels-${OS.id}-\${DEBIAN_DISTRIBUTION}-${OS.buildStream}/stx-${OS.id}-\${DEBIAN_DISTRIBUTION}-${OS.buildStream}-wheels.tar"
  else echo "no wheels tarball from build-wheels in \${MY_WORKSPACE}std/build-wheels-${OS.id}-\${DEBIAN_DISTRIBUTION}-${OS.buildStream}: loci images cannot build without --wheels" >&2; exit 1; fi
fi
run build-stx-images.sh --os ${OS.id} --os-codename "\${DEBIAN_DISTRIBUTION}" --stream ${OS.buildStream} --base "$(cat ${STATE_DIR}/base-image-ref)" --wheels "\${wheels}" \\
  --registry "\${REGISTRY}" --user starlingx --push
collect "\${MY_WORKSPACE}std/build-images" '*.lst' "${STATE_DIR}/outputs/images"
`,
  buildHelmCharts: `${PREAMBLE("build-helm-charts")}
run build-helm-charts.sh --os debian --verbose
collect "\${MY_WORKSPACE}std/build-helm" '*.tgz' "${STATE_DIR}/outputs/helm-charts"
`,
  publish: `${STORE_PREAMBLE}
for type in ${OUTPUT_TYPES.filter((t) => t !== "logs").join(" ")}; do
  if [ -d "${STATE_DIR}/outputs/\${type}" ]; then
    run rclone copy "${STATE_DIR}/outputs/\${type}" "store:\${ARTIFACTS_BUCKET}/$(stx_outputs_key "\${type}")"
  fi
done
run rclone copyto ${STATE_DIR}/CONTEXT "store:\${ARTIFACTS_BUCKET}/$(stx_outputs_key CONTEXT)"
# Branch builds: aptly's published ${REUSE.repos.build} and ${REUSE.repos.source} (stx-meta in it), the
# APT repositories private builds reuse (STX_SHARED_REPO, STX_SHARED_SOURCE). Private builds: none.
if stx_is_published; then
  for repo in ${REUSE.repos.build} ${REUSE.repos.source}; do
    if [ -d "${APTLY_PUBLISHED}/\${repo}" ]; then
      run rclone copy "${APTLY_PUBLISHED}/\${repo}" "store:\${ARTIFACTS_BUCKET}/$(stx_shared_repo_key "\${repo}")"
    else
      echo "no published \${repo} in this build state: nothing for private builds to reuse"
    fi
  done
fi
`,
  finish: `#!/bin/sh
set -eu
cd "\${WORKSPACE}"
if [ ! -s ${STATE_DIR}/build-date ]; then echo "the run stopped before it had a build path; nothing to record"; exit 0; fi
if [ "$(cat ${STATE_DIR}/build-needed 2>/dev/null || echo true)" = "false" ]; then
  echo "scheduled build skipped: sources unchanged since the last successful build"; exit 0
fi
${STORE_PREAMBLE.split("\n").slice(3).join("\n")}
case "\${AGGREGATE_STATUS}" in Succeeded|Completed) result=success ;; *) result=fail ;; esac
# Logs are plain files, readable in a browser, for failed builds too.
run rclone copy --header-upload "Content-Type: text/plain; charset=utf-8" ${STATE_DIR}/logs "store:\${ARTIFACTS_BUCKET}/$(stx_outputs_key logs)"
if [ -s ${STATE_DIR}/CONTEXT ]; then run rclone copyto ${STATE_DIR}/CONTEXT "store:\${ARTIFACTS_BUCKET}/$(stx_outputs_key CONTEXT)"; fi
printf '' | run rclone rcat "store:\${ARTIFACTS_BUCKET}/$(stx_marker_key "\${result}")"
if [ "\${result}" = "success" ]; then
  # The alias moves only after the marker, so it never points at a build without one.
  printf '%s\\n' "\${BUILD_DATE}" | run rclone rcat "store:\${ARTIFACTS_BUCKET}/$(stx_latest_build_key)"
fi
# S3 prefixes have no listing a browser can show: each build gets a plain index.html of its files.
outputs="$(stx_outputs_key "")"
{
  printf '<!DOCTYPE html>\\n<html><head><meta charset="utf-8"><title>%s</title></head><body>\\n<h1>%s</h1>\\n<ul>\\n' "\${outputs}" "\${outputs}"
  rclone lsf -R --files-only "store:\${ARTIFACTS_BUCKET}/\${outputs}" 2>/dev/null | grep -v '^${LISTING_FILE}$' | sort | while read -r file; do
    printf '<li><a href="%s">%s</a></li>\\n' "\${file}" "\${file}"
  done
  printf '</ul>\\n</body></html>\\n'
} > ${STATE_DIR}/index.html
run rclone copyto --header-upload "Content-Type: text/html" ${STATE_DIR}/index.html "store:\${ARTIFACTS_BUCKET}/\${outputs}${LISTING_FILE}"
# Links a person can open: published builds are anonymously readable at the public store URL.
if stx_is_published; then
  echo "build \${result}: \${ARTIFACTS_URL}/\${outputs}${LISTING_FILE}"
  echo "logs: \${ARTIFACTS_URL}/\${outputs}logs/"
else
  echo "build \${result} (private: readable with this namespace's object-store credentials only): s3://\${ARTIFACTS_BUCKET}/\${outputs}"
fi
`,
} as const;
