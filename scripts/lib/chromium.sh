# shellcheck shell=bash
# Sourced by scripts/test: the browser test needs headless Chromium (Debian's package).

ensure_chromium() {
  if [ -n "${CHROMIUM:-}" ] && [ -x "$CHROMIUM" ]; then return 0; fi
  if [ -x /usr/bin/chromium ]; then export CHROMIUM=/usr/bin/chromium; return 0; fi
  log "Chromium not found: installing Debian's chromium for the browser test"
  apt_install chromium
  export CHROMIUM=/usr/bin/chromium
}
