//! Probes for OpenShift (docs/contract.md §5): liveness never touches the database; readiness
//! reads it only until the replica has found a schema it serves (see `ops::readiness`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::AppState;

pub async fn live() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let checked = state.readiness.check(&state.pool).await;
    let database = if state.readiness.database_up() {
        "up"
    } else {
        "down"
    };
    match checked {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({ "status": "ready", "database": database })),
        ),
        Err(not_ready) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "status": "not ready",
                "reason": not_ready.reason(),
                "database": database,
            })),
        ),
    }
}
