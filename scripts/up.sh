#!/usr/bin/env bash
# `pulumi <command>` for one stack through the plain Pulumi CLI, with no Pulumi Cloud: local file
# backend, passphrase secrets, and the toolchain built from Go modules. The CLI runs the program from
# Pulumi.yaml as it would anywhere (language host, package.json main, tsconfig.json).
# Usage: scripts/up.sh <stack> [up|preview|destroy|refresh] [pulumi flags, e.g. --diff]
# Defaults can be overridden: PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE.
set -euo pipefail
stack=${1:?usage: scripts/up.sh <stack> [up|preview|destroy|refresh] [pulumi flags]}
command=${2:-up}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# State stays in the repo's gitignored .pulumi-state/ unless told otherwise.
export PULUMI_BACKEND_URL=${PULUMI_BACKEND_URL:-file://$repo/.pulumi-state}
# A fixed default keeps a laptop stack usable without a prompt; set your own for anything shared.
export PULUMI_CONFIG_PASSPHRASE=${PULUMI_CONFIG_PASSPHRASE-stx-local}
export PULUMI_SKIP_UPDATE_CHECK=true
mkdir -p "${PULUMI_BACKEND_URL#file://}"

# A Pulumi CLI installed from pulumi.com brings the real language host and fetches the official
# plugins at the versions package.json names (kubernetes 4.25.0, random 4.21.2): use it. Without
# one (as on a machine that reaches only package registries, or with STX_USE_TOOLCHAIN=1), use the
# toolchain built from Go modules, whose language host and random provider are test doubles.
toolchain_bin=$(bash "$repo/scripts/toolchain.sh" --bin-dir)
installed=$(command -v pulumi || true)
if [[ -z ${STX_USE_TOOLCHAIN:-} && -n $installed && $installed != "$toolchain_bin/pulumi" ]]; then
  echo "up.sh: using $(command -v pulumi) ($(pulumi version)) with the official plugins" >&2
else
  bash "$repo/scripts/toolchain.sh" pulumi pulumi-language-nodejs pulumi-resource-kubernetes pulumi-resource-random
  export STX_TOOLCHAIN_BIN=$toolchain_bin
  doubles=$(bash "$repo/scripts/toolchain.sh" --doubles-dir)
  export PATH=$STX_TOOLCHAIN_BIN:$doubles:$PATH
  # Offline: plugins come from the toolchain, never from a download.
  export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
  echo "up.sh: using the toolchain's Pulumi CLI (none installed, or STX_USE_TOOLCHAIN is set); pulumi-language-nodejs and" \
    "pulumi-resource-random are test doubles from $doubles (docs/cluster-tests.md says what they cover)" >&2
fi

cd "$repo"
[[ -d node_modules ]] || npm ci --no-audit --no-fund
pulumi stack select --create "$stack"
case $command in
  preview) exec pulumi preview "${@:3}" ;;
  up | destroy | refresh) exec pulumi "$command" --yes "${@:3}" ;;
  *) echo "scripts/up.sh: unknown command $command (up | preview | destroy | refresh)" >&2; exit 2 ;;
esac
