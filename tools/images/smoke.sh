#!/usr/bin/env bash
# Smoke test of the test-double images without a container runtime: each image's layers are
# unpacked into a root, its entry point runs there with chroot as the user the program's pod
# gives it, in a network namespace of its own (loopback only), and is probed the way the
# program's probes and jobs use it. Builds nothing (bash scripts/images.sh first); needs root.
#
#   bash tools/images/smoke.sh [image ...]     default: every built image
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache=${STX_IMAGES_DIR:-$HOME/.cache/stx-build-cluster/images}
work=$(mktemp -d "${TMPDIR:-/tmp}/stx-images-smoke.XXXXXX")
ns=stxsmoke$$
log() { echo "smoke: $*" >&2; }
fail() { log "FAIL $*"; FAILED+=("$1"); }
FAILED=()

# Started processes and mounts are listed in files: each check runs in a subshell of its own.
cleanup() {
  local p m
  for p in $(cat "$work/pids" 2>/dev/null); do pkill -TERM -P "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
  sleep 1
  for p in $(cat "$work/pids" 2>/dev/null); do pkill -KILL -P "$p" 2>/dev/null || true; done
  for m in $(tac "$work/mounts" 2>/dev/null); do umount -l "$m" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up

# unpack IMAGE: its layers, in order, into $work/IMAGE (whiteouts applied); the config's Env kept.
unpack() {
  local tar=$cache/$1.tar root=$work/$1 layer wh
  [[ -f $tar ]] || { log "$1: not built ($tar); run bash scripts/images.sh $1"; return 1; }
  mkdir -p "$root"
  for layer in $(tar -xOf "$tar" manifest.json | node -e 'console.log(JSON.parse(require("fs").readFileSync(0))[0].Layers.join("\n"))'); do
    tar -xOf "$tar" "$layer" | tar -x -C "$root" --numeric-owner
    while IFS= read -r wh; do
      rm -rf "$(dirname "$wh")/$(basename "$wh" | sed 's/^\.wh\.//')" "$wh"
    done < <(find "$root" -name '.wh.*' ! -name '.wh..wh..opq')
  done
  local config
  config=$(tar -xOf "$tar" manifest.json | node -e 'console.log(JSON.parse(require("fs").readFileSync(0))[0].Config)')
  tar -xOf "$tar" "$config" | node -e 'console.log((JSON.parse(require("fs").readFileSync(0)).config.Env ?? []).join("\n"))' >"$root.env"
  mkdir -p "$root/proc" "$root/dev"
  mount -t proc proc "$root/proc" && echo "$root/proc" >>"$work/mounts"
  mount --bind /dev "$root/dev" && echo "$root/dev" >>"$work/mounts"
}

# run_in IMAGE UID:GID [VAR=VALUE ...] -- COMMAND...: COMMAND in IMAGE's root as that user, in the
# smoke namespace, with the image's Env plus the given variables (as a container would run it).
run_in() {
  local image=$1 user=$2; shift 2
  local vars=() image_env=()
  while [[ $1 != -- ]]; do vars+=("$1"); shift; done
  shift
  mapfile -t image_env <"$work/$image.env"
  # HOME as a container runtime sets it: the user's home in the image's passwd, else /.
  local home
  home=$(awk -F: -v uid="${user%%:*}" '$3 == uid { print $6; exit }' "$work/$image/etc/passwd" 2>/dev/null || true) # kaniko's image has no passwd
  # chroot by the host's path: the image's PATH (kaniko's: /usr/local/bin:/kaniko) may not have it.
  ip netns exec "$ns" env -i "HOME=${home:-/}" "${image_env[@]}" "${vars[@]}" "$CHROOT" --userspec="$user" "$work/$image" "$@"
}

# start IMAGE UID:GID [VAR=VALUE ...] -- COMMAND...: like `run_in`, in the background, logging to $work/IMAGE.log.
start() {
  run_in "$@" >"$work/$1.log" 2>&1 &
  echo $! >>"$work/pids"
}

# wait_for SECONDS DESCRIPTION COMMAND...: until COMMAND succeeds.
wait_for() {
  local until=$((SECONDS + $1)) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < until)) || { log "timed out waiting for $what"; return 1; }
    sleep 1
  done
}

CHROOT=$(command -v chroot)

curl_ns() { ip netns exec "$ns" curl -fsS --max-time 5 "$@"; }

# shellcheck source=checks.sh
. "$(dirname "${BASH_SOURCE[0]}")/checks.sh"

all=(registry objectStore pulpDatabase pulpRedis node kubectl kaniko kanikoTask tekton pulp containerd)
(($#)) || set -- "${all[@]}"
for check in "$@"; do
  t=$SECONDS
  # A subshell with errexit: in an `if` bash would ignore every failing command of the check.
  set +e
  (set -e; "check_$check")
  rc=$?
  set -e
  if ((rc == 0)); then log "ok   $check ($((SECONDS - t))s)"; else fail "$check"; tail -n 20 "$work"/*.log >&2 2>/dev/null || true; fi
done
((${#FAILED[@]} == 0)) || { log "failed: ${FAILED[*]}"; exit 1; }
log "all passed: $*"
