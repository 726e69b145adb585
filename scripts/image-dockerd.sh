# Sourced by scripts/build-image.sh and tests/image/image_test.sh: a Docker daemon of their own,
# all of its state in one temp folder, no bridge network and no iptables rules (containers use
# --network host), stopped again when the script exits. Nothing of the machine's own Docker (if it
# has one) is used or touched.
#
#   image_dockerd_start   starts it, exports DOCKER_HOST and sets $docker (the client to call)
#   image_dockerd_stop    stops it and removes the folder (the scripts' EXIT trap calls it)
#   image_install_packages PACKAGE...   apt-get installs those missing (as root)

# Debian's docker.io client and daemon (20.10), named by path: the client builds with the BuildKit
# built into it (DOCKER_BUILDKIT=1), since Debian 12 packages no buildx plugin, and a newer client
# elsewhere on PATH would insist on one.
docker=/usr/bin/docker
dockerd=/usr/sbin/dockerd
image_dockerd_dir=
image_dockerd_pid=

# Installs Debian packages that are missing (as root; apt-get update once first).
image_install_packages() {
  local missing=() package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "needs these Debian packages: ${missing[*]}; run as root or apt-get install them" >&2
    return 1
  fi
  echo "installing: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >/dev/null
}

image_dockerd_start() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "starting a Docker daemon needs root" >&2
    return 1
  fi
  # In the temp folder ($TMPDIR or the system's), not the build tree: a short path, since
  # containerd's sockets live under the exec root and a unix socket's path is limited to 108 bytes.
  image_dockerd_dir=$(mktemp -d -t fxmesh-dockerd.XXXXXX)
  export DOCKER_HOST="unix://$image_dockerd_dir/docker.sock"
  # nice: the image build compiles on this daemon's behalf, beside everything else on the machine.
  nice "$dockerd" \
    --data-root "$image_dockerd_dir/data" \
    --exec-root "$image_dockerd_dir/exec" \
    --pidfile "$image_dockerd_dir/dockerd.pid" \
    --host "$DOCKER_HOST" \
    --bridge=none --iptables=false --ip-masq=false \
    >"$image_dockerd_dir/dockerd.log" 2>&1 &
  image_dockerd_pid=$!
  local tries
  for tries in $(seq 1 "${FXMESH_DOCKERD_START_SECONDS:-60}"); do
    if "$docker" version >/dev/null 2>&1; then
      return 0
    fi
    if ! kill -0 "$image_dockerd_pid" 2>/dev/null; then
      echo "dockerd exited at start; its log:" >&2
      tail -n 30 "$image_dockerd_dir/dockerd.log" >&2
      return 1
    fi
    sleep 1
  done
  echo "dockerd did not answer within ${tries}s; its log:" >&2
  tail -n 30 "$image_dockerd_dir/dockerd.log" >&2
  return 1
}

image_dockerd_stop() {
  if [ -n "$image_dockerd_pid" ] && kill -0 "$image_dockerd_pid" 2>/dev/null; then
    kill -TERM "$image_dockerd_pid"
    local tries
    for tries in $(seq 1 60); do
      kill -0 "$image_dockerd_pid" 2>/dev/null || break
      sleep 1
    done
    if kill -0 "$image_dockerd_pid" 2>/dev/null; then
      echo "dockerd did not stop within 60s; killing it" >&2
      kill -KILL "$image_dockerd_pid" 2>/dev/null || true
    fi
    wait "$image_dockerd_pid" 2>/dev/null || true
  fi
  image_dockerd_pid=
  # Mounts the daemon left behind (it unmounts its own on a clean stop) go first.
  [ -z "$image_dockerd_dir" ] || image_remove_dir "$image_dockerd_dir"
  image_dockerd_dir=
}

# image_remove_dir DIR: unmounts whatever is mounted below DIR, deepest first, then removes it
# without crossing into another file system.
image_remove_dir() {
  [ -d "$1" ] || return 0
  findmnt -rn -o TARGET | grep -F "$1/" | sort -r | xargs -r umount -l || true
  rm -rf --one-file-system "$1"
}
