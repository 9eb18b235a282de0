//! What a phone's owner is handed to set the app up: the OwnTracks import link, and a QR code
//! of it (or of Traccar Client's server URL) for the phone's camera.
//!
//! The QR code is drawn here, as SVG, so the page shows it as an image (`img-src data:`) and
//! runs no code of its own for it; the tests read it back with a QR decoder (tests/common/qr.rs).

use base64::Engine as _;
use qrcode::render::svg;
use qrcode::QrCode;

/// The link that configures OwnTracks when opened on the phone (tapped, or scanned from its QR
/// code): `owntracks:///config?inline=` and the configuration as base64.
///
/// The base64 is the standard alphabet with padding, as the OwnTracks booklet makes it
/// (`openssl enc -a -A`) and as the iOS app decodes it (`initWithBase64EncodedString`, which
/// knows no URL-safe alphabet); its `+`, `/` and `=` are percent-encoded, so a query parser
/// that reads `+` as a space (as HTML forms do) cannot garble it. Both apps percent-decode
/// the query before decoding the base64.
pub fn owntracks_import_link(configuration: &serde_json::Value) -> String {
    let inline = base64::engine::general_purpose::STANDARD.encode(configuration.to_string());
    let escaped = inline.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D");
    format!("owntracks:///config?inline={escaped}")
}

/// Pixels per module: a code of a few hundred characters is then about 500 px wide, sharp on a
/// screen and easy for a camera.
const MODULE_PX: u32 = 6;

/// `text` as a QR code, an SVG image (black on white, with the quiet zone scanners need).
/// `None` for a text too long for any QR code (over about 2,300 bytes at this correction level).
pub fn qr_svg(text: &str) -> Option<String> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    Some(code.render::<svg::Color>().quiet_zone(true).module_dimensions(MODULE_PX, MODULE_PX).build())
}

#[cfg(test)]
mod tests {
    use super::*;

    // That a code reads back as its text, with a decoder of its own (rqrr), is tested where the
    // API hands codes out: tests/phones_admin.rs, with tests/common/qr.rs.

    #[test]
    fn the_qr_code_is_an_svg_image_with_nothing_to_run() {
        let svg = qr_svg("https://convoy.example.com:5055/Zk3xY9aB0cD1eF2gH3iJ4k").unwrap();
        assert!(svg.contains("<svg") && !svg.contains("<script") && !svg.contains(" on"), "{svg}");
    }

    #[test]
    fn the_import_link_holds_the_configuration_in_standard_base64_percent_encoded() {
        // Characters chosen so the base64 has every one of `+`, `/` and `=` in it.
        let configuration = serde_json::json!({ "_type": "configuration", "password": ">?>?>?", "tid": "a" });
        let link = owntracks_import_link(&configuration);
        let inline = link.strip_prefix("owntracks:///config?inline=").unwrap();
        assert!(inline.contains("%2B") && inline.contains("%2F") && inline.contains("%3D"), "{inline}");
        assert!(inline.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'%'), "{inline}");
        let unescaped = inline.replace("%2B", "+").replace("%2F", "/").replace("%3D", "=");
        let json = base64::engine::general_purpose::STANDARD.decode(unescaped).unwrap();
        assert_eq!(serde_json::from_slice::<serde_json::Value>(&json).unwrap(), configuration);
    }

    #[test]
    fn a_text_too_long_for_a_qr_code_gets_none() {
        assert!(qr_svg(&"x".repeat(4000)).is_none());
        assert!(qr_svg(&"x".repeat(2000)).is_some());
    }
}
