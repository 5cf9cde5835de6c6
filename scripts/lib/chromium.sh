# shellcheck shell=bash
# Sourced by scripts/test: the browser tests need headless Chromium and ChromeDriver (Debian's
# packages), and axe-core (npm, pinned in tests/browser/package-lock.json) to inject into pages.

ensure_chromium() {
  if [ -z "${CHROMIUM:-}" ] || [ ! -x "$CHROMIUM" ]; then
    if [ ! -x /usr/bin/chromium ]; then
      log "Chromium not found: installing Debian's chromium for the browser tests"
      apt_install chromium
    fi
    export CHROMIUM=/usr/bin/chromium
  fi
  if [ -z "${CHROMEDRIVER:-}" ] || [ ! -x "$CHROMEDRIVER" ]; then
    if [ ! -x /usr/bin/chromedriver ]; then
      log "ChromeDriver not found: installing Debian's chromium-driver for the browser tests"
      apt_install chromium-driver
    fi
    export CHROMEDRIVER=/usr/bin/chromedriver
  fi
  ensure_command npm npm
  local tools="$TARGET_DIR/browser-tools"
  mkdir -p "$tools"
  cp tests/browser/package.json tests/browser/package-lock.json "$tools/"
  log "installing axe-core (npm, from tests/browser/package-lock.json)"
  (cd "$tools" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  export AXE_CORE="$tools/node_modules/axe-core/axe.min.js"
}
