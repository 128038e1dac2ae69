# The bioshadock binary in a small image: `serve`, `web` or `builder` (see docker-compose.yml).
#   docker build -t bioshadock .
# Build stage: the release binary (SQLite, libgit2 and the TLS stack are compiled in).
FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin bioshadock \
 && install -m 0755 target/release/bioshadock /usr/local/bin/bioshadock

# Run stage: the binary, CA certificates (https git sources), OpenSSL's runtime (libgit2's
# https transport) and curl for the health check.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl libssl3 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /var/lib/bioshadock bioshadock
COPY --from=build /usr/local/bin/bioshadock /usr/local/bin/bioshadock
USER bioshadock
WORKDIR /var/lib/bioshadock
ENV BIOSHADOCK__DATA_DIR=/var/lib/bioshadock/data \
    BIOSHADOCK__WEB__LISTEN=0.0.0.0:8080 \
    RUST_LOG=info
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["bioshadock"]
CMD ["serve"]
