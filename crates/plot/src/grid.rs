//! Image grids: sample images with captions (e.g. misclassified test images) and
//! first-layer convolution filters.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::font::font;
use crate::output::{render, Canvas, DrawResult};
use crate::PlotError;

/// One image of a grid: `pixels` in HWC order with values in `[0, 1]` (clamped; NaN draws
/// black), `channels` 1 (grayscale) or 3 (RGB). `caption` is written under the image, one
/// line per `\n`-separated part (e.g. "true: Coat\npred: Shirt (87%)"); a line wider than
/// the cell is cut and ends in "…", so every cell of a grid has the same layout.
#[derive(Debug, Clone, PartialEq)]
pub struct GridImage {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    pub pixels: Vec<f32>,
    pub caption: String,
}

const CAPTION_SIZE: f64 = 15.0;
const CAPTION_LINE: i32 = 19;
const TITLE_SIZE: f64 = 24.0;
const TITLE_BAND: i32 = 52;
const MARGIN: i32 = 16;
const PADDING: i32 = 10;

/// Sizes shared by every cell of a grid.
struct CellLayout {
    /// Each source pixel becomes a `scale × scale` block (nearest-neighbour upscaling).
    scale: usize,
    image_width: i32,
    image_height: i32,
    cell_width: i32,
    /// Caption lines per image, already cut to the cell width.
    captions: Vec<Vec<String>>,
    caption_lines: i32,
}

/// Draws `images` in rows of `columns`, each enlarged (nearest neighbour) to about 84
/// pixels on its longer side (28×28 → 84×84) with its caption under it, in cells at least
/// 210 pixels wide (room for "pred: T-shirt/top (100%)").
pub fn image_grid(
    path: impl AsRef<Path>,
    images: &[GridImage],
    columns: usize,
    title: &str,
) -> Result<(), PlotError> {
    draw_grid(path.as_ref(), images, columns, title, 84, 210)
}

/// Draws first-layer convolution filters, given in Keras's kernel layout
/// `[kernel_h][kernel_w][in_channels][out_channels]` (row-major), one enlarged tile per
/// output channel.
///
/// Each filter is stretched to its own minimum (black) and maximum (white), since filters
/// differ in scale and only their pattern matters here. One input channel draws grayscale,
/// three draw RGB, any other count draws input channel 0.
pub fn filter_grid(
    path: impl AsRef<Path>,
    weights: &[f32],
    kernel_h: usize,
    kernel_w: usize,
    in_channels: usize,
    out_channels: usize,
    title: &str,
) -> Result<(), PlotError> {
    let path = path.as_ref();
    let expected = [kernel_h, kernel_w, in_channels, out_channels]
        .iter()
        .try_fold(1usize, |product, &d| product.checked_mul(d));
    if expected != Some(weights.len()) || weights.is_empty() {
        return Err(PlotError::invalid(
            path,
            format!(
                "{} weights do not fill a {kernel_h}×{kernel_w}×{in_channels}×{out_channels} kernel",
                weights.len()
            ),
        ));
    }
    let shown_channels = if in_channels == 3 { 3 } else { 1 };
    let filters: Vec<GridImage> = (0..out_channels)
        .map(|out| {
            let mut pixels = Vec::with_capacity(kernel_h * kernel_w * shown_channels);
            for row in 0..kernel_h {
                for column in 0..kernel_w {
                    for channel in 0..shown_channels {
                        let index = ((row * kernel_w + column) * in_channels + channel)
                            * out_channels
                            + out;
                        pixels.push(weights[index]);
                    }
                }
            }
            stretch_to_unit_range(&mut pixels);
            GridImage {
                height: kernel_h,
                width: kernel_w,
                channels: shown_channels,
                pixels,
                caption: format!("{out}"),
            }
        })
        .collect();
    let columns = out_channels.min(8);
    draw_grid(path, &filters, columns, title, 64, 64)
}

/// Maps the finite values' minimum to 0 and maximum to 1; a flat filter becomes mid-grey.
fn stretch_to_unit_range(values: &mut [f32]) {
    let (low, high) = values
        .iter()
        .filter(|v| v.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    // With no finite value, `high - low` is -inf and the filter is drawn flat too.
    let spread = high - low;
    for value in values.iter_mut() {
        *value = if spread > 0.0 {
            (*value - low) / spread
        } else {
            0.5
        };
    }
}

fn draw_grid(
    path: &Path,
    images: &[GridImage],
    columns: usize,
    title: &str,
    target_side: usize,
    min_cell_width: i32,
) -> Result<(), PlotError> {
    validate_images(path, images, columns)?;
    let layout = cell_layout(images, target_side, min_cell_width);
    let columns = columns.min(images.len());
    let rows = images.len().div_ceil(columns);
    let cell_height = layout.image_height + 6 + layout.caption_lines * CAPTION_LINE + PADDING;
    let width = 2 * MARGIN + columns as i32 * layout.cell_width;
    let height = MARGIN + TITLE_BAND + rows as i32 * cell_height + MARGIN;
    if width > 16_384 || height > 16_384 {
        return Err(PlotError::invalid(
            path,
            format!("a {width}×{height} image is too large; use fewer columns or images"),
        ));
    }
    render(path, (width as u32, height as u32), |root| {
        root.draw(&Text::new(
            title.to_string(),
            (width / 2, MARGIN + TITLE_BAND / 2 - 6),
            font(TITLE_SIZE, FontStyle::Bold).pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
        for (index, image) in images.iter().enumerate() {
            let cell_left = MARGIN + (index % columns) as i32 * layout.cell_width;
            let cell_top = MARGIN + TITLE_BAND + (index / columns) as i32 * cell_height;
            let image_left = cell_left + (layout.cell_width - layout.image_width) / 2;
            draw_image(root, image, layout.scale, (image_left, cell_top))?;
            for (line_index, line) in layout.captions[index].iter().enumerate() {
                root.draw(&Text::new(
                    line.clone(),
                    (
                        cell_left + layout.cell_width / 2,
                        cell_top + layout.image_height + 6 + line_index as i32 * CAPTION_LINE,
                    ),
                    font(CAPTION_SIZE, FontStyle::Normal).pos(Pos::new(HPos::Center, VPos::Top)),
                ))?;
            }
        }
        Ok(())
    })
}

fn validate_images(path: &Path, images: &[GridImage], columns: usize) -> Result<(), PlotError> {
    if images.is_empty() {
        return Err(PlotError::invalid(path, "no images to draw"));
    }
    if columns == 0 {
        return Err(PlotError::invalid(path, "columns must be at least 1"));
    }
    for (index, image) in images.iter().enumerate() {
        if image.channels != 1 && image.channels != 3 {
            return Err(PlotError::invalid(
                path,
                format!(
                    "image {index} has {} channels (1 or 3 are supported)",
                    image.channels
                ),
            ));
        }
        if image.height == 0 || image.width == 0 || image.height > 4096 || image.width > 4096 {
            return Err(PlotError::invalid(
                path,
                format!("image {index} is {}×{}", image.height, image.width),
            ));
        }
        let expected = image.height * image.width * image.channels;
        if image.pixels.len() != expected {
            return Err(PlotError::invalid(
                path,
                format!(
                    "image {index} is {}×{}×{} = {expected} values but has {} pixels",
                    image.height,
                    image.width,
                    image.channels,
                    image.pixels.len()
                ),
            ));
        }
    }
    Ok(())
}

fn cell_layout(images: &[GridImage], target_side: usize, min_cell_width: i32) -> CellLayout {
    let longest_side = images
        .iter()
        .map(|image| image.height.max(image.width))
        .max()
        .unwrap_or(1);
    let scale = target_side.div_ceil(longest_side).max(1);
    let image_width = images.iter().map(|i| i.width * scale).max().unwrap_or(0) as i32;
    let image_height = images.iter().map(|i| i.height * scale).max().unwrap_or(0) as i32;
    let cell_width = (image_width + 2 * PADDING).max(min_cell_width);
    crate::font::register_bundled_fonts();
    let caption_font = font(CAPTION_SIZE, FontStyle::Normal);
    let fits = |text: &str| {
        caption_font
            .font
            .box_size(text)
            .map_or(true, |(w, _)| w as i32 <= cell_width - 2 * PADDING)
    };
    let captions: Vec<Vec<String>> = images
        .iter()
        .map(|image| caption_lines(&image.caption, &fits))
        .collect();
    let caption_lines = captions.iter().map(Vec::len).max().unwrap_or(0) as i32;
    CellLayout {
        scale,
        image_width,
        image_height,
        cell_width,
        captions,
        caption_lines,
    }
}

/// A caption's lines: one per `\n`-separated part, blank parts at the ends dropped, and each
/// line that `fits` rejects cut to its longest prefix that fits with "…" appended.
fn caption_lines(caption: &str, fits: &impl Fn(&str) -> bool) -> Vec<String> {
    let lines: Vec<&str> = caption.split('\n').map(str::trim).collect();
    let first = lines.iter().position(|l| !l.is_empty());
    let last = lines.iter().rposition(|l| !l.is_empty());
    let (Some(first), Some(last)) = (first, last) else {
        return Vec::new();
    };
    lines[first..=last]
        .iter()
        .map(|line| truncate_to_fit(line, fits))
        .collect()
}

/// `line` itself if it fits, else its longest prefix (at a character boundary, trailing
/// spaces dropped) followed by "…" that fits; just "…" if nothing does.
pub(crate) fn truncate_to_fit(line: &str, fits: &impl Fn(&str) -> bool) -> String {
    if fits(line) {
        return line.to_string();
    }
    let boundaries: Vec<usize> = line.char_indices().map(|(i, _)| i).collect();
    // Binary search over the number of characters kept: fitting is monotone in it.
    let (mut low, mut high) = (0, boundaries.len());
    while low < high {
        let mid = (low + high).div_ceil(2);
        let candidate = format!("{}…", line[..boundaries[mid]].trim_end());
        if fits(&candidate) {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    format!("{}…", line[..boundaries[low]].trim_end())
}

fn draw_image(
    root: &Canvas<'_>,
    image: &GridImage,
    scale: usize,
    (left, top): (i32, i32),
) -> DrawResult {
    let to_byte = |v: f32| {
        if v.is_nan() {
            0
        } else {
            (v.clamp(0.0, 1.0) * 255.0).round() as u8
        }
    };
    let scale = scale as i32;
    for row in 0..image.height {
        for column in 0..image.width {
            let start = (row * image.width + column) * image.channels;
            let color = if image.channels == 3 {
                RGBColor(
                    to_byte(image.pixels[start]),
                    to_byte(image.pixels[start + 1]),
                    to_byte(image.pixels[start + 2]),
                )
            } else {
                let gray = to_byte(image.pixels[start]);
                RGBColor(gray, gray, gray)
            };
            let x = left + column as i32 * scale;
            let y = top + row as i32 * scale;
            root.draw(&Rectangle::new(
                [(x, y), (x + scale, y + scale)],
                color.filled(),
            ))?;
        }
    }
    let (width, height) = (image.width as i32 * scale, image.height as i32 * scale);
    root.draw(&Rectangle::new(
        [(left - 1, top - 1), (left + width, top + height)],
        RGBColor(160, 160, 160).stroke_width(1),
    ))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_files::{assert_png, output_dir, FASHION_MNIST_NAMES};

    /// A 28×28 stand-in for a Fashion-MNIST image: a bright blob whose shape depends on
    /// `seed`, on a dark background.
    fn synthetic_item(seed: usize) -> Vec<f32> {
        let (cy, cx) = (
            14.0 + (seed % 5) as f32 - 2.0,
            14.0 + (seed % 3) as f32 - 1.0,
        );
        let (ry, rx) = (6.0 + (seed % 4) as f32 * 2.0, 4.0 + (seed % 6) as f32 * 1.5);
        (0..28 * 28)
            .map(|i| {
                let (y, x) = ((i / 28) as f32, (i % 28) as f32);
                let d = ((y - cy) / ry).powi(2) + ((x - cx) / rx).powi(2);
                if d < 1.0 {
                    0.4 + 0.6 * (1.0 - d)
                } else {
                    0.0
                }
            })
            .collect()
    }

    #[test]
    fn twenty_four_misclassified_items_fit_in_a_captioned_grid() {
        let path = output_dir("image_grid").join("misclassified.png");
        let images: Vec<GridImage> = (0..24)
            .map(|i| GridImage {
                height: 28,
                width: 28,
                channels: 1,
                pixels: synthetic_item(i),
                caption: format!(
                    "true: {}\npred: {} ({}%)",
                    FASHION_MNIST_NAMES[i % 10],
                    FASHION_MNIST_NAMES[(i * 7 + 3) % 10],
                    40 + i * 2
                ),
            })
            .collect();
        image_grid(&path, &images, 6, "Misclassified test images").unwrap();
        let image = image::open(&path).unwrap();
        // 6 columns of at least 210 px, 4 rows of an 84 px image plus captions.
        assert!(image.width() >= 6 * 210 && image.height() >= 4 * 84);
        assert_png(&path, image.width(), image.height());
    }

    #[test]
    fn rgb_images_are_drawn_in_colour() {
        let path = output_dir("image_grid_rgb").join("rgb.png");
        let pixels: Vec<f32> = (0..32 * 32)
            .flat_map(|i| [(i % 32) as f32 / 31.0, (i / 32) as f32 / 31.0, 0.5])
            .collect();
        let image = GridImage {
            height: 32,
            width: 32,
            channels: 3,
            pixels,
            caption: "gradient".into(),
        };
        image_grid(&path, &[image.clone(), image], 2, "RGB").unwrap();
        let decoded = image::open(&path).unwrap().to_rgb8();
        assert!(
            decoded.pixels().any(|p| p.0[0] != p.0[1]),
            "no coloured pixel"
        );
        assert_png(&path, decoded.width(), decoded.height());
    }

    #[test]
    fn an_image_with_the_wrong_pixel_count_is_an_error() {
        let image = GridImage {
            height: 28,
            width: 28,
            channels: 1,
            pixels: vec![0.0; 100],
            caption: String::new(),
        };
        let err = image_grid("grid.png", &[image], 4, "t").unwrap_err();
        assert!(err.to_string().contains("784 values but has 100"), "{err}");
    }

    #[test]
    fn captions_keep_one_line_per_part_and_cut_long_ones_alike() {
        let fits = |text: &str| text.chars().count() <= 12;
        assert_eq!(
            caption_lines("true: Coat\npred: Pullover (87%)", &fits),
            ["true: Coat", "pred: Pullo…"]
        );
        assert_eq!(caption_lines("true: Bag", &fits), ["true: Bag"]);
        assert_eq!(caption_lines("\na\n\nb\n", &fits), ["a", "", "b"]);
        assert!(caption_lines("", &fits).is_empty());
        // Lines of the same text are cut at the same place, and a cut never ends in a space.
        assert_eq!(
            truncate_to_fit("true: Ankle boot", &fits),
            truncate_to_fit("true: Ankle boots", &fits)
        );
        assert_eq!(truncate_to_fit("abcdefghijk xyz", &fits), "abcdefghijk…");
        assert_eq!(truncate_to_fit("abcdefghij xyz", &fits), "abcdefghij…");
        assert_eq!(truncate_to_fit("ééééééééééééééé", &fits), "ééééééééééé…");
        assert_eq!(truncate_to_fit("anything", &|_: &str| false), "…");
    }

    #[test]
    fn grayscale_conv_filters_are_read_in_keras_kernel_layout() {
        // 3×3×1×32 kernel: filter `o` is a diagonal edge rotated by o.
        let (kh, kw, out) = (3, 3, 32);
        let mut weights = vec![0.0f32; kh * kw * out];
        for o in 0..out {
            for r in 0..kh {
                for c in 0..kw {
                    weights[(r * kw + c) * out + o] = ((r + c + o) % 3) as f32 - 1.0;
                }
            }
        }
        let path = output_dir("filter_grid").join("conv1_filters.png");
        filter_grid(&path, &weights, kh, kw, 1, out, "conv1 filters (3×3)").unwrap();
        let image = image::open(&path).unwrap();
        assert_png(&path, image.width(), image.height());
    }

    #[test]
    fn rgb_conv_filters_draw_in_colour() {
        let (kh, kw, cin, out) = (5, 5, 3, 16);
        let weights: Vec<f32> = (0..kh * kw * cin * out)
            .map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.0)
            .collect();
        let path = output_dir("filter_grid_rgb").join("rgb_filters.png");
        filter_grid(&path, &weights, kh, kw, cin, out, "RGB filters (5×5)").unwrap();
        let decoded = image::open(&path).unwrap().to_rgb8();
        assert!(
            decoded.pixels().any(|p| p.0[0] != p.0[1]),
            "no coloured pixel"
        );
        assert_png(&path, decoded.width(), decoded.height());
    }

    #[test]
    fn filter_weights_that_do_not_fill_the_kernel_are_an_error() {
        let err = filter_grid("f.png", &[0.0; 10], 3, 3, 1, 2, "t").unwrap_err();
        assert!(err.to_string().contains("3×3×1×2"), "{err}");
    }

    #[test]
    fn each_filter_is_stretched_to_its_own_range() {
        let mut values = [-2.0, 0.0, 2.0];
        stretch_to_unit_range(&mut values);
        assert_eq!(values, [0.0, 0.5, 1.0]);
        let mut flat = [3.0, 3.0];
        stretch_to_unit_range(&mut flat);
        assert_eq!(flat, [0.5, 0.5]);
    }
}
