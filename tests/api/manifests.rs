//! `openshift/` must only use what the binary really serves and reads: probe paths and ports,
//! environment variable names, subcommands, secret files. (Schemas are checked by
//! kubernetes-validate in scripts/test; this checks meaning.)

use std::collections::BTreeSet;
use std::path::Path;

use clap::Parser;
use depbadge::cli::Cli;
use depbadge::config::{Config, SETTINGS, Sources};
use serde_norway::Value;
use sqlx::PgPool;

use crate::helpers::spawn_app;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openshift/base");

fn load(file: &str) -> Value {
    let text = std::fs::read_to_string(Path::new(DIR).join(file))
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn text(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value:?}"))
}

fn items(value: &Value) -> &Vec<Value> {
    value
        .as_sequence()
        .unwrap_or_else(|| panic!("not a list: {value:?}"))
}

/// Containers of the Deployments and the migration Job.
fn containers() -> Vec<(String, Value)> {
    let mut all = Vec::new();
    for file in [
        "deployment.yaml",
        "watch-deployment.yaml",
        "migration-job.yaml",
    ] {
        for container in items(&load(file)["spec"]["template"]["spec"]["containers"]) {
            all.push((
                format!("{file}/{}", text(&container["name"])),
                container.clone(),
            ));
        }
    }
    all
}

#[test]
fn kustomization_lists_every_manifest_and_only_existing_ones() {
    let listed: BTreeSet<String> = items(&load("kustomization.yaml")["resources"])
        .iter()
        .map(|r| text(r).to_owned())
        .collect();
    let present: BTreeSet<String> = std::fs::read_dir(DIR)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".yaml") && name != "kustomization.yaml")
        .collect();
    assert_eq!(listed, present);
}

#[test]
fn every_environment_variable_is_one_the_binary_reads() {
    let read = |name: &str| SETTINGS.iter().any(|setting| setting.name == name);
    let known = |name: &str| read(name) || name.strip_suffix("_FILE").is_some_and(read);
    for file in ["configmap.yaml", "watch-configmap.yaml"] {
        for name in load(file)["data"].as_mapping().unwrap().keys() {
            assert!(
                known(text(name)),
                "{file} sets {name:?}, which depbadge does not read"
            );
        }
    }
    for (where_, container) in containers() {
        for env in container["env"].as_sequence().into_iter().flatten() {
            assert!(
                known(text(&env["name"])),
                "{where_} sets {:?}, which depbadge does not read",
                env["name"]
            );
        }
    }
}

/// A mapping's entries as strings (a ConfigMap's `data`, a Secret's `stringData`).
fn entries(mapping: &Value) -> Vec<(String, String)> {
    mapping
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| (text(k).to_owned(), text(v).to_owned()))
        .collect()
}

/// The configuration the Deployment's container gets: `data` as its ConfigMap, `secret` as the
/// files of its Secret mount, and its own `env` (each naming a file of the mount). Later entries
/// of `data` and `secret` win, as a kustomize patch's do.
fn deployed_config(data: &[(String, String)], secret: &[(String, String)]) -> Config {
    let mut env: Vec<(String, String)> = data.to_vec();
    let dir = tempfile::tempdir().unwrap();
    for (key, value) in secret {
        std::fs::write(dir.path().join(key), value).unwrap();
    }
    let deployment = load("deployment.yaml");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let mount = text(&container["volumeMounts"][0]["mountPath"]);
    let mounted = |variable: &str, path: &str| {
        let file = path
            .strip_prefix(&format!("{mount}/"))
            .unwrap_or_else(|| panic!("{variable}: {path} is not under the secret mount {mount}"));
        assert!(
            secret.iter().any(|(key, _)| key == file),
            "{variable}: {path}: the Secret has no key {file}"
        );
        dir.path().join(file).to_str().unwrap().to_owned()
    };
    for variable in items(&container["env"]) {
        let name = text(&variable["name"]).to_owned();
        let path = mounted(&name, text(&variable["value"]));
        env.push((name, path));
    }
    // Files named in the ConfigMap are on the same mount.
    for (name, value) in &mut env {
        if name.ends_with("_FILE") && value.starts_with(mount) {
            *value = mounted(name, value);
        }
    }
    Config::from_sources(&Sources::from_env(env).unwrap()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_configuration_in_the_manifests_is_valid_for_the_binary() {
    let config = deployed_config(
        &entries(&load("configmap.yaml")["data"]),
        &entries(&load("secret.example.yaml")["stringData"]),
    );
    let deployment = load("deployment.yaml");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        config.api_tokens.scopes().collect::<Vec<_>>(),
        [
            ("analyzer", "every slug".to_owned()),
            ("team-payments", "github.example.com/payments/*".to_owned())
        ]
    );

    // Ports: the containerPorts are the ones the configured listeners bind.
    let ports: Vec<(String, u16)> = items(&container["ports"])
        .iter()
        .map(|p| {
            (
                text(&p["name"]).to_owned(),
                u16::try_from(p["containerPort"].as_u64().unwrap()).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ports,
        [
            ("http".to_owned(), config.listen_addr.port()),
            ("metrics".to_owned(), config.metrics_addr.port())
        ]
    );
}

#[test]
fn the_cloudnativepg_overlay_pools_through_pgbouncer_and_listens_on_the_primary() {
    let overlay = |file: &str| load(&format!("../cloudnativepg/{file}"));
    let mut data = entries(&load("configmap.yaml")["data"]);
    data.extend(entries(&overlay("configmap-patch.yaml")["data"]));
    let mut secret = entries(&load("secret.example.yaml")["stringData"]);
    secret.extend(entries(&overlay("secret-patch.yaml")["stringData"]));
    let config = deployed_config(&data, &secret);
    // The Services CloudNativePG makes: the Pooler's own name, and the Cluster's name + "-rw".
    let pooler = overlay("pooler.yaml");
    let cluster = text(&overlay("cluster.yaml")["metadata"]["name"]).to_owned();
    assert_eq!(
        text(&pooler["spec"]["pgbouncer"]["poolMode"]),
        "transaction"
    );
    assert_eq!(text(&pooler["spec"]["cluster"]["name"]), cluster);
    assert_eq!(
        config.database.redacted_url(),
        format!(
            "postgres://depbadge:***@{}:5432/depbadge",
            text(&pooler["metadata"]["name"])
        )
    );
    assert!(config.database.has_session_url());
    assert_eq!(
        config.database.redacted_session_url(),
        Some(format!(
            "postgres://depbadge:***@{cluster}-rw:5432/depbadge"
        ))
    );
}

#[test]
fn containers_run_real_subcommands() {
    for (where_, container) in containers() {
        let args: Vec<&str> = items(&container["args"]).iter().map(text).collect();
        let argv = std::iter::once("depbadge").chain(args.iter().copied());
        assert!(
            Cli::try_parse_from(argv).is_ok(),
            "{where_}: `depbadge {}` is not a command",
            args.join(" ")
        );
    }
}

#[sqlx::test]
async fn probes_and_scrapes_use_paths_and_ports_the_binary_serves(pool: PgPool) {
    let app = spawn_app(pool).await;
    let deployment = load("deployment.yaml");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let port_names: Vec<&str> = items(&container["ports"])
        .iter()
        .map(|p| text(&p["name"]))
        .collect();
    for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
        let get = &container[probe]["httpGet"];
        assert_eq!(
            text(&get["port"]),
            "http",
            "{probe} targets the public listener"
        );
        let path = text(&get["path"]);
        let status = app
            .client
            .get(app.url(path))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        assert_eq!(status, 200, "{probe} {path}");
    }
    assert!(port_names.contains(&"http") && port_names.contains(&"metrics"));

    // The Service exposes both named ports and selects the Deployment's pods.
    let service = load("service.yaml");
    let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];
    for (key, value) in service["spec"]["selector"].as_mapping().unwrap() {
        assert_eq!(
            &pod_labels[text(key)],
            value,
            "the Service selects the pods by {key:?}"
        );
    }
    let service_ports: Vec<&str> = items(&service["spec"]["ports"])
        .iter()
        .map(|p| text(&p["targetPort"]))
        .collect();
    assert_eq!(service_ports, ["http", "metrics"]);

    // The Route sends traffic to the public port; the ServiceMonitor scrapes the admin port.
    let route = load("route.yaml");
    assert_eq!(
        text(&route["spec"]["to"]["name"]),
        text(&service["metadata"]["name"])
    );
    assert_eq!(text(&route["spec"]["port"]["targetPort"]), "http");
    assert_eq!(text(&route["spec"]["tls"]["termination"]), "edge");
    let monitor = load("servicemonitor.yaml");
    let endpoint = &monitor["spec"]["endpoints"][0];
    assert_eq!(text(&endpoint["port"]), "metrics");
    let path = text(&endpoint["path"]);
    let scraped = reqwest::get(format!("http://{}{path}", app.admin_address))
        .await
        .unwrap();
    assert_eq!(
        scraped.status().as_u16(),
        200,
        "the ServiceMonitor's {path} on the admin port"
    );
    // The Service's labels as applied: its own and those kustomize's `labels` adds to everything.
    let mut service_labels = service["metadata"]["labels"]
        .as_mapping()
        .cloned()
        .unwrap_or_default();
    for (key, value) in load("kustomization.yaml")["labels"][0]["pairs"]
        .as_mapping()
        .unwrap()
    {
        service_labels.insert(key.clone(), value.clone());
    }
    for (key, value) in monitor["spec"]["selector"]["matchLabels"]
        .as_mapping()
        .unwrap()
    {
        assert_eq!(
            service_labels.get(key),
            Some(value),
            "the ServiceMonitor selects the Service by {key:?}"
        );
    }

    // Rollouts never take a pod away before its replacement is ready.
    let rolling = &deployment["spec"]["strategy"]["rollingUpdate"];
    assert_eq!(rolling["maxUnavailable"].as_u64(), Some(0));
    assert!(
        deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
            .as_u64()
            .unwrap()
            > 10
    );
}

/// The watcher's Deployment: its configuration is valid, its probes are on paths its admin
/// listener serves, its pods are scraped, and it runs two replicas (one active, one standby).
#[sqlx::test]
async fn the_watcher_deployment_probes_and_scrapes_what_depbadge_watch_serves(pool: PgPool) {
    let deployment = load("watch-deployment.yaml");
    assert_eq!(deployment["spec"]["replicas"].as_u64(), Some(2));
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        items(&container["args"])
            .iter()
            .map(text)
            .collect::<Vec<_>>(),
        ["watch"]
    );
    let env: Vec<(String, String)> = ["configmap.yaml", "watch-configmap.yaml"]
        .into_iter()
        .flat_map(|file| {
            load(file)["data"]
                .as_mapping()
                .unwrap()
                .iter()
                .map(|(k, v)| (text(k).to_owned(), text(v).to_owned()))
                .collect::<Vec<_>>()
        })
        .collect();
    let config = Config::from_sources(&Sources::from_env(env.clone()).unwrap())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.watch.registries.len(), 5, "every registry is named");
    assert!(!config.watch.advisories.is_empty());
    let port = &items(&container["ports"])[0];
    assert_eq!(text(&port["name"]), "metrics");
    assert_eq!(
        port["containerPort"].as_u64(),
        Some(u64::from(config.metrics_addr.port()))
    );

    let watcher = crate::watch::start_watcher(&pool, &[]).await;
    for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
        let get = &container[probe]["httpGet"];
        assert_eq!(text(&get["port"]), "metrics", "{probe}");
        let path = text(&get["path"]);
        let url = format!("http://{}{path}", watcher.admin);
        let status = crate::watch::eventually(probe, || async {
            let status = reqwest::get(&url).await.ok()?.status().as_u16();
            (status == 200).then_some(status)
        })
        .await;
        assert_eq!(status, 200, "{probe} {path}");
    }
    let monitor = load("watch-podmonitor.yaml");
    let endpoint = &monitor["spec"]["podMetricsEndpoints"][0];
    assert_eq!(text(&endpoint["port"]), "metrics");
    let metrics = reqwest::get(format!(
        "http://{}{}",
        watcher.admin,
        text(&endpoint["path"])
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(metrics.contains("depbadge_watch_active"), "{metrics}");
    let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];
    for (key, value) in monitor["spec"]["selector"]["matchLabels"]
        .as_mapping()
        .unwrap()
    {
        assert_eq!(
            &pod_labels[text(key)],
            value,
            "the PodMonitor selects the pods by {key:?}"
        );
    }
    // The badge Deployment's selector does not take the watcher's pods (nor the reverse).
    let server = load("deployment.yaml");
    assert_ne!(
        server["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"],
        deployment["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"]
    );
}

/// The PodDisruptionBudget and the HorizontalPodAutoscaler act on the Deployment's pods, not on
/// nothing: a selector that matches no pod, or a scale target that is not the Deployment, is
/// accepted by the API server and silently does nothing.
#[test]
fn the_disruption_budget_and_the_autoscaler_target_the_deployment() {
    let deployment = load("deployment.yaml");
    let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];
    let pdb = load("pdb.yaml");
    let selector = pdb["spec"]["selector"]["matchLabels"].as_mapping().unwrap();
    assert!(!selector.is_empty());
    for (key, value) in selector {
        assert_eq!(
            &pod_labels[text(key)],
            value,
            "the PodDisruptionBudget selects the pods by {key:?}"
        );
    }
    let deployment_selector = deployment["spec"]["selector"]["matchLabels"]
        .as_mapping()
        .unwrap();
    assert_eq!(
        selector, deployment_selector,
        "the budget covers exactly the Deployment's pods"
    );

    let hpa = load("hpa.yaml");
    let target = &hpa["spec"]["scaleTargetRef"];
    assert_eq!(text(&target["apiVersion"]), text(&deployment["apiVersion"]));
    assert_eq!(text(&target["kind"]), text(&deployment["kind"]));
    assert_eq!(text(&target["name"]), text(&deployment["metadata"]["name"]));
    let min = hpa["spec"]["minReplicas"].as_u64().unwrap();
    let max = hpa["spec"]["maxReplicas"].as_u64().unwrap();
    assert!(min >= 2 && min <= max, "{min}..{max} replicas");
    // A drain may take one pod at a time and still leave the service up.
    assert_eq!(pdb["spec"]["maxUnavailable"].as_u64(), Some(1));
    assert!(
        min > 1,
        "with one replica the budget would block every drain"
    );
    // Scaling on CPU utilization needs a CPU request to measure it against.
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    for metric in items(&hpa["spec"]["metrics"]) {
        let resource = text(&metric["resource"]["name"]);
        assert!(
            container["resources"]["requests"].get(resource).is_some(),
            "the autoscaler scales on {resource}, which the container does not request"
        );
    }
}

/// A pod asked to stop sleeps in preStop, keeps serving for the shutdown delay, then drains for
/// at most the drain timeout: all of it must fit in the grace period, or the kubelet's SIGKILL
/// cuts requests in flight.
#[test]
fn shutdown_fits_in_the_termination_grace_period() {
    let deployment = load("deployment.yaml");
    let pod = &deployment["spec"]["template"]["spec"];
    let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap();
    let pre_stop = pod["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
        .as_u64()
        .unwrap();
    let configmap = load("configmap.yaml");
    let env: Vec<(String, String)> = configmap["data"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| (text(k).to_owned(), text(v).to_owned()))
        .collect();
    let config = Config::from_sources(&Sources::from_env(env).unwrap()).unwrap();
    let needed = pre_stop + config.shutdown_delay.as_secs() + config.drain_timeout.as_secs();
    assert!(
        needed < grace,
        "preStop {pre_stop} s + shutdown delay + drain timeout = {needed} s, not under the {grace} s grace period"
    );
}
