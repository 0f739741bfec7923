//! The embedded font: DejaVu Sans, registered with plotters' `ab_glyph` text renderer.
//!
//! Bare servers have no system fonts and no fontconfig, so the one TTF the charts need is
//! compiled into the binary (licence beside it in `assets/`). It is registered once per
//! process under the family name [`FAMILY`], which is also plotters' default family, so axis
//! labels drawn with plotters' defaults use it too. SVG files name the same generic family,
//! so viewers substitute their own sans-serif font.

use std::sync::OnceLock;

use plotters::style::FontStyle;

use crate::error::ReportError;

/// The family every chart asks for.
pub(crate) const FAMILY: &str = "sans-serif";

/// File name of the embedded font, for error messages.
const FONT_NAME: &str = "DejaVuSans.ttf";

/// The font file itself.
static FONT_BYTES: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Registers the embedded font once; later calls return the first call's outcome.
pub(crate) fn ensure_registered() -> Result<(), ReportError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        // Every style falls back to `Normal` in plotters' font table, so one face serves
        // titles (bold) and labels alike.
        plotters::style::register_font(FAMILY, FontStyle::Normal, FONT_BYTES).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(ReportError::Font { name: FONT_NAME })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_font_registers_and_measures_text() {
        ensure_registered().expect("font registers");
        ensure_registered().expect("second call is a no-op");
        let font = plotters::style::IntoFont::into_font((FAMILY, 20.0));
        let (width, height) = font.box_size("origin").expect("layout");
        assert!(width > 20 && height > 5, "{width}x{height}");
    }
}
