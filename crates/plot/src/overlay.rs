//! A heat map (e.g. Grad-CAM) blended over a photo as a blue-to-red colour map.

use std::path::Path;

use plotters::prelude::*;

use crate::output::render;
use crate::PlotError;

/// How much of the colour map shows over the photo.
const HEAT_WEIGHT: f32 = 0.45;

/// The "jet" colour map: 0 dark blue, through cyan, green and yellow, to 1 dark red.
/// Values are clamped to [0, 1]; NaN reads as 0.
pub fn jet(value: f32) -> [u8; 3] {
    let v = if value.is_nan() {
        0.0
    } else {
        value.clamp(0.0, 1.0)
    };
    let channel = |centre: f32| (1.5 - (4.0 * v - centre).abs()).clamp(0.0, 1.0);
    [channel(3.0), channel(2.0), channel(1.0)].map(|c| (c * 255.0).round() as u8)
}

/// `photo` (RGB bytes) with `heat` (one value in [0, 1] per pixel) blended over it.
pub fn blend_heat(photo: &[u8], heat: &[f32]) -> Vec<u8> {
    photo
        .chunks(3)
        .zip(heat)
        .flat_map(|(pixel, &h)| {
            let colour = jet(h);
            (0..3).map(move |c| {
                let mixed =
                    f32::from(pixel[c]) * (1.0 - HEAT_WEIGHT) + f32::from(colour[c]) * HEAT_WEIGHT;
                mixed.round() as u8
            })
        })
        .collect()
}

/// Writes `photo` (RGB bytes, `width × height`) with `heat` (row-major, one value in
/// [0, 1] per pixel) blended over it as a PNG of the photo's size.
pub fn heat_overlay(
    path: impl AsRef<Path>,
    photo: &[u8],
    (width, height): (usize, usize),
    heat: &[f32],
) -> Result<(), PlotError> {
    let path = path.as_ref();
    let pixels = width.checked_mul(height).filter(|&n| n > 0);
    if pixels.map(|n| n * 3) != Some(photo.len()) || pixels != Some(heat.len()) {
        return Err(PlotError::invalid(
            path,
            format!(
                "a {width}×{height} photo needs {} RGB bytes and as many heat values as pixels; got {} bytes and {} values",
                width * height * 3,
                photo.len(),
                heat.len()
            ),
        ));
    }
    if width > 16_384 || height > 16_384 {
        return Err(PlotError::invalid(
            path,
            format!("a {width}×{height} image is too large"),
        ));
    }
    let blended = blend_heat(photo, heat);
    render(path, (width as u32, height as u32), |root| {
        for (i, rgb) in blended.chunks(3).enumerate() {
            root.draw_pixel(
                ((i % width) as i32, (i / width) as i32),
                &RGBColor(rgb[0], rgb[1], rgb[2]),
            )?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_files::{assert_png, output_dir};

    #[test]
    fn jet_runs_from_blue_to_red() {
        assert_eq!(jet(0.0), [0, 0, 128]);
        assert_eq!(jet(0.5), [128, 255, 128]);
        assert_eq!(jet(1.0), [128, 0, 0]);
        assert_eq!(jet(f32::NAN), jet(-3.0));
        assert_eq!(jet(7.0), jet(1.0));
    }

    #[test]
    fn heat_is_blended_over_each_pixel() {
        let blended = blend_heat(&[200, 200, 200, 0, 0, 0], &[0.0, 1.0]);
        assert_eq!(blended, [110, 110, 168, 58, 0, 0]);
    }

    #[test]
    fn an_overlay_is_written_at_the_photo_size() {
        let path = output_dir("heat_overlay").join("overlay.png");
        let (w, h) = (64, 48);
        let photo: Vec<u8> = (0..w * h)
            .flat_map(|i| [(i % 256) as u8, 120, 60])
            .collect();
        let heat: Vec<f32> = (0..w * h).map(|i| (i % w) as f32 / w as f32).collect();
        heat_overlay(&path, &photo, (w, h), &heat).unwrap();
        assert_png(&path, w as u32, h as u32);
        let err = heat_overlay(&path, &photo, (w, h), &heat[1..]).unwrap_err();
        assert!(err.to_string().contains("overlay.png"), "{err}");
    }
}
