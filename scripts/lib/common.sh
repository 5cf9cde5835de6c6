# shellcheck shell=bash
# Helpers every script sources first: logging, installing Debian packages, finding tools and ports.

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# A TCP port on 127.0.0.1 that nothing listens on (bash and coreutils only), below Linux's
# ephemeral range (32768 and up), where an outgoing connection's own port could take it.
free_port() {
  local port
  for port in $(shuf -i 20000-32000 -n 50); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  echo "no free port found" >&2
  return 1
}

# Installs Debian packages (as root, or with sudo).
apt_install() {
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

ensure_command() { # ensure_command COMMAND DEBIAN_PACKAGE
  command -v "$1" >/dev/null 2>&1 || { log "$1 not found: installing Debian's $2"; apt_install "$2"; }
}

# Cargo's target directory, as cargo itself resolves it (CARGO_TARGET_DIR, a config file, or
# ./target): built binaries are there, and the scripts keep their scratch files there too.
cargo_target_dir() {
  cargo metadata --format-version 1 --no-deps --locked \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p'
}

ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
  fi
  command -v cargo >/dev/null 2>&1 || { echo "cargo not found: install Rust (https://rustup.rs) first" >&2; return 1; }
  TARGET_DIR="$(cargo_target_dir)"
  [ -n "$TARGET_DIR" ] || { echo "cargo metadata did not name a target directory" >&2; return 1; }
  mkdir -p "$TARGET_DIR"
  export TARGET_DIR
}

# expect_refusal WHAT COMMAND...: the command (a validator given a deliberately broken input) must
# fail; a validator that accepts everything would otherwise pass unnoticed.
expect_refusal() {
  local what="$1"; shift
  if "$@" >/dev/null 2>&1; then
    echo "a broken $what was accepted by: $*" >&2
    return 1
  fi
  printf '  refused as expected: %s\n' "$what"
}
