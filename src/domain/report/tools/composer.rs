//! PHP: `composer outdated --all --format=json` (the inventory and `latest` at once).

use serde_json::Value;

use super::{Merged, array, text};

pub(super) fn outdated(merged: &mut Merged, json: &Value) -> Result<(), String> {
    for entry in array(json.get("installed")) {
        let (Some(name), Some(version)) = (
            entry.get("name").and_then(Value::as_str),
            text(entry.get("version")),
        ) else {
            continue;
        };
        let latest = match entry.get("latest-status").and_then(Value::as_str) {
            Some("up-to-date") => Some(version.clone()),
            _ => text(entry.get("latest")),
        };
        let package = merged.package("composer", name);
        package.version = Some(version);
        package.latest = latest;
        package.installed = true;
        package.listed = true;
    }
    Ok(())
}
