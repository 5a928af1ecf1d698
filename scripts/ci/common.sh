# Shared by the CI set-up scripts (sourced): messages under the script's name ($setup_name), and
# running a command as root when it must install something.
say() { echo "$setup_name: $*"; }
die() { echo "$setup_name: error: $*" >&2; exit 1; }
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo -n "$@"
  else die "'$*' needs root (run as root, or with passwordless sudo)"
  fi
}
