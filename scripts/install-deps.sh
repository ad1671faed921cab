#!/usr/bin/env bash
# install-deps.sh - install the Debian 12 packages planverify needs to build
# and test, and nothing else.
#
# Runs before every `make`, so the common case (everything present) must be
# silent and fast: one dpkg-query per package, no apt calls. Only when a
# package is missing does it run apt-get, as root or through sudo.
# Everything comes from Debian's own archive; nothing is downloaded from
# anywhere else.
set -euo pipefail

packages=(
    build-essential
    cmake
    pkg-config
    git
    libgrpc-dev
    libprotobuf-c-dev
    protobuf-c-compiler
    protobuf-compiler
    libyaml-dev
    libz3-dev
    libcmocka-dev
    libjansson-dev
    python3
    python3-grpcio
    python3-protobuf
    clang
    libclang-rt-14-dev
    clang-format
    openssl
    valgrind
)

missing=()
for pkg in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [[ "$status" != "install ok installed" ]]; then
        missing+=("$pkg")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

echo "install-deps: installing missing packages: ${missing[*]}"

if [[ $(id -u) -eq 0 ]]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "install-deps: error: not root and sudo is not available;" >&2
    echo "install-deps: run as root: apt-get install ${missing[*]}" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
echo "install-deps: done"
