//! Where configuration values come from: the environment, `NAME_FILE` files (mounted Secrets)
//! and command-line flags, merged into one map of variable name to value.

use std::collections::BTreeMap;
use std::path::Path;

use super::{ConfigError, SETTINGS};

/// Configuration values by variable name, remembering where each came from for error messages.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    values: BTreeMap<String, String>,
    origins: BTreeMap<String, String>,
}

impl Sources {
    /// Reads the variables of [`SETTINGS`] from `env`, replacing each `NAME_FILE` by the file's
    /// content with its trailing newline trimmed.
    pub fn from_env<I, K, V>(env: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let env: BTreeMap<String, String> =
            env.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        let mut sources = Self::default();
        for name in SETTINGS.iter().map(|setting| setting.name) {
            if let Some((value, from_file)) = value_or_file(&env, name)? {
                sources.values.insert(name.to_owned(), value);
                if from_file {
                    sources
                        .origins
                        .insert(name.to_owned(), format!("{name} (from {name}_FILE)"));
                }
            }
        }
        Ok(sources)
    }

    /// A command-line flag overrides the environment.
    pub fn set_from_flag(&mut self, name: &str, flag: &str, value: impl Into<String>) {
        self.values.insert(name.to_owned(), value.into());
        self.origins
            .insert(name.to_owned(), format!("{name} (from {flag})"));
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// How to name `name` in an error: the variable, and the file or flag it came from.
    pub fn origin(&self, name: &str) -> String {
        self.origins
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_owned())
    }
}

/// `name` from the process environment, or the content of the file `NAME_FILE` names: for
/// settings outside the server's configuration (the `push` command's URL and token).
pub fn variable_or_file(name: &str) -> Result<Option<String>, ConfigError> {
    let file_variable = format!("{name}_FILE");
    let env: BTreeMap<String, String> = std::env::vars()
        .filter(|(key, value)| (key == name || *key == file_variable) && !value.is_empty())
        .collect();
    Ok(value_or_file(&env, name)?.map(|(value, _)| value))
}

/// `name`'s value from `env`, or the content of the file `NAME_FILE` names (trailing newline
/// trimmed), and whether it came from the file.
fn value_or_file(
    env: &BTreeMap<String, String>,
    name: &str,
) -> Result<Option<(String, bool)>, ConfigError> {
    let file_variable = format!("{name}_FILE");
    match (env.get(name), env.get(&file_variable)) {
        (Some(_), Some(_)) => Err(ConfigError::new(
            name,
            format!("set either {name} or {file_variable}, not both"),
        )),
        (Some(value), None) => Ok(Some((value.clone(), false))),
        (None, Some(path)) => read_value_file(Path::new(path))
            .map(|content| Some((content, true)))
            .map_err(|message| ConfigError::new(&file_variable, message)),
        (None, None) => Ok(None),
    }
}

fn read_value_file(path: &Path) -> Result<String, String> {
    let content = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(content.trim_end_matches(['\n', '\r']).to_owned())
}
