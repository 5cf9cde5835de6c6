//! Badges: texts and colors for a status, shields.io-identical rendering, the static badge
//! grammar, and the in-process cache.

pub mod color;
pub mod render;
pub mod text;

pub use render::{BadgeSpec, RenderedBadge, Style};
