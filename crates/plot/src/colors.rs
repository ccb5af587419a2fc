//! Colours: the series palette, the heatmap scale and a text colour that stays legible on it.

use plotters::style::RGBColor;

/// Matplotlib's default "tab10" cycle, so curves look like the Keras tutorials' plots.
const SERIES_COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Colour of the `index`-th series, cycling through the palette.
pub(crate) fn series_color(index: usize) -> RGBColor {
    SERIES_COLORS[index % SERIES_COLORS.len()]
}

/// Stops of matplotlib's "Blues" map (scikit-learn's ConfusionMatrixDisplay default).
const BLUES: [(u8, u8, u8); 9] = [
    (247, 251, 255),
    (222, 235, 247),
    (198, 219, 239),
    (158, 202, 225),
    (107, 174, 214),
    (66, 146, 198),
    (33, 113, 181),
    (8, 81, 156),
    (8, 48, 107),
];

/// Colour for `fraction` in `[0, 1]` (clamped) on the Blues scale.
pub(crate) fn blues(fraction: f64) -> RGBColor {
    let position = fraction.clamp(0.0, 1.0) * (BLUES.len() - 1) as f64;
    let lower = (position.floor() as usize).min(BLUES.len() - 2);
    let weight = position - lower as f64;
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * weight).round() as u8;
    let (a, b) = (BLUES[lower], BLUES[lower + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Black on light backgrounds, white on dark ones (relative luminance, sRGB weights).
pub(crate) fn text_color_on(background: RGBColor) -> RGBColor {
    let luminance = 0.2126 * f64::from(background.0)
        + 0.7152 * f64::from(background.1)
        + 0.0722 * f64::from(background.2);
    if luminance < 140.0 {
        RGBColor(255, 255, 255)
    } else {
        RGBColor(0, 0, 0)
    }
}
