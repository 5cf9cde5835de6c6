//! Rendered badges, by what they show (texts, colors, style): content-addressed, so they never
//! need invalidating, and thousands of projects showing "dependencies | up to date" share one
//! entry. Bounded by bytes.

use std::sync::Arc;

use moka::sync::Cache;

use super::color::to_svg_color;
use super::render::{BadgeSpec, RenderedBadge};
use super::store::weight;

/// What a rendered entry costs beyond its SVG and texts: moka's bookkeeping and the allocations
/// around it, measured on the real binary as RSS growth per entry (about 640 bytes; figures in
/// docs/performance.md), weighed a little above so that the budget holds.
pub const RENDERED_ENTRY_OVERHEAD: usize = 704;

pub struct RenderCache {
    rendered: Cache<BadgeSpec, Arc<RenderedBadge>>,
}

impl RenderCache {
    pub fn new(max_bytes: u64) -> Self {
        Self {
            rendered: Cache::builder()
                .max_capacity(max_bytes.max(1))
                .weigher(|spec: &BadgeSpec, badge: &Arc<RenderedBadge>| {
                    weight(
                        badge.svg.len()
                            + badge.etag.len()
                            + spec.label.len()
                            + spec.message.len()
                            + spec.color.as_ref().map_or(0, String::len)
                            + spec.label_color.as_ref().map_or(0, String::len)
                            + RENDERED_ENTRY_OVERHEAD,
                    )
                })
                .build(),
        }
    }

    /// The rendered badge for `spec`, rendering it on a miss. Keyed by what the SVG shows: the
    /// renderer sees a color only through [`to_svg_color`], so specs whose colors agree there draw
    /// the same SVG and share one entry, and a key holds nothing the SVG does not (an invalid or
    /// overlong color is `None`). Takes the spec by value: on a hit (the hot path) its texts move
    /// into the key, uncopied.
    pub fn rendered(&self, spec: BadgeSpec) -> Arc<RenderedBadge> {
        let BadgeSpec {
            label,
            message,
            color,
            label_color,
            style,
        } = spec;
        let key = BadgeSpec {
            label,
            message,
            color: color.as_deref().and_then(to_svg_color),
            label_color: label_color.as_deref().and_then(to_svg_color),
            style,
        };
        if let Some(badge) = self.rendered.get(&key) {
            return badge;
        }
        // Drawn from the colors as given: the key's are what the renderer makes of them.
        let drawn = BadgeSpec {
            label: key.label.clone(),
            message: key.message.clone(),
            color,
            label_color,
            style,
        };
        let badge = Arc::new(drawn.render());
        self.rendered.insert(key, badge.clone());
        badge
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_badges_stay_within_their_sixth_of_the_bytes() {
        let cache = RenderCache::new(128 * 1024 / 6);
        for i in 0..2_000 {
            cache.rendered(BadgeSpec {
                label: format!("label {i}"),
                message: "up to date".to_owned(),
                // Long colors (trimmed to a valid one when drawn) count as well.
                color: Some(format!("{}red", " ".repeat(1_000 + i % 10))),
                label_color: None,
                style: crate::badge::Style::Flat,
            });
        }
        cache.rendered.run_pending_tasks();
        let kept: usize = cache
            .rendered
            .iter()
            .map(|(spec, badge)| {
                badge.svg.len() + spec.label.len() + spec.color.as_ref().map_or(0, String::len)
            })
            .sum();
        within(cache.rendered.weighted_size(), kept, 10 * 1024);
    }

    /// A cache of 128 KiB / 6 holds more than `at_least` bytes and weighs, and holds, at most its
    /// budget.
    fn within(weighed: u64, kept: usize, at_least: usize) {
        assert!(kept > at_least, "the cache is used: {kept} bytes");
        assert!(
            weighed <= 128 * 1024 / 6 && kept <= 128 * 1024 / 6,
            "weighed {weighed}, kept {kept} bytes"
        );
    }

    #[test]
    fn colors_that_draw_alike_share_one_entry_and_draw_as_before() {
        let cache = RenderCache::new(1 << 20);
        let spec = |color: &str| BadgeSpec {
            label: "build".to_owned(),
            message: "passing".to_owned(),
            color: Some(color.to_owned()),
            label_color: None,
            style: crate::badge::Style::Flat,
        };
        for color in [
            "ff69b4", "FF69B4", "#ff69b4", "#FF69B4", "Red", "red", "critical",
        ] {
            assert_eq!(
                cache.rendered(spec(color)).svg,
                spec(color).render().svg,
                "{color}"
            );
        }
        cache.rendered.run_pending_tasks();
        // ff69b4 ×4, `Red` (CSS red), and `red` = `critical` (the palette's red).
        assert_eq!(cache.rendered.entry_count(), 3);
        let long = format!("{}red", " ".repeat(crate::badge::color::MAX_COLOR_LEN));
        assert_eq!(
            cache.rendered(spec(&long)).svg,
            spec("nonsense").render().svg
        );
    }
}
