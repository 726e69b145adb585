# fxmesh container image: one image holding every service binary (the two ledgers, the coordinator
# and the relay; not the dev/test tool fxmesh-kafka) and the `fxmesh` command-line tool; each
# container picks its binary with its command (the Kubernetes manifests in k8s/ set it).
#
#   make image        # scripts/build-image.sh: the base image, this build, fxmesh:<version> tags
#
# No container registry is needed: BASE_IMAGE is a Debian 12 (bookworm) root file system that
# scripts/build-image.sh makes with debootstrap from Debian's mirror and imports. Any Debian 12
# image works as well, e.g. `docker build --network host --build-arg BASE_IMAGE=debian:12 .` where
# a registry is reachable. RUN steps use apt-get, so the build needs `--network host` (the script's
# dockerd has no bridge network).
#
# The builder uses the project's own dependency script (its `build` mode: compilers and -dev
# packages only, no test tools) so the image builds against exactly the Debian 12 packages that
# developers and CI use; the runtime stage then needs only the matching shared libraries from the
# same Debian release.
ARG BASE_IMAGE=fxmesh-base:bookworm

FROM ${BASE_IMAGE} AS builder
WORKDIR /src
# The dependency script alone first, so editing sources does not re-run apt-get.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN bash scripts/install-deps.sh build
COPY . .
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
 && cmake --build build --target fxmesh-krw-ledger fxmesh-fx-ledger fxmesh-coordinator fxmesh-relay \
      fxmesh

FROM ${BASE_IMAGE}
# Runtime shared libraries only (their own dependencies, such as libgrpc29 and libssl3, come
# along). librdkafka1 is for the coordinator (saga events) and the relay; the ledgers do not link
# it. libjwt0 checks customer tokens. libtcmalloc-minimal4 is the services' allocator. ca-certificates lets a service verify a server it dials
# (PostgreSQL with sslmode=verify-full, Kafka over TLS) against the public CAs.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates \
      libgrpc++1.51 \
      libprotobuf32 \
      libsoci-core4.0 \
      libsoci-sqlite3-4.0 \
      libsoci-postgresql4.0 \
      libabsl20220623 \
      librdkafka1 \
      libsqlite3-0 \
      libpq5 \
      libjwt0 \
      libtcmalloc-minimal4 \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/*
# A fixed numeric uid/gid, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
RUN groupadd --system --gid 10001 fxmesh \
 && useradd --system --uid 10001 --gid fxmesh --home-dir /var/lib/fxmesh --no-create-home \
      --shell /usr/sbin/nologin fxmesh \
 && install -d -o fxmesh -g fxmesh -m 0750 /var/lib/fxmesh
COPY --from=builder /src/build/src/fxmesh-krw-ledger /src/build/src/fxmesh-fx-ledger \
     /src/build/src/fxmesh-coordinator /src/build/src/fxmesh-relay /src/build/src/fxmesh \
     /usr/local/bin/
# The coordinator's default mid rates. Its built-in --rates default, config/rates.txt, is relative
# to the working directory, so FXMESH_RATES points it here instead; Kubernetes mounts the ConfigMap
# fxmesh-rates over /etc/fxmesh. Only the coordinator reads FXMESH_RATES.
COPY config/rates.txt /etc/fxmesh/rates.txt
ENV FXMESH_RATES=/etc/fxmesh/rates.txt
# OCI labels (scripts/build-image.sh passes them): the version from CMakeLists.txt, the commit, and
# the commit's time as the creation time, so the same commit gives the same labels.
ARG VERSION=unknown
ARG REVISION=unknown
ARG CREATED=
ARG SOURCE=
LABEL org.opencontainers.image.title="fxmesh" \
      org.opencontainers.image.description="fxmesh services (KRW and FX ledgers, coordinator, relay) and the fxmesh tool" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}"
USER 10001:10001
# SQLite database files (sqlite:/var/lib/fxmesh/...) live here; Kubernetes mounts a volume here.
WORKDIR /var/lib/fxmesh
# coordinator, krw-ledger, fx-ledger, and the relay's health and reflection port. The binaries
# listen on 127.0.0.1 unless FXMESH_LISTEN (or --listen) says otherwise, e.g.
# FXMESH_LISTEN=0.0.0.0:50061.
EXPOSE 50051 50061 50062 50081 9090
# No default command: run a binary by name, e.g.
#   docker run --rm -p 50061:50061 -e FXMESH_LISTEN=0.0.0.0:50061 fxmesh:0.1.0 fxmesh-krw-ledger
# The coordinator also needs the ledgers' addresses (FXMESH_KRW_LEDGER, FXMESH_FX_LEDGER), and the
# relay needs FXMESH_KAFKA_BROKERS; k8s/ sets them. The tool reads the same FXMESH_COORDINATOR,
# FXMESH_KRW_LEDGER and FXMESH_FX_LEDGER, e.g. from inside a pod:
#   kubectl exec deploy/coordinator -- fxmesh sagas --active
