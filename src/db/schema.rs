//! Applying migrations and checking that the schema is at the binary's version.

use sqlx::PgPool;

use super::MIGRATOR;

/// Applies pending migrations. sqlx holds a PostgreSQL advisory lock while it migrates, so
/// replicas that start together apply each migration once and the others wait for it.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
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
pub async fn state(pool: &PgPool) -> Result<SchemaState, sqlx::Error> {
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
