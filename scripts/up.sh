#!/usr/bin/env bash
# `pulumi up` for one stack with no Pulumi Cloud: local file backend, passphrase secrets, and the
# toolchain built from Go modules. Usage: scripts/up.sh <stack> [preview|destroy|refresh] [--diff]
# Defaults can be overridden: PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE.
set -euo pipefail
stack=${1:?usage: scripts/up.sh <stack> [up|preview|destroy|refresh] [--diff]}
command=${2:-up}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# State stays in the repo's gitignored .pulumi-state/ unless told otherwise.
export PULUMI_BACKEND_URL=${PULUMI_BACKEND_URL:-file://$repo/.pulumi-state}
# A fixed default keeps a laptop stack usable without a prompt; set your own for anything shared.
export PULUMI_CONFIG_PASSPHRASE=${PULUMI_CONFIG_PASSPHRASE-stx-local}
export PULUMI_SKIP_UPDATE_CHECK=true

bash "$repo/scripts/toolchain.sh" pulumi pulumi-resource-kubernetes pulumi-resource-random
export STX_TOOLCHAIN_BIN
STX_TOOLCHAIN_BIN=$(bash "$repo/scripts/toolchain.sh" --bin-dir)
export PATH=$STX_TOOLCHAIN_BIN:$PATH

cd "$repo"
[[ -d node_modules ]] || npm ci --no-audit --no-fund
npx tsc -p .
exec node bin/tools/localStack.js "$command" "$stack" "${@:3}"
