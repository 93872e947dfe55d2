#!/usr/bin/env bash
# Sets up what the loopback cluster's real node needs on this machine (tools/loopback/node.ts):
# Debian's container runtime, runc, CNI plugins, iptables, conntrack and ipset at the versions
# pinned in scripts/toolchain.versions (DEBIAN_NODE_PACKAGES), and the pod sandbox ("pause") image
# built from the pause.c of the pinned Kubernetes module, and CoreDNS's image from the toolchain's
# static coredns (as upstream's image: the binary alone, as a non-root user), and the small Debian
# repository the tests serve on loopback for Pulp to mirror (TEST_DEBIAN_PACKAGES), and for the
# tools images (issue 18) a trixie archive of what upstream's stx-aptly and stx-pkgbuilder
# Dockerfiles install (TRIXIE_APTLY_PACKAGES, TRIXIE_PKGBUILDER_PACKAGES; signed with a test key), a
# `debian:trixie` stand-in that trusts that key, and the wheels of TEST_PYPI_PACKAGES as a PyPI
# stand-in. Idempotent; prints what it does.
#
#   bash scripts/node-setup.sh           install / build what is missing (after scripts/toolchain.sh coredns)
#   bash scripts/node-setup.sh tools-images   the same, and the tools images' trixie archive, base and wheels
#   bash scripts/node-setup.sh --check   exit 1 naming what is missing (never installs)
#   bash scripts/node-setup.sh --list    print "<image reference><TAB><docker-archive tarball>" per node image
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=toolchain.versions
. "$here/toolchain.versions"
images=${STX_IMAGES_DIR:-$HOME/.cache/stx-build-cluster/images}
debian_repo=${STX_DEBIAN_REPO_DIR:-$HOME/.cache/stx-build-cluster/debian-repo}
# Served by the same server as the bookworm repository: <url>trixie/debian/, <url>trixie/debian-security/.
trixie=$debian_repo/trixie
trixie_base=$images/debian-trixie.tar
# What the archive was made from: the pins and this recipe's version (bump it when the recipe changes).
trixie_pins="recipe 2 | $TRIXIE_APTLY_PACKAGES | $TRIXIE_PKGBUILDER_PACKAGES | $TEST_PYPI_PACKAGES"
log() { echo "node-setup: $*" >&2; }

# image OUT REF ROOTFS CONFIG_JSON: one layer from ROOTFS (file capabilities kept), written by the
# images' own docker-archive writer (scripts/images/archive.js).
image() {
  local out=$1 ref=$2 rootfs=$3 config=$4 layer
  layer=$(mktemp)
  tar --sort=name --mtime=@0 --numeric-owner --xattrs --xattrs-include=security.capability -C "$rootfs" -cf "$layer" .
  printf '%s' "$config" >"$layer.json"
  node "$here/images/archive.js" write "$out" "$ref" "$layer.json" "$layer"
  rm -f "$layer" "$layer.json"
}

# Kubernetes' own pause image version for this release (build/pause/Makefile TAG).
k8s_dir() { GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@v$KUBERNETES_VERSION" | node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0)).Dir)'; }
pause_tag() { sed -n 's/^TAG ?= *//p' "$(k8s_dir)/build/pause/Makefile"; }
pause_tar() { echo "$images/pause-$(pause_tag).tar"; }
coredns_ref="registry.k8s.io/coredns/coredns:v$COREDNS_VERSION"
coredns_tar="$images/coredns-v$COREDNS_VERSION.tar"

if [[ ${1:-} == --list ]]; then
  printf 'registry.k8s.io/pause:%s\t%s\n%s\t%s\n' "$(pause_tag)" "$(pause_tar)" "$coredns_ref" "$coredns_tar"
  exit 0
fi

missing=()
for pkg in $DEBIAN_NODE_PACKAGES; do
  name=${pkg%%=*} want=${pkg#*=}
  have=$(dpkg-query -W -f '${Status} ${Version}' "$name" 2>/dev/null || true)
  [[ $have == "install ok installed $want" ]] || missing+=("$pkg")
done
pause=$(pause_tar)

if [[ ${1:-} == --check ]]; then
  [[ -f $pause ]] || missing+=("$pause")
  [[ -f $coredns_tar ]] || missing+=("$coredns_tar")
  [[ -f $debian_repo/dists/$TEST_DEBIAN_SUITE/Release && $(cat "$debian_repo/.packages" 2>/dev/null) == "$TEST_DEBIAN_PACKAGES" ]] || missing+=("$debian_repo")
  if [[ ${2:-} == tools-images ]]; then [[ $(cat "$trixie/.packages" 2>/dev/null) == "$trixie_pins" && -f $trixie_base ]] || missing+=("$trixie"); fi
  if ((${#missing[@]})); then log "missing: ${missing[*]} (run: bash scripts/node-setup.sh)"; exit 1; fi
  exit 0
fi

if ((EUID != 0)); then
  log "not root: no real node here (the loopback cluster's nodes will all be simulated); run as root to set it up"
  exit 0
fi

t=$SECONDS
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >&2
  log "packages installed in $((SECONDS - t))s"
else
  log "packages: installed"
fi

# The sandbox every pod starts with. Upstream's image is pause.c built static on scratch; so is this.
if [[ ! -f $pause ]]; then
  t=$SECONDS
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/rootfs" "$images"
  gcc -Os -static -Wall -Werror -DVERSION="v$(pause_tag)-stx" -o "$work/rootfs/pause" "$(k8s_dir)/build/pause/linux/pause.c"
  strip "$work/rootfs/pause"
  image "$pause" "registry.k8s.io/pause:$(pause_tag)" "$work/rootfs" '{"Entrypoint":["/pause"],"User":"65535:65535"}'
  log "pause image $(pause_tag) built in $((SECONDS - t))s: $pause"
else
  log "pause image: cached ($pause)"
fi

if [[ ! -f $coredns_tar ]]; then
  t=$SECONDS
  coredns=$(bash "$here/toolchain.sh" --bin-dir)/coredns
  bash "$here/toolchain.sh" --check coredns || { log "build CoreDNS first: bash scripts/toolchain.sh coredns"; exit 1; }
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/rootfs/etc"
  install -m 0755 "$coredns" "$work/rootfs/coredns"
  # Port 53 as a non-root user: upstream's image carries the same file capability.
  setcap cap_net_bind_service=+ep "$work/rootfs/coredns"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$work/rootfs/etc/passwd"
  image "$coredns_tar" "$coredns_ref" "$work/rootfs" '{"Entrypoint":["/coredns"],"User":"65532:65532"}'
  log "CoreDNS image v$COREDNS_VERSION built in $((SECONDS - t))s: $coredns_tar"
else
  log "CoreDNS image: cached ($coredns_tar)"
fi

# release_file SUITE: a Release as apt and pulp_deb read it (the checksums of each index), unsigned.
release_file() {
  local suite=$1 f
  printf 'Origin: stx-build-cluster tests\nLabel: stx-build-cluster tests\nSuite: %s\nCodename: %s\n' "$suite" "$suite"
  printf 'Date: Thu, 01 Jan 1970 00:00:00 UTC\nArchitectures: amd64\nComponents: main\n'
  for sum in MD5Sum:md5sum SHA256:sha256sum; do
    echo "${sum%%:*}:"
    for f in main/binary-amd64/Packages main/binary-amd64/Packages.gz; do
      printf ' %s %s %s\n' "$(${sum#*:} "$f" | cut -d' ' -f1)" "$(stat -c %s "$f")" "$f"
    done
  done
}

# What pods would fetch from Debian, served by the tests on loopback instead (tools/loopback/debianRepo.ts).
if [[ $(cat "$debian_repo/.packages" 2>/dev/null) != "$TEST_DEBIAN_PACKAGES" ]]; then
  t=$SECONDS
  rm -rf "$debian_repo"
  mkdir -p "$debian_repo/pool/main" "$debian_repo/dists/$TEST_DEBIAN_SUITE/main/binary-amd64"
  # shellcheck disable=SC2086 # one word per package
  fetch() { (cd "$debian_repo/pool/main" && apt-get -o APT::Sandbox::User=root download -q $TEST_DEBIAN_PACKAGES >&2); }
  # The package lists may predate the pins on a fresh machine: update once, then try again.
  fetch || { apt-get -o DPkg::Lock::Timeout=300 update -qq && fetch; }
  (
    cd "$debian_repo"
    dpkg-scanpackages --multiversion pool /dev/null >"dists/$TEST_DEBIAN_SUITE/main/binary-amd64/Packages" 2>/dev/null
    cd "dists/$TEST_DEBIAN_SUITE"
    gzip -9nk main/binary-amd64/Packages
    release_file "$TEST_DEBIAN_SUITE" >Release
  )
  echo "$TEST_DEBIAN_PACKAGES" >"$debian_repo/.packages"
  log "Debian test repository ($TEST_DEBIAN_PACKAGES) made in $((SECONDS - t))s: $debian_repo"
else
  log "Debian test repository: cached ($debian_repo)"
fi

# The tools images' trixie (issue 18; tools/loopback/debianRepo.ts serves it, the farm's Pulp mirrors
# it under <path>/deb.debian.org/debian{,-security}). Upstream's Dockerfiles write apt sources
# without [trusted=yes] (stx-aptly.Dockerfile:33-36), so the archive is signed, with a key made here
# once that only the `debian:trixie` stand-in below trusts. The suites the Dockerfiles name besides
# trixie (-updates, -backports, -security) are served empty: everything is in trixie itself.
trixie_suite() {
  local dir=$1 suite=$2 home=$3
  mkdir -p "$dir/dists/$suite/main/binary-amd64"
  (
    cd "$dir"
    if [[ $suite == trixie ]]; then dpkg-scanpackages --multiversion pool /dev/null 2>/dev/null; fi >"dists/$suite/main/binary-amd64/Packages"
    cd "dists/$suite"
    gzip -9nk main/binary-amd64/Packages
    release_file "$suite" >Release
    gpg --homedir "$home" --batch --yes --clearsign -o InRelease Release
    gpg --homedir "$home" --batch --yes -abs -o Release.gpg Release
  )
}

if [[ ${1:-} != tools-images ]]; then
  log "trixie archive for the tools images: not asked for (bash scripts/node-setup.sh tools-images)"
elif [[ $(cat "$trixie/.packages" 2>/dev/null) != "$trixie_pins" || ! -f $trixie_base ]]; then
  t=$SECONDS
  rm -rf "$trixie"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$trixie/debian/pool/main" "$trixie/key" "$work/gpg"
  chmod 700 "$work/gpg"
  gpg --homedir "$work/gpg" --batch --quiet --passphrase '' --quick-generate-key "stx-build-cluster test archive <tests@invalid>" rsa3072 sign never
  gpg --homedir "$work/gpg" --export >"$trixie/key/archive.gpg"
  ex=(--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr --variant=minbase --quiet)
  # closure VAR [APTOPT]: the closure of a pin list as apt in the Dockerfile resolves it, every .deb kept.
  closure() {
    local var=$1 list=${!1}; shift
    SOURCE_DATE_EPOCH=0 nice -n 10 mmdebstrap "${ex[@]}" "$@" --include="$(tr ' ' ',' <<<"$list")" \
      --skip=download/empty --skip=essential/unlink \
      --customize-hook="sync-out /var/cache/apt/archives $trixie/debian/pool/main" \
      trixie /dev/null "deb $TRIXIE_MIRROR trixie main" >&2 \
      || { log "trixie: a pin of $var is no longer served by $TRIXIE_MIRROR (see apt's message above)"; exit 1; }
  }
  closure TRIXIE_APTLY_PACKAGES --aptopt='APT::Install-Recommends "true"'
  closure TRIXIE_PKGBUILDER_PACKAGES
  rm -f "$trixie/debian/pool/main/lock"; rm -rf "$trixie/debian/pool/main/partial"
  for suite in trixie trixie-updates trixie-backports; do trixie_suite "$trixie/debian" "$suite" "$work/gpg"; done
  trixie_suite "$trixie/debian-security" trixie-security "$work/gpg"
  # debian:trixie's stand-in: minbase as Debian's image (debuerreotype), its apt sources
  # (debian.sources, deb822) as there, and the test archive's key among apt's trusted keys.
  SOURCE_DATE_EPOCH=0 nice -n 10 mmdebstrap "${ex[@]}" trixie "$work/rootfs" "deb $TRIXIE_MIRROR trixie main" >&2
  r=$work/rootfs
  rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb "$r"/dev/* "$r/etc/apt/sources.list"
  : >"$r/etc/resolv.conf"; : >"$r/etc/hostname"
  printf 'Types: deb\nURIs: %s\nSuites: trixie trixie-updates\nComponents: main\n\nTypes: deb\nURIs: %s-security\nSuites: trixie-security\nComponents: main\n' \
    "$TRIXIE_MIRROR" "$TRIXIE_MIRROR" >"$r/etc/apt/sources.list.d/debian.sources"
  cp "$trixie/key/archive.gpg" "$r/etc/apt/trusted.gpg.d/stx-test-archive.gpg"
  image "$trixie_base" "docker.io/library/debian:trixie" "$r" '{"Cmd":["bash"],"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}'
  # PyPI's stand-in: the pinned wheels for trixie's Python 3.13 and a PEP 503 simple index of them.
  py=$(bash "$here/upstream-python.sh")
  mkdir -p "$trixie/pypi/files"
  # shellcheck disable=SC2086 # one word per requirement
  "$py" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: --python-version 3.13 \
    --implementation cp --platform manylinux2014_x86_64 -d "$trixie/pypi/files" $TEST_PYPI_PACKAGES >&2
  for whl in "$trixie/pypi/files"/*.whl; do
    f=$(basename "$whl") name=$(basename "$whl" | cut -d- -f1 | tr 'A-Z_.' 'a-z--')
    mkdir -p "$trixie/pypi/simple/$name"
    printf '<a href="../../files/%s#sha256=%s">%s</a>\n' "$f" "$(sha256sum "$whl" | cut -d' ' -f1)" "$f" >>"$trixie/pypi/simple/$name/index.html"
  done
  echo "$trixie_pins" >"$trixie/.packages"
  log "trixie archive ($(find "$trixie/debian/pool" -name '*.deb' | wc -l) .debs) and debian:trixie stand-in made in $((SECONDS - t))s: $trixie, $trixie_base"
else
  log "trixie archive and debian:trixie stand-in: cached ($trixie)"
fi
