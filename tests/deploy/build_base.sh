#!/usr/bin/env bash
# tests/deploy/build_base.sh: bootstrap a Debian 12 (bookworm) minbase with mmdebstrap and
# write it as a tarball to stdout, made to look like the official debian:12 image: the
# same apt sources (bookworm, -updates, -security, with their updates installed), no apt
# lists or downloaded .debs, dpkg's unsafe-io (as the official images' build-time
# speed-up). tests/deploy/run.sh imports the tarball as docker.io/library/debian:12 (and
# :12-slim, CMD bash); its cache key is the hash of this file, so any change here rebuilds
# the base. DEBS_CACHE (optional): a folder where the downloaded packages are kept between
# runs.
# mmdebstrap rather than debootstrap: apt downloads the ~90 packages over one pipelined
# connection (debootstrap fetches them one wget at a time), and the chroot is made on a
# tmpfs (/dev/shm) and streamed out as a tar, nothing written to disk but the image.
set -euo pipefail
mirror=http://deb.debian.org/debian
security=http://deb.debian.org/debian-security
hooks=()
if [[ -n ${DEBS_CACHE:-} ]]; then
  mkdir -p "$DEBS_CACHE"
  hooks+=(--skip=essential/unlink
          --setup-hook='mkdir -p "$1"/var/cache/apt/archives/'
          --setup-hook="sync-in $DEBS_CACHE /var/cache/apt/archives/"
          --customize-hook="sync-out /var/cache/apt/archives $DEBS_CACHE")
fi
# The official image's configuration, and its cleanup: mmdebstrap's own (--skip=cleanup/apt)
# would run `apt-get update` against these sources to empty the lists, downloading them.
customize=$(cat <<CUSTOMIZE
set -e
rm -f "\$1/etc/apt/sources.list" "\$1/etc/dpkg/dpkg.cfg.d/99mmdebstrap" \
  "\$1/etc/apt/apt.conf.d/99mmdebstrap"
cat > "\$1/etc/apt/sources.list.d/debian.sources" <<'SOURCES'
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
echo 'force-unsafe-io' > "\$1/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
cat > "\$1/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
echo 'Acquire::Languages "none";' > "\$1/etc/apt/apt.conf.d/docker-no-languages"
rm -rf "\$1"/var/lib/apt/lists/* "\$1"/var/cache/apt/*.bin "\$1"/var/cache/apt/archives/*.deb \\
  "\$1"/var/log/* "\$1"/tmp/* "\$1"/root/.bash_history
: > "\$1/etc/hostname"
: > "\$1/etc/resolv.conf"
CUSTOMIZE
)
tmp=/tmp
[[ $(stat -f -c %T /dev/shm 2>/dev/null) == tmpfs ]] && tmp=/dev/shm
TMPDIR="${TMPDIR:-$tmp}" mmdebstrap --quiet --mode=root --variant=minbase --format=tar \
  --dpkgopt=force-unsafe-io --skip=cleanup/apt --aptopt='Acquire::Languages "none"' \
  "${hooks[@]}" --customize-hook="$customize" \
  bookworm - \
  "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
  "deb $security bookworm-security main"
