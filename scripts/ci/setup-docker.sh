#!/usr/bin/env bash
# Prepares a Docker engine for the tests, then builds the k3s stand-in images
# (scripts/k3s-standin/build.sh). Called by .ci/run before the tests; safe to run again and when
# Docker already runs. Needs root (or passwordless sudo) only when something must be installed or
# dockerd must be started.
#
#   1. apt-get update (once) and apt-get install docker.io iptables busybox-static, when any is missing
#      (not kubernetes-client: it fails to install beside the kubectl these machines already have)
#   2. dockerd in the background when `docker info` does not answer, logging to $DOCKERD_LOG
#      (default /var/log/dockerd.log), extra arguments from $DOCKERD_ARGS
#   3. a bounded wait ($DOCKERD_WAIT_SECONDS, default 60) until `docker info` answers
#   4. build.sh (quick when the images are up to date)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
project=$(cd "$here/../.." && pwd)
log=${DOCKERD_LOG:-/var/log/dockerd.log}
wait_seconds=${DOCKERD_WAIT_SECONDS:-60}

setup_name=setup-docker
. "$here/common.sh"

# 1. Packages.
missing=()
command -v dockerd >/dev/null && command -v docker >/dev/null || missing+=(docker.io)
command -v iptables >/dev/null || missing+=(iptables)
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' || missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get to install them with"
  say "installing docker.io iptables busybox-static (missing: ${missing[*]})"
  as_root apt-get update -q
  as_root apt-get install -y -q docker.io iptables busybox-static
else
  say "docker.io, iptables and busybox-static are installed"
fi

# 2. The engine.
if docker info >/dev/null 2>&1; then
  say "the Docker engine answers already"
else
  if pgrep -x dockerd >/dev/null 2>&1; then
    say "dockerd is running but does not answer yet; waiting for it"
  else
    say "starting dockerd (log: $log)"
    as_root mkdir -p "$(dirname "$log")"
    # setsid: the engine outlives this script and the CI step that ran it.
    # shellcheck disable=SC2086
    as_root setsid sh -c "exec dockerd ${DOCKERD_ARGS:-} >>'$log' 2>&1 </dev/null" &
  fi
  # 3. Bounded wait.
  deadline=$((SECONDS + wait_seconds))
  until docker info >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "setup-docker: error: the Docker engine did not answer within ${wait_seconds}s" >&2
      echo "setup-docker: docker info says: $(docker info 2>&1 | grep -iE 'error|cannot|permission' | head -n 3)" >&2
      if [ -r "$log" ]; then
        echo "setup-docker: last lines of $log:" >&2
        tail -n 30 "$log" >&2
      fi
      exit 1
    fi
    sleep 1
  done
  say "the Docker engine answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
fi

# 4. The stand-in images.
"$project/scripts/k3s-standin/build.sh"
