//! Private projects' read keys, and who may read a project as the reads load it
//! (docs/contract.md §12). Creating or revoking a key is announced like a report write, so that
//! every replica drops what it cached of the project's access within a second.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::Db;

use super::projects::notify;
use crate::domain::access::{KeyDigest, MAX_KEYS_PER_PROJECT, ReadKeys};
use crate::domain::{Access, Slug, Visibility};

/// The columns a read adds to learn who may read the project `p`: its visibility, and for a
/// private project its keys' ids and digests (two arrays in the same order).
pub(super) const ACCESS_COLUMNS: &str = "p.visibility,
    CASE WHEN p.visibility = 'private' THEN
        ARRAY(SELECT k.id::text FROM read_keys k WHERE k.slug = p.slug ORDER BY k.created_at, k.id) END AS key_ids,
    CASE WHEN p.visibility = 'private' THEN
        ARRAY(SELECT k.key_sha256 FROM read_keys k WHERE k.slug = p.slug ORDER BY k.created_at, k.id) END AS key_digests";

/// The access read by [`ACCESS_COLUMNS`].
pub(super) fn access_from_row(row: &sqlx::postgres::PgRow) -> Result<Access, sqlx::Error> {
    let visibility: String = row.try_get("visibility")?;
    match Visibility::parse(&visibility) {
        Some(Visibility::Public) => Ok(Access::Public),
        Some(Visibility::Private) => {
            let ids: Vec<String> = row.try_get::<Option<_>, _>("key_ids")?.unwrap_or_default();
            let digests: Vec<Vec<u8>> = row
                .try_get::<Option<_>, _>("key_digests")?
                .unwrap_or_default();
            let keys = ids
                .into_iter()
                .zip(digests)
                .map(|(id, digest)| {
                    let digest = KeyDigest::try_from(digest.as_slice())
                        .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
                    Ok((Arc::from(id), digest))
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()?;
            Ok(Access::Private(Arc::new(ReadKeys::new(keys))))
        }
        None => Err(sqlx::Error::Decode(
            format!("unknown visibility `{visibility}` in projects").into(),
        )),
    }
}

/// A read key as listed: never its text or digest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyInfo {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// What a request to create a key did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyCreation {
    Created(KeyInfo),
    NoProject,
    /// The project has [`MAX_KEYS_PER_PROJECT`] keys already.
    TooMany,
}

/// Adds a key to the project, unless it has none to add to or as many as it may have.
pub async fn create(
    pool: &Db,
    slug: &Slug,
    id: uuid::Uuid,
    digest: &KeyDigest,
    now: DateTime<Utc>,
) -> Result<KeyCreation, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // The project's row is the lock: two concurrent creations cannot both pass the count.
    let exists = sqlx::query("SELECT 1 FROM projects WHERE slug = $1 FOR UPDATE")
        .bind(slug.key())
        .fetch_optional(&mut tx)
        .await?
        .is_some();
    if !exists {
        return Ok(KeyCreation::NoProject);
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM read_keys WHERE slug = $1")
        .bind(slug.key())
        .fetch_one(&mut tx)
        .await?;
    if count >= MAX_KEYS_PER_PROJECT as i64 {
        return Ok(KeyCreation::TooMany);
    }
    sqlx::query(
        "INSERT INTO read_keys (id, slug, key_sha256, created_at) VALUES ($1::uuid, $2, $3, $4)",
    )
    .bind(id.to_string())
    .bind(slug.key())
    .bind(digest.as_slice())
    .bind(now)
    .execute(&mut tx)
    .await?;
    notify(&mut tx, slug).await?;
    tx.commit().await?;
    Ok(KeyCreation::Created(KeyInfo {
        id: id.to_string(),
        created_at: now,
        last_used_at: None,
    }))
}

/// The project's keys, oldest first; `None` when there is no such project.
pub async fn list(pool: &Db, slug: &Slug) -> Result<Option<Vec<KeyInfo>>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT k.id::text AS id, k.created_at, k.last_used_at
         FROM projects p LEFT JOIN read_keys k ON k.slug = p.slug
         WHERE p.slug = $1 ORDER BY k.created_at, k.id",
    )
    .bind(slug.key())
    .fetch_all(pool)
    .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    rows.iter()
        .filter_map(|row| match row.try_get::<Option<String>, _>("id") {
            Ok(Some(id)) => Some(Ok((id, row))),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        })
        .map(|found| {
            let (id, row) = found?;
            Ok(KeyInfo {
                id,
                created_at: row.try_get("created_at")?,
                last_used_at: row.try_get("last_used_at")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map(Some)
}

/// Revokes one key of the project; false when it has no such key.
pub async fn revoke(pool: &Db, slug: &Slug, id: uuid::Uuid) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let revoked = sqlx::query("DELETE FROM read_keys WHERE slug = $1 AND id = $2::uuid")
        .bind(slug.key())
        .bind(id.to_string())
        .execute(&mut tx)
        .await?
        .rows_affected()
        == 1;
    if revoked {
        notify(&mut tx, slug).await?;
    }
    tx.commit().await?;
    Ok(revoked)
}

/// Records that these keys were used; never announced (nothing a reader sees changes).
pub async fn mark_used(pool: &Db, ids: &[Arc<str>], at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = ids.iter().map(|id| &**id).collect();
    sqlx::query(
        "UPDATE read_keys SET last_used_at = greatest(last_used_at, $2)
         WHERE id = ANY($1::text[]::uuid[])",
    )
    .bind(ids)
    .bind(at)
    .execute(pool)
    .await?;
    Ok(())
}

/// A key as exported: its digest, never its text (which is stored nowhere).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExportedKey {
    pub id: String,
    /// SHA-256 of the key, in hex.
    pub sha256: String,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Every key of the project, for an export.
pub async fn exported(
    executor: impl sqlx::PgExecutor<'_>,
    slug: &Slug,
) -> Result<Vec<ExportedKey>, sqlx::Error> {
    sqlx::query(
        "SELECT id::text AS id, encode(key_sha256, 'hex') AS sha256, created_at, last_used_at
         FROM read_keys WHERE slug = $1 ORDER BY created_at, id",
    )
    .bind(slug.key())
    .fetch_all(executor)
    .await?
    .iter()
    .map(|row| {
        Ok(ExportedKey {
            id: row.try_get("id")?,
            sha256: row.try_get("sha256")?,
            created_at: row.try_get("created_at")?,
            last_used_at: row.try_get("last_used_at")?,
        })
    })
    .collect()
}

/// Restores exported keys to the project: keys it has already (by id) are kept as they are.
pub async fn restore(pool: &Db, slug: &Slug, keys: &[ExportedKey]) -> Result<(), String> {
    if keys.is_empty() {
        return Ok(());
    }
    let digests = keys
        .iter()
        .map(|key| {
            uuid::Uuid::parse_str(&key.id)
                .map_err(|_| format!("read key `{}`: the id is not a UUID", key.id))?;
            let digest = hex_digest(&key.sha256)
                .ok_or_else(|| format!("read key {}: sha256 is not 64 hex digits", key.id))?;
            Ok(digest.to_vec())
        })
        .collect::<Result<Vec<_>, String>>()?;
    let mut tx = pool.begin().await.map_err(|e| e.to_string())?;
    sqlx::query(
        "INSERT INTO read_keys (id, slug, key_sha256, created_at, last_used_at)
         SELECT t.id::uuid, $1, t.digest, t.created_at, t.last_used_at
         FROM UNNEST($2::text[], $3::bytea[], $4::timestamptz[], $5::timestamptz[])
             AS t (id, digest, created_at, last_used_at)
         ON CONFLICT DO NOTHING",
    )
    .bind(slug.key())
    .bind(keys.iter().map(|k| k.id.as_str()).collect::<Vec<_>>())
    .bind(digests)
    .bind(keys.iter().map(|k| k.created_at).collect::<Vec<_>>())
    .bind(keys.iter().map(|k| k.last_used_at).collect::<Vec<_>>())
    .execute(&mut tx)
    .await
    .map_err(|e| e.to_string())?;
    notify(&mut tx, slug).await.map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())
}

fn hex_digest(text: &str) -> Option<KeyDigest> {
    if text.len() != 64 {
        return None;
    }
    let mut digest = [0u8; 32];
    for (i, byte) in digest.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_read_from_64_hex_digits_only() {
        let hex = "00ff".repeat(16);
        let digest = hex_digest(&hex).unwrap();
        assert_eq!((digest[0], digest[1], digest[31]), (0x00, 0xff, 0xff));
        for bad in ["", "00", &"0".repeat(63), &"g".repeat(64), &"é".repeat(32)] {
            assert_eq!(hex_digest(bad), None, "{bad}");
        }
    }
}
