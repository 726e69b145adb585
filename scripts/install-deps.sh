#!/usr/bin/env bash
# Installs the Debian 12 packages fxmesh builds, tests and runs with. `install-deps.sh k8s` adds what
# the k8s/ checks need (unzip, and prometheus for promtool: tests/k8s/README.md), which the image's
# builder stage does not; `install-deps.sh prometheus` adds prometheus alone (promtool and the
# server, for the live metrics test); `install-deps.sh fuzz` adds what `make fuzz` needs (clang
# with libFuzzer and the sanitizer runtimes, llvm-symbolizer); `install-deps.sh build` installs only
# what compiling the binaries needs (the image's builder stage: no test tools, no database server,
# no npm). Idempotent and quiet: it only calls apt-get when a package is missing, so a machine that
# has everything pays nothing.
set -euo pipefail

# What compiling the services and the tool needs (CMakeLists.txt's find_package and pkg-config).
packages=(
  build-essential cmake ninja-build pkg-config
  protobuf-compiler libprotobuf-dev protobuf-compiler-grpc libgrpc++-dev grpc-proto libabsl-dev
  librdkafka-dev libsoci-dev libsqlite3-dev libpq-dev libboost-dev libssl-dev libjwt-dev
  libgoogle-perftools-dev  # TCMalloc, the services' allocator (cmake/allocator.cmake)
)
# What developers and CI build, test and run with besides.
if [ "${1:-}" != build ]; then
  packages+=(
    ccache kcat postgresql catch2 tzdata openssl
    faketime libfaketime
    gnuplot-nox  # make bench draws its picture with it
  )
fi
if [ "${1:-}" = k8s ]; then
  packages+=(unzip prometheus)
fi
# promtool and the prometheus server for the live metrics test (tests/binaries/live_metrics_test.cc).
if [ "${1:-}" = prometheus ]; then
  packages+=(prometheus)
fi
if [ "${1:-}" = fuzz ]; then
  packages+=(clang-14 libclang-rt-14-dev llvm-14)
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
# The README's walkthrough test installs `buf` with npm. Debian's npm package conflicts with a
# nodejs from elsewhere (NodeSource's brings its own npm), so the command is what counts.
[ "${1:-}" = build ] || command -v npm >/dev/null || missing+=(nodejs npm)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "fxmesh needs these Debian packages: ${missing[*]}" >&2
  echo "run 'make deps' as root, or install them with apt-get" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
