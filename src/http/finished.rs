//! Repeated badge requests answered before the router (docs/performance.md, "Finished
//! responses").
//!
//! A badge request without a query string whose answer was kept finished (see
//! [`super::finished_badge`]) gets that answer here, with the same headers, validators,
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
use super::badges::{Conditions, is_only_a_key, response};
use super::finished_badge::FinishedBadge;
use super::reads::kept_answer;
use super::{AppState, PROJECT_BADGE_ROUTE, STATIC_BADGE_ROUTE};
use crate::domain::Slug;
use crate::ops::metrics::KeptAnswer;

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
        let (badge, route, kind) = self.find(request)?;
        self.state.metrics.record_kept_answer(kind);
        Some((badge, route))
    }

    fn find<B>(
        &self,
        request: &Request<B>,
    ) -> Option<(Arc<FinishedBadge>, &'static str, KeptAnswer)> {
        if request.method() != Method::GET {
            return None;
        }
        // No query string, or only a read key: checked here as the router would check it (a
        // private project's kept answer is for its keys' holders only; a static badge has no key
        // and the same answer either way).
        let key = match request.uri().query() {
            None => None,
            Some(query) if is_only_a_key(query) => query.strip_prefix("key="),
            Some(_) => return None,
        };
        match KeptPath::of(request.uri().path())? {
            KeptPath::Project(slug) => {
                let badge = kept_answer(&self.state, &slug, key)?;
                Some((badge, PROJECT_BADGE_ROUTE, KeptAnswer::Project))
            }
            KeptPath::Static(path) => {
                let badge = self.state.static_answers.get(path)?;
                Some((badge, STATIC_BADGE_ROUTE, KeptAnswer::Static))
            }
        }
    }
}

/// What a request path may have a kept answer for.
#[derive(Debug, PartialEq)]
enum KeptPath<'a> {
    /// A project's default SVG badge.
    Project(Slug),
    /// A static badge, kept by its path as sent.
    Static(&'a str),
}

impl<'a> KeptPath<'a> {
    fn of(path: &'a str) -> Option<Self> {
        if let Some(rest) = path.strip_prefix("/badges/") {
            let slug = rest.strip_suffix(".svg")?;
            // The router percent-decodes the path first; here a slug written with escapes is
            // refused by the slug grammar (no `%`), so it is left to the router.
            return Slug::parse(slug).ok().map(Self::Project);
        }
        path.starts_with("/badge/").then_some(Self::Static(path))
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
            request.uri(),
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The kept answer's key: a project's slug key, or a static badge's path.
    fn key(path: &str) -> Option<String> {
        KeptPath::of(path).map(|kept| match kept {
            KeptPath::Project(slug) => format!("project {}", slug.key()),
            KeptPath::Static(path) => format!("static {path}"),
        })
    }

    #[test]
    fn only_badge_paths_the_router_would_not_decode_have_kept_answers() {
        let cases = [
            ("/badges/github.com/a/b.svg", Some("project github.com/a/b")),
            ("/badges/GitHub.com/A/B.svg", Some("project github.com/a/b")),
            (
                "/badges/gitlab.com/group/sub/project.svg",
                Some("project gitlab.com/group/sub/project"),
            ),
            ("/badges/github.com/a/b.json", None),
            ("/badges/github.com/a/%62.svg", None),
            ("/badges/github.com/a/<b>.svg", None),
            ("/badges/.svg", None),
            ("/badges/", None),
            (
                "/badge/build-passing-brightgreen.svg",
                Some("static /badge/build-passing-brightgreen.svg"),
            ),
            (
                "/badge/a%20b-c-red.svg",
                Some("static /badge/a%20b-c-red.svg"),
            ),
            ("/v1/projects/github.com/a/b", None),
            ("/badgesx/github.com/a/b.svg", None),
        ];
        for (path, expected) in cases {
            assert_eq!(key(path).as_deref(), expected, "{path}");
        }
    }

    proptest! {
        #[test]
        fn any_path_is_classified_without_panicking(path in "/(badges?/?)?[ -~]{0,80}(\\.svg)?") {
            match KeptPath::of(&path) {
                Some(KeptPath::Project(_)) => {
                    prop_assert!(path.starts_with("/badges/") && path.ends_with(".svg") && !path.contains('%'));
                }
                Some(KeptPath::Static(kept)) => prop_assert!(kept == path && path.starts_with("/badge/")),
                None => {}
            }
        }
    }
}
