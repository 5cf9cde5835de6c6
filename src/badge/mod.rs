//! Badges: texts and colors for a status, shields.io-identical rendering, the static badge
//! grammar, the cache of rendered badges, and the project-status store with its filter of
//! known slugs.

pub mod color;
pub mod known;
pub mod render;
pub mod render_cache;
pub mod static_badge;
pub mod status;
pub mod store;
pub mod text;

pub use render::{BadgeSpec, RenderedBadge, Style};
pub use render_cache::RenderCache;
pub use status::Face;
pub use store::{Document, KeptSlot, Lookup, ProjectStore};
