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
# Offline: plugins come from the toolchain, never from a download.
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
mkdir -p "${PULUMI_BACKEND_URL#file://}"

bash "$repo/scripts/toolchain.sh" pulumi pulumi-language-nodejs pulumi-resource-kubernetes pulumi-resource-random
export STX_TOOLCHAIN_BIN
STX_TOOLCHAIN_BIN=$(bash "$repo/scripts/toolchain.sh" --bin-dir)
export PATH=$STX_TOOLCHAIN_BIN:$PATH

cd "$repo"
[[ -d node_modules ]] || npm ci --no-audit --no-fund
pulumi stack select --create "$stack"
case $command in
  preview) exec pulumi preview "${@:3}" ;;
  up | destroy | refresh) exec pulumi "$command" --yes "${@:3}" ;;
  *) echo "scripts/up.sh: unknown command $command (up | preview | destroy | refresh)" >&2; exit 2 ;;
esac
