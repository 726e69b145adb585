#!/usr/bin/env bash
# Proves, in seconds and without building the image, that the Dockerfile's runtime stage would run
# the binaries it copies: the binaries the builder builds are the ones the runtime stage copies
# (and each is a CMake executable), and every shared library that the host build of each binary
# loads (ldd) comes from a Debian package that the runtime stage's apt-get list installs, directly
# or as a dependency (apt-cache depends --recurse), or from a package every Debian has (Priority
# required, as debootstrap's minbase). A new library linked without its runtime package fails
# here, not in production. `make image-test` runs the image itself (docs/testing.md).
# Usage: runtime_libraries_test.sh SOURCE_DIR BIN_DIR
set -euo pipefail
source_dir=$1
bin=$2
dockerfile=$source_dir/Dockerfile

fail() {
  echo "FAILED: $*" >&2
  exit 1
}

# The builder's `--target` list and the runtime stage's COPY --from=builder list.
targets=$(awk '/cmake --build build --target/ { on = 1 } on { print } on && !/\\$/ { on = 0 }' \
  "$dockerfile" | tr -s ' \\\n' '\n' | grep -E '^fxmesh' | sort -u)
copied=$(awk '/^COPY --from=builder/ { on = 1 } on { print } on && !/\\$/ { on = 0 }' "$dockerfile" |
  grep -oE '/src/build/src/[A-Za-z0-9_-]+' | sed 's|.*/||' | sort -u)
[[ -n $targets ]] || fail "no 'cmake --build build --target' list in the Dockerfile"
[[ $targets == "$copied" ]] ||
  fail "the builder builds [$(echo $targets)] but the runtime stage copies [$(echo $copied)]"
for binary in $targets; do
  grep -qE "add_executable\\($binary[ )]" "$source_dir/src/CMakeLists.txt" ||
    fail "$binary is no executable of src/CMakeLists.txt"
done

# The runtime stage's packages: the `apt-get install` after the last FROM, one per line.
runtime=$(awk '/^FROM / { stage++ } { print stage "\t" $0 }' "$dockerfile" |
  awk -F'\t' -v last="$(grep -c '^FROM ' "$dockerfile")" '$1 == last { print $2 }' |
  awk '/apt-get install/ { on = 1; next } on && /^ *&&/ { on = 0 } on { print $1 }' | sort -u)
[[ -n $runtime ]] || fail "no apt-get install list in the Dockerfile's runtime stage"
# apt-cache answers from apt's package lists, which a fresh machine may not have yet.
if ! apt-cache show libc6 >/dev/null 2>&1; then
  [[ $(id -u) == 0 ]] || fail "apt has no package lists: run 'apt-get update' as root first"
  apt-get update -qq || fail "apt has no package lists and 'apt-get update' failed"
fi
if ! apt-cache show $runtime >/dev/null 2>&1; then
  for package in $runtime; do
    apt-cache show "$package" >/dev/null 2>&1 || fail "the runtime stage installs $package, unknown to apt"
  done
fi
# What those packages bring along, and what every Debian has.
provided=$(
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances $runtime 2>/dev/null | grep -vE '^ |^<' | sed 's/:.*//'
  dpkg-query -W -f='${Package} ${Priority}\n' | awk '$2 == "required" { print $1 }'
)

# The package of each library each binary loads: every library once, in one dpkg -S call (a
# library may be known to dpkg under its /usr or its / path, or only as the file a link names).
declare -A loaded_by
for binary in $targets; do
  [[ -x $bin/$binary ]] || fail "no $bin/$binary: build it first"
  while read -r library; do
    loaded_by[$library]+="$binary "
  done < <(ldd "$bin/$binary" | awk '/=> \// { print $3 } /^\t\/.*ld-linux/ { print $1 }')
done
((${#loaded_by[@]} > 0)) || fail "ldd listed no library"
candidates() { echo "$1" "$(readlink -f "$1")" "${1#/usr}" "/usr$1"; }
declare -A owner_of
while read -r owner path; do
  owner_of[$path]=${owner%%:*}
done < <(for library in "${!loaded_by[@]}"; do candidates "$library"; done | tr ' ' '\n' |
  sort -u | xargs dpkg -S 2>/dev/null | sed 's/: / /')
needed=()
for library in "${!loaded_by[@]}"; do
  owner=
  for candidate in $(candidates "$library"); do
    owner=${owner_of[$candidate]:-} && [[ -n $owner ]] && break
  done
  [[ -n $owner ]] || fail "${loaded_by[$library]}loads $library, which no Debian package installed"
  needed+=("$owner ${loaded_by[$library]// /,}")
done

missing=$(printf '%s\n' "${needed[@]}" | sort -u | while read -r owner binaries; do
  grep -qxF "$owner" <<<"$provided" || echo "$owner (for ${binaries%,})"
done)
[[ -z $missing ]] || fail "the runtime stage lacks: $(echo $missing)"
echo "ok: $(echo $targets | wc -w) binaries load ${#loaded_by[@]} libraries of $(printf '%s\n' \
  "${needed[@]}" | cut -d' ' -f1 | sort -u | wc -l) packages, all from the runtime stage's \
$(echo $runtime | wc -w) packages and their dependencies"
