/**
 * The shell scripts of the build Tasks, as text. Parameters reach them as environment variables
 * (never pasted into the script), every build step writes its output to a plain log file under
 * `.stx/logs/` of the workspace, and DRY_RUN turns every build or upload command into an echo.
 */
import { DECIDE_SHELL } from "./changes";
import { BUILD_ID_LABEL, CONTEXT_FILE, OUTPUT_TYPES } from "../artifacts";
import { LAYOUT_SHELL } from "./layout";

/** Where the run keeps its bookkeeping inside the workspace. */
export const STATE_DIR = ".stx";

const PREAMBLE = (stage: string) => `#!/bin/bash
set -euo pipefail
cd "\${WORKSPACE}"
mkdir -p ${STATE_DIR}/logs ${STATE_DIR}/outputs
exec > >(tee -a "${STATE_DIR}/logs/${stage}.log") 2>&1
run() { if [ "\${DRY_RUN}" = "true" ]; then echo "+ $*"; else "$@"; fi; }
export MY_WORKSPACE="\${WORKSPACE}/work" MY_REPO_ROOT_DIR="\${WORKSPACE}/src"
mkdir -p "\${MY_WORKSPACE}"
`;

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
  start: `${PREAMBLE("get-sources")}
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
mkdir -p src && cd src
repo init -u "\${MANIFEST_URL}" -b "\${MANIFEST_BRANCH}" -m "\${MANIFEST_FILE}" --depth=1
repo sync -j4 --force-sync --no-clone-bundle --current-branch
if [ -n "\${PATCH_PROJECT}" ]; then
  # A private build: the user's change on top of the manifest's checkout.
  cd "\${PATCH_PROJECT}"
  git fetch "\${PATCH_URL:-$(git remote get-url "$(git remote | head -n1)")}" "\${PATCH_REF}"
  git checkout -f FETCH_HEAD
  cd "\${WORKSPACE}/src"
fi
repo forall -c 'echo "(cd $REPO_PATH && git checkout -f $(git rev-parse HEAD))"' | sort -u > ../${STATE_DIR}/CONTEXT
echo "checked out $(wc -l < ../${STATE_DIR}/CONTEXT) projects"
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
decision="$(stx_decide_build)"
needed="\${decision%% *}"
echo "build needed: \${decision}" | tee -a ${STATE_DIR}/logs/get-sources.log
printf '%s' "\${needed}" > ${STATE_DIR}/build-needed
printf '%s' "\${needed}" > "\${RESULT_BUILD_NEEDED}"
`,
  download: `${PREAMBLE("download-prerequisites")}
# Prerequisites go into the shared Pulp, so each 3rd-party package is downloaded once for the farm.
export REPOMGR_TYPE=pulp REPOMGR_URL="\${PULP_URL}" REPOMGR_DEPLOY_URL="\${PULP_URL}"
if [ "\${CLEAN_DOWNLOADS}" = "true" ]; then run rm -rf "\${MY_WORKSPACE}/downloads"; fi
if [ "\${CLEAN_REPOMGR}" = "true" ]; then run repo_manage.py clean; fi
run downloader -b -s
`,
  buildPackages: `${PREAMBLE("build-packages-${BUILD_TYPE}")}
args=(-a -b "\${BUILD_TYPE}")
if [ "\${CLEAN_PACKAGES}" = "true" ]; then args+=(--clean); fi
run build-pkgs "\${args[@]}"
mkdir -p "${STATE_DIR}/outputs/\${BUILD_TYPE}"
run find "\${MY_WORKSPACE}/\${BUILD_TYPE}" -name '*.deb' -exec cp -t "${STATE_DIR}/outputs/\${BUILD_TYPE}" {} +
`,
  buildIso: `${PREAMBLE("build-iso")}
if [ "\${CLEAN_ISO}" = "true" ]; then run rm -rf "\${MY_WORKSPACE}/std/build-image"; fi
run build-image
mkdir -p ${STATE_DIR}/outputs/iso
run find "\${MY_WORKSPACE}/std/build-image" -maxdepth 1 -name '*.iso*' -exec cp -t ${STATE_DIR}/outputs/iso {} +
`,
  prepareBaseImage: `${PREAMBLE("build-base-image")}
# kaniko builds from a plain directory: copy the stx-debian Dockerfile and its files there.
context="\${WORKSPACE}/${STATE_DIR}/base-image"
rm -rf "\${context}" && mkdir -p "\${context}"
cp -a "\${MY_REPO_ROOT_DIR}/cgcs-root/build-tools/build-docker-images/stx-debian/." "\${context}/"
printf '%s' "\${REGISTRY}/starlingx/stx-debian:$(cat ${STATE_DIR}/build-date)" > ${STATE_DIR}/base-image-ref
`,
  kaniko: `#!/busybox/sh
set -eu
cd "\${WORKSPACE}"
exec >> ${STATE_DIR}/logs/build-base-image.log 2>&1
set -- --context "dir://\${WORKSPACE}/${STATE_DIR}/base-image" --dockerfile Dockerfile.stable --destination "$(cat ${STATE_DIR}/base-image-ref)"
if [ "\${CLEAN_DOCKER}" = "true" ]; then set -- "$@" --cache=false; else set -- "$@" --cache=true; fi
if [ "\${DRY_RUN}" = "true" ]; then set -- "$@" --no-push; fi
/kaniko/executor "$@"
`,
  buildWheels: `${PREAMBLE("build-wheels")}
export DOCKER_HOST=tcp://127.0.0.1:2375
until docker info >/dev/null 2>&1; do sleep 2; done
run build-wheel-tarball.sh --os debian --stream stable
mkdir -p ${STATE_DIR}/outputs/wheels
run find "\${MY_WORKSPACE}/std/build-wheels-debian-stable" -maxdepth 1 -name '*.tar' -exec cp -t ${STATE_DIR}/outputs/wheels {} +
`,
  buildImages: `${PREAMBLE("build-app-images")}
export DOCKER_HOST=tcp://127.0.0.1:2375
until docker info >/dev/null 2>&1; do sleep 2; done
args=(--os debian --stream stable --base "$(cat ${STATE_DIR}/base-image-ref)" --registry "\${REGISTRY}" --push)
if [ "\${CLEAN_DOCKER}" = "true" ]; then args+=(--no-cache); fi
run build-stx-images.sh "\${args[@]}"
mkdir -p ${STATE_DIR}/outputs/images
run find "\${MY_WORKSPACE}/std/build-images" -maxdepth 1 -name '*.lst' -exec cp -t ${STATE_DIR}/outputs/images {} +
`,
  buildHelmCharts: `${PREAMBLE("build-helm-charts")}
run build-helm-charts.sh --os debian --verbose
mkdir -p ${STATE_DIR}/outputs/helm-charts
run find "\${MY_WORKSPACE}/std/build-helm" -name '*.tgz' -exec cp -t ${STATE_DIR}/outputs/helm-charts {} +
`,
  publish: `${STORE_PREAMBLE}
for type in ${OUTPUT_TYPES.filter((t) => t !== "logs").join(" ")}; do
  if [ -d "${STATE_DIR}/outputs/\${type}" ]; then
    run rclone copy "${STATE_DIR}/outputs/\${type}" "store:\${ARTIFACTS_BUCKET}/$(stx_outputs_key "\${type}")"
  fi
done
run rclone copyto ${STATE_DIR}/CONTEXT "store:\${ARTIFACTS_BUCKET}/$(stx_outputs_key CONTEXT)"
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
run rclone copy ${STATE_DIR}/logs "store:\${ARTIFACTS_BUCKET}/$(stx_outputs_key logs)"
if [ -s ${STATE_DIR}/CONTEXT ]; then run rclone copyto ${STATE_DIR}/CONTEXT "store:\${ARTIFACTS_BUCKET}/$(stx_outputs_key CONTEXT)"; fi
printf '' | run rclone rcat "store:\${ARTIFACTS_BUCKET}/$(stx_marker_key "\${result}")"
if [ "\${result}" = "success" ]; then
  # The alias moves only after the marker, so it never points at a build without one.
  printf '%s\\n' "\${BUILD_DATE}" | run rclone rcat "store:\${ARTIFACTS_BUCKET}/$(stx_latest_build_key)"
fi
echo "build \${result}: \${OBJECT_STORE_ENDPOINT}/\${ARTIFACTS_BUCKET}/$(stx_build_prefix)"
`,
} as const;
