/**
 * The artifact layout of src/artifacts.ts as POSIX shell functions, for the pipeline steps that
 * run in the cluster (they have no Node). The patterns come from `LAYOUT_PATTERNS` and the file
 * names from the module's constants, and a unit test runs this shell and compares every key with
 * src/artifacts.ts, so the two cannot drift apart.
 *
 * Inputs are environment variables RELEASE_ID, DISTRO and BUILD_DATE; BUILD_DATE comes from
 * `stx_build_date` (optionally from BUILD_EPOCH, seconds, for reproducible tests).
 */
import { BUILD_ID_SHAPE, LATEST_BUILD, LAYOUT_PATTERNS } from "../artifacts";

export const LAYOUT_SHELL = `
stx_build_date() { if [ -n "\${BUILD_EPOCH:-}" ]; then date -u -d "@\${BUILD_EPOCH}" +%Y%m%dT%H%M%SZ; else date -u +%Y%m%dT%H%M%SZ; fi; }
stx_check_location() {
  echo "\${RELEASE_ID}" | grep -Eq '${LAYOUT_PATTERNS.releaseId}' || { echo "bad RELEASE_ID '\${RELEASE_ID}'" >&2; return 1; }
  case "/\${RELEASE_ID}/" in */./*|*/../*) echo "bad RELEASE_ID '\${RELEASE_ID}'" >&2; return 1;; esac
  echo "\${DISTRO}" | grep -Eq '${LAYOUT_PATTERNS.distro}' || { echo "bad DISTRO '\${DISTRO}'" >&2; return 1; }
  echo "\${BUILD_DATE}" | grep -Eq '${LAYOUT_PATTERNS.buildDate}' || { echo "bad BUILD_DATE '\${BUILD_DATE}'" >&2; return 1; }
}
stx_build_prefix() { stx_check_location && printf '%s/%s/%s/' "\${RELEASE_ID}" "\${DISTRO}" "\${BUILD_DATE}"; }
stx_outputs_key() { stx_prefix_="$(stx_build_prefix)" && printf '%soutputs/%s' "\${stx_prefix_}" "$1"; }
stx_marker_key() { stx_outputs_key "$1"; }
stx_latest_build_key() { printf '%s/%s/${LATEST_BUILD}' "\${RELEASE_ID}" "\${DISTRO}"; }
stx_build_id() {
  stx_check_location || return 1
  stx_id_="$(printf '%s' "\${RELEASE_ID}" | tr / .)_\${DISTRO}_\${BUILD_DATE}"
  if [ "\${#stx_id_}" -le ${BUILD_ID_SHAPE.maxLength} ]; then printf '%s' "\${stx_id_}"; return 0; fi
  printf '%s-%s' "$(printf '%s' "\${stx_id_}" | cut -c1-${BUILD_ID_SHAPE.maxLength - BUILD_ID_SHAPE.hashLength - 1})" "$(printf '%s' "\${stx_id_}" | sha256sum | cut -c1-${BUILD_ID_SHAPE.hashLength})"
}
stx_pulp_name() {
  echo "$1" | grep -Eq '^[a-z0-9]+(-[a-z0-9]+)*$' || { echo "bad build phase '$1'" >&2; return 1; }
  stx_pid_="$(stx_build_id)" && printf '%s-%s' "\${stx_pid_}" "$1"
}
stx_check_namespace() {
  case "\${RUN_NAMESPACE:-}" in
    user-*) case "\${RELEASE_ID}" in
        "private/\${RUN_NAMESPACE#user-}/"*) ;;
        *) echo "runs in \${RUN_NAMESPACE} publish only under private/\${RUN_NAMESPACE#user-}/, not \${RELEASE_ID}" >&2; return 1;;
      esac;;
  esac
}
`.trim();
