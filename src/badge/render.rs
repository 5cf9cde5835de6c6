//! Rendering: the `shields` crate draws shields.io's geometry and Verdana widths; this adapter
//! gives it badge-maker 6's palette, default color and trimming, so that the output is
//! byte-identical to shields.io's (checked against fixtures made by badge-maker itself).

use std::str::FromStr;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use shields::{BadgeParams, BadgeStyle, RenderOptions, render_badge_svg_into};

use super::color::{DEFAULT_MESSAGE_COLOR, to_svg_color};
use super::text::clean;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Style {
    #[default]
    Flat,
    FlatSquare,
    Plastic,
    ForTheBadge,
    Social,
}

impl Style {
    pub const ALL: [Self; 5] = [
        Self::Flat,
        Self::FlatSquare,
        Self::Plastic,
        Self::ForTheBadge,
        Self::Social,
    ];

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|style| style.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        self.shields().as_str()
    }

    fn shields(self) -> BadgeStyle {
        match self {
            Self::Flat => BadgeStyle::Flat,
            Self::FlatSquare => BadgeStyle::FlatSquare,
            Self::Plastic => BadgeStyle::Plastic,
            Self::ForTheBadge => BadgeStyle::ForTheBadge,
            Self::Social => BadgeStyle::Social,
        }
    }
}

impl FromStr for Style {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Self::parse(s).ok_or(())
    }
}

/// What a badge shows. Texts are raw (they are cleaned when rendered); colors are as the user
/// wrote them, `None` for the default.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BadgeSpec {
    pub label: String,
    pub message: String,
    pub color: Option<String>,
    pub label_color: Option<String>,
    pub style: Style,
}

/// A rendered SVG and its strong validator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedBadge {
    /// Shared, so that serving it copies nothing.
    pub svg: Bytes,
    /// `"<hex>"`: the first 128 bits of the SVG's SHA-256, quoted as an HTTP entity tag.
    pub etag: String,
}

/// A strong entity tag for `body`: the first 128 bits of its SHA-256, quoted.
pub fn etag_of(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    format!(
        "\"{}\"",
        digest
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

impl BadgeSpec {
    pub fn render(&self) -> RenderedBadge {
        let mut svg = self.render_svg();
        // Cached for long: hold the bytes, not the capacity the renderer grew into.
        svg.shrink_to_fit();
        let etag = etag_of(&svg);
        RenderedBadge {
            svg: Bytes::from(svg),
            etag,
        }
    }

    pub fn render_svg(&self) -> String {
        let label = clean(&self.label);
        let message = clean(&self.message);
        let color = self
            .color
            .as_deref()
            .and_then(to_svg_color)
            .unwrap_or_else(|| DEFAULT_MESSAGE_COLOR.to_owned());
        let label_color = self.label_color.as_deref().and_then(to_svg_color);
        let params = BadgeParams {
            style: self.style.shields(),
            label: Some(&label),
            message: Some(&message),
            label_color: label_color.as_deref(),
            message_color: Some(&color),
            ..BadgeParams::default()
        };
        let mut svg = String::with_capacity(1024);
        render_badge_svg_into(&params, &RenderOptions::default(), &mut svg);
        svg
    }
}
