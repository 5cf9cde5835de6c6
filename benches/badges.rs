//! Rendering and status computation, the work behind a badge: `cargo bench --bench badges`.
#![allow(clippy::panic)] // a benchmark whose setup fails should stop loudly

use std::hint::black_box;

use chrono::Utc;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use depbadge::badge::{BadgeSpec, Face, RenderCache, Style};
use depbadge::domain::version::Ecosystem;
use depbadge::domain::{Report, ReportInput, ScopeSelection, Summary};

fn outdated_badge(style: Style) -> BadgeSpec {
    BadgeSpec {
        label: "dependencies".into(),
        message: "3 of 12 outdated".into(),
        color: Some("yellow".into()),
        label_color: None,
        style,
    }
}

fn rendering(c: &mut Criterion) {
    let mut group = c.benchmark_group("render");
    for style in Style::ALL {
        group.bench_with_input(
            BenchmarkId::from_parameter(style.as_str()),
            &outdated_badge(style),
            |b, spec| b.iter(|| black_box(spec).render_svg()),
        );
    }
    group.finish();

    let cache = RenderCache::new(64 << 20);
    let spec = outdated_badge(Style::Flat);
    cache.rendered(spec.clone());
    // A request builds its spec and hands it over: the clone stands for that.
    c.bench_function("render/cached-flat", |b| {
        b.iter(|| cache.rendered(black_box(spec.clone())))
    });
}

fn report(n: usize) -> ReportInput {
    let dependencies: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let (purl, latest) = match i % 4 {
                0 => (format!("pkg:cargo/crate{i}@1.{i}.0"), "1.500.0".to_owned()),
                1 => (format!("pkg:npm/%40scope/pkg{i}@2.0.0-beta.{i}"), "2.0.0".to_owned()),
                2 => (format!("pkg:pypi/dist{i}@1.0.post{i}"), "1.0.post100".to_owned()),
                _ => (format!("pkg:gem/gem{i}@7.1.{i}.pre"), "7.1.2".to_owned()),
            };
            serde_json::json!({ "purl": purl, "latest": latest, "scope": if i % 3 == 0 { "dev" } else { "runtime" } })
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "dependencies": dependencies }))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn status_computation(c: &mut Criterion) {
    let mut group = c.benchmark_group("status");
    for n in [10, 1_000] {
        group.bench_with_input(BenchmarkId::new("validate-report", n), &n, |b, &n| {
            b.iter_batched(
                || report(n),
                |input| Report::from_input(input, Utc::now()),
                criterion::BatchSize::SmallInput,
            )
        });
        let validated = Report::from_input(report(n), Utc::now()).unwrap_or_else(|e| panic!("{e}"));
        group.bench_with_input(BenchmarkId::new("summaries", n), &validated, |b, report| {
            b.iter(|| {
                ScopeSelection::ALL.map(|selection| {
                    Summary::of(
                        report.dependencies.iter().map(|d| (d.scope, d.freshness)),
                        selection,
                    )
                })
            })
        });
        let summary = Summary::of(
            validated
                .dependencies
                .iter()
                .map(|d| (d.scope, d.freshness)),
            ScopeSelection::Runtime,
        );
        group.bench_with_input(BenchmarkId::new("badge-face", n), &summary, |b, summary| {
            b.iter(|| Face::of(black_box(summary), false))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("version-compare");
    let pairs = [
        (Ecosystem::Cargo, "1.0.0-beta.11", "1.0.0-rc.1"),
        (Ecosystem::Pypi, "1.0a2.dev1", "1!1.0.post1"),
        (Ecosystem::Gem, "1.0.0.beta.2", "1.0.0.pre"),
        (Ecosystem::Maven, "1.0-rc10", "1.0.10"),
    ];
    for (ecosystem, a, b) in pairs {
        group.bench_function(ecosystem.as_str(), |bench| {
            bench.iter(|| ecosystem.compare(black_box(a), black_box(b)))
        });
    }
    group.finish();
}

criterion_group!(benches, rendering, status_computation);
criterion_main!(benches);
