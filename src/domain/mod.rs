//! The rules of the product, free of I/O: slugs, purls, version order per ecosystem,
//! freshness, project status and staleness. Nothing here knows about HTTP or SQL.

pub mod access;
pub mod lookup;
pub mod package;
pub mod project;
pub mod report;
pub mod slug;
pub mod status;
pub mod version;
pub mod watch;

pub use access::{Access, Coverage, Credentials, Granted, Visibility};
pub use project::{ProjectMeta, StoredProject};
pub use report::{
    Advisory, Dependency, Report, ReportError, ReportInput, Scope, Severity, ToolUsed,
};
pub use slug::{Slug, SlugError};
pub use status::{
    Counts, Freshness, GuardedStatus, ScopeSelection, ScopeStatus, Status, Summary, is_stale,
    stale_at,
};
