#!/usr/bin/env bash
# install-deps.sh installs greenscope's build, test and benchmark dependencies
# from Debian 12 packages. Idempotent: packages already present are skipped,
# and apt-get runs only when something is missing. Must run as root.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libev-dev libboost-context-dev libunwind-dev libdw-dev
  libimgui-dev libglfw3-dev libgl-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  libstb-dev libgl1-mesa-dri
  xvfb imagemagick xdotool
  python3-gevent
  libcurl4-openssl-dev libhiredis-dev redis-server python3
  # `greenscope export --format perfetto` encodes with libprotobuf from a
  # .proto generated at build time; its test decodes with protoc. It
  # deflates its packet bundles with zlib.
  libprotobuf-dev protobuf-compiler zlib1g-dev
  # tests/tracer/library_stall_test.cpp stalls inside real libraries, as
  # users' programs do: zlib's compress2 and sqlite3's commits; so do
  # tests/hunt's planted bugs.
  libsqlite3-dev
  # The fuzz pass (passes.sh): clang with its libFuzzer. libclang-rt-14-dev
  # holds the sanitizer and -fsanitize=fuzzer runtimes; clang-14 only
  # recommends it, and recommends are not installed here.
  clang-14 libclang-rt-14-dev libfuzzer-14-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run this script as root (or: sudo $0) to install them" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
