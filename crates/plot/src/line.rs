//! Line charts: per-epoch series, training curves, side-by-side panels and x–y function plots.

use std::ops::Range;
use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::colors::series_color;
use crate::font::font;
use crate::output::{render, Canvas, DrawResult};
use crate::PlotError;

/// One named per-epoch series: `values[i]` is plotted at x = i + 1. NaN values are skipped
/// (the line breaks there).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
}

/// One metric's history for [`training_curves`]: `(metric name, training value per epoch,
/// validation value per epoch if the run had validation data)`, as in Keras's
/// `history.history["loss"]` and `history.history["val_loss"]`.
pub type MetricHistory = (String, Vec<f64>, Option<Vec<f64>>);

const CHART_SIZE: (u32, u32) = (900, 560);
const PANEL_SIZE: (u32, u32) = (620, 520);
const TITLE_BAND: u32 = 50;

/// A named polyline in data coordinates.
struct Curve<'a> {
    name: &'a str,
    points: Vec<(f64, f64)>,
}

fn epoch_curve(series: &Series) -> Curve<'_> {
    Curve {
        name: &series.name,
        points: series
            .values
            .iter()
            .enumerate()
            .map(|(i, &v)| ((i + 1) as f64, v))
            .collect(),
    }
}

/// What a panel's axes look like.
struct Axes<'a> {
    x_label: &'a str,
    y_label: &'a str,
    x_range: Range<f64>,
    y_range: Range<f64>,
    /// Epoch axes label whole numbers only.
    integer_x: bool,
}

/// Plots each series against epochs 1..=n, with a legend.
pub fn line_chart(
    path: impl AsRef<Path>,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<(), PlotError> {
    let path = path.as_ref();
    if series.is_empty() {
        return Err(PlotError::invalid(path, "no series to plot"));
    }
    let curves: Vec<Curve> = series.iter().map(epoch_curve).collect();
    let axes = Axes {
        x_label,
        y_label,
        x_range: epoch_range(series.iter().map(|s| s.values.len()).max().unwrap_or(0)),
        y_range: padded_range(curves.iter().flat_map(|c| c.points.iter().map(|p| p.1))),
        integer_x: true,
    };
    render(path, CHART_SIZE, |root| {
        draw_panel(root, title, TITLE_FONT_SIZE, &axes, &curves)
    })
}

/// One PNG per metric in `dir` (`loss.png`, `accuracy.png`, ...), each showing the training
/// curve and, when given, the validation curve. Returns the written paths in input order.
///
/// `history` holds `(metric, train values per epoch, validation values per epoch)`; metric
/// names become file names with anything but letters, digits, `-` and `_` replaced by `_`.
pub fn training_curves(
    dir: impl AsRef<Path>,
    history: &[MetricHistory],
) -> Result<Vec<PathBuf>, PlotError> {
    let dir = dir.as_ref();
    let mut written = Vec::with_capacity(history.len());
    for (metric, train, validation) in history {
        let path = dir.join(format!("{}.png", file_stem_for(metric)));
        if written.contains(&path) {
            return Err(PlotError::invalid(
                &path,
                format!("metric {metric:?} maps to the same file as an earlier metric"),
            ));
        }
        if let Some(validation) = validation {
            if validation.len() != train.len() {
                return Err(PlotError::invalid(
                    &path,
                    format!(
                        "metric {metric:?} has {} training values but {} validation values",
                        train.len(),
                        validation.len()
                    ),
                ));
            }
        }
        let series = metric_series(metric, train, validation.as_deref());
        let title = if validation.is_some() {
            format!("{metric}: train vs validation")
        } else {
            format!("{metric} per epoch")
        };
        line_chart(&path, &title, "epoch", metric, &series)?;
        written.push(path);
    }
    Ok(written)
}

/// The lines of one metric's chart. With validation they are "train" and "validation", as
/// in Keras; alone, the line is named after its metric (e.g. `learning_rate`).
fn metric_series(metric: &str, train: &[f64], validation: Option<&[f64]>) -> Vec<Series> {
    let Some(validation) = validation else {
        return vec![Series {
            name: metric.to_string(),
            values: train.to_vec(),
        }];
    };
    vec![
        Series {
            name: "train".to_string(),
            values: train.to_vec(),
        },
        Series {
            name: "validation".to_string(),
            values: validation.to_vec(),
        },
    ]
}

/// Several line charts side by side in one image, all with the same x and y ranges so the
/// panels compare at a glance. Each panel is `(panel title, its series)`.
pub fn side_by_side(
    path: impl AsRef<Path>,
    title: &str,
    panels: &[(String, Vec<Series>)],
    x_label: &str,
    y_label: &str,
) -> Result<(), PlotError> {
    let path = path.as_ref();
    if panels.is_empty() {
        return Err(PlotError::invalid(path, "no panels to plot"));
    }
    let all_series = || panels.iter().flat_map(|(_, series)| series.iter());
    let axes = Axes {
        x_label,
        y_label,
        x_range: epoch_range(all_series().map(|s| s.values.len()).max().unwrap_or(0)),
        y_range: padded_range(all_series().flat_map(|s| s.values.iter().copied())),
        integer_x: true,
    };
    let columns = u32::try_from(panels.len())
        .ok()
        .and_then(|n| n.checked_mul(PANEL_SIZE.0))
        .ok_or_else(|| PlotError::invalid(path, "too many panels"))?;
    render(path, (columns, PANEL_SIZE.1 + TITLE_BAND), |root| {
        let body = root.titled(title, title_font(TITLE_FONT_SIZE))?;
        for (area, (panel_title, series)) in body.split_evenly((1, panels.len())).iter().zip(panels)
        {
            let curves: Vec<Curve> = series.iter().map(epoch_curve).collect();
            draw_panel(area, panel_title, PANEL_TITLE_FONT_SIZE, &axes, &curves)?;
        }
        Ok(())
    })
}

/// Arbitrary `(x, y)` curves on shared axes, e.g. an activation and its derivative.
/// Points with a non-finite coordinate are skipped (the line breaks there).
pub fn function_plot(
    path: impl AsRef<Path>,
    title: &str,
    curves: &[(String, Vec<(f64, f64)>)],
) -> Result<(), PlotError> {
    let path = path.as_ref();
    let finite_points = || {
        curves
            .iter()
            .flat_map(|(_, points)| points.iter())
            .filter(|(x, y)| x.is_finite() && y.is_finite())
    };
    if finite_points().next().is_none() {
        return Err(PlotError::invalid(path, "no finite points to plot"));
    }
    let curves: Vec<Curve> = curves
        .iter()
        .map(|(name, points)| Curve {
            name,
            points: points.clone(),
        })
        .collect();
    let (x_min, x_max) = finite_points().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
        (lo.min(p.0), hi.max(p.0))
    });
    let x_range = if x_min < x_max {
        x_min..x_max
    } else {
        x_min - 1.0..x_max + 1.0
    };
    let axes = Axes {
        x_label: "x",
        y_label: "f(x)",
        x_range,
        y_range: padded_range(finite_points().map(|p| p.1)),
        integer_x: false,
    };
    render(path, CHART_SIZE, |root| {
        draw_panel(root, title, TITLE_FONT_SIZE, &axes, &curves)
    })
}

const TITLE_FONT_SIZE: u32 = 26;
const PANEL_TITLE_FONT_SIZE: u32 = 22;
const TICK_FONT_SIZE: u32 = 16;
const AXIS_TITLE_FONT_SIZE: u32 = 18;
const LEGEND_FONT_SIZE: u32 = 17;

fn title_font(size: u32) -> TextStyle<'static> {
    font(f64::from(size), FontStyle::Bold)
}

fn plain_font(size: u32) -> TextStyle<'static> {
    font(f64::from(size), FontStyle::Normal)
}

fn draw_panel(
    area: &Canvas<'_>,
    title: &str,
    title_size: u32,
    axes: &Axes<'_>,
    curves: &[Curve<'_>],
) -> DrawResult {
    let mut chart = ChartBuilder::on(area)
        .caption(title, title_font(title_size))
        .margin(16)
        .x_label_area_size(56)
        .y_label_area_size(80)
        .build_cartesian_2d(axes.x_range.clone(), axes.y_range.clone())?;

    let integer_x = axes.integer_x;
    let x_range = axes.x_range.clone();
    let y_range = axes.y_range.clone();
    let x_ticks = if integer_x {
        // One tick per epoch when there are few, so 3 epochs do not show 1.0, 1.2, ...
        ((axes.x_range.end - axes.x_range.start).floor() as usize + 1).clamp(2, 12)
    } else {
        10
    };
    let format_x = move |x: &f64| {
        if integer_x {
            if (x - x.round()).abs() < 1e-9 {
                format!("{}", x.round() as i64)
            } else {
                String::new()
            }
        } else {
            format_tick(*x, &x_range)
        }
    };
    chart
        .configure_mesh()
        .x_desc(axes.x_label)
        .y_desc(axes.y_label)
        .x_labels(x_ticks)
        .y_labels(8)
        .x_label_formatter(&format_x)
        .y_label_formatter(&|y| format_tick(*y, &y_range))
        .label_style(plain_font(TICK_FONT_SIZE))
        .axis_desc_style(plain_font(AXIS_TITLE_FONT_SIZE))
        .bold_line_style(RGBColor(220, 220, 220))
        .light_line_style(RGBColor(242, 242, 242))
        .draw()?;

    let mut any_named = false;
    for (index, curve) in curves.iter().enumerate() {
        let color = series_color(index);
        // Dense curves (function plots) read better thinner; per-epoch curves have few
        // points and a thick line.
        let width = if curve.points.len() > 60 { 2 } else { 3 };
        let style = ShapeStyle::from(color).stroke_width(width);
        // The legend entry comes from an empty series, so a curve broken by NaNs into
        // several segments still gets exactly one entry.
        if !curve.name.is_empty() {
            any_named = true;
            chart
                .draw_series(LineSeries::new(std::iter::empty(), style))?
                .label(curve.name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(width))
                });
        }
        let segments = finite_segments(&curve.points);
        for segment in &segments {
            chart.draw_series(LineSeries::new(segment.iter().copied(), style))?;
        }
        // Isolated points (a one-epoch run, or a value between two NaNs) have no line, so
        // they are marked with a dot.
        for segment in segments.iter().filter(|s| s.len() == 1) {
            chart.draw_series(segment.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
        }
    }
    if any_named {
        chart
            .configure_series_labels()
            .position(legend_position(curves, axes))
            .label_font(plain_font(LEGEND_FONT_SIZE))
            .margin(12)
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(180, 180, 180))
            .draw()?;
    }
    Ok(())
}

/// Puts the legend in the corner with the fewest data points near it (upper right first,
/// then lower right, upper left, lower left): upper right for a falling loss, lower right
/// for a rising accuracy, upper left for a sigmoid.
fn legend_position(curves: &[Curve<'_>], axes: &Axes<'_>) -> SeriesLabelPosition {
    let (x0, x1) = (axes.x_range.start, axes.x_range.end);
    let (y0, y1) = (axes.y_range.start, axes.y_range.end);
    // The legend box covers roughly this share of the plot in each direction.
    let (x_share, y_share) = (0.35, 0.3);
    let corners = [
        (SeriesLabelPosition::UpperRight, true, true),
        (SeriesLabelPosition::LowerRight, true, false),
        (SeriesLabelPosition::UpperLeft, false, true),
        (SeriesLabelPosition::LowerLeft, false, false),
    ];
    let points_near = |right: bool, upper: bool| {
        curves
            .iter()
            .flat_map(|c| c.points.iter())
            .filter(|&&(x, y)| {
                let in_x = if right {
                    x >= x1 - x_share * (x1 - x0)
                } else {
                    x <= x0 + x_share * (x1 - x0)
                };
                let in_y = if upper {
                    y >= y1 - y_share * (y1 - y0)
                } else {
                    y <= y0 + y_share * (y1 - y0)
                };
                in_x && in_y
            })
            .count()
    };
    let mut best = (SeriesLabelPosition::UpperRight, usize::MAX);
    for (position, right, upper) in corners {
        let count = points_near(right, upper);
        if count < best.1 {
            best = (position, count);
        }
    }
    best.0
}

/// Splits a polyline at points with a non-finite coordinate.
fn finite_segments(points: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    let mut segments = Vec::new();
    let mut current = Vec::new();
    for &(x, y) in points {
        if x.is_finite() && y.is_finite() {
            current.push((x, y));
        } else if !current.is_empty() {
            segments.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        segments.push(current);
    }
    segments
}

/// x range for epochs 1..=n (a single epoch is centred in 0..2).
fn epoch_range(epochs: usize) -> Range<f64> {
    if epochs <= 1 {
        0.0..2.0
    } else {
        // A little room on both sides, so the first and last points are not cut by the axes.
        let pad = 0.02 * (epochs - 1) as f64;
        1.0 - pad..epochs as f64 + pad
    }
}

/// The finite values' range plus 5% on each side. An empty input gets 0..1; a flat one
/// (a constant learning rate) gets its value ±10% (±0.5 around zero), so the line sits in
/// the middle of an axis whose ticks show the value instead of a range around zero.
fn padded_range(values: impl Iterator<Item = f64>) -> Range<f64> {
    let (low, high) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if low > high {
        return 0.0..1.0;
    }
    let magnitude = high.abs().max(low.abs());
    if high - low <= 1e-9 * magnitude {
        let half = if magnitude > 0.0 {
            0.1 * magnitude
        } else {
            0.5
        };
        return low - half..high + half;
    }
    let pad = 0.05 * (high - low);
    low - pad..high + pad
}

/// Tick text for an axis spanning `range`, with as many digits as the tick spacing needs
/// and no float noise ("0.30000000000000004" → "0.3"). Axes whose values are all below
/// 0.01 or from 10⁶ up use scientific notation ("1e-3", "9.5e-4"), so a learning rate of
/// 0.001 does not read as "0".
fn format_tick(value: f64, range: &Range<f64>) -> String {
    let span = (range.end - range.start).abs();
    let magnitude = range.start.abs().max(range.end.abs());
    if !value.is_finite() || span <= 0.0 || magnitude <= 0.0 {
        return format!("{value}");
    }
    // About eight ticks; one more digit than their spacing needs.
    let step = span / 8.0;
    if value.abs() < 1e-9 * magnitude {
        return "0".to_string();
    }
    if !(1e-2..1e6).contains(&magnitude) {
        let digits = ((magnitude / step).log10().ceil() as usize).clamp(1, 8);
        let text = format!("{value:.digits$e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let mantissa = trim_decimal_zeros(mantissa);
        return format!("{mantissa}e{exponent}");
    }
    let decimals = (-step.log10()).ceil().clamp(0.0, 12.0) as usize + 1;
    let text = trim_decimal_zeros(&format!("{value:.decimals$}"));
    if text == "-0" {
        "0".to_string()
    } else {
        text
    }
}

/// "0.500" → "0.5", "2.000" → "2"; a whole number without a point is left alone.
fn trim_decimal_zeros(text: &str) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text.to_string()
    }
}

/// A metric name as a file stem: letters, digits, `-` and `_` kept, the rest `_`.
fn file_stem_for(metric: &str) -> String {
    let stem: String = metric
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.is_empty() {
        "metric".to_string()
    } else {
        stem
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_files::{assert_no_temporary_files, assert_png, output_dir};

    fn falling(epochs: usize, start: f64) -> Vec<f64> {
        (0..epochs)
            .map(|e| start * 0.8f64.powi(e as i32) + 0.1)
            .collect()
    }

    fn rising(epochs: usize, end: f64) -> Vec<f64> {
        (0..epochs)
            .map(|e| end - 0.5 * 0.75f64.powi(e as i32))
            .collect()
    }

    #[test]
    fn line_chart_writes_a_png_and_leaves_no_temporary_file() {
        let dir = output_dir("line_chart");
        let path = dir.join("losses.png");
        let series = [
            Series {
                name: "train".into(),
                values: falling(20, 2.0),
            },
            Series {
                name: "validation".into(),
                values: falling(20, 2.2).iter().map(|v| v + 0.05).collect(),
            },
        ];
        line_chart(&path, "Loss", "epoch", "loss", &series).unwrap();
        assert_png(&path, CHART_SIZE.0, CHART_SIZE.1);
        assert_no_temporary_files(&dir);
    }

    #[test]
    fn line_chart_skips_nan_values_and_handles_a_single_epoch() {
        let dir = output_dir("line_chart_nan");
        let path = dir.join("nan.png");
        let series = [
            Series {
                name: "with gaps".into(),
                values: vec![1.0, 0.8, f64::NAN, 0.5, 0.45, f64::NAN, 0.3],
            },
            Series {
                name: "one epoch".into(),
                values: vec![0.7],
            },
        ];
        line_chart(&path, "NaN gaps", "epoch", "loss", &series).unwrap();
        assert_png(&path, CHART_SIZE.0, CHART_SIZE.1);

        let single = dir.join("single.png");
        let one = [Series {
            name: "loss".into(),
            values: vec![0.5],
        }];
        line_chart(&single, "One epoch", "epoch", "loss", &one).unwrap();
        assert_png(&single, CHART_SIZE.0, CHART_SIZE.1);
    }

    #[test]
    fn line_chart_into_a_missing_directory_names_the_path() {
        let path = output_dir("line_chart_missing").join("no/such/dir/plot.png");
        let series = [Series {
            name: "loss".into(),
            values: vec![1.0, 0.5],
        }];
        let err = line_chart(&path, "t", "x", "y", &series).unwrap_err();
        assert!(err.to_string().contains("no/such/dir/plot.png"), "{err}");
    }

    #[test]
    fn line_chart_without_series_is_an_error() {
        let err = line_chart("unused.png", "t", "x", "y", &[]).unwrap_err();
        assert!(matches!(err, PlotError::InvalidInput { .. }), "{err}");
    }

    #[test]
    fn training_curves_write_one_png_per_metric() {
        let dir = output_dir("training_curves");
        let history = vec![
            (
                "loss".to_string(),
                falling(15, 1.5),
                Some(falling(15, 1.6).iter().map(|v| v + 0.08).collect()),
            ),
            (
                "accuracy".to_string(),
                rising(15, 0.93),
                Some(rising(15, 0.89)),
            ),
            ("learning rate".to_string(), vec![1e-3; 15], None),
        ];
        let paths = training_curves(&dir, &history).unwrap();
        let names: Vec<_> = paths
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["loss.png", "accuracy.png", "learning_rate.png"]);
        for path in &paths {
            assert_png(path, CHART_SIZE.0, CHART_SIZE.1);
        }
    }

    #[test]
    fn training_curves_reject_validation_of_a_different_length() {
        let dir = output_dir("training_curves_mismatch");
        let history = vec![("loss".to_string(), vec![1.0, 0.5], Some(vec![1.0]))];
        let err = training_curves(&dir, &history).unwrap_err();
        assert!(err.to_string().contains("loss.png"), "{err}");
        assert!(err.to_string().contains("2 training values but 1"), "{err}");
    }

    #[test]
    fn side_by_side_draws_every_panel_on_a_shared_y_range() {
        let dir = output_dir("side_by_side");
        let path = dir.join("raw_vs_normalized.png");
        let panel = |start: f64, end: f64| {
            vec![
                Series {
                    name: "train".into(),
                    values: falling(12, start),
                },
                Series {
                    name: "validation".into(),
                    values: falling(12, end),
                },
            ]
        };
        let panels = [
            ("raw pixels (0-255)".to_string(), panel(2.2, 2.3)),
            ("normalized (0-1)".to_string(), panel(0.9, 1.0)),
        ];
        side_by_side(
            &path,
            "Loss: raw vs normalized inputs",
            &panels,
            "epoch",
            "loss",
        )
        .unwrap();
        assert_png(&path, 2 * PANEL_SIZE.0, PANEL_SIZE.1 + TITLE_BAND);
    }

    #[test]
    fn function_plot_draws_an_activation_and_its_derivative() {
        let dir = output_dir("function_plot");
        let path = dir.join("sigmoid.png");
        let xs: Vec<f64> = (0..=200).map(|i| -6.0 + 12.0 * i as f64 / 200.0).collect();
        let sigmoid: Vec<(f64, f64)> = xs.iter().map(|&x| (x, 1.0 / (1.0 + (-x).exp()))).collect();
        let derivative: Vec<(f64, f64)> =
            sigmoid.iter().map(|&(x, s)| (x, s * (1.0 - s))).collect();
        let curves = [
            ("sigmoid(x)".to_string(), sigmoid),
            ("sigmoid'(x)".to_string(), derivative),
        ];
        function_plot(&path, "sigmoid and its derivative", &curves).unwrap();
        assert_png(&path, CHART_SIZE.0, CHART_SIZE.1);
    }

    #[test]
    fn function_plot_without_finite_points_is_an_error() {
        let curves = [("nan".to_string(), vec![(f64::NAN, 1.0)])];
        assert!(matches!(
            function_plot("unused.png", "t", &curves),
            Err(PlotError::InvalidInput { .. })
        ));
    }

    #[test]
    fn format_tick_hides_float_noise() {
        let unit = 0.0..1.0;
        assert_eq!(format_tick(0.30000000000000004, &unit), "0.3");
        assert_eq!(format_tick(-0.0, &unit), "0");
        assert_eq!(format_tick(2.0, &(0.0..10.0)), "2");
    }

    #[test]
    fn a_constant_series_gets_a_range_around_its_value() {
        let range = padded_range([1e-3; 15].into_iter());
        assert!((range.start - 0.9e-3).abs() < 1e-12, "{range:?}");
        assert!((range.end - 1.1e-3).abs() < 1e-12, "{range:?}");
        let range = padded_range([-4.0, -4.0].into_iter());
        assert!((range.start + 4.4).abs() < 1e-12 && (range.end + 3.6).abs() < 1e-12);
        assert_eq!(padded_range([0.0; 3].into_iter()), -0.5..0.5);
        assert_eq!(padded_range(std::iter::empty()), 0.0..1.0);
    }

    #[test]
    fn small_values_get_readable_ticks_not_zero() {
        let range = padded_range([1e-3; 10].into_iter());
        assert_eq!(format_tick(1e-3, &range), "1e-3");
        assert_eq!(format_tick(9.5e-4, &range), "9.5e-4");
        assert_eq!(format_tick(1.05e-3, &range), "1.05e-3");
        let range = padded_range([0.3; 10].into_iter());
        assert_eq!(format_tick(0.3, &range), "0.3");
        assert_eq!(format_tick(0.285, &range), "0.285");
    }

    #[test]
    fn a_metric_without_validation_is_named_after_itself() {
        let dir = output_dir("training_curves_constant");
        let history = vec![("learning_rate".to_string(), vec![1e-3; 8], None)];
        let paths = training_curves(&dir, &history).unwrap();
        assert_png(&paths[0], CHART_SIZE.0, CHART_SIZE.1);
        let alone = metric_series("learning_rate", &[1e-3; 8], None);
        assert_eq!(alone.len(), 1);
        assert_eq!(alone[0].name, "learning_rate");
        let paired = metric_series("loss", &[1.0, 0.5], Some(&[1.1, 0.6]));
        let names: Vec<&str> = paired.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["train", "validation"]);
    }
}
