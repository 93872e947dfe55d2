#!/usr/bin/env bash
# Builds the local toolchain (MinIO, cyclonus, Pulumi CLI, control plane, kwok) from Go modules, because no
# prebuilt binary can be downloaded here; only the Go module proxy is reachable.
#
#   bash scripts/toolchain.sh [component ...]   build the named (default: all) components if missing;
#                                               `cluster` names all but cyclonus
#   bash scripts/toolchain.sh --bin-dir         print the directory holding the binaries
#   bash scripts/toolchain.sh --doubles-dir     print the directory holding the test doubles (their
#                                               own directory, so nothing puts them on PATH unasked)
#   bash scripts/toolchain.sh --check [comp...] fail unless the cached binaries match this checkout
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
doubles=$cache/test-doubles
if [[ ${1:-} == --bin-dir ]]; then echo "$bin"; exit 0; fi
if [[ ${1:-} == --doubles-dir ]]; then echo "$doubles"; exit 0; fi

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
# A PKG starting with ./ is a package of the wrapper module itself, laid out by the function named
# in $PREPARE (called in the wrapper dir with the module's download dir), for main packages that
# need files the published module lacks.
gobuild() {
  local comp=$1 mod=$2 ver=$3 sibling=$4 ldflags=$5; shift 5
  local work gomod pkgs=() pair
  work=$(mktemp -d "${TMPDIR:-/tmp}/stx-toolchain-$comp.XXXXXX")
  for pair in "$@"; do
    if [[ $pair == ./* ]]; then pkgs+=("$mod@$ver"); else pkgs+=("${pair%%=*}@$ver"); fi
  done
  (
    cd "$work"
    printf 'module stx-toolchain/%s\n\ngo 1.24\n' "$comp" >go.mod
    local info
    info=$(go mod download -json "$mod@$ver")
    gomod=$(node -e 'process.stdout.write(JSON.parse(process.argv[1]).GoMod)' "$info")
    if [[ -n ${PREPARE:-} ]]; then "$PREPARE" "$(node -e 'process.stdout.write(JSON.parse(process.argv[1]).Dir)' "$info")"; fi
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
    if [[ -n ${PREPARE:-} ]]; then go get "${pkgs[@]}" >&2 && go mod tidy >&2; else go get -tool "${pkgs[@]}" >&2; fi
    for pair in "$@"; do
      log "  go build ${pair%%=*} -> $bin/${pair#*=}"
      go build -trimpath -ldflags "-s -w $ldflags" -o "$bin/${pair#*=}" "${pair%%=*}"
    done
  )
  rm -rf "$work"
}

# The official Kubernetes provider's main package embeds two files that upstream generates
# (`go generate`) and leaves out of the published module: the schema with its version set, and the
# Terraform mapping compacted. `go build -overlay` refuses files in the module cache, so the wrapper
# gets its own copy of that main.go (at build time only) beside the two generated files.
prepare_kubernetes_provider() {
  local src=$1/cmd/pulumi-resource-kubernetes dst=cmd/pulumi-resource-kubernetes
  mkdir -p "$dst"
  cp "$src/main.go" "$dst/main.go" && chmod u+w "$dst/main.go"
  VERSION=$PULUMI_KUBERNETES_VERSION node -e '
    const fs = require("fs"), [src, dst] = process.argv.slice(1);
    const schema = JSON.parse(fs.readFileSync(`${src}/schema.json`, "utf8"));
    schema.version = process.env.VERSION;
    fs.writeFileSync(`${dst}/schema-embed.json`, JSON.stringify(schema));
    fs.writeFileSync(`${dst}/terraform-mapping-embed.json`, JSON.stringify(JSON.parse(fs.readFileSync(`${src}/terraform-mapping.json`, "utf8"))));
  ' "$src" "$dst"
}

# double BINARY DIR LDFLAGS SOURCE_HASH: a test double, our own Go code in this repo (the hash is
# only for the stamp), built into the doubles' directory, never beside the real binaries.
double() {
  mkdir -p "$doubles"
  rm -f "$bin/$1" # where an older toolchain put it
  log "  go build ./$2 -> $doubles/$1 (test double)"
  (cd "$repo/$2" && go build -trimpath -ldflags "-s -w $3" -o "$doubles/$1" .)
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
    kube-apiserver|kube-controller-manager|kube-scheduler|kubectl|kubelet|kube-proxy)
      echo gobuild "$1" k8s.io/kubernetes "v$KUBERNETES_VERSION" "v0.$minor.${KUBERNETES_VERSION##*.}" "'$kflags'" \
        "k8s.io/kubernetes/cmd/$1=$1" ;;
    kwok) echo gobuild kwok sigs.k8s.io/kwok "v$KWOK_VERSION" - \
      "'-X sigs.k8s.io/kwok/pkg/consts.Version=v$KWOK_VERSION -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=v$KUBERNETES_VERSION'" \
      sigs.k8s.io/kwok/cmd/kwok=kwok ;;
    # The real node's cluster DNS and NetworkPolicy enforcer (tools/loopback/node.ts).
    # Static, as upstream's image ships it (it runs in a container: tools/loopback/node.ts).
    coredns) echo CGO_ENABLED=0 gobuild coredns github.com/coredns/coredns "v$COREDNS_VERSION" - \
      "'-X github.com/coredns/coredns/coremain.GitCommit=v$COREDNS_VERSION'" github.com/coredns/coredns=coredns ;;
    kube-router) echo gobuild kube-router github.com/cloudnativelabs/kube-router/v2 "v$KUBE_ROUTER_VERSION" - \
      "'-X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=v$KUBE_ROUTER_VERSION'" \
      github.com/cloudnativelabs/kube-router/v2/cmd/kube-router=kube-router ;;
    # NetworkPolicy analyser: the unit tests feed it what each stack declares (no CNI needed).
    cyclonus) echo gobuild cyclonus github.com/mattfenwick/cyclonus "v$CYCLONUS_VERSION" - \
      "'-X github.com/mattfenwick/cyclonus/pkg/cli.version=v$CYCLONUS_VERSION'" \
      github.com/mattfenwick/cyclonus/cmd/cyclonus=cyclonus ;;
    # MinIO's client: the object store test runs the bucket Job's own script with it.
    mc) echo gobuild mc github.com/minio/mc "$MC_VERSION" - "''" github.com/minio/mc=mc ;;
    # The registry server itself: the registry gate's test pushes through the gate to it on loopback.
    registry) echo gobuild registry github.com/distribution/distribution/v3 "v$DISTRIBUTION_VERSION" - \
      "'-X github.com/distribution/distribution/v3/version.version=v$DISTRIBUTION_VERSION'" \
      github.com/distribution/distribution/v3/cmd/registry=registry ;;
    # kaniko's executor, static as upstream's Makefile builds it (deploy/Dockerfile: CGO_ENABLED=0,
    # version stamped into pkg/version); scripts/images.sh lays it out as the executor image.
    kaniko) echo CGO_ENABLED=0 gobuild kaniko github.com/GoogleContainerTools/kaniko "v$KANIKO_VERSION" - \
      "'-X github.com/GoogleContainerTools/kaniko/pkg/version.version=v$KANIKO_VERSION'" \
      github.com/GoogleContainerTools/kaniko/cmd/executor=kaniko-executor ;;
    # The real language host's module is refused: a stand-in that runs @pulumi/pulumi's own
    # program runner (tools/test-doubles/pulumi-language-nodejs/main.go says what it covers).
    pulumi-language-nodejs) echo double pulumi-language-nodejs tools/test-doubles/pulumi-language-nodejs \
      "'-X main.version=$PULUMI_VERSION'" \
      "$(cat "$repo"/tools/test-doubles/pulumi-language-nodejs/{go.mod,go.sum,*.go} | sha256sum | cut -c1-16)" ;;
    # The official provider; the module proxy serves it only as the pseudo-version of its tag.
    pulumi-resource-kubernetes) echo PREPARE=prepare_kubernetes_provider gobuild pulumi-resource-kubernetes \
      github.com/pulumi/pulumi-kubernetes/provider/v4 "$PULUMI_KUBERNETES_MODULE" "v$PULUMI_KUBERNETES_VERSION" \
      "'-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$PULUMI_KUBERNETES_VERSION'" \
      ./cmd/pulumi-resource-kubernetes=pulumi-resource-kubernetes ;;
    # Tekton Pipelines' controller, admission webhook and resolvers, run as processes by the cluster tests.
    tekton) echo gobuild tekton github.com/tektoncd/pipeline "v$TEKTON_PIPELINE_VERSION" - \
      "''" \
      github.com/tektoncd/pipeline/cmd/controller=tekton-controller github.com/tektoncd/pipeline/cmd/webhook=tekton-webhook \
      github.com/tektoncd/pipeline/cmd/resolvers=tekton-resolvers ;;
    # The random provider's module is refused by the module proxy here: a test double stands in.
    pulumi-resource-random) echo double pulumi-resource-random tools/test-doubles/pulumi-resource-random \
      "'-X main.version=$PULUMI_RANDOM_VERSION'" \
      "$(cat "$repo"/tools/test-doubles/pulumi-resource-random/{go.mod,go.sum,*.go} | sha256sum | cut -c1-16)" ;;
    pulumi-resource-command)
      log "$1: its Go module is refused by the module proxy at every version, so it cannot be built here"
      log "  (see docs/cluster-tests.md: command is used only by the starlingx stack's sysbox node labels)"
      exit 3 ;;
    *) log "unknown component: $1 (known: ${ALL[*]})"; exit 2 ;;
  esac
}

ALL=(minio cyclonus mc registry kaniko pulumi pulumi-language-nodejs pulumi-resource-kubernetes pulumi-resource-random tekton etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok kubelet kube-proxy coredns kube-router)

check_npm_pins
mkdir -p "$bin" "$cache/stamps"
check=0
if [[ ${1:-} == --check ]]; then check=1; shift; fi
(($#)) || set -- "${ALL[@]}"
# `cluster`: what a deployment to the loopback control plane needs, its real node's images included
# (MinIO, mc and the registry go into them): all but cyclonus, which only the unit tests use.
args=()
for comp in "$@"; do
  if [[ $comp == cluster ]]; then
    for c in "${ALL[@]}"; do [[ $c == cyclonus ]] || args+=("$c"); done
  else
    args+=("$comp")
  fi
done
set -- "${args[@]}"
# --check [component ...]: exit 1 naming every component whose binary was built from something else
# than this checkout asks for (the cache is shared: another branch may have rebuilt a component).
if ((check)); then
  stale=()
  for comp in "$@"; do
    [[ -f $cache/stamps/$comp && $(<"$cache/stamps/$comp") == "$(spec "$comp")" ]] || stale+=("$comp")
  done
  if ((${#stale[@]})); then log "not built from this checkout's pins: ${stale[*]} (run bash scripts/toolchain.sh ${stale[*]})"; exit 1; fi
  exit 0
fi
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
