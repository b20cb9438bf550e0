//! QR codes as SVG, for the deep links of `qr` binding sessions.
//!
//! # What's in scope
//! Encoding text (medium error correction) and drawing it as one SVG `path`, black modules on
//! white with the standard four-module quiet zone, scalable (`viewBox`, no fixed size).
//!
//! # What's out of scope
//! What the link says (the install token and its deep links: [`crate::core::install_token`]).

use qrcodegen::{QrCode, QrCodeEcc};
use std::fmt::Write;

/// Modules of white border around the code.
const QUIET_ZONE: i32 = 4;

/// Why text cannot be a QR code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the text is too long for a QR code ({0} bytes)")]
pub struct TooLong(pub usize);

/// `text` as an SVG document.
pub fn svg(text: &str) -> Result<String, TooLong> {
    let code = QrCode::encode_text(text, QrCodeEcc::Medium).map_err(|_| TooLong(text.len()))?;
    let size = code.size() + 2 * QUIET_ZONE;
    let mut path = String::new();
    for y in 0..code.size() {
        for x in 0..code.size() {
            if code.get_module(x, y) {
                let _ = write!(path, "M{},{}h1v1h-1z", x + QUIET_ZONE, y + QUIET_ZONE);
            }
        }
    }
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" \
         shape-rendering=\"crispEdges\"><rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/>\
         <path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deep_link_becomes_an_svg_of_the_right_size() {
        let link = format!("https://t.me/acme_dev_bot?start={}", "A".repeat(55));
        let svg = svg(&link).unwrap();
        let code = QrCode::encode_text(&link, QrCodeEcc::Medium).unwrap();
        let size = code.size() + 8;
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains(&format!("viewBox=\"0 0 {size} {size}\"")));
        // One square per dark module.
        let dark = (0..code.size())
            .flat_map(|y| (0..code.size()).map(move |x| (x, y)))
            .filter(|&(x, y)| code.get_module(x, y))
            .count();
        assert_eq!(svg.matches("h1v1h-1z").count(), dark);
        // The finder pattern's corner is dark, just inside the quiet zone.
        assert!(svg.contains("M4,4h1v1h-1z"));
    }

    #[test]
    fn text_beyond_a_qr_codes_capacity_is_refused() {
        let long = "x".repeat(5000);
        assert_eq!(svg(&long), Err(TooLong(5000)));
        assert!(TooLong(5000).to_string().contains("5000"));
    }
}
