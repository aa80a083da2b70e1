# The container image the Kubernetes examples run (examples/kubernetes/): the binary built from
# this checkout on Debian bookworm, in a slim bookworm with CA certificates, run as a fixed
# non-root UID (the examples' runAsUser). Build it where Docker (or Podman, Buildah) and a
# registry your cluster pulls from are available, with the name the examples use (replace
# registry.example.com with your registry, in the examples too):
#
#   docker build -t registry.example.com/greptime-self-test:0.1.0 .
#   docker push registry.example.com/greptime-self-test:0.1.0
#
# `docker run --rm registry.example.com/greptime-self-test:0.1.0 --version` runs the tool;
# arguments after the image name are its arguments.

# The locked dependencies need Rust 1.89 (Cargo.toml's rust-version).
ARG RUST_VERSION=1.89

FROM rust:${RUST_VERSION}-bookworm AS build
# protoc and the well-known protobuf includes: build.rs and the etcd client generate gRPC code
RUN apt-get update \
    && apt-get install -y --no-install-recommends protobuf-compiler libprotobuf-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# without the release profile's line tables: the image ships no debug information
RUN CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_STRIP=symbols \
    cargo build --release --locked --bin greptime-self-test

FROM debian:bookworm-slim AS runtime
# TLS to object stores, etcd, PostgreSQL, MySQL and Kafka trusts the system's CA store
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 65532 greptime-self-test \
    && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin greptime-self-test
COPY --from=build /src/target/release/greptime-self-test /usr/local/bin/greptime-self-test
LABEL org.opencontainers.image.title="greptime-self-test" \
      org.opencontainers.image.description="Pre-flight self-test for GreptimeDB components and their dependencies" \
      org.opencontainers.image.licenses="Apache-2.0"
# numeric, so that Kubernetes' runAsNonRoot can verify it
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/greptime-self-test"]
CMD ["--help"]
