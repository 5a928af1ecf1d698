#!/usr/bin/env bash
# Installs Debian's Chromium for the status page's browser test (test/ui/statusPage.test.ts, driven by
# playwright-core, which downloads no browser of its own). Called by .ci/run before the tests; does
# nothing when the browser is there already ($AKS_EMULATOR_CHROMIUM, default /usr/bin/chromium).
# Needs root (or passwordless sudo) only when it must install.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

chromium=${AKS_EMULATOR_CHROMIUM:-/usr/bin/chromium}

setup_name=setup-chromium
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

if [ -x "$chromium" ]; then
  say "$chromium is installed"
  exit 0
fi
command -v apt-get >/dev/null || die "$chromium is missing and there is no apt-get to install Debian's chromium with"
say "installing Debian's chromium ($chromium is missing)"
as_root apt-get update -q
as_root apt-get install -y -q chromium
[ -x "$chromium" ] || die "apt-get installed chromium, but $chromium is still missing (set AKS_EMULATOR_CHROMIUM to its path)"
say "$("$chromium" --version 2>/dev/null || echo "$chromium")"
