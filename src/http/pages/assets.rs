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

    #[test]
    fn the_favicon_is_one_32_pixel_icon_whose_lengths_agree() {
        let ico = FAVICON.as_slice();
        assert_eq!(&ico[..6], &[0, 0, 1, 0, 1, 0], "ICONDIR");
        assert_eq!(&ico[6..8], &[32, 32]);
        let length = u32::from_le_bytes(ico[14..18].try_into().unwrap()) as usize;
        let offset = u32::from_le_bytes(ico[18..22].try_into().unwrap()) as usize;
        assert_eq!(offset + length, ico.len());
        assert_eq!(u32::from_le_bytes(ico[22..26].try_into().unwrap()), 40);
        // The middle row, left to right: grey, then green (BGRA).
        let row = 40 + (SIDE - 1 - 16) * SIDE * 4;
        let at = |x: usize| &ico[offset + row + x * 4..offset + row + x * 4 + 4];
        assert_eq!(at(2), [0x55, 0x55, 0x55, 0xff]);
        assert_eq!(at(20), [0x44, 0xcc, 0x11, 0xff]);
        // The top row is transparent.
        let top = 40 + (SIDE - 1) * SIDE * 4;
        assert_eq!(&ico[offset + top..offset + top + 4], [0, 0, 0, 0]);
    }
}
