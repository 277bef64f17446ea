#!/usr/bin/env bash
# Builds a stand-in for an official image from Debian packages, for a machine
# whose Docker engine cannot pull images (no registry reachable) but reaches
# Debian's package mirrors. deploy/compose-check.sh uses it for every image
# that is not present locally; a machine that can pull never needs it.
#
#   deploy/images/standin.sh KIND      # prints the stand-in's tag on stdout
#
#   KIND      stands in for              built from
#   base      debian:bookworm-slim       debootstrap --variant=minbase bookworm, slimmed, `docker import`
#   rust      rust:1-bookworm            base + gcc/libc6-dev + this machine's Rust toolchain + CA bundle
#   postgres  postgres:15                base + postgresql-15 + images/postgres/entrypoint.sh
#   rabbitmq  rabbitmq:3-management      base + rabbitmq-server (management enabled) + entrypoint
#   prometheus prom/prometheus           base + Debian's prometheus
#   (Grafana has no Debian package: there is no stand-in for it.)
#
# Caching: the debootstrap root file system is kept as a tarball in
# $STANDIN_CACHE (default /var/cache/inventory-ledger/standin); every image
# carries a label with a hash of its inputs and is rebuilt only when they
# change. `docker rmi` an image (or delete the tarball) to force a rebuild.
#
# Environment:
#   STANDIN_CACHE       cache directory [/var/cache/inventory-ledger/standin]
#   DEBIAN_MIRROR       [http://deb.debian.org/debian]
#   DEBIAN_SECURITY_MIRROR [http://deb.debian.org/debian-security]
#   HOST_CA_BUNDLE      CA bundle copied into the rust stand-in [/etc/ssl/certs/ca-certificates.crt]
#   DOCKER              docker client [docker]; builds run with DOCKER_BUILDKIT=0
#                       (the classic builder; these Dockerfiles need no BuildKit)
#
# Needs root (debootstrap) and, for `rust`, rustc on PATH.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STANDIN_CACHE=${STANDIN_CACHE:-/var/cache/inventory-ledger/standin}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
HOST_CA_BUNDLE=${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
DOCKER=${DOCKER:-docker}
PREFIX=inventory-ledger-standin
LABEL=org.inventory-ledger.standin-inputs

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }
log() { printf '[standin] %s\n' "$*" >&2; }
die() { printf '[standin] ERROR: %s\n' "$*" >&2; exit 1; }

# Hash of the given files' contents plus extra strings: a stand-in's inputs.
inputs_hash() {
    local extra=$1
    shift
    { printf '%s\n' "$extra"; cat "$@"; } | sha256sum | cut -c1-16
}

current_label() {
    "$DOCKER" image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$1" 2>/dev/null || true
}

# --------------------------------------------------------------------- base

base_tag=$PREFIX/debian:bookworm-slim

make_rootfs_tarball() {
    local tarball=$1 work rootfs
    command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
    [[ $(id -u) == 0 ]] || die "debootstrap needs root"
    work=$(mktemp -d "$STANDIN_CACHE/rootfs.XXXXXX")
    rootfs=$work/rootfs
    log "debootstrap --variant=minbase bookworm ($DEBIAN_MIRROR); log: $work/debootstrap.log"
    if ! debootstrap --variant=minbase bookworm "$rootfs" "$DEBIAN_MIRROR" >"$work/debootstrap.log" 2>&1; then
        tail -n 20 "$work/debootstrap.log" >&2
        rm -rf "$work"
        die "debootstrap failed"
    fi

    # Slim it the way the official debian:*-slim images are made
    # (debuerreotype): no docs, man pages, locales; apt keeps no caches.
    rm -f "$rootfs/etc/apt/sources.list"
    cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $DEBIAN_MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $DEBIAN_SECURITY_MIRROR
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
    echo force-unsafe-io >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
    cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    echo 'Acquire::GzipIndexes "true";' >"$rootfs/etc/apt/apt.conf.d/docker-gzip-indexes"
    echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
    echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$rootfs/etc/apt/apt.conf.d/docker-autoremove-suggests"
    echo 'APT::Install-Recommends "false";' >"$rootfs/etc/apt/apt.conf.d/docker-no-recommends"
    # Package scripts must not try to start services inside an image build.
    printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
    chmod 755 "$rootfs/usr/sbin/policy-rc.d"
    find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$rootfs"/usr/share/{man,groff,info,lintian,linda}/*
    find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/cache/debconf/*-old \
        "$rootfs"/var/log/* "$rootfs"/tmp/* "$rootfs"/var/tmp/* "$rootfs"/debootstrap
    : >"$rootfs/etc/machine-id" 2>/dev/null || true
    printf 'nameserver 127.0.0.1\n' >"$rootfs/etc/resolv.conf"  # the engine replaces it

    tar -C "$rootfs" --numeric-owner -cf "$tarball.tmp" .
    mv -f "$tarball.tmp" "$tarball"
    rm -rf "$work"
    log "root file system cached: $tarball ($(du -h "$tarball" | cut -f1))"
}

ensure_base() {
    local tarball=$STANDIN_CACHE/debian-bookworm-minbase-slim.tar hash
    mkdir -p "$STANDIN_CACHE"
    [[ -s $tarball ]] || make_rootfs_tarball "$tarball"
    hash=$(inputs_hash "base $(stat -c '%s %Y' "$tarball")" /dev/null)
    if [[ $(current_label "$base_tag") == "$hash" ]]; then
        echo "$base_tag"
        return
    fi
    log "docker import $tarball as $base_tag"
    "$DOCKER" import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' \
        --change "LABEL $LABEL=$hash" \
        "$tarball" "$base_tag" >/dev/null
    echo "$base_tag"
}

# ------------------------------------------------------- images on the base

# build_image KIND TAG CONTEXT_DIR HASH
build_image() {
    local kind=$1 tag=$2 context=$3 hash=$4 base=$5 logfile
    logfile=$STANDIN_CACHE/build-$kind.log
    log "building $tag (log: $logfile)"
    if ! DOCKER_BUILDKIT=0 "$DOCKER" build --build-arg "BASE_IMAGE=$base" \
        --label "$LABEL=$hash" -t "$tag" "$context" >"$logfile" 2>&1; then
        tail -n 30 "$logfile" >&2
        die "building $tag failed"
    fi
}

ensure_simple() {
    local kind=$1 tag=$2 base hash
    base=$(ensure_base)
    hash=$(inputs_hash "$kind $(current_label "$base")" "$HERE/$kind"/*)
    if [[ $(current_label "$tag") != "$hash" ]]; then
        build_image "$kind" "$tag" "$HERE/$kind" "$hash" "$base"
    fi
    echo "$tag"
}

ensure_rust() {
    local tag=$PREFIX/rust:bookworm base sysroot version hash context
    base=$(ensure_base)
    command -v rustc >/dev/null || die "rustc is not on PATH (the rust stand-in copies this machine's toolchain)"
    sysroot=$(rustc --print sysroot)
    version=$(rustc --version)
    [[ -s $HOST_CA_BUNDLE ]] || die "CA bundle $HOST_CA_BUNDLE not found"
    hash=$(inputs_hash "rust $version $sysroot $(current_label "$base")" \
        "$HERE/rust/Dockerfile" "$HOST_CA_BUNDLE")
    if [[ $(current_label "$tag") != "$hash" ]]; then
        context=$(mktemp -d "$STANDIN_CACHE/rust-context.XXXXXX")
        # shellcheck disable=SC2064 # expand now
        trap "rm -rf '$context'" EXIT
        cp "$HERE/rust/Dockerfile" "$context/"
        cp "$HOST_CA_BUNDLE" "$context/ca-certificates.crt"
        log "copying the Rust toolchain $sysroot ($version), without share/doc"
        cp -al "$sysroot" "$context/toolchain" 2>/dev/null || cp -a "$sysroot" "$context/toolchain"
        rm -rf "$context/toolchain/share/doc"
        build_image rust "$tag" "$context" "$hash" "$base"
        rm -rf "$context"
        trap - EXIT
    fi
    echo "$tag"
}

case "${1:-}" in
    base) ensure_base ;;
    rust) ensure_rust ;;
    postgres) ensure_simple postgres "$PREFIX/postgres:15" ;;
    rabbitmq) ensure_simple rabbitmq "$PREFIX/rabbitmq:3-management" ;;
    prometheus) ensure_simple prometheus "$PREFIX/prometheus:bookworm" ;;
    -h | --help) usage ;;
    *) usage >&2; exit 2 ;;
esac
