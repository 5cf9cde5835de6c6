//! A project as stored: what the JSON API and the page show, and what the cache keeps of it.

use chrono::{DateTime, Utc};

use super::{Dependency, Slug, Summary, ToolUsed};

/// What is stored about a project besides its dependencies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectMeta {
    pub slug: Slug,
    pub analyzed_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The tools that produced the stored report, as it named them.
    pub tools: Vec<ToolUsed>,
}

/// A project's report as read back, for one scope selection.
#[derive(Debug, Clone)]
pub struct StoredProject {
    pub meta: ProjectMeta,
    pub summary: Summary,
    /// Every dependency of the report, in the order reported; callers filter by scope.
    pub dependencies: Vec<Dependency>,
}
