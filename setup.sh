#!/usr/bin/env bash
# Installs what xfsim needs from Debian 12's packages. Idempotent: packages
# already present are left alone. Run as root (or with sudo available).
set -euo pipefail
packages=(bazel-bootstrap bazel-platforms googletest libgtest-dev libgmock-dev librapidcheck-dev
          libspdlog-dev libfmt-dev libgoogle-perftools-dev nlohmann-json3-dev libcli11-dev libvalijson-dev g++
          clang-format-14 chromium)  # chromium: tests/harness/show_test renders the HTML page headless
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed"
  exit 0
fi
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
echo "setup: done"
