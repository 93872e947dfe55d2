#!/usr/bin/env bash
# The Python that test/upstream/ runs StarlingX's own tools with: Debian's python3 with the Debian
# packages the tools import (python3-apt has no PyPI release), plus a venv (system site packages
# visible) for aptly-api-client and fs, which Debian does not package. Idempotent; prints the
# interpreter's path last. Run by `npm test` and .ci/run before mocha, never inside a test hook.
set -euo pipefail
VENV="${STX_UPSTREAM_VENV:-${HOME}/.cache/stx-build-cluster/upstream-venv}"
DEBS=(python3-apt python3-debian python3-git python3-progressbar python3-psutil python3-flask python3-yaml python3-requests python3-venv git)
# The PyPI packages, pinned (aptly_deb_usage.py: aptly_api; debbuilder.py: fs). The builder image
# installs StarlingX's git fork of aptly-api-client (stx-builder.Dockerfile), whose aptly_api.parts.tasks
# PyPI's releases lack: repo_manage.py's test skips, naming it, until that fork is published.
PIP=(aptly-api-client==0.4.0 fs==2.4.16)

missing=()
for deb in "${DEBS[@]}"; do dpkg-query -W -f='${Status}' "$deb" 2>/dev/null | grep -q "install ok installed" || missing+=("$deb"); done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "upstream-python: needs ${missing[*]} (apt-get install as root)" >&2; exit 1; fi
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ! -x "${VENV}/bin/python3" ]; then /usr/bin/python3 -m venv --system-site-packages "${VENV}"; fi
if ! "${VENV}/bin/python3" -c 'import aptly_api, fs, importlib.metadata as m; assert m.version("aptly-api-client") == "0.4.0"' 2>/dev/null; then
  "${VENV}/bin/pip" install -q --disable-pip-version-check "${PIP[@]}"
fi
"${VENV}/bin/python3" -c 'import apt_pkg, debian.deb822, git, progressbar, psutil, flask, yaml, requests, aptly_api, fs' >&2
echo "${VENV}/bin/python3"
