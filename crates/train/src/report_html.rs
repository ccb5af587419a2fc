//! report.html: one self-contained page per run (command, data, timings, the per-epoch
//! metrics, the test report and the plots embedded as base64 PNGs), so it still works when
//! the file is moved or mailed on its own.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use krust_nn::saving::write_atomically;

use crate::fit::History;
use crate::{Result, TrainError};

/// What a run's report shows.
pub struct RunReport<'a> {
    /// The page's title and heading.
    pub title: String,
    /// The command line that started the run, as typed.
    pub command_line: String,
    /// What the model was trained on (dataset, sizes, preprocessing); line breaks are kept.
    pub data_description: String,
    pub timings: RunTimings,
    /// One table row per epoch: every log, then seconds, img/s and data wait.
    pub history: &'a History,
    /// The test-set report, shown preformatted as given; left out when empty.
    pub test_report: String,
    /// PNG files embedded in the page, in this order.
    pub plots: Vec<ReportPlot>,
}

/// How long the run took.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunTimings {
    /// Wall time of the whole run (loading, training, evaluation, plots).
    pub total_seconds: f64,
    /// Training images per second over all epochs.
    pub images_per_second: f64,
    /// The share (0 to 1) of training time spent waiting for the data loader.
    pub data_wait_share: f64,
}

impl RunTimings {
    /// Throughput and data-wait share over the epochs of `history`, with the run's total.
    pub fn from_history(history: &History, total_seconds: f64) -> Self {
        let seconds: f64 = history.epochs.iter().map(|e| e.seconds).sum();
        let images: f64 = history
            .epochs
            .iter()
            .map(|e| e.images_per_second * e.seconds)
            .sum();
        let waited: f64 = history.epochs.iter().map(|e| e.data_wait_seconds).sum();
        let per_second = |amount: f64| {
            if seconds > 0.0 {
                amount / seconds
            } else {
                0.0
            }
        };
        Self {
            total_seconds,
            images_per_second: per_second(images),
            data_wait_share: per_second(waited),
        }
    }
}

/// A PNG file to embed, with the caption shown under it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportPlot {
    pub path: PathBuf,
    pub caption: String,
}

impl ReportPlot {
    pub fn new(path: impl Into<PathBuf>, caption: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            caption: caption.into(),
        }
    }
}

/// Writes the report to `path` atomically. A listed plot that is missing or not a PNG is an
/// error naming it: a report that silently lacks a plot would hide a broken run.
pub fn write_report_html(path: &Path, report: &RunReport) -> Result<()> {
    let html = report_html(report)?;
    write_atomically(path, html.as_bytes())?;
    Ok(())
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The report as one HTML document with its plots inlined.
pub fn report_html(report: &RunReport) -> Result<String> {
    let title = escape(&report.title);
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
    );
    let _ = write!(
        html,
        "<h2>Command</h2>\n<pre class=\"command\">{}</pre>\n\
         <h2>Data</h2>\n<p class=\"data\">{}</p>\n",
        escape(&report.command_line),
        escape(&report.data_description)
    );
    timings_section(&mut html, &report.timings, report.history);
    metrics_section(&mut html, report.history);
    if !report.test_report.is_empty() {
        let _ = write!(
            html,
            "<h2>Test report</h2>\n<pre>{}</pre>\n",
            escape(&report.test_report)
        );
    }
    if !report.plots.is_empty() {
        html.push_str("<h2>Plots</h2>\n<div class=\"plots\">\n");
    }
    for plot in &report.plots {
        let bytes = std::fs::read(&plot.path).map_err(|e| TrainError::File {
            path: plot.path.clone(),
            why: format!("cannot read this plot for report.html: {e}"),
        })?;
        if !bytes.starts_with(PNG_SIGNATURE) {
            return Err(TrainError::File {
                path: plot.path.clone(),
                why: "is listed as a plot for report.html but is not a PNG file".to_string(),
            });
        }
        let caption = escape(&plot.caption);
        let _ = write!(
            html,
            "<figure>\n<img src=\"data:image/png;base64,{}\" alt=\"{caption}\">\n\
             <figcaption>{caption}</figcaption>\n</figure>\n",
            base64::engine::general_purpose::STANDARD.encode(&bytes)
        );
    }
    if !report.plots.is_empty() {
        html.push_str("</div>\n");
    }
    html.push_str("</body>\n</html>\n");
    Ok(html)
}

fn timings_section(html: &mut String, timings: &RunTimings, history: &History) {
    let epochs = history.epochs.len();
    let epoch_seconds: f64 = history.epochs.iter().map(|e| e.seconds).sum();
    let _ = write!(
        html,
        "<h2>Timings</h2>\n<table class=\"timings\">\n\
         <tr><th>total</th><td>{:.1} s</td></tr>\n\
         <tr><th>epochs trained</th><td>{epochs}</td></tr>\n\
         <tr><th>seconds per epoch</th><td>{:.2} s</td></tr>\n\
         <tr><th>training throughput</th><td>{:.0} img/s</td></tr>\n\
         <tr><th>waiting for data</th><td>{:.1} %</td></tr>\n</table>\n",
        timings.total_seconds,
        epoch_seconds / epochs.max(1) as f64,
        timings.images_per_second,
        100.0 * timings.data_wait_share,
    );
    if let Some(reason) = &history.stopped_early {
        let _ = writeln!(html, "<p class=\"note\">{}</p>", escape(reason));
    }
}

fn metrics_section(html: &mut String, history: &History) {
    html.push_str("<h2>Metrics per epoch</h2>\n");
    if history.epochs.is_empty() {
        html.push_str("<p class=\"note\">No epoch finished.</p>\n");
        return;
    }
    let names = history.names();
    let scientific: Vec<bool> = names
        .iter()
        .map(|name| {
            history
                .series(name)
                .iter()
                .any(|v| *v != 0.0 && v.abs() < 1e-3)
        })
        .collect();
    html.push_str("<table class=\"metrics\">\n<thead><tr><th>epoch</th>");
    for name in &names {
        let _ = write!(html, "<th>{}</th>", escape(name));
    }
    html.push_str("<th>seconds</th><th>img/s</th><th>data wait</th></tr></thead>\n<tbody>\n");
    for epoch in &history.epochs {
        let _ = write!(html, "<tr><td>{}</td>", epoch.epoch);
        for (name, &scientific) in names.iter().zip(&scientific) {
            let _ = write!(html, "<td>{}</td>", format_log(epoch.get(name), scientific));
        }
        let _ = writeln!(
            html,
            "<td>{:.2}</td><td>{:.0}</td><td>{:.1} %</td></tr>",
            epoch.seconds,
            epoch.images_per_second,
            100.0 * epoch.data_wait_seconds / epoch.seconds.max(1e-9)
        );
    }
    html.push_str("</tbody>\n</table>\n");
}

/// Four decimals as Keras prints logs, or scientific notation for a column with values
/// below 1e-3 (learning rates), so they do not read as 0 and the column stays in one
/// format; empty where an epoch lacks the log.
fn format_log(value: f64, scientific: bool) -> String {
    if value.is_nan() {
        String::new()
    } else if scientific {
        format!("{value:.3e}")
    } else {
        format!("{value:.4}")
    }
}

/// Text made safe for HTML element content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; max-width: 1100px;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; border-bottom: 2px solid #ddd; padding-bottom: 0.3em; }
h2 { font-size: 1.2em; margin-top: 1.6em; }
pre { background: #f6f8fa; border: 1px solid #e1e4e8; padding: 0.8em; overflow-x: auto;
      white-space: pre-wrap; word-break: break-word; }
p.data { white-space: pre-wrap; }
p.note { color: #8a5a00; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.7em; }
table.metrics td { text-align: right; }
table.metrics tbody tr:nth-child(even) { background: #f6f8fa; }
table.timings th { text-align: left; font-weight: normal; color: #555; }
div.plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr));
            gap: 1em; }
figure { margin: 0; }
figure img { width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; }
";
