//! Badges: texts and colors for a status, shields.io-identical rendering, the static badge
//! grammar, and the in-process cache.

pub mod cache;
pub mod color;
pub mod finished;
pub mod known;
pub mod render;
pub mod static_badge;
pub mod status;
pub mod text;

pub use cache::{BadgeCache, Document, Lookup};
pub use finished::{FinishedBadge, FinishedSlot};
pub use render::{BadgeSpec, RenderedBadge, Style};
pub use status::Face;
