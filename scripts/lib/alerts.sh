# shellcheck shell=bash
# Sourced by scripts/test, after validators.sh. check_alerts: the PrometheusRule's alerts, each
# tested by `promtool test rules` (tests/alerts/rules.test.yaml), then shown to catch a broken
# rule. promtool comes from Debian's prometheus package.

# run_alert_tests RULES_YAML: the rule groups of a PrometheusRule, against the unit tests.
run_alert_tests() {
  local work
  work="$(mktemp -d)"
  python3 -c 'import sys, yaml; yaml.safe_dump(yaml.safe_load(open(sys.argv[1]))["spec"], open(sys.argv[2], "w"), sort_keys=False)' \
    "$1" "$work/rules.yaml" || { rm -rf "$work"; return 1; }
  cp tests/alerts/rules.test.yaml "$work/"
  local status=0
  promtool check rules "$work/rules.yaml" && promtool test rules "$work/rules.test.yaml" || status=$?
  rm -rf "$work"
  return "$status"
}

# expect_broken_rule SED_EXPRESSION WHAT: the rule file changed so, the unit tests must fail.
expect_broken_rule() {
  local broken
  broken="$(mktemp)"
  sed -e "$1" openshift/base/prometheusrule.yaml > "$broken"
  cmp -s "$broken" openshift/base/prometheusrule.yaml && { echo "the edit for '$2' changed nothing" >&2; rm -f "$broken"; return 1; }
  expect_refusal "alert rule ($2)" run_alert_tests "$broken"
  rm -f "$broken"
}

check_alerts() {
  command -v promtool >/dev/null 2>&1 || { log "promtool not found: installing Debian's prometheus"; apt_install --no-install-recommends prometheus; }
  log "promtool test rules for openshift/base/prometheusrule.yaml"
  run_alert_tests openshift/base/prometheusrule.yaml
  log "the alert tests catch broken rules"
  expect_broken_rule 's/expr: max(depbadge_db_up) == 0/expr: min(depbadge_db_up) == 0/' "database down when one replica is"
  expect_broken_rule 's/          for: 1m/          for: 10m/' "database down after 10 minutes"
  expect_broken_rule 's/) > 0.05$/) > 0.5/' "API error ratio 50 %"
  expect_broken_rule 's/route=~"\/v1\/.\*", status=~"5.."/status=~"5.."/' "API errors counting badges"
  expect_broken_rule 's/) > 0.25$/) > 2.5/' "badge p99 over 2.5 s"
  expect_broken_rule 's/deployment="depbadge"} > 0/deployment="depbadge"} > 1/' "two replicas unavailable"
  expect_broken_rule 's/) < 0.5$/) < 0.1/' "hit ratio under 10 %"
  expect_broken_rule 's/  and sum(rate(depbadge_badge_cache_requests_total{result!="absent"}\[10m\])) > 1/  and sum(rate(depbadge_badge_cache_requests_total{result!="absent"}[10m])) >= 0/' "hit ratio with no traffic"
  expect_broken_rule 's|/ sum(rate(depbadge_badge_cache_requests_total{result!="absent"}\[10m\]))|/ sum(rate(depbadge_badge_cache_requests_total[10m]))|' "hit ratio counting unknown slugs"
  expect_broken_rule 's/  and sum(rate(depbadge_badge_cache_requests_total{result!="absent"}\[10m\])) > 1/  and sum(rate(depbadge_badge_cache_requests_total[10m])) > 1/' "traffic counting unknown slugs"
  expect_broken_rule 's/expr: max(depbadge_watch_overdue_seconds) > max(depbadge_watch_interval_seconds)/expr: max(depbadge_watch_overdue_seconds) > 2 * max(depbadge_watch_interval_seconds)/' "overdue by two intervals"
  expect_broken_rule 's/expr: sum(depbadge_watch_active) < 1 or absent(depbadge_watch_active)/expr: sum(depbadge_watch_active) < 1/' "no watcher running is not noticed"
  expect_broken_rule 's/expr: sum(depbadge_watch_active) < 1 or/expr: max(depbadge_watch_active) < 0 or/' "no active watcher never fires"
}
