# Multi-stage build: the release binary in a slim image that runs the demo on 0.0.0.0:8080.
# Base images are pinned to exact releases (rebuild deliberately to take updates).
FROM rust:1.95.0-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
COPY docs ./docs
RUN cargo build --release --locked --bin vigil

FROM debian:12.12-slim
RUN groupadd --system --gid 10001 vigil \
 && useradd --system --uid 10001 --gid 10001 --home /app vigil \
 && mkdir -p /app/store && chown 10001:10001 /app/store
WORKDIR /app
COPY --from=build /src/target/release/vigil /usr/local/bin/vigil
COPY data/sample ./data/sample
# A numeric user, so that orchestrators can check it is not root without reading /etc/passwd.
USER 10001:10001
ENV VIGIL_STORE=/app/store
EXPOSE 8080
# `vigil healthcheck` GETs /healthz (no curl in the image).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["vigil", "healthcheck", "--url", "http://127.0.0.1:8080/healthz"]
# The demo ingests the bundled synthetic sample, scores its last day and serves it. The
# sample is fictional, so it is served without tokens, by explicit choice: a real store
# needs [[server.tokens]] (docs/configuration.md) and no --allow-anonymous.
CMD ["vigil", "demo", "--bind", "0.0.0.0:8080", "--allow-anonymous"]
