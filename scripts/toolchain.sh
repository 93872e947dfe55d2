#!/usr/bin/env bash
# Builds the local toolchain (MinIO, cyclonus, Pulumi CLI, control plane, kwok) from Go modules, because no
# prebuilt binary can be downloaded here; only the Go module proxy is reachable.
#
#   bash scripts/toolchain.sh [component ...]   build the named (default: all) components if missing;
#                                               `cluster` names all but minio
#   bash scripts/toolchain.sh --bin-dir         print the directory holding the binaries
#
# Versions live in scripts/toolchain.versions. Each component has a stamp recording what it was
# built from, so a changed pin rebuilds it and an unchanged one is a no-op. Logs go to stderr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
# shellcheck source=toolchain.versions
. "$here/toolchain.versions"

cache=${STX_TOOLCHAIN_DIR:-$HOME/.cache/stx-build-cluster/toolchain}
bin=$cache/bin
if [[ ${1:-} == --bin-dir ]]; then echo "$bin"; exit 0; fi

log() { echo "toolchain: $*" >&2; }

# The toolchain must run the same Pulumi as the npm packages, or the engine and SDK disagree.
check_npm_pins() {
  local pair var got
  for pair in pulumi=PULUMI_VERSION kubernetes=PULUMI_KUBERNETES_VERSION random=PULUMI_RANDOM_VERSION command=PULUMI_COMMAND_VERSION; do
    var=${pair#*=}
    got=$(node -p "require('$repo/package.json').dependencies['@pulumi/${pair%%=*}']")
    if [[ $got != "${!var}" ]]; then
      log "version drift: package.json has @pulumi/${pair%%=*} $got, scripts/toolchain.versions has $var=${!var}"; exit 1
    fi
  done
}

# Every component builds one after another into the same module and build caches (2 cores).
export GOFLAGS="-mod=mod -buildvcs=false" GOTOOLCHAIN=local
# The checksum database does not answer for Pulumi's modules here; their go.sum comes from the proxy.
export GONOSUMDB=${GONOSUMDB:+$GONOSUMDB,}github.com/pulumi

# gobuild COMPONENT MODULE VERSION SIBLING_VERSION LDFLAGS PKG=BINARY...
# Generates a throwaway wrapper module that requires MODULE@VERSION and copies its replace
# directives (which `go install pkg@version` refuses). Replaces pointing into the upstream repo
# itself (k8s staging, monorepo siblings) become the published module at SIBLING_VERSION.
gobuild() {
  local comp=$1 mod=$2 ver=$3 sibling=$4 ldflags=$5; shift 5
  local work gomod pkgs=() pair
  work=$(mktemp -d "${TMPDIR:-/tmp}/stx-toolchain-$comp.XXXXXX")
  for pair in "$@"; do pkgs+=("${pair%%=*}@$ver"); done
  (
    cd "$work"
    printf 'module stx-toolchain/%s\n\ngo 1.24\n' "$comp" >go.mod
    gomod=$(go mod download -json "$mod@$ver" | node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0)).GoMod)')
    go mod edit -json "$gomod" | SIBLING=$sibling node -e '
      const m = JSON.parse(require("fs").readFileSync(0));
      const major = Number(/^v(\d+)/.exec(process.env.SIBLING)?.[1] ?? 0);
      for (const r of m.Replace ?? []) {
        const local = r.New.Path.startsWith(".");
        // A local replace whose path cannot carry the sibling version (e.g. etcd guarding its
        // root module with ./FORBIDDEN_DEPENDENCY) only blocks bad imports: drop it.
        const suffix = /\/v(\d+)$/.exec(r.Old.Path)?.[1];
        if (local && (major >= 2 ? Number(suffix) !== major : suffix !== undefined)) continue;
        const to = local ? `${r.Old.Path}@${process.env.SIBLING}` : `${r.New.Path}${r.New.Version ? "@" + r.New.Version : ""}`;
        console.log(`${r.Old.Path}${r.Old.Version ? "@" + r.Old.Version : ""}=${to}`);
      }' | while read -r r; do go mod edit -replace="$r"; done
    go get -tool "${pkgs[@]}" >&2
    for pair in "$@"; do
      log "  go build ${pair%%=*} -> $bin/${pair#*=}"
      go build -trimpath -ldflags "-s -w $ldflags" -o "$bin/${pair#*=}" "${pair%%=*}"
    done
  )
  rm -rf "$work"
}

# localbuild BINARY DIR LDFLAGS SOURCE_HASH [ALIAS...]: our own Go code in this repo (the hash is
# only for the stamp); ALIASes are hard links, for a binary that acts on the name it runs as.
localbuild() {
  log "  go build ./$2 -> $bin/$1"
  (cd "$repo/$2" && go build -trimpath -ldflags "-s -w $3" -o "$bin/$1" .)
  local alias
  for alias in "${@:5}"; do ln -f "$bin/$1" "$bin/$alias"; done
}

# spec COMPONENT: one line describing what the component is built from (its stamp), then the build.
spec() {
  local kv="k8s.io/component-base/version" cv="k8s.io/client-go/pkg/version" kflags minor
  minor=${KUBERNETES_VERSION#*.}; minor=${minor%%.*}
  for p in $kv $cv; do
    kflags+=" -X $p.gitVersion=v$KUBERNETES_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  case $1 in
    minio) echo gobuild minio github.com/minio/minio "$MINIO_VERSION" - \
      "'-X github.com/minio/minio/cmd.Version=$MINIO_VERSION -X github.com/minio/minio/cmd.ReleaseTag=$MINIO_VERSION'" \
      github.com/minio/minio=minio ;;
    pulumi) echo gobuild pulumi github.com/pulumi/pulumi/pkg/v3 "v$PULUMI_VERSION" "v$PULUMI_VERSION" \
      "'-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION'" \
      github.com/pulumi/pulumi/pkg/v3/cmd/pulumi=pulumi ;;
    etcd) echo gobuild etcd go.etcd.io/etcd/server/v3 "v$ETCD_VERSION" "v$ETCD_VERSION" "''" \
      go.etcd.io/etcd/server/v3=etcd ;;
    kube-apiserver|kube-controller-manager|kube-scheduler|kubectl)
      echo gobuild "$1" k8s.io/kubernetes "v$KUBERNETES_VERSION" "v0.$minor.${KUBERNETES_VERSION##*.}" "'$kflags'" \
        "k8s.io/kubernetes/cmd/$1=$1" ;;
    kwok) echo gobuild kwok sigs.k8s.io/kwok "v$KWOK_VERSION" - \
      "'-X sigs.k8s.io/kwok/pkg/consts.Version=v$KWOK_VERSION -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=v$KUBERNETES_VERSION'" \
      sigs.k8s.io/kwok/cmd/kwok=kwok ;;
    # NetworkPolicy analyser: the unit tests feed it what each stack declares (no CNI needed).
    cyclonus) echo gobuild cyclonus github.com/mattfenwick/cyclonus "v$CYCLONUS_VERSION" - \
      "'-X github.com/mattfenwick/cyclonus/pkg/cli.version=v$CYCLONUS_VERSION'" \
      github.com/mattfenwick/cyclonus/cmd/cyclonus=cyclonus ;;
    # The real providers' modules are refused by the module proxy here: see tools/kubernetes-provider.
    pulumi-resource-kubernetes|pulumi-resource-random) echo localbuild pulumi-resource-kubernetes tools/kubernetes-provider \
      "'-X main.version=$PULUMI_KUBERNETES_VERSION -X main.randomVersion=$PULUMI_RANDOM_VERSION'" \
      "$(cat "$repo"/tools/kubernetes-provider/{go.mod,go.sum,*.go} | sha256sum | cut -c1-16)" pulumi-resource-random ;;
    # The real language host's module is refused too: a stand-in that runs @pulumi/pulumi's own
    # program runner (tools/test-doubles/pulumi-language-nodejs/main.go says what it covers).
    pulumi-language-nodejs) echo localbuild pulumi-language-nodejs tools/test-doubles/pulumi-language-nodejs \
      "'-X main.version=$PULUMI_VERSION'" \
      "$(cat "$repo"/tools/test-doubles/pulumi-language-nodejs/{go.mod,go.sum,*.go} | sha256sum | cut -c1-16)" ;;
    pulumi-resource-command)
      log "$1: its Go module is refused by the module proxy at every version, so it cannot be built here"
      log "  (see docs/cluster-tests.md: command is used only by the starlingx stack's sysbox node labels)"
      exit 3 ;;
    *) log "unknown component: $1 (known: ${ALL[*]})"; exit 2 ;;
  esac
}

ALL=(minio cyclonus pulumi pulumi-language-nodejs pulumi-resource-kubernetes etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok)

check_npm_pins
mkdir -p "$bin" "$cache/stamps"
(($#)) || set -- "${ALL[@]}"
# `cluster`: what a deployment to the loopback control plane needs (all but MinIO and cyclonus, which the unit tests use).
args=()
for comp in "$@"; do
  if [[ $comp == cluster ]]; then
    for c in "${ALL[@]}"; do [[ $c == minio || $c == cyclonus ]] || args+=("$c"); done
  else
    args+=("$comp")
  fi
done
set -- "${args[@]}"
start=$SECONDS
for comp in "$@"; do
  want=$(spec "$comp")
  if [[ -f $cache/stamps/$comp && $(<"$cache/stamps/$comp") == "$want" ]]; then
    log "$comp: cached"; continue
  fi
  log "$comp: building ($(go version))"
  t=$SECONDS
  eval "$want"
  printf '%s' "$want" >"$cache/stamps/$comp"
  log "$comp: built in $((SECONDS - t))s"
done
log "done in $((SECONDS - start))s; binaries in $bin"
