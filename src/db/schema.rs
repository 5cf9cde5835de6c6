//! Applying migrations and checking that the schema is at the binary's version.

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

use super::Db;

use super::MIGRATOR;

/// Applies pending migrations, on a session connection of its own (`options`: never through a
/// transaction pooler). sqlx holds a PostgreSQL advisory lock on that session while it migrates,
/// so replicas that start together apply each migration once and the others wait for it.
pub async fn migrate(options: &PgConnectOptions) -> Result<(), sqlx::migrate::MigrateError> {
    let mut connection = PgConnection::connect_with(options).await?;
    let migrated = migrate_on(&mut connection).await;
    let _ = connection.close().await;
    migrated
}

/// Applies pending migrations on `connection`, a session of its own.
pub async fn migrate_on(connection: &mut PgConnection) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run_direct(None, connection, false).await
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaState {
    /// Every migration this binary knows is applied (later ones, from a newer binary, may be too).
    Current,
    /// Some of this binary's migrations are missing.
    Behind { missing: Vec<i64> },
}

/// Compares the applied migrations with the binary's. A schema that a newer binary migrated
/// further still counts as current: migrations are append-only and compatible within `/v1`, and
/// failing readiness on old pods during a rollout would take the whole service down.
pub async fn state(pool: &Db) -> Result<SchemaState, sqlx::Error> {
    let expected: Vec<i64> = MIGRATOR.iter().map(|m| m.version).collect();
    let applied: Result<Vec<i64>, sqlx::Error> = sqlx::query_scalar(
        "SELECT version FROM _sqlx_migrations WHERE success AND version = ANY($1)",
    )
    .bind(&expected)
    .fetch_all(pool)
    .await;
    let applied = match applied {
        Ok(applied) => applied,
        // 42P01 undefined_table: nothing was ever migrated.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => Vec::new(),
        Err(e) => return Err(e),
    };
    let missing: Vec<i64> = expected
        .into_iter()
        .filter(|v| !applied.contains(v))
        .collect();
    Ok(if missing.is_empty() {
        SchemaState::Current
    } else {
        SchemaState::Behind { missing }
    })
}

/// The last migration written before the rule that every migration only adds (docs/upgrades.md).
/// Every later one is checked against it by the test below.
pub const EXPAND_ONLY_SINCE: i64 = 20261128150000;

/// Statements a migration may not contain once the rule holds, because a release still running
/// beside it may read what they remove or change: removing or renaming anything, changing a
/// column, and deleting or rewriting rows.
pub const NOT_EXPAND_ONLY: [&str; 7] = [
    "DROP",
    "TRUNCATE",
    "DELETE",
    "RENAME",
    "ALTER COLUMN",
    "UPDATE",
    "REPLACE",
];

/// The words of `NOT_EXPAND_ONLY` that `sql` uses outside comments and string literals.
pub fn contraction_in(sql: &str) -> Vec<&'static str> {
    let mut code = String::with_capacity(sql.len());
    for line in sql.lines() {
        let line = line.split("--").next().unwrap_or_default();
        // Quoted text is data, not a statement.
        let mut quoted = false;
        for c in line.chars() {
            if c == '\'' {
                quoted = !quoted;
            } else if !quoted {
                code.push(c.to_ascii_uppercase());
            }
        }
        code.push(' ');
    }
    // `ON DELETE CASCADE` and `ON UPDATE` in a new foreign key say what happens to added rows;
    // they are not statements.
    let mut words: Vec<&str> = Vec::new();
    let mut all = code
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .peekable();
    while let Some(word) = all.next() {
        if word == "ON"
            && all
                .next_if(|next| matches!(*next, "DELETE" | "UPDATE"))
                .is_some()
        {
            continue;
        }
        words.push(word);
    }
    NOT_EXPAND_ONLY
        .into_iter()
        .filter(|statement| {
            let wanted: Vec<&str> = statement.split(' ').collect();
            words.windows(wanted.len()).any(|w| w == wanted.as_slice())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_after_the_rule_only_adds() {
        let checked: Vec<(i64, Vec<&str>)> = MIGRATOR
            .iter()
            .filter(|m| m.version > EXPAND_ONLY_SINCE)
            .map(|m| (m.version, contraction_in(m.sql.as_str())))
            .collect();
        assert!(
            !checked.is_empty(),
            "no migration after the rule was checked"
        );
        let breaking: Vec<_> = checked
            .iter()
            .filter(|(_, words)| !words.is_empty())
            .collect();
        assert!(
            breaking.is_empty(),
            "migrations that remove or change what the previous release reads: {breaking:?} \
             (docs/upgrades.md: remove it in a later release, once no running version reads it)"
        );
    }

    #[test]
    fn the_check_finds_what_20261128150000_did_and_ignores_comments_and_data() {
        let before_the_rule = MIGRATOR
            .iter()
            .find(|m| m.version == EXPAND_ONLY_SINCE)
            .map(|m| contraction_in(m.sql.as_str()));
        assert_eq!(before_the_rule, Some(vec!["DELETE", "UPDATE"]));
        for (sql, found) in [
            ("ALTER TABLE projects DROP COLUMN tools;", vec!["DROP"]),
            (
                "alter table projects alter column tools type text;",
                vec!["ALTER COLUMN"],
            ),
            ("ALTER TABLE projects RENAME TO p;", vec!["RENAME"]),
            ("TRUNCATE dependencies;", vec!["TRUNCATE"]),
            ("CREATE OR REPLACE VIEW v AS SELECT 1;", vec!["REPLACE"]),
            (
                "-- DROP nothing, DELETE nothing\nCREATE INDEX i ON t (c);",
                vec![],
            ),
            ("INSERT INTO t (c) VALUES ('DELETE ME');", vec![]),
            ("ALTER TABLE projects ADD COLUMN updated_by TEXT;", vec![]),
            ("CREATE TABLE dropped_things (x int);", vec![]),
            (
                "CREATE TABLE k (s TEXT REFERENCES p (s) ON DELETE CASCADE ON UPDATE CASCADE);",
                vec![],
            ),
            (
                "CREATE RULE r AS ON DELETE TO t DO DELETE FROM u;",
                vec!["DELETE"],
            ),
        ] {
            assert_eq!(contraction_in(sql), found, "{sql}");
        }
    }
}
