#!/usr/bin/env bash
# Install everything bootwright and its tests need on Debian 12, as root:
# Debian packages (the peers the tests run against) and a virtualenv in .venv
# with bootwright installed in editable mode. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: Python, plus the real peers used by interop tests, the lab and benchmarks.
APT_PACKAGES=(
  python3 python3-venv python3-pip
  iproute2
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/pip install -q --upgrade pip >/dev/null 2>&1 || true
.venv/bin/pip install -q -e '.[test]'
echo "setup: bootwright $(.venv/bin/bootwright --version | cut -d' ' -f2) installed in .venv"
