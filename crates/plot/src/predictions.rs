//! A classified photo beside its top-k classes as horizontal probability bars.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::colors::series_color;
use crate::font::font;
use crate::output::render;
use crate::PlotError;

const WIDTH: i32 = 960;
const PHOTO_SIDE: i32 = 300;
const MARGIN: i32 = 20;
const TITLE_BAND: i32 = 44;
const ROW: i32 = 46;
const LABEL_WIDTH: i32 = 250;
const BAR_SPACE: i32 = 260;

/// Draws `photo` (RGB bytes, `width × height`, shown scaled to fit a 300-pixel square) with
/// `title` above and one bar per `(label, probability)` in `top`, longest first as given.
pub fn top_k_bars(
    path: impl AsRef<Path>,
    photo: &[u8],
    (width, height): (usize, usize),
    title: &str,
    top: &[(String, f32)],
) -> Result<(), PlotError> {
    let path = path.as_ref();
    if width == 0 || height == 0 || photo.len() != width * height * 3 {
        return Err(PlotError::invalid(
            path,
            format!("{} bytes are not a {width}×{height} RGB photo", photo.len()),
        ));
    }
    if top.is_empty() || top.len() > 20 {
        return Err(PlotError::invalid(
            path,
            format!("{} bars (1 to 20 can be drawn)", top.len()),
        ));
    }
    let scale = f64::from(PHOTO_SIDE) / width.max(height) as f64;
    let (shown_w, shown_h) = (
        ((width as f64 * scale) as i32).max(1),
        ((height as f64 * scale) as i32).max(1),
    );
    let bars_height = top.len() as i32 * ROW;
    let total_height = MARGIN + TITLE_BAND + PHOTO_SIDE.max(bars_height) + MARGIN;
    render(path, (WIDTH as u32, total_height as u32), |root| {
        root.draw(&Text::new(
            title.to_string(),
            (MARGIN, MARGIN + 8),
            font(22.0, FontStyle::Bold).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        let (photo_left, photo_top) = (MARGIN, MARGIN + TITLE_BAND);
        // Nearest-neighbour sampling of the photo into the shown rectangle.
        for y in 0..shown_h {
            let sy = ((f64::from(y) + 0.5) / scale) as usize;
            for x in 0..shown_w {
                let sx = ((f64::from(x) + 0.5) / scale) as usize;
                let i = (sy.min(height - 1) * width + sx.min(width - 1)) * 3;
                root.draw_pixel(
                    (photo_left + x, photo_top + y),
                    &RGBColor(photo[i], photo[i + 1], photo[i + 2]),
                )?;
            }
        }
        let bars_left = photo_left + PHOTO_SIDE + 30;
        let bar_start = bars_left + LABEL_WIDTH;
        for (row, (label, probability)) in top.iter().enumerate() {
            let p = if probability.is_finite() {
                probability.clamp(0.0, 1.0)
            } else {
                0.0
            };
            let top_y = photo_top + row as i32 * ROW + 8;
            let middle = top_y + 14;
            root.draw(&Text::new(
                label.clone(),
                (bar_start - 10, middle),
                font(17.0, FontStyle::Normal).pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
            let length = (f64::from(p) * f64::from(BAR_SPACE)).round() as i32;
            root.draw(&Rectangle::new(
                [(bar_start, top_y), (bar_start + BAR_SPACE, top_y + 28)],
                RGBColor(235, 235, 235).filled(),
            ))?;
            if length > 0 {
                root.draw(&Rectangle::new(
                    [(bar_start, top_y), (bar_start + length, top_y + 28)],
                    series_color(0).filled(),
                ))?;
            }
            root.draw(&Text::new(
                format!("{:.1}%", p * 100.0),
                (bar_start + BAR_SPACE + 10, middle),
                font(17.0, FontStyle::Normal).pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_a_png_with_the_photo_and_bars() {
        let dir = std::env::temp_dir().join(format!("krust-plot-bars-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bars.png");
        let photo: Vec<u8> = (0..40 * 30 * 3).map(|i| (i % 251) as u8).collect();
        let top = vec![
            ("Egyptian cat".to_string(), 0.38),
            ("tabby".to_string(), 0.28),
        ];
        top_k_bars(&path, &photo, (40, 30), "chelsea.png", &top).unwrap();
        let png = image::open(&path).unwrap();
        assert_eq!(png.width(), WIDTH as u32);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_photo_of_the_wrong_size_is_refused() {
        let path = std::env::temp_dir().join("never-written.png");
        let err = top_k_bars(&path, &[0; 5], (2, 2), "x", &[("a".into(), 0.5)]).unwrap_err();
        assert!(err.to_string().contains("not a 2×2 RGB photo"));
        assert!(!path.exists());
    }
}
