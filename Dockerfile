# Multi-stage build: the release binary in a slim image that runs the demo on 0.0.0.0:8080.
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
COPY docs ./docs
RUN cargo build --release --locked --bin vigil

FROM debian:bookworm-slim
RUN useradd --system --home /app vigil && mkdir -p /app/store && chown vigil /app/store
WORKDIR /app
COPY --from=build /src/target/release/vigil /usr/local/bin/vigil
COPY data/sample ./data/sample
USER vigil
ENV VIGIL_STORE=/app/store
EXPOSE 8080
# The demo ingests the bundled synthetic sample, scores its last day and serves it.
# Binding beyond loopback: deployment positions are sensitive; put access control in front.
CMD ["vigil", "demo", "--bind", "0.0.0.0:8080"]
