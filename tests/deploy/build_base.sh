#!/usr/bin/env bash
# tests/deploy/build_base.sh ROOTFS: debootstrap a Debian 12 (bookworm) minbase into ROOTFS
# (which must not exist) and make it look like the official debian:12 image: the same
# apt sources (bookworm, -updates, -security), no apt lists or downloaded .debs, dpkg's
# unsafe-io (as the official images' build-time speed-up), CMD bash. tests/deploy/run.sh
# imports the result as docker.io/library/debian:12 (and :12-slim); its cache key is the
# hash of this file, so any change here rebuilds the base. DEBS_CACHE (optional): a
# folder where debootstrap keeps the downloaded packages between runs.
set -euo pipefail
rootfs="$1"
mirror=http://deb.debian.org/debian
cache_opt=()
if [[ -n ${DEBS_CACHE:-} ]]; then
  mkdir -p "$DEBS_CACHE"
  cache_opt=(--cache-dir="$DEBS_CACHE")
fi
[[ ! -e $rootfs ]] || { echo "build_base.sh: $rootfs exists" >&2; exit 1; }
debootstrap --variant=minbase "${cache_opt[@]}" bookworm "$rootfs" \
  "$mirror" >&2
rm -f "$rootfs/etc/apt/sources.list"
cat > "$rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
echo 'force-unsafe-io' > "$rootfs/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
cat > "$rootfs/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
echo 'Acquire::Languages "none";' > "$rootfs/etc/apt/apt.conf.d/docker-no-languages"
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb \
  "$rootfs"/var/log/* "$rootfs"/tmp/* "$rootfs"/root/.bash_history
: > "$rootfs/etc/hostname"
: > "$rootfs/etc/resolv.conf"
