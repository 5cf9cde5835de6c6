//! Repeated badge requests answered before the router (docs/performance.md, "Finished
//! responses").
//!
//! A badge request without a query string whose answer was kept finished (see
//! [`crate::badge::finished`]) gets that answer here, with the same headers, validators,
//! access line and metrics as the badge routes give it; every other request goes to the router.
//! Routing, extraction and rendering a badge cost more than the rest of such a request.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::http::{Method, Request};
use axum::response::Response;
use tower::Service;

use super::access_log::Pending;
use super::badges::{Conditions, response};
use super::{AppState, PROJECT_BADGE_ROUTE, STATIC_BADGE_ROUTE};
use crate::badge::FinishedBadge;
use crate::domain::{ScopeSelection, Slug};
use crate::ops::metrics::CacheResult;

#[derive(Clone)]
pub struct FinishedBadges<S> {
    inner: S,
    state: AppState,
}

impl<S> FinishedBadges<S> {
    pub fn new(inner: S, state: AppState) -> Self {
        Self { inner, state }
    }

    /// The kept answer for this request and its route template, if there is one.
    fn kept<B>(&self, request: &Request<B>) -> Option<(Arc<FinishedBadge>, &'static str)> {
        if request.method() != Method::GET || request.uri().query().is_some() {
            return None;
        }
        let path = request.uri().path();
        if let Some(slug) = path
            .strip_prefix("/badges/")
            .and_then(|rest| rest.strip_suffix(".svg"))
        {
            // The router percent-decodes the path; a slug written with escapes is left to it.
            if slug.contains('%') {
                return None;
            }
            let slug = Slug::parse(slug).ok()?;
            let badge = self.state.badges.finished_badge(
                slug.key(),
                ScopeSelection::default(),
                Instant::now(),
            )?;
            self.state.metrics.record_badge_lookup(CacheResult::Hit);
            return Some((badge, PROJECT_BADGE_ROUTE));
        }
        if path.starts_with("/badge/") {
            let badge = self.state.badges.finished_static(path)?;
            return Some((badge, STATIC_BADGE_ROUTE));
        }
        None
    }
}

impl<S, B> Service<Request<B>> for FinishedBadges<S>
where
    S: Service<Request<B>, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Answered<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let started = Instant::now();
        let Some((badge, route)) = self.kept(&request) else {
            return Answered::Routed {
                future: self.inner.call(request),
            };
        };
        let pending = Pending::start(
            request.method(),
            request.headers(),
            route,
            started,
            &self.state.metrics,
        );
        let mut response = response(&badge, &Conditions::from_headers(request.headers()));
        pending.finish(&mut response);
        Answered::Finished {
            response: Some(response),
        }
    }
}

pin_project_lite::pin_project! {
    /// A kept answer, ready at once, or the router's future.
    #[project = AnsweredProjection]
    pub enum Answered<F> {
        Finished { response: Option<Response> },
        Routed { #[pin] future: F },
    }
}

impl<F: Future<Output = Result<Response, Infallible>>> Future for Answered<F> {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            AnsweredProjection::Finished { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                // Polled again after it was ready: a caller's bug, answered without a panic.
                None => Poll::Pending,
            },
            AnsweredProjection::Routed { future } => future.poll(cx),
        }
    }
}
