//! `/v1/projects/{slug}/keys`: a project's read keys (docs/contract.md §12). A write token
//! covering the slug creates, lists and revokes them; a key is shown once, when it is created.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Serialize;

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::extract::Writer;
use crate::db::access::{self, KeyCreation, KeyInfo};
use crate::domain::Slug;
use crate::domain::access::{KEY_RANDOM_BYTES, MAX_KEYS_PER_PROJECT, new_key};

/// A new key: the only time its text is shown.
#[derive(Debug, Serialize)]
struct CreatedKey {
    id: String,
    key: String,
    created_at: chrono::DateTime<Utc>,
}

#[derive(Debug, Serialize)]
struct KeyList {
    keys: Vec<KeyInfo>,
}

pub async fn create(state: &AppState, writer: &Writer, slug: &Slug) -> ApiResult<Response> {
    writer.may_write(slug)?;
    let mut random = [0u8; KEY_RANDOM_BYTES];
    getrandom::fill(&mut random)
        .map_err(|error| ApiError::Internal(format!("no randomness for a key: {error}").into()))?;
    let (key, digest) = new_key(&random);
    let id = uuid::Uuid::new_v4();
    match access::create(&state.pool, slug, id, &digest, Utc::now()).await? {
        KeyCreation::Created(info) => {
            // This replica must not wait for its own NOTIFY before the key reads.
            state.store.invalidate(slug.key());
            tracing::info!(writer = writer.name(), slug = %slug.key(), key_id = %info.id, "read key created");
            let body = CreatedKey {
                id: info.id,
                key,
                created_at: info.created_at,
            };
            Ok((
                StatusCode::CREATED,
                // The key is in this body and nowhere else: no cache may keep it.
                [(header::CACHE_CONTROL, "no-store")],
                Json(body),
            )
                .into_response())
        }
        KeyCreation::NoProject => Err(no_project(slug)),
        KeyCreation::TooMany => Err(ApiError::TooManyKeys {
            limit: MAX_KEYS_PER_PROJECT,
        }),
    }
}

pub async fn list(state: &AppState, writer: &Writer, slug: &Slug) -> ApiResult<Response> {
    writer.may_write(slug)?;
    match access::list(&state.pool, slug).await? {
        Some(keys) => Ok((
            [(header::CACHE_CONTROL, "private, max-age=0")],
            Json(KeyList { keys }),
        )
            .into_response()),
        None => Err(no_project(slug)),
    }
}

pub async fn revoke(
    state: &AppState,
    writer: &Writer,
    slug: &Slug,
    id: uuid::Uuid,
) -> ApiResult<StatusCode> {
    writer.may_write(slug)?;
    if access::revoke(&state.pool, slug, id).await? {
        state.store.invalidate(slug.key());
        tracing::info!(writer = writer.name(), slug = %slug.key(), key_id = %id, "read key revoked");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound {
            what: format!("read key {id} of project {}", slug.display()),
            settled: true,
        })
    }
}

fn no_project(slug: &Slug) -> ApiError {
    ApiError::NotFound {
        what: format!("project {}", slug.display()),
        settled: true,
    }
}
