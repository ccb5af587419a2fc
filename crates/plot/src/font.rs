//! The bundled DejaVu Sans font, registered once so no plot depends on the system's fonts.

use std::sync::Once;

use plotters::style::{register_font, FontDesc, FontFamily, FontStyle, TextStyle};

const REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// Family name every plot uses; plotters' own defaults (axis labels, legends) ask for it too.
pub(crate) const FAMILY: &str = "sans-serif";

/// Registers the bundled fonts under [`FAMILY`]; later calls do nothing.
pub(crate) fn register_bundled_fonts() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // Both files are compiled in and known to parse (the tests draw text with them), so
        // a failure here could only come from a corrupted build; plotters would then report
        // a missing font when drawing, which `render` turns into a `PlotError`.
        let _ = register_font(FAMILY, FontStyle::Normal, REGULAR);
        let _ = register_font(FAMILY, FontStyle::Bold, BOLD);
    });
}

/// The bundled font at `size` points in `style`.
pub(crate) fn font(size: f64, style: FontStyle) -> TextStyle<'static> {
    FontDesc::new(FontFamily::Name(FAMILY), size, style).into()
}
