//! report.html: the per-epoch table, escaped text, plots that decode back to the files'
//! bytes, and an error naming a listed plot that is missing or not a PNG.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use krust_train::{
    report_html, write_report_html, EpochStats, History, Logs, ReportPlot, RunReport, RunTimings,
};

fn epoch(number: usize, loss: f64, accuracy: f64, val_loss: Option<f64>) -> EpochStats {
    let mut logs = Logs::default();
    logs.set("loss", loss);
    logs.set("accuracy", accuracy);
    if let Some(v) = val_loss {
        logs.set("val_loss", v);
    }
    logs.set("learning_rate", 1e-4);
    EpochStats {
        epoch: number,
        seconds: 2.0,
        data_wait_seconds: 0.5,
        images_per_second: 1000.0,
        logs,
    }
}

fn history() -> History {
    let mut history = History {
        epochs: vec![
            epoch(1, 0.91234, 0.5, Some(0.8)),
            epoch(2, 0.45678, 0.75, None),
        ],
        stopped_early: Some("EarlyStopping: val_loss did not improve <2 epochs>".to_string()),
        ..History::default()
    };
    history.epochs[1].logs.set("learning_rate", 0.01);
    history
}

fn scratch(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("krust-report-{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A file with PNG's signature followed by every byte value, so base64 sees them all.
fn png_like(path: &Path, salt: u8) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend((0..=255u8).map(|b| b.wrapping_add(salt)));
    bytes.push(salt);
    std::fs::write(path, &bytes).expect("write png");
    bytes
}

fn report<'a>(history: &'a History, plots: Vec<ReportPlot>) -> RunReport<'a> {
    RunReport {
        title: "Run <7> & co".to_string(),
        command_line: "krust train --name \"a<b>&c\" --notes 'it'".to_string(),
        data_description: "Fashion-MNIST subset\n2000 train / 500 test".to_string(),
        timings: RunTimings::from_history(history, 7.34),
        history,
        test_report: "accuracy 0.8 <best>".to_string(),
        plots,
    }
}

#[test]
fn table_has_a_row_per_epoch_with_every_log_and_blank_for_missing_ones() {
    let history = history();
    let html = report_html(&report(&history, vec![])).expect("html");
    assert!(html.contains(
        "<th>epoch</th><th>loss</th><th>accuracy</th><th>val_loss</th><th>learning_rate</th>\
         <th>seconds</th><th>img/s</th><th>data wait</th>"
    ));
    assert!(html.contains(
        // learning_rate has a value below 1e-3, so its whole column is scientific.
        "<tr><td>1</td><td>0.9123</td><td>0.5000</td><td>0.8000</td><td>1.000e-4</td>\
         <td>2.00</td><td>1000</td><td>25.0 %</td></tr>"
    ));
    assert!(html.contains("<tr><td>2</td><td>0.4568</td><td>0.7500</td><td></td><td>1.000e-2</td>"));
    assert!(html.contains("<tr><th>total</th><td>7.3 s</td></tr>"));
    assert!(html.contains("<td>1000 img/s</td>"));
    assert!(html.contains("<td>25.0 %</td></tr>\n</table>"));
}

#[test]
fn all_text_is_escaped() {
    let history = history();
    let html = report_html(&report(&history, vec![])).expect("html");
    assert!(html.contains("<title>Run &lt;7&gt; &amp; co</title>"));
    assert!(html.contains(
        "<pre class=\"command\">krust train --name &quot;a&lt;b&gt;&amp;c&quot; --notes &#39;it&#39;</pre>"
    ));
    assert!(html.contains("accuracy 0.8 &lt;best&gt;"));
    assert!(html.contains("did not improve &lt;2 epochs&gt;"));
    assert!(html.contains("Fashion-MNIST subset\n2000 train / 500 test"));
    assert!(!html.contains("<b>") && !html.contains("<best>") && !html.contains("<7>"));
}

/// The bytes of every `data:image/png;base64,` URI in the page, in order.
fn embedded_images(html: &str) -> Vec<Vec<u8>> {
    html.split("src=\"data:image/png;base64,")
        .skip(1)
        .map(|rest| {
            let encoded = &rest[..rest.find('"').expect("closing quote")];
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .expect("valid base64")
        })
        .collect()
}

#[test]
fn written_atomically_with_plots_that_decode_to_the_same_bytes() {
    let dir = scratch("plots");
    let (loss_png, accuracy_png) = (dir.join("loss.png"), dir.join("accuracy.png"));
    let loss_bytes = png_like(&loss_png, 0);
    let accuracy_bytes = png_like(&accuracy_png, 99);
    let history = history();
    let plots = vec![
        ReportPlot::new(&loss_png, "Loss <train & val>"),
        ReportPlot::new(&accuracy_png, "Accuracy"),
    ];
    let path = dir.join("report.html");
    write_report_html(&path, &report(&history, plots)).expect("write");
    let html = std::fs::read_to_string(&path).expect("read back");
    assert_eq!(embedded_images(&html), [loss_bytes, accuracy_bytes]);
    assert!(html.contains("<figcaption>Loss &lt;train &amp; val&gt;</figcaption>"));
    let mut left: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["accuracy.png", "loss.png", "report.html"],
        "no temp file"
    );
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn a_missing_or_non_png_plot_is_an_error_naming_it_and_nothing_is_written() {
    let dir = scratch("missing");
    let history = history();
    let path = dir.join("report.html");
    let missing = dir.join("confusion_matrix.png");
    let error = write_report_html(
        &path,
        &report(&history, vec![ReportPlot::new(&missing, "")]),
    )
    .expect_err("missing plot fails");
    assert!(
        error.to_string().contains(&*missing.to_string_lossy()),
        "{error}"
    );
    let text = dir.join("notes.png");
    std::fs::write(&text, "not an image").expect("write");
    let error = write_report_html(&path, &report(&history, vec![ReportPlot::new(&text, "")]))
        .expect_err("non-PNG fails");
    assert!(error.to_string().contains("not a PNG"), "{error}");
    assert!(
        error.to_string().contains(&*text.to_string_lossy()),
        "{error}"
    );
    assert!(!path.exists());
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn timings_from_history_weigh_epochs_by_their_seconds() {
    let mut history = history();
    history.epochs[1].seconds = 6.0;
    history.epochs[1].images_per_second = 500.0;
    history.epochs[1].data_wait_seconds = 0.0;
    let timings = RunTimings::from_history(&history, 10.0);
    // (2 s * 1000 + 6 s * 500) images over 8 s; 0.5 s of 8 s waiting.
    assert_eq!(timings.images_per_second, 625.0);
    assert_eq!(timings.data_wait_share, 0.0625);
    assert_eq!(timings.total_seconds, 10.0);
    let empty = RunTimings::from_history(&History::default(), 1.0);
    assert_eq!((empty.images_per_second, empty.data_wait_share), (0.0, 0.0));
    let html = report_html(&report(&History::default(), vec![])).expect("html");
    assert!(html.contains("No epoch finished."));
}
