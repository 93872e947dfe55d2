#!/usr/bin/env bash
# CI entry for the cluster tests: install system tools, build (or reuse) the toolchain, run the
# tests against a throwaway control plane. Prints cold/warm toolchain times for the budget.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# openssl makes the test cluster's certificates (kubectl comes from the toolchain).
missing=()
command -v openssl >/dev/null || missing+=(openssl)
if ((${#missing[@]})); then
  apt-get update -qq && apt-get install -y -qq "${missing[@]}"
fi

t=$SECONDS
bash scripts/toolchain.sh
echo "toolchain: first run took $((SECONDS - t))s (cold when nothing was cached)"
t=$SECONDS
bash scripts/toolchain.sh
echo "toolchain: second run took $((SECONDS - t))s (warm)"

[[ -d node_modules ]] || npm ci --no-audit --no-fund
t=$SECONDS
npm run test:cluster
echo "cluster tests took $((SECONDS - t))s"
