# The ev-rental server (`ev-rental`) and the reference car unit (`ev-unit`) in a small image that
# runs as a non-root user with its data on a volume. See docs/deployment.md.
#
#   docker build -t ev-rental .
#   docker run -p 8080:8080 -v ev-rental-data:/var/lib/ev-rental ev-rental
#
# It builds with the classic builder as well as with BuildKit, so it uses no cache mounts (the
# classic builder refuses them): the dependencies are compiled in a layer keyed on the manifests
# alone, and a change to the code recompiles only the workspace's own crates.

ARG RUST_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# The workspace reduced to what cargo reads before compiling a dependency: the manifests, the lock
# file and an empty file at each target's path. It changes only when a manifest or a target does.
FROM ${RUST_IMAGE} AS skeleton
WORKDIR /src
COPY . .
RUN set -eu; \
    mkdir /skeleton; \
    cp Cargo.toml Cargo.lock /skeleton/; \
    for manifest in */Cargo.toml; do \
        mkdir -p "/skeleton/${manifest%/Cargo.toml}"; \
        cp "$manifest" "/skeleton/$manifest"; \
    done; \
    find . -path ./target -prune -o -type f \( -path '*/src/lib.rs' -o -path '*/src/main.rs' \
        -o -path '*/src/bin/*.rs' -o -path './*/benches/*.rs' \) -print | \
    while read -r file; do \
        mkdir -p "/skeleton/$(dirname "$file")"; \
        case "$file" in */lib.rs) : ;; *) echo 'fn main() {}' ;; esac >"/skeleton/$file"; \
    done

FROM ${RUST_IMAGE} AS build
WORKDIR /src
# Two cargo invocations, not one: built together, the car unit's crate would switch on the actors'
# `in-process-units` feature in the server too, which must never link it.
COPY --from=skeleton /skeleton/ ./
RUN cargo build --release --locked -p gateway --bin ev-rental \
 && cargo build --release --locked -p simulator --bin ev-unit
COPY . .
# The copied sources keep their (older) times; touching them makes cargo rebuild the crates the
# skeleton stood in for instead of taking the empty ones as fresh.
RUN find . -path ./target -prune -o -name '*.rs' -exec touch {} + \
 && cargo build --release --locked -p gateway --bin ev-rental \
 && cargo build --release --locked -p simulator --bin ev-unit \
 && mkdir /out \
 && cp target/release/ev-rental target/release/ev-unit /out/

FROM ${RUNTIME_IMAGE}
# A fixed uid and gid, so that a volume or bind mount prepared on the host (chown 10001:10001)
# matches whatever image version runs on it.
ARG APP_UID=10001
ARG APP_GID=10001
RUN groupadd --system --gid "${APP_GID}" ev-rental \
 && useradd --system --uid "${APP_UID}" --gid ev-rental --home-dir /var/lib/ev-rental \
        --no-create-home --shell /usr/sbin/nologin ev-rental \
 && mkdir -p /var/lib/ev-rental /etc/ev-rental \
 && chown ev-rental:ev-rental /var/lib/ev-rental \
 && chmod 0700 /var/lib/ev-rental
# The HTTP clients trust webpki's built-in roots; the system bundle (taken from the build stage so
# that the runtime stage needs no package mirror) serves whatever reads the system's roots, e.g. a
# TLS connection to NATS with no CA file configured.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/ /usr/local/bin/
COPY config.toml /etc/ev-rental/config.toml
ENV EVR_SERVER__BIND=0.0.0.0:8080 \
    EVR_STORAGE__DATA_DIR=/var/lib/ev-rental
WORKDIR /var/lib/ev-rental
USER ${APP_UID}:${APP_GID}
VOLUME ["/var/lib/ev-rental"]
EXPOSE 8080
# SIGTERM starts the graceful shutdown (readiness 503, drain, flush every store, exit 0); give
# `docker stop -t` at least server.drain_delay_s + server.shutdown_grace_s.
STOPSIGNAL SIGTERM
# Liveness: a follower of a cluster is healthy (it applies the log and answers /healthz) while its
# /readyz says 503 not-leader, so load balancers route by /readyz, the engine restarts by this.
# The server probes itself, so the image needs no curl.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["ev-rental", "probe", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["ev-rental"]
CMD ["--config", "/etc/ev-rental/config.toml"]
