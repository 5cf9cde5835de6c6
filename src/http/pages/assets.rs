//! What the pages load besides themselves: the builder's script and the favicon, both made into
//! the binary, so that a replica needs no files beside it.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::IntoResponse;

/// The badge builder's script: the only script the pages run (their CSP allows this origin's
/// scripts, and this is the one there is).
const BUILDER_SCRIPT: &str = include_str!("../../../templates/builder.js");

pub async fn builder_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        BUILDER_SCRIPT,
    )
}

pub async fn favicon() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/x-icon"),
            (header::CACHE_CONTROL, "max-age=86400"),
        ],
        FAVICON.as_slice(),
    )
}

/// Side of the icon, in pixels.
const SIDE: usize = 32;

/// A badge in miniature: a grey label and a green message, rounded, on transparency. Drawn here
/// rather than kept as a binary file: an ICO holding one 32-bit BMP (rows bottom-up, BGRA, then
/// an AND mask that the alpha channel makes redundant).
static FAVICON: LazyLock<Vec<u8>> = LazyLock::new(|| {
    const LABEL: [u8; 4] = [0x55, 0x55, 0x55, 0xff];
    const MESSAGE: [u8; 4] = [0x11, 0xcc, 0x44, 0xff];
    const CLEAR: [u8; 4] = [0, 0, 0, 0];
    let (top, bottom, split) = (7, 25, 13);
    let pixel = |x: usize, y: usize| {
        let corner = (x == 0 || x == SIDE - 1) && (y == top || y == bottom - 1);
        if y < top || y >= bottom || corner {
            CLEAR
        } else if x < split {
            LABEL
        } else {
            MESSAGE
        }
    };
    let pixels = SIDE * SIDE * 4;
    let mask = SIDE * SIDE.div_ceil(32) * 4;
    let image = 40 + pixels + mask;
    let mut ico = Vec::with_capacity(22 + image);
    // ICONDIR: reserved, type 1 (icon), one image.
    for field in [0u16, 1, 1] {
        ico.extend_from_slice(&field.to_le_bytes());
    }
    // ICONDIRENTRY: size, no palette, 1 plane, 32 bits, its length and where it starts.
    ico.extend_from_slice(&[SIDE as u8, SIDE as u8, 0, 0]);
    ico.extend_from_slice(&1u16.to_le_bytes());
    ico.extend_from_slice(&32u16.to_le_bytes());
    ico.extend_from_slice(&(image as u32).to_le_bytes());
    ico.extend_from_slice(&22u32.to_le_bytes());
    // BITMAPINFOHEADER: the height counts the image and its mask.
    ico.extend_from_slice(&40u32.to_le_bytes());
    ico.extend_from_slice(&(SIDE as i32).to_le_bytes());
    ico.extend_from_slice(&(2 * SIDE as i32).to_le_bytes());
    ico.extend_from_slice(&1u16.to_le_bytes());
    ico.extend_from_slice(&32u16.to_le_bytes());
    for field in [0u32, (pixels + mask) as u32, 0, 0, 0, 0] {
        ico.extend_from_slice(&field.to_le_bytes());
    }
    for y in (0..SIDE).rev() {
        for x in 0..SIDE {
            let [r, g, b, a] = pixel(x, y);
            ico.extend_from_slice(&[b, g, r, a]);
        }
    }
    ico.resize(22 + image, 0);
    ico
});

#[cfg(test)]
mod tests {
    use super::*;

    fn u16_at(bytes: &[u8], at: usize) -> u16 {
        u16::from_le_bytes([bytes[at], bytes[at + 1]])
    }

    fn u32_at(bytes: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
    }

    #[test]
    fn the_favicon_is_one_32_pixel_icon_of_a_grey_and_green_badge() {
        let ico = FAVICON.as_slice();
        // Headers, 32 × 32 pixels of 4 bytes, and a mask of 32 rows of 4 bytes.
        assert_eq!(ico.len(), 22 + 40 + 32 * 32 * 4 + 32 * 4);
        assert_eq!(
            &ico[..6],
            &[0, 0, 1, 0, 1, 0],
            "ICONDIR: an icon, one image"
        );
        assert_eq!(&ico[6..10], &[32, 32, 0, 0], "32 × 32, no palette");
        assert_eq!(
            (u16_at(ico, 10), u16_at(ico, 12)),
            (1, 32),
            "1 plane, 32 bits"
        );
        assert_eq!(
            u32_at(ico, 14) as usize,
            ico.len() - 22,
            "the image's length"
        );
        assert_eq!(u32_at(ico, 18), 22, "where the image starts");
        let bmp = &ico[22..];
        assert_eq!(
            (u32_at(bmp, 0), u32_at(bmp, 4), u32_at(bmp, 8)),
            (40, 32, 64)
        );
        assert_eq!((u16_at(bmp, 12), u16_at(bmp, 14)), (1, 32));
        assert_eq!(u32_at(bmp, 16), 0, "no compression");
        assert_eq!(u32_at(bmp, 20) as usize, 32 * 32 * 4 + 32 * 4);
        // The picture, top row first (the BMP stores it bottom-up, in BGRA): transparent, the
        // label's grey, the message's green, with rounded corners.
        let mut drawn = String::new();
        for y in 0..SIDE {
            for x in 0..SIDE {
                let at = 40 + ((SIDE - 1 - y) * SIDE + x) * 4;
                drawn.push(match &bmp[at..at + 4] {
                    [0, 0, 0, 0] => '.',
                    [0x55, 0x55, 0x55, 0xff] => 'L',
                    [0x44, 0xcc, 0x11, 0xff] => 'M',
                    other => panic!("pixel {x},{y}: {other:?}"),
                });
            }
            drawn.push('\n');
        }
        let clear = ".".repeat(32);
        let edge = format!(".{}{}.", "L".repeat(12), "M".repeat(18));
        let body = format!("{}{}", "L".repeat(13), "M".repeat(19));
        let mut expected = Vec::new();
        expected.extend(std::iter::repeat_n(clear.as_str(), 7));
        expected.push(&edge);
        expected.extend(std::iter::repeat_n(body.as_str(), 16));
        expected.push(&edge);
        expected.extend(std::iter::repeat_n(clear.as_str(), 7));
        assert_eq!(drawn, expected.join("\n") + "\n");
        assert!(bmp[40 + 32 * 32 * 4..].iter().all(|b| *b == 0), "the mask");
    }
}
