#!/usr/bin/env bash
# `make image`: builds the Dockerfile into a real OCI image on a machine that reaches no container
# registry, only Debian's package mirror (docs/testing.md, "The container image"):
#   1. apt-get installs Debian's docker.io and debootstrap if missing;
#   2. a dockerd of its own starts with all its state in a temp folder, no bridge, no iptables;
#   3. the base image fxmesh-base:bookworm is `debootstrap --variant=minbase bookworm` from the
#      mirror apt is configured with, imported with `docker import` (its tarball is kept in OUT_DIR,
#      so a second run skips debootstrap; FXMESH_REBUILD_BASE=1 makes it again);
#   4. a BuildKit build with --network host tags fxmesh:<version> and fxmesh:<version>-<commit>;
#   5. `docker save` writes OUT_DIR/fxmesh-<version>.tar, which outlives the temp daemon
#      (`docker load -i` it anywhere; tests/image/image_test.sh does);
# then the daemon stops and its folder is removed, also on failure.
#
# Usage: scripts/build-image.sh [OUT_DIR]      (default: build/image; must run as root)
set -euo pipefail

source_dir=$(cd "$(dirname "$0")/.." && pwd)
out_dir=${1:-$source_dir/build/image}
mkdir -p "$out_dir"
out_dir=$(cd "$out_dir" && pwd)
# shellcheck source=scripts/image-dockerd.sh
source "$source_dir/scripts/image-dockerd.sh"
if [ "$(id -u)" -ne 0 ]; then
  echo "build-image: needs root (apt-get, debootstrap and a Docker daemon of its own)" >&2
  exit 1
fi

# The version is CMakeLists.txt's project VERSION; the commit tag marks a tree with uncommitted
# changes as -dirty, so an image never claims a commit it was not built from.
version=$(sed -nE 's/^project\(fxmesh VERSION ([0-9][0-9.]*).*/\1/p' "$source_dir/CMakeLists.txt")
if [ -z "$version" ]; then
  echo "build-image: no 'project(fxmesh VERSION x.y.z' line in CMakeLists.txt" >&2
  exit 1
fi
if git -C "$source_dir" rev-parse HEAD >/dev/null 2>&1; then
  revision=$(git -C "$source_dir" rev-parse HEAD)
  commit_tag="$version-$(git -C "$source_dir" rev-parse --short=12 HEAD)"
  created=$(git -C "$source_dir" log -1 --format=%cI HEAD)
  if [ -n "$(git -C "$source_dir" status --porcelain --untracked-files=no)" ]; then
    revision="$revision-dirty"
    commit_tag="$commit_tag-dirty"
  fi
  source_url=$(git -C "$source_dir" config --get remote.origin.url || true)
else
  revision=unknown
  commit_tag="$version-unknown"
  created=
  source_url=
fi
source_url=${FXMESH_IMAGE_SOURCE:-$source_url}

# The Debian mirror apt is configured with (FXMESH_DEBIAN_MIRROR overrides it), and its suites
# for updates and security fixes, which the base image's apt then uses too.
debian_targets() {
  apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Identifier: Packages' 2>/dev/null |
    sort -u
}
image_install_packages docker.io debootstrap
# apt lists its sources' targets only once it has their package lists.
if [ -z "${FXMESH_DEBIAN_MIRROR:-}" ] && [ -z "$(debian_targets)" ]; then
  apt-get update -qq
fi
mirror=${FXMESH_DEBIAN_MIRROR:-$(debian_targets | awk '$2 == "bookworm" { print $1; exit }')}
if [ -z "$mirror" ]; then
  echo "build-image: apt has no 'bookworm' source to take the Debian mirror from;" \
    "set FXMESH_DEBIAN_MIRROR (e.g. a Debian mirror's /debian/ URL)" >&2
  exit 1
fi
base_sources() {
  echo "deb $mirror bookworm main"
  debian_targets | awk '$2 == "bookworm-updates" || $2 == "bookworm-security" {
    print "deb " $1 " " $2 " main" }'
}

base_tar="$out_dir/fxmesh-base-bookworm.tar"
build_base() {
  local root
  root=$(mktemp -d -t fxmesh-base.XXXXXX)
  echo "debootstrap: minbase bookworm from $mirror"
  if ! nice debootstrap --variant=minbase bookworm "$root" "$mirror" >"$out_dir/debootstrap.log" 2>&1; then
    echo "build-image: debootstrap failed; its log: $out_dir/debootstrap.log" >&2
    tail -n 20 "$out_dir/debootstrap.log" >&2
    image_remove_dir "$root"
    return 1
  fi
  base_sources >"$root/etc/apt/sources.list"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/tmp/*
  tar -C "$root" --numeric-owner -cf "$base_tar.partial" .
  image_remove_dir "$root"
  mv "$base_tar.partial" "$base_tar"
}

started=$(date +%s)
cleanup() { image_dockerd_stop; }
trap cleanup EXIT
if [ ! -s "$base_tar" ] || [ "${FXMESH_REBUILD_BASE:-}" = 1 ]; then
  build_base
fi
base_done=$(date +%s)
image_dockerd_start
"$docker" import "$base_tar" fxmesh-base:bookworm >/dev/null
echo "base image fxmesh-base:bookworm ($(($(date +%s) - started))s so far)"

# The whole log goes to OUT_DIR/build.log; the terminal gets each step once, and errors.
set +e
DOCKER_BUILDKIT=1 "$docker" build --network host --progress plain \
  --build-arg BASE_IMAGE=fxmesh-base:bookworm \
  --build-arg VERSION="$version" \
  --build-arg REVISION="$revision" \
  --build-arg CREATED="$created" \
  --build-arg SOURCE="$source_url" \
  --tag "fxmesh:$version" --tag "fxmesh:$commit_tag" \
  "$source_dir" 2>&1 | tee "$out_dir/build.log" |
  awk '/^#[0-9]+ (\[|DONE|ERROR)|^ERROR|error:/ && !seen[$0]++ { print; fflush() }'
build_status=${PIPESTATUS[0]}
set -e
if [ "$build_status" -ne 0 ]; then
  echo "build-image: docker build failed; the whole log: $out_dir/build.log" >&2
  tail -n 40 "$out_dir/build.log" >&2
  exit 1
fi
built=$(date +%s)

image_tar="$out_dir/fxmesh-$version.tar"
"$docker" save --output "$image_tar.partial" "fxmesh:$version" "fxmesh:$commit_tag"
mv "$image_tar.partial" "$image_tar"
echo "$commit_tag" >"$out_dir/fxmesh-$version.tag"
size=$("$docker" image inspect --format '{{.Size}}' "fxmesh:$version")
echo "built fxmesh:$version and fxmesh:$commit_tag ($((size / 1000000)) MB)"
echo "saved to $image_tar (docker load -i it)"
echo "time: base $((base_done - started))s, build $((built - base_done))s, total $(($(date +%s) - started))s"
