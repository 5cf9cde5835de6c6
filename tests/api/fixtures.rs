//! Our renderer against shields.io's: every badge in tests/fixtures/badges was made by npm
//! badge-maker 6 (see generate.mjs there) and must come out of depbadge byte for byte.

use depbadge::badge::{BadgeSpec, Style};
use serde::Deserialize;

#[derive(Deserialize)]
struct Corpus {
    generator: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    style: String,
    label: String,
    message: String,
    color: Option<String>,
    #[serde(rename = "labelColor")]
    label_color: Option<String>,
}

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/badges");

fn corpus() -> Corpus {
    serde_json::from_str(&std::fs::read_to_string(format!("{DIR}/cases.json")).unwrap()).unwrap()
}

fn spec(case: &Case) -> BadgeSpec {
    BadgeSpec {
        label: case.label.clone(),
        message: case.message.clone(),
        color: case.color.clone(),
        label_color: case.label_color.clone(),
        style: Style::parse(&case.style).unwrap(),
    }
}

#[test]
fn every_reference_badge_is_reproduced_byte_for_byte() {
    let corpus = corpus();
    assert!(
        corpus.generator.starts_with("badge-maker@6."),
        "{}",
        corpus.generator
    );
    assert!(corpus.cases.len() > 100);
    let mut failures = Vec::new();
    for case in &corpus.cases {
        let expected = std::fs::read_to_string(format!("{DIR}/svg/{}.svg", case.name)).unwrap();
        let actual = spec(case).render_svg();
        if actual != expected {
            failures.push(format!(
                "{}\n  expected: {expected}\n  actual:   {actual}",
                case.name
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        corpus.cases.len(),
        failures.join("\n")
    );
}

#[test]
fn every_rendered_badge_is_well_formed_xml() {
    for case in corpus().cases {
        let svg = spec(&case).render_svg();
        let document = roxmltree::Document::parse(&svg)
            .unwrap_or_else(|e| panic!("{}: {e}\n{svg}", case.name));
        assert_eq!(
            document.root_element().tag_name().name(),
            "svg",
            "{}",
            case.name
        );
    }
}
