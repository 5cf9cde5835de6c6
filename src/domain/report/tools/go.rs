//! Go: `go list -m -u -json all` (every module, with `Update` when a newer one exists).

use serde_json::Value;

use super::{Merged, one_or_many, text};
use crate::domain::report::Scope;

/// `go list -m -u -json all`: every module, `Update` when a newer one exists (without `-u`
/// there is no `Update`, and nothing can be said: give `-u`).
pub(super) fn list(merged: &mut Merged, json: &Value) -> Result<(), String> {
    let modules = one_or_many(json);
    // `go list -m -json` without `all` prints the main module alone; so does a module that
    // requires nothing, which cannot be told apart: refused either way.
    if !modules.iter().any(|m| text(m.get("Version")).is_some()) {
        return Err(
            "lists no module with a version, only the main module: run go list -m -u -json \
             all (with `all`). A module that requires nothing can push {\"dependencies\": []}"
                .to_owned(),
        );
    }
    // The main module has no `Version`, and is skipped with anything else that has none.
    for module in modules {
        let (Some(path), Some(version)) = (
            module.get("Path").and_then(Value::as_str),
            text(module.get("Version")),
        ) else {
            continue;
        };
        let latest = text(module.get("Update").and_then(|u| u.get("Version")))
            .unwrap_or_else(|| version.clone());
        let package = merged.package("golang", path);
        package.version = Some(version);
        package.latest = Some(latest);
        package.scope = Some(Scope::Runtime);
        package.installed = true;
        package.listed = true;
    }
    Ok(())
}
