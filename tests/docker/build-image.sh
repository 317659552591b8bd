#!/bin/sh
# Builds the tiny replay image the Docker tests run: a static busybox, replay.sh and the
# logs in tests/docker/logs, imported with `docker import` (no registry, nothing pulled).
# Tagged with a Talos version so `inspect` reads one from it; rebuilt only when its inputs
# change (label td.hash). Needs: docker, dpkg-deb, and either the busybox-static package
# installed or `apt-get download busybox-static` working.
#   usage: tests/docker/build-image.sh [IMAGE]   (default talos-doctor-test/replay)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
image=${1:-talos-doctor-test/replay}
hash=$(cat "$here/replay.sh" "$here"/logs/*.log "$0" | sha256sum | cut -c1-16)
have=$(docker image inspect -f '{{index .Config.Labels "td.hash"}}' "$image:v1.8.3" 2>/dev/null || true)
if [ "$have" = "$hash" ]; then
  echo "image $image:v1.8.3 is up to date"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
busybox=""
if dpkg -s busybox-static >/dev/null 2>&1 && [ -x /bin/busybox ]; then
  busybox=/bin/busybox
else
  cache=${TD_CACHE_DIR:-"${TMPDIR:-/tmp}/talos-doctor-test-cache"}
  mkdir -p "$cache"
  deb=$(ls "$cache"/busybox-static_*.deb 2>/dev/null | head -n1 || true)
  if [ -z "$deb" ]; then
    (cd "$cache" && { apt-get download busybox-static >/dev/null 2>&1 ||
      { apt-get update >/dev/null && apt-get download busybox-static; }; })
    deb=$(ls "$cache"/busybox-static_*.deb | head -n1)
  fi
  dpkg-deb -x "$deb" "$work/deb"
  busybox="$work/deb/bin/busybox"
fi
root="$work/rootfs"
mkdir -p "$root/bin" "$root/logs" "$root/tmp" "$root/run" "$root/var" "$root/etc/cni" "$root/system"
cp "$busybox" "$root/bin/busybox"
for applet in sh sleep cat printf echo ls mkdir; do
  ln -s busybox "$root/bin/$applet"
done
cp "$here/replay.sh" "$root/replay.sh"
cp "$here"/logs/*.log "$root/logs/"
tar -C "$root" -cf "$work/rootfs.tar" .
docker import \
  --change 'ENTRYPOINT ["/bin/sh","/replay.sh"]' \
  --change "LABEL td.hash=$hash" \
  "$work/rootfs.tar" "$image:v1.8.3" >/dev/null
docker tag "$image:v1.8.3" "$image:latest"
echo "built $image:v1.8.3"
