//! A QR code drawn with Unicode half blocks, two module rows per text line, so a link can be
//! scanned from a terminal over SSH. Used by `smartimage share`; the console can put the same
//! lines in a widget.

use qrcode::{Color, EcLevel, QrCode};

/// Light modules around the code; scanners need at least a few.
const QUIET_ZONE: usize = 2;

/// Which terminal colours the code is drawn for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QrPalette {
    /// Light text on a dark background (most terminals): light modules are drawn as blocks.
    LightOnDark,
    /// Dark text on a light background: dark modules are drawn as blocks.
    DarkOnLight,
}

/// The code of `text` as lines of `█▀▄ `, or `None` if it is too long for a QR code.
pub fn qr_lines(text: &str, palette: QrPalette) -> Option<Vec<String>> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::L).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    let size = width + 2 * QUIET_ZONE;
    // Whether the module at (x, y) of the padded square is drawn with the foreground colour.
    let filled = |x: usize, y: usize| -> bool {
        let inside = (QUIET_ZONE..QUIET_ZONE + width).contains(&x)
            && (QUIET_ZONE..QUIET_ZONE + width).contains(&y);
        let dark = inside && colors[(y - QUIET_ZONE) * width + (x - QUIET_ZONE)] == Color::Dark;
        match palette {
            QrPalette::LightOnDark => !dark,
            QrPalette::DarkOnLight => dark,
        }
    };
    let lines = (0..size)
        .step_by(2)
        .map(|y| {
            (0..size)
                .map(|x| {
                    let top = filled(x, y);
                    let bottom = y + 1 < size && filled(x, y + 1);
                    match (top, bottom) {
                        (true, true) => '█',
                        (true, false) => '▀',
                        (false, true) => '▄',
                        (false, false) => ' ',
                    }
                })
                .collect()
        })
        .collect();
    Some(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_draws_as_a_square_of_half_blocks() {
        let url = "https://www.dropbox.com/scl/fi/abc/photo.jpg?rlkey=xyz&dl=0";
        let lines = qr_lines(url, QrPalette::LightOnDark).unwrap();
        let code = QrCode::with_error_correction_level(url, EcLevel::L).unwrap();
        let side = code.width() + 2 * QUIET_ZONE;
        assert_eq!(lines.len(), side.div_ceil(2));
        assert!(lines.iter().all(|line| line.chars().count() == side));
        // The quiet zone is light: drawn as full blocks on a dark terminal, blank on a light one.
        assert!(lines[0].chars().all(|c| c == '█'));
        let light = qr_lines(url, QrPalette::DarkOnLight).unwrap();
        assert!(light[0].chars().all(|c| c == ' '));
        // The finder pattern's top-left corner module is dark.
        assert_ne!(lines[1].chars().nth(QUIET_ZONE), Some('█'));
    }

    #[test]
    fn text_too_long_for_a_code_is_none() {
        assert!(qr_lines(&"x".repeat(8000), QrPalette::LightOnDark).is_none());
    }
}
