# depbadge: multi-stage build; the dependency layer is cached apart from the sources.
#   podman build -t depbadge .   (or docker build / buildah bud)

FROM docker.io/library/rust:1.95-slim-bookworm AS build
WORKDIR /src

# 1. Dependencies only: stub sources with the real manifests, so that this layer is rebuilt only
#    when Cargo.toml or Cargo.lock change.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches examples \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && echo 'fn main() {}' > benches/badges.rs \
 && cargo build --release --locked --bin depbadge \
 && rm -rf src

# 2. The application itself.
COPY build.rs build.rs
COPY src src
COPY migrations migrations
COPY templates templates
COPY docs/openapi.json docs/openapi.json
RUN touch src/main.rs src/lib.rs \
 && cargo build --release --locked --bin depbadge \
 && install -D -m 0755 target/release/depbadge /out/depbadge

# Runtime: distroless (glibc, no shell, no package manager). OpenShift runs it under an arbitrary
# UID in group 0; the binary is world-executable and writes nothing to disk (logs go to stdout).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/depbadge /usr/local/bin/depbadge
USER 65532:0
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/depbadge"]
CMD ["serve"]
