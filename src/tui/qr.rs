//! A URL as a QR code made of text: two modules a cell with half blocks, so an admin on SSH can
//! scan the Dropbox authorize page with a phone instead of copying it out of the terminal.

use crate::qr_text::{QrPalette, qr_lines};

/// The code as rows of text, `█` light and ` ` dark (drawn light-on-dark; the pane sets
/// black-on-white colours when it may). `None` if `text` is too long for any QR version.
pub fn lines(text: &str) -> Option<Vec<String>> {
    qr_lines(text, QrPalette::LightOnDark)
}

/// Columns and rows [`lines`] takes for `text`.
pub fn size(text: &str) -> Option<(u16, u16)> {
    let lines = lines(text)?;
    Some((lines[0].chars().count() as u16, lines.len() as u16))
}

#[cfg(test)]
mod tests {
    use super::*;
    use qrcode::{Color, EcLevel, QrCode};

    /// As in `qr_text`.
    const QUIET_ZONE: usize = 2;

    #[test]
    fn every_module_of_the_code_is_drawn_in_its_half_cell() {
        let url = "https://www.dropbox.com/oauth2/authorize?client_id=k&response_type=code";
        let drawn = lines(url).unwrap();
        let code = QrCode::with_error_correction_level(url.as_bytes(), EcLevel::L).unwrap();
        let width = code.width();
        let colors = code.to_colors();
        for y in 0..width {
            for x in 0..width {
                let cell = drawn[(y + QUIET_ZONE) / 2]
                    .chars()
                    .nth(x + QUIET_ZONE)
                    .unwrap();
                let top_half = (y + QUIET_ZONE).is_multiple_of(2);
                let lit = match cell {
                    '█' => true,
                    ' ' => false,
                    '▀' => top_half,
                    '▄' => !top_half,
                    other => panic!("unexpected {other:?}"),
                };
                assert_eq!(lit, colors[y * width + x] == Color::Light, "({x}, {y})");
            }
        }
    }

    #[test]
    fn the_quiet_zone_is_light_all_round() {
        let drawn = lines("https://example.com").unwrap();
        assert!(drawn[0].chars().all(|c| c == '█'));
        assert!(
            drawn
                .iter()
                .all(|l| l.starts_with("██") && l.ends_with("██"))
        );
    }

    #[test]
    fn a_typical_authorize_url_fits_a_120x40_terminal() {
        let url = format!(
            "https://www.dropbox.com/oauth2/authorize?client_id={}&response_type=code&code_challenge={}&code_challenge_method=S256&token_access_type=offline",
            "a".repeat(15),
            "b".repeat(43)
        );
        let (w, h) = size(&url).unwrap();
        assert!(w <= 64 && h <= 32, "{w}x{h}");
    }
}
