#!/usr/bin/env bash
# Builds the emulator's container image, aks-emulator:local, on a machine with no registry: the
# Dockerfile's base image (node:20-bookworm-slim) cannot be pulled here, so this makes an equivalent
# image from what the machine has: a root folder holding this machine's node binary and the libraries
# it loads, Debian's static busybox (a shell for `docker exec`), and the packed npm package installed
# with its runtime dependencies only; `docker import`ed, then given the Dockerfile's runtime settings
# (non-root user "node", /data volume, port 4577, health check). The Dockerfile stays the recipe for
# machines with a registry; keep the settings below in step with its runtime stage.
#
# Usage: build-local.sh [--app DIR] [--tag NAME]
#   --app DIR  a folder where the packed package is installed already (npm install --omit=dev
#              aks-emulator-*.tgz: DIR/node_modules/aks-emulator); without it, this packs the project
#              (npm pack, after npm run build) and installs the tarball itself.
#   --tag NAME the image's name (default aks-emulator:local).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
project=$(cd "$here/../.." && pwd)
export DOCKER_BUILDKIT=0 # the classic builder: FROM a local image, no buildx plugin needed

die() { echo "build-local.sh: $*" >&2; exit 1; }
app=""
tag="aks-emulator:local"
while [ $# -gt 0 ]; do
  case "$1" in
    --app) app=$(cd "${2:?--app needs a folder}" && pwd); shift 2 ;;
    --tag) tag=${2:?--tag needs a name}; shift 2 ;;
    -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (--help)" ;;
  esac
done
command -v docker >/dev/null && docker info >/dev/null 2>&1 || die "no Docker engine answers (scripts/ci/setup-docker.sh starts one)"
busybox=/bin/busybox
[ -x "$busybox" ] && ! ldd "$busybox" >/dev/null 2>&1 || die "$busybox is missing or not static: apt-get install -y busybox-static"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -z "$app" ]; then
  (cd "$project" && npm pack --pack-destination "$work" >/dev/null)
  app="$work/app"
  mkdir -p "$app"
  (cd "$app" && npm install --no-audit --no-fund --omit=dev "$work"/aks-emulator-*.tgz >/dev/null)
fi
[ -f "$app/node_modules/aks-emulator/dist/src/main.js" ] || die "$app/node_modules/aks-emulator is not an installed aks-emulator package"

root="$work/root"
mkdir -p "$root"
# node, at its real path and at /usr/local/bin/node, and every library it loads.
node_bin=$(readlink -f "$(command -v node)")
install -D -m 0755 "$node_bin" "$root$node_bin"
[ "$node_bin" = /usr/local/bin/node ] || { mkdir -p "$root/usr/local/bin"; ln -s "$node_bin" "$root/usr/local/bin/node"; }
for lib in $(ldd "$node_bin" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' | sort -u); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
mkdir -p "$root/bin"
cp -L "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"; done

# The app, owned by root (the user cannot change it); /data and /tmp are where it may write.
mkdir -p "$root/app"
cp -a "$app/node_modules" "$root/app/"
mkdir -p "$root"/{etc,data,proc,sys,dev,root,home/node}
install -d -m 1777 "$root/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/home/node:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n' >"$root/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
printf 'NAME="aks-emulator"\nID=aks-emulator\n' >"$root/etc/os-release"
version=$(node -p 'require(process.argv[1]).version' "$app/node_modules/aks-emulator/package.json")

rootfs="${tag%%:*}-rootfs:${tag#*:}"
[ "$rootfs" != "$tag" ] || rootfs="$tag-rootfs"
tar -C "$root" --numeric-owner --owner=0 --group=0 -c . | docker import - "$rootfs" >/dev/null
# /data belongs to node (uid 1000), as the Dockerfile's `chown node:node /data`.
mkdir -p "$work/context"
cat >"$work/context/Dockerfile" <<EOF
FROM $rootfs
USER root
RUN chown 1000:1000 /data /home/node
ENV PATH=/bin:/usr/local/bin \\
    NODE_ENV=production \\
    HOME=/home/node \\
    FLOCI_AZ_SERVICES_AKS_DATA_DIR=/data \\
    FLOCI_AZ_SERVICES_AKS_PORT=4577
WORKDIR /app
VOLUME /data
EXPOSE 4577
LABEL org.opencontainers.image.title="aks-emulator" org.opencontainers.image.version="$version"
USER node
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \\
  CMD ["/usr/local/bin/node", "-e", "fetch('http://127.0.0.1:4577/_emulator/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/local/bin/node", "/app/node_modules/aks-emulator/dist/src/main.js"]
EOF
docker build -q -t "$tag" "$work/context" >/dev/null
docker rmi "$rootfs" >/dev/null 2>&1 || true
echo "build-local.sh: built $tag (aks-emulator $version, $(docker image inspect -f '{{.Size}}' "$tag" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
