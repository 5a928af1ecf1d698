#!/usr/bin/env bash
# Builds the local k3s stand-in images (see stand-in.js) without any registry:
#
#   aks-emulator/k3s-standin-base:latest      docker import of a root folder: the host's node binary
#                                             and the libraries it loads, Debian's static busybox,
#                                             stand-in.js and node-forge
#   aks-emulator/k3s-standin:v<X.Y.Z>-k3s<N>  FROM the base with ENV K3S_VERSION=v<X.Y.Z>+k3s<N>, one per
#                                             tag of the k3s tag table (K3S_TAGS in src/engine/versions.ts)
#                                             that published-tags.txt lists: k3s's real releases only
#   aks-emulator/k3s-standin:latest           the catalogue's default version's tag
#
# Usage: build.sh [--force] [X.Y.Z ...]
#   Without versions, every tag in the table (":latest" is the default minor's newest patch); with
#   versions, the table's tags of those (":latest" is the last one, or $K3S_STANDIN_LATEST).
#   A table tag missing from published-tags.txt gets no image (a warning; an error when asked for by
#   version): the emulator then fails to pull it, as it would fail against Docker Hub.
# Idempotent: images carry a hash of their inputs (stand-in.js, this script, the node binary,
# busybox, node-forge) as a label; when it matches, nothing is rebuilt.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
project=$(cd "$here/../.." && pwd)
BASE=aks-emulator/k3s-standin-base:latest
REPO=aks-emulator/k3s-standin
LABEL=floci.az.aks/stand-in
HASH_LABEL=floci.az.aks/stand-in.hash
VERSION_LABEL=floci.az.aks/stand-in.k3s-version
export DOCKER_BUILDKIT=0 # the classic builder: FROM a local image, no buildx plugin needed

force=false
versions=()
for arg in "$@"; do
  case "$arg" in
    --force) force=true ;;
    -h | --help) sed -n '2,21p' "$0"; exit 0 ;;
    v*) versions+=("${arg#v}") ;;
    *) versions+=("$arg") ;;
  esac
done
for v in "${versions[@]}"; do
  [[ "$v" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "build.sh: '$v' is not a version X.Y.Z" >&2; exit 2; }
done

started=$(date +%s.%N)
die() { echo "build.sh: $*" >&2; exit 1; }
command -v docker >/dev/null || die "the docker client is not installed (scripts/ci/setup-docker.sh installs docker.io)"
docker info >/dev/null 2>&1 || die "the Docker engine does not answer (docker info); start dockerd first (scripts/ci/setup-docker.sh)"
command -v node >/dev/null || die "node is not on PATH"
busybox=/bin/busybox
[ -x "$busybox" ] || die "$busybox is missing: apt-get install -y busybox-static"
if ldd "$busybox" >/dev/null 2>&1; then die "$busybox is dynamically linked: apt-get install -y busybox-static"; fi
forge="$project/node_modules/node-forge"
[ -f "$forge/package.json" ] || die "node-forge is not installed in $project/node_modules (npm ci)"

# One build at a time (parallel test workers, CI and a developer may all call this).
if command -v flock >/dev/null; then
  exec 9>"${TMPDIR:-/tmp}/aks-emulator-k3s-standin-build.lock"
  flock 9
fi

# The tags: the k3s tag table in versions.ts (every row, or the rows of the versions given), each only
# if published-tags.txt lists it. Never a tag formatted from a version.
catalogue="$project/src/engine/versions.ts"
published_file="$here/published-tags.txt"
[ -f "$catalogue" ] || die "$catalogue is missing"
[ -f "$published_file" ] || die "$published_file is missing"
mapfile -t parsed < <(node -e '
  const s = require("fs").readFileSync(process.argv[1], "utf8");
  const table = s.slice(s.indexOf("const K3S_TAGS"));
  const rows = [...table.slice(0, table.indexOf("});")).matchAll(/"(\d+\.\d+\.\d+)":\s*"(v[^"]+)"/g)];
  let def = "";
  for (const m of s.matchAll(/\{\s*minor:\s*"[^"]+",\s*patches:\s*\[([^\]]*)\]([^}]*)\}/g)) {
    if (/isDefault:\s*true/.test(m[2])) def = [...m[1].matchAll(/"(\d+\.\d+\.\d+)"/g)].map((x) => x[1]).at(-1);
  }
  for (const [, version, tag] of rows) console.log(`${version} ${tag}`);
  console.log(`default ${def}`);
' "$catalogue")
declare -A table=()
table_versions=()
default_version=""
for row in "${parsed[@]}"; do
  read -r v t <<<"$row"
  if [ "$v" = default ]; then default_version="$t"; continue; fi
  table[$v]="$t"
  table_versions+=("$v")
done
[ ${#table_versions[@]} -gt 0 ] || die "found no k3s tag table (K3S_TAGS) in $catalogue"
declare -A published=()
while read -r tag _; do
  case "$tag" in '' | '#'*) continue ;; esac
  published[$tag]=1
done <"$published_file"

latest="${K3S_STANDIN_LATEST:-}"
explicit=${#versions[@]}
if [ "$explicit" -eq 0 ]; then
  versions=("${table_versions[@]}")
  latest="${latest:-$default_version}"
fi
latest="${latest:-${versions[-1]}}"
latest="${latest#v}"
build_tags=()
for v in "${versions[@]}"; do
  t="${table[$v]:-}"
  [ -n "$t" ] || die "no k3s tag for $v in the K3S_TAGS table of $catalogue"
  if [ -z "${published[$t]:-}" ]; then
    [ "$explicit" -eq 0 ] || die "k3s publishes no rancher/k3s:$t (not in $published_file)"
    echo "build.sh: skipping $t: not a tag k3s publishes (not in $published_file)" >&2
    continue
  fi
  build_tags+=("$t")
done
latest_tag="${table[$latest]:-}"
[ -n "$latest_tag" ] && [ -n "${published[$latest_tag]:-}" ] || die "no published k3s tag for the latest version $latest"

node_bin=$(readlink -f "$(command -v node)")
# Inputs that change the base image.
hash=$(
  {
    sha256sum "$here/stand-in.js" "$here/build.sh" "$node_bin" "$busybox" "$forge/package.json"
    find "$forge/lib" -type f -name '*.js' -print0 | sort -z | xargs -0 sha256sum
  } | sed "s#$project##" | sha256sum | cut -c1-32
)

# What exists now, in two docker calls: "<tag> <hash label> <version label>" per tag of our images.
declare -A existing=()
ids=$(docker images -q --filter "label=$LABEL=true" | sort -u)
if [ -n "$ids" ]; then
  while read -r tags h v; do
    for tag in ${tags//,/ }; do existing[$tag]="$h ${v:-}"; done
  done < <(docker image inspect --format "{{ join .RepoTags \",\" }} {{ index .Config.Labels \"$HASH_LABEL\" }} {{ index .Config.Labels \"$VERSION_LABEL\" }}" $ids 2>/dev/null || true)
fi
up_to_date() { # image, expected k3s version (none for the base)
  [ "$force" = false ] && [ "${existing[$1]:-}" = "$hash ${2:-}" ]
}

built=()

if ! up_to_date "$BASE"; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  root="$work/root"
  mkdir -p "$root"

  # node, at its real path and at /usr/local/bin/node (the entrypoint), and every library it loads.
  install -D -m 0755 "$node_bin" "$root$node_bin"
  if [ "$node_bin" != /usr/local/bin/node ]; then
    mkdir -p "$root/usr/local/bin"
    ln -s "$node_bin" "$root/usr/local/bin/node"
  fi
  libs=$(ldd "$node_bin" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' | sort -u)
  [ -n "$libs" ] || die "ldd listed no libraries for $node_bin"
  for lib in $libs; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done

  # busybox: /bin/sh and the usual applets, flat in /bin (PATH=/bin:/usr/local/bin) and at their usual
  # paths too (for #!/usr/bin/env and friends).
  mkdir -p "$root/bin"
  cp -L "$busybox" "$root/bin/busybox"
  for applet in $("$busybox" --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
  done
  for applet in $("$busybox" --list-full); do
    case "$applet" in bin/*) continue ;; esac
    [ -e "$root/$applet" ] || [ -L "$root/$applet" ] || { mkdir -p "$root/$(dirname "$applet")"; ln -s /bin/busybox "$root/$applet"; }
  done

  # k3s and kubectl entry points, as in the rancher/k3s image.
  rm -f "$root/bin/k3s" "$root/bin/kubectl"
  printf '#!/bin/sh\nexec /usr/local/bin/node /stand-in.js "$@"\n' >"$root/bin/k3s"
  printf '#!/bin/sh\nexec /usr/local/bin/node /stand-in.js kubectl "$@"\n' >"$root/bin/kubectl"
  chmod 0755 "$root/bin/k3s" "$root/bin/kubectl"

  # The script and its one dependency.
  install -m 0644 "$here/stand-in.js" "$root/stand-in.js"
  printf '{ "name": "k3s-standin", "private": true, "type": "module" }\n' >"$root/package.json"
  mkdir -p "$root/node_modules/node-forge"
  cp -R "$forge/lib" "$forge/package.json" "$root/node_modules/node-forge/"
  [ -f "$forge/LICENSE" ] && cp "$forge/LICENSE" "$root/node_modules/node-forge/"

  # A minimal system.
  mkdir -p "$root"/{etc/rancher/k3s,etc/rancher/node,var/lib/rancher/k3s,var/lib/kubelet,var/lib/cni,var/log,run,var/run,root,proc,sys,dev}
  install -d -m 1777 "$root/tmp"
  chmod 0700 "$root/root"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
  printf 'NAME="K3s stand-in"\nID=k3s-standin\nPRETTY_NAME="K3s (aks-emulator stand-in)"\n' >"$root/etc/os-release"

  tar -C "$root" --numeric-owner --owner=0 --group=0 -c . | docker import \
    -c 'ENTRYPOINT ["/usr/local/bin/node","/stand-in.js"]' \
    -c 'CMD ["agent"]' \
    -c 'ENV PATH=/bin:/usr/local/bin' \
    -c 'VOLUME ["/var/lib/kubelet","/var/lib/rancher/k3s","/var/lib/cni","/var/log"]' \
    -c "LABEL $LABEL=true $HASH_LABEL=$hash" \
    - "$BASE" >/dev/null
  built+=("$BASE")
  rm -rf "$work"
  trap - EXIT
fi

build_version() { # tag, k3s version
  if up_to_date "$REPO:$1" "$2"; then return; fi
  printf 'FROM %s\nENV K3S_VERSION=%s\nLABEL %s=true %s=%s %s=%s\n' \
    "$BASE" "$2" "$LABEL" "$HASH_LABEL" "$hash" "$VERSION_LABEL" "$2" |
    docker build -q -t "$REPO:$1" - >"$log" 2>&1 || { cat "$log" >&2; die "docker build of $REPO:$1 failed"; }
  built+=("$REPO:$1")
}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The k3s release of a tag: vX.Y.Z-k3sN -> vX.Y.Z+k3sN.
release_of() { local t="$1"; printf '%s+%s' "${t%-k3s*}" "${t##*-}"; }
for t in "${build_tags[@]}"; do build_version "$t" "$(release_of "$t")"; done
build_version latest "$(release_of "$latest_tag")"

# Images this script made earlier and has since re-tagged: only ours (by label), only untagged ones.
if [ ${#built[@]} -gt 0 ]; then
  docker image prune -f --filter "label=$LABEL=true" >/dev/null 2>&1 || true
fi

elapsed=$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
size=$(docker image inspect --format '{{ .Size }}' "$BASE" | awk '{ printf "%.0f MB", $1 / 1000000 }')
if [ ${#built[@]} -eq 0 ]; then
  echo "k3s stand-in: images up to date (${#build_tags[@]} tag(s) + latest, base $size, hash $hash, ${elapsed}s)"
else
  echo "k3s stand-in: built ${built[*]} (base $size, hash $hash) in ${elapsed}s"
fi
