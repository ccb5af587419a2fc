//! Confusion-matrix heatmap: Blues colour scale, the count in every cell, class names on both
//! axes.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::colors::{blues, text_color_on};
use crate::font::font;
use crate::output::{render, Canvas, DrawResult};
use crate::PlotError;

const TITLE_SIZE: f64 = 26.0;
const CLASS_NAME_SIZE: f64 = 18.0;
const AXIS_TITLE_SIZE: f64 = 19.0;
const SCALE_LABEL_SIZE: f64 = 18.0;
/// Class names wider than this are shortened with an ellipsis.
const MAX_CLASS_NAME_WIDTH: u32 = 150;
const MARGIN: i32 = 20;
const TITLE_BAND: i32 = 56;
const AXIS_TITLE_BAND: i32 = 34;
const GAP: i32 = 8;
const SCALE_BAR_WIDTH: i32 = 22;
const SCALE_LABEL_BAND: i32 = 70;

/// Draws an `n × n` confusion matrix (`counts` row-major, rows = true class, columns =
/// predicted class, `n = class_names.len()`) as a heatmap with the count printed in every
/// cell, in black or white, whichever reads better on the cell's colour.
///
/// Row names are written horizontally, column names vertically; names too long for the
/// margin are shortened with "…".
pub fn confusion_matrix_heatmap(
    path: impl AsRef<Path>,
    counts: &[u64],
    class_names: &[String],
    title: &str,
) -> Result<(), PlotError> {
    let path = path.as_ref();
    let n = class_names.len();
    if n == 0 {
        return Err(PlotError::invalid(path, "no class names given"));
    }
    if n.checked_mul(n) != Some(counts.len()) {
        return Err(PlotError::invalid(
            path,
            format!(
                "{} counts do not fill a {n}×{n} matrix for {n} class names",
                counts.len()
            ),
        ));
    }
    if n > 200 {
        return Err(PlotError::invalid(
            path,
            format!("{n} classes are too many to draw"),
        ));
    }
    let max_count = counts.iter().copied().max().unwrap_or(0);

    let cell = (640 / n as i32).clamp(24, 90);
    let grid = cell * n as i32;
    let names = shortened_names(class_names);
    let name_band = names.widest as i32 + GAP;
    let grid_left = MARGIN + AXIS_TITLE_BAND + name_band;
    let grid_top = MARGIN + TITLE_BAND;
    let width = grid_left + grid + 2 * GAP + SCALE_BAR_WIDTH + SCALE_LABEL_BAND + MARGIN;
    let height = grid_top + grid + GAP + name_band + AXIS_TITLE_BAND + MARGIN;
    let layout = Layout {
        cell,
        grid_left,
        grid_top,
    };

    render(path, (width as u32, height as u32), |root| {
        let centered = Pos::new(HPos::Center, VPos::Center);
        root.draw(&Text::new(
            title.to_string(),
            (width / 2, MARGIN + TITLE_BAND / 2 - 6),
            font(TITLE_SIZE, FontStyle::Bold).pos(centered),
        ))?;
        draw_cells(root, counts, n, max_count, &layout)?;
        draw_class_names(root, &names.names, &layout)?;
        // Axis titles, like scikit-learn's "True label" / "Predicted label".
        let axis_font = font(AXIS_TITLE_SIZE, FontStyle::Bold);
        root.draw(&Text::new(
            "predicted",
            (
                grid_left + grid / 2,
                grid_top + grid + GAP + name_band + AXIS_TITLE_BAND / 2,
            ),
            axis_font.clone().pos(centered),
        ))?;
        root.draw(&Text::new(
            "true",
            (MARGIN + AXIS_TITLE_BAND / 2, grid_top + grid / 2),
            axis_font.transform(FontTransform::Rotate270).pos(centered),
        ))?;
        draw_scale_bar(root, max_count, &layout, grid_left + grid + 2 * GAP, grid)
    })
}

struct Layout {
    cell: i32,
    grid_left: i32,
    grid_top: i32,
}

fn draw_cells(
    root: &Canvas<'_>,
    counts: &[u64],
    n: usize,
    max_count: u64,
    layout: &Layout,
) -> DrawResult {
    let cell = layout.cell;
    let count_size = count_font_size(root, counts, cell)?;
    for (index, &count) in counts.iter().enumerate() {
        let (row, column) = ((index / n) as i32, (index % n) as i32);
        let x = layout.grid_left + column * cell;
        let y = layout.grid_top + row * cell;
        let fraction = if max_count == 0 {
            0.0
        } else {
            count as f64 / max_count as f64
        };
        let background = blues(fraction);
        root.draw(&Rectangle::new(
            [(x, y), (x + cell, y + cell)],
            background.filled(),
        ))?;
        root.draw(&Text::new(
            count.to_string(),
            (x + cell / 2, y + cell / 2),
            font(count_size, FontStyle::Normal)
                .color(&text_color_on(background))
                .pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
    }
    let grid = cell * n as i32;
    root.draw(&Rectangle::new(
        [
            (layout.grid_left, layout.grid_top),
            (layout.grid_left + grid, layout.grid_top + grid),
        ],
        RGBColor(90, 90, 90).stroke_width(1),
    ))?;
    Ok(())
}

/// The largest font (up to 40% of the cell) at which the widest count fits in a cell.
fn count_font_size(
    root: &Canvas<'_>,
    counts: &[u64],
    cell: i32,
) -> Result<f64, Box<dyn std::error::Error>> {
    let widest = counts.iter().copied().max().unwrap_or(0).to_string();
    let mut size = (f64::from(cell) * 0.4).clamp(9.0, 22.0);
    while size > 8.0 {
        let (text_width, _) = root.estimate_text_size(&widest, &font(size, FontStyle::Normal))?;
        if (text_width as i32) <= cell - 6 {
            break;
        }
        size -= 1.0;
    }
    Ok(size)
}

fn draw_class_names(root: &Canvas<'_>, names: &[String], layout: &Layout) -> DrawResult {
    let name_font = font(CLASS_NAME_SIZE, FontStyle::Normal);
    let cell = layout.cell;
    let grid = cell * names.len() as i32;
    for (index, name) in names.iter().enumerate() {
        let middle = index as i32 * cell + cell / 2;
        // Row names end just left of the grid.
        root.draw(&Text::new(
            name.clone(),
            (layout.grid_left - GAP, layout.grid_top + middle),
            name_font.clone().pos(Pos::new(HPos::Right, VPos::Center)),
        ))?;
        // Column names read bottom to top and end just below the grid.
        root.draw(&Text::new(
            name.clone(),
            (layout.grid_left + middle, layout.grid_top + grid + GAP),
            name_font
                .clone()
                .transform(FontTransform::Rotate270)
                .pos(Pos::new(HPos::Right, VPos::Center)),
        ))?;
    }
    Ok(())
}

fn draw_scale_bar(
    root: &Canvas<'_>,
    max_count: u64,
    layout: &Layout,
    left: i32,
    height: i32,
) -> DrawResult {
    let top = layout.grid_top;
    for step in 0..height {
        // Top of the bar is the largest count.
        let fraction = 1.0 - f64::from(step) / f64::from((height - 1).max(1));
        root.draw(&Rectangle::new(
            [(left, top + step), (left + SCALE_BAR_WIDTH, top + step + 1)],
            blues(fraction).filled(),
        ))?;
    }
    root.draw(&Rectangle::new(
        [(left, top), (left + SCALE_BAR_WIDTH, top + height)],
        RGBColor(90, 90, 90).stroke_width(1),
    ))?;
    let label_font = font(SCALE_LABEL_SIZE, FontStyle::Normal);
    let ticks = if max_count >= 4 { 5 } else { max_count + 1 };
    for tick in 0..ticks {
        let value = if ticks <= 1 {
            0
        } else {
            max_count * tick / (ticks - 1)
        };
        let fraction = if max_count == 0 {
            0.0
        } else {
            value as f64 / max_count as f64
        };
        let y = top + ((1.0 - fraction) * f64::from(height - 1)).round() as i32;
        root.draw(&PathElement::new(
            vec![(left + SCALE_BAR_WIDTH, y), (left + SCALE_BAR_WIDTH + 5, y)],
            RGBColor(90, 90, 90),
        ))?;
        root.draw(&Text::new(
            value.to_string(),
            (left + SCALE_BAR_WIDTH + 10, y),
            label_font.clone().pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    Ok(())
}

/// Class names as drawn, and the widest one's width in pixels.
struct ShortenedNames {
    names: Vec<String>,
    widest: u32,
}

/// Shortens each name with "…" until it fits [`MAX_CLASS_NAME_WIDTH`] at the class-name font
/// size. Widths come from the bundled font's metrics, measured without a canvas.
fn shortened_names(class_names: &[String]) -> ShortenedNames {
    crate::font::register_bundled_fonts();
    let name_font = font(CLASS_NAME_SIZE, FontStyle::Normal);
    let measure = |text: &str| -> u32 {
        name_font
            .font
            .box_size(text)
            .map(|(w, _)| w)
            .unwrap_or(MAX_CLASS_NAME_WIDTH)
    };
    let mut names = Vec::with_capacity(class_names.len());
    let mut widest = 0;
    for name in class_names {
        let mut shown = name.clone();
        let mut kept: Vec<char> = name.chars().collect();
        while measure(&shown) > MAX_CLASS_NAME_WIDTH && !kept.is_empty() {
            kept.pop();
            shown = format!("{}…", kept.iter().collect::<String>().trim_end());
        }
        widest = widest.max(measure(&shown));
        names.push(shown);
    }
    ShortenedNames { names, widest }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_files::{assert_png, output_dir, FASHION_MNIST_NAMES};

    fn fashion_mnist_names() -> Vec<String> {
        FASHION_MNIST_NAMES.map(String::from).to_vec()
    }

    /// A plausible Fashion-MNIST test-set confusion matrix (1000 images per class): strong
    /// diagonal, shirts confused with T-shirts, pullovers and coats.
    fn fashion_mnist_counts() -> Vec<u64> {
        let mut counts = vec![0u64; 100];
        let mistakes: [(usize, usize, u64); 12] = [
            (0, 6, 120),
            (0, 3, 25),
            (2, 4, 80),
            (2, 6, 70),
            (4, 2, 90),
            (4, 6, 60),
            (6, 0, 110),
            (6, 2, 85),
            (6, 4, 75),
            (5, 7, 30),
            (9, 7, 35),
            (7, 9, 40),
        ];
        for class in 0..10 {
            let wrong: u64 = mistakes.iter().filter(|m| m.0 == class).map(|m| m.2).sum();
            counts[class * 10 + class] = 1000 - wrong - 3;
            counts[class * 10 + (class + 1) % 10] += 3;
        }
        for (truth, predicted, count) in mistakes {
            counts[truth * 10 + predicted] += count;
        }
        counts
    }

    #[test]
    fn fashion_mnist_confusion_matrix_is_drawn_with_every_cell() {
        let path = output_dir("confusion_matrix").join("fashion_mnist.png");
        let counts = fashion_mnist_counts();
        confusion_matrix_heatmap(
            &path,
            &counts,
            &fashion_mnist_names(),
            "Fashion-MNIST test set",
        )
        .unwrap();
        let image = image::open(&path).unwrap();
        assert!(image.width() > 640 && image.height() > 640);
        assert_png(&path, image.width(), image.height());
    }

    #[test]
    fn long_class_names_are_shortened_with_an_ellipsis() {
        let names = vec![
            "cat".to_string(),
            "a very long class name that would push the grid off the image".to_string(),
        ];
        let shortened = shortened_names(&names);
        assert_eq!(shortened.names[0], "cat");
        assert!(shortened.names[1].ends_with('…'), "{}", shortened.names[1]);
        assert!(shortened.widest <= MAX_CLASS_NAME_WIDTH);

        let path = output_dir("confusion_matrix_long_names").join("long.png");
        confusion_matrix_heatmap(&path, &[5, 1, 0, 7], &names, "Long names").unwrap();
        let image = image::open(&path).unwrap();
        assert_png(&path, image.width(), image.height());
    }

    #[test]
    fn counts_that_do_not_fill_the_matrix_are_an_error_naming_the_path() {
        let names = vec!["a".to_string(), "b".to_string()];
        let err = confusion_matrix_heatmap("cm.png", &[1, 2, 3], &names, "t").unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("cm.png") && message.contains("2×2"),
            "{message}"
        );
    }

    #[test]
    fn an_all_zero_matrix_still_draws() {
        let path = output_dir("confusion_matrix_zero").join("zero.png");
        let names = vec!["a".to_string(), "b".to_string()];
        confusion_matrix_heatmap(&path, &[0; 4], &names, "Nothing yet").unwrap();
        let image = image::open(&path).unwrap();
        assert_png(&path, image.width(), image.height());
    }
}
