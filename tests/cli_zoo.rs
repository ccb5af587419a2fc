//! The binary's zoo commands end to end: `predict --weights`, `summary NAME`, `classify`,
//! `demo pretrained` and fine-tuning with `train --weights`.

mod common;

use common::{assert_clean_error, run_krust, stderr, stdout, temp_dir};
use krust_import::npy::read_f32;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn squeezenet() -> String {
    repo()
        .join("fixtures/torch/zoo/squeezenet1_1.pth")
        .display()
        .to_string()
}

fn photo(name: &str) -> String {
    repo().join("data/photos").join(name).display().to_string()
}

#[test]
fn predict_with_pytorch_weights_writes_pytorch_logits() {
    let dir = temp_dir("zoo-predict");
    let input = repo().join("fixtures/torch/zoo/squeezenet1_1_input_72x88.npy");
    let out = dir.join("logits.npy");
    let o = run_krust(
        None,
        &[
            "predict",
            "--model",
            "squeezenet1_1",
            "--weights",
            &squeezenet(),
            "--input",
            input.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let ours = read_f32(&out).unwrap();
    let theirs =
        read_f32(&repo().join("fixtures/torch/zoo/squeezenet1_1_logits_72x88.npy")).unwrap();
    let scale = theirs.to_vec().iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(ours.max_abs_diff(&theirs).unwrap() <= 1e-4 + 1e-3 * scale);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn predict_names_what_is_wrong_with_weights_and_models() {
    let dir = temp_dir("zoo-predict-bad");
    let input = repo().join("fixtures/torch/zoo/squeezenet1_1_input_72x88.npy");
    let out = dir.join("y.npy");
    let garbage = dir.join("garbage.pth");
    std::fs::write(&garbage, b"this is not a weights file at all").unwrap();
    let (input, output) = (input.display().to_string(), out.display().to_string());
    let args = |model: &str, weights: Option<&str>| -> Vec<String> {
        let mut a = vec!["predict".to_string(), "--model".into(), model.into()];
        if let Some(w) = weights {
            a.extend(["--weights".into(), w.into()]);
        }
        a.extend([
            "--input".into(),
            input.clone(),
            "--output".into(),
            output.clone(),
        ]);
        a
    };
    let run = |a: Vec<String>| run_krust(None, &a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_clean_error(
        &run(args("resnet18", None)),
        "give its weights with --weights",
    );
    let garbage = garbage.display().to_string();
    assert_clean_error(&run(args("squeezenet1_1", Some(&garbage))), "garbage.pth");
    assert_clean_error(
        &run(args("no_such_net", Some(&squeezenet()))),
        "no_such_net",
    );
    assert_clean_error(
        &run(args("resnet18", Some(&squeezenet()))),
        "squeezenet1_1.pth",
    );
    assert!(!out.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn summary_of_a_zoo_architecture_at_any_size() {
    let o = run_krust(None, &["summary", "resnet50"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("resnet50"), "{text}");
    assert!(text.contains("Total params:"), "{text}");
    let o = run_krust(
        None,
        &[
            "summary",
            "mobilenet-v2",
            "--input-shape",
            "64,64,3",
            "--classes",
            "10",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("10 classes"));
    assert_clean_error(
        &run_krust(None, &["summary", "resnet18", "--input-shape", "8,8"]),
        "--input-shape",
    );
    assert_clean_error(&run_krust(None, &["summary", "nosuchnet"]), "nosuchnet");
}

#[test]
fn summary_plot_draws_the_model_graph() {
    let dir = temp_dir("zoo-summary-plot");
    let lenet = dir.join("lenet5.png");
    let o = run_krust(
        None,
        &["summary", "lenet5", "--plot", lenet.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("Wrote"), "{}", stdout(&o));
    // Nine layers in one column: a tall, narrow picture.
    let (width, height) = png_size(&lenet);
    assert!(height > 800 && width < height / 2, "{width}×{height}");
    assert!(std::fs::metadata(&lenet).unwrap().len() > 10_000);
    // A residual network is drawn with its branches; it is far taller than lenet5.
    let resnet = dir.join("resnet18.png");
    let o = run_krust(
        None,
        &[
            "summary",
            "resnet18",
            "--input-shape",
            "64,64,3",
            "--plot",
            resnet.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let (resnet_width, resnet_height) = png_size(&resnet);
    assert!(
        resnet_height > 4 * height && resnet_width > width,
        "{resnet_width}×{resnet_height}"
    );
    let missing = dir.join("no/such/dir/graph.png");
    assert_clean_error(
        &run_krust(
            None,
            &["summary", "lenet5", "--plot", missing.to_str().unwrap()],
        ),
        "graph.png",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `krust classify PHOTOS --model squeezenet1_1 --weights <fixture> --explain DIR`.
fn classify_explained(photos: &[&str], dir: &Path) -> std::process::Output {
    let mut args = vec!["classify".to_string()];
    args.extend(photos.iter().map(|p| photo(p)));
    args.extend(["--model", "squeezenet1_1", "--weights"].map(String::from));
    args.push(squeezenet());
    args.push("--explain".into());
    args.push(dir.display().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_krust(None, &args)
}

#[test]
fn classify_explain_writes_a_grad_cam_overlay_per_photo() {
    let dir = temp_dir("zoo-classify-explain");
    let out = dir.join("heat");
    let o = classify_explained(&["chelsea.png", "rocket.jpg"], &out);
    assert!(o.status.success(), "{}", stderr(&o));
    for stem in ["chelsea", "rocket"] {
        let path = out.join(format!("{stem}.gradcam.png"));
        assert!(
            stdout(&o).contains(&path.display().to_string()),
            "{}",
            stdout(&o)
        );
        // SqueezeNet's preprocessing crops to 224×224; the overlay has the crop's size.
        assert_eq!(png_size(&path), (224, 224));
        assert!(std::fs::metadata(&path).unwrap().len() > 10_000);
    }
    // A folder that cannot be created is named.
    let blocked = dir.join("a_file");
    std::fs::write(&blocked, b"x").unwrap();
    let o = classify_explained(&["chelsea.png"], &blocked.join("sub"));
    assert_clean_error(&o, "--explain");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[1..4], b"PNG", "{} is not a PNG", path.display());
    let word = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (word(16), word(20))
}

#[test]
fn absurd_sizes_are_refused_before_anything_is_allocated() {
    // A 4-billion-class head would be a 1.3 TB weight: refused, naming its shape and size.
    let o = run_krust(None, &["summary", "lenet5", "--classes", "4000000000"]);
    assert_clean_error(&o, "[84, 4000000000]");
    assert!(stderr(&o).contains("GiB"), "{}", stderr(&o));
    // A 4e9 x 4e9 image would overflow every product after it: refused at the first layer.
    let o = run_krust(
        None,
        &[
            "summary",
            "resnet18",
            "--input-shape",
            "4000000000,4000000000,3",
        ],
    );
    assert_clean_error(&o, "per-sample shape");
}

#[test]
fn classify_prints_the_top_classes_as_a_table_or_json() {
    let o = run_krust(
        None,
        &[
            "classify",
            &photo("chelsea.png"),
            &photo("coffee.png"),
            "--model",
            "squeezenet1_1",
            "--weights",
            &squeezenet(),
            "--top",
            "3",
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0]["file"].as_str().unwrap().ends_with("chelsea.png"));
    let top = lines[0]["top"].as_array().unwrap();
    assert_eq!(top.len(), 3);
    let p: Vec<f64> = top
        .iter()
        .map(|t| t["probability"].as_f64().unwrap())
        .collect();
    assert!(p[0] >= p[1] && p[1] >= p[2] && p[0] <= 1.0);
    // A 10-class model has no ImageNet names.
    assert!(top[0]["label"].as_str().unwrap().starts_with("class "));

    let o = run_krust(
        None,
        &[
            "classify",
            &photo("rocket.jpg"),
            "--model",
            "squeezenet1_1",
            "--weights",
            &squeezenet(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o)
            .lines()
            .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
            .count(),
        5
    );
}

#[test]
fn classify_names_a_photo_it_cannot_read() {
    let dir = temp_dir("zoo-classify-bad");
    let bad = dir.join("notes.jpg");
    std::fs::write(&bad, b"not a jpeg").unwrap();
    let o = run_krust(
        None,
        &[
            "classify",
            bad.to_str().unwrap(),
            "--model",
            "squeezenet1_1",
            "--weights",
            &squeezenet(),
        ],
    );
    assert_clean_error(&o, "notes.jpg");
    assert_clean_error(
        &run_krust(
            None,
            &[
                "classify",
                &photo("chelsea.png"),
                "--model",
                "squeezenet1_1",
                "--weights",
                &squeezenet(),
                "--top",
                "0",
            ],
        ),
        "--top",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn demo_pretrained_without_weights_says_how_to_fetch_them() {
    let dir = temp_dir("zoo-demo");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_krust"))
        .args(["demo", "pretrained", "--output"])
        .arg(dir.join("out"))
        .env("KRUST_EFFICIENTNET_LITE0", dir.join("absent.pth"))
        .output()
        .unwrap();
    assert_clean_error(&o, "tools/fetch_efficientnet_lite0.sh");
    assert!(
        !dir.join("out").exists(),
        "nothing is created before the check"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A two-class image folder of flat-coloured 80x96 PNGs, `per_class` each in train and test.
fn colour_folder(root: &Path, per_class: usize) {
    for split in ["train", "test"] {
        for (class, colour) in [("red", [200u8, 30, 30]), ("blue", [30, 30, 200])] {
            let dir = root.join(split).join(class);
            std::fs::create_dir_all(&dir).unwrap();
            for i in 0..per_class {
                let shade = (i * 5) as u8;
                let img = image::RgbImage::from_pixel(
                    96,
                    80,
                    image::Rgb([colour[0] - shade, colour[1] + shade, colour[2] - shade]),
                );
                img.save(dir.join(format!("{i}.png"))).unwrap();
            }
        }
    }
}

#[test]
fn fine_tuning_replaces_the_head_and_trains_only_it_with_freeze_base() {
    let dir = temp_dir("zoo-finetune");
    colour_folder(&dir.join("data"), 6);
    let data = dir.join("data");
    let out = dir.join("run");
    let o = run_krust(
        None,
        &[
            "train",
            "--model",
            "squeezenet1_1",
            "--weights",
            &squeezenet(),
            "--freeze-base",
            "--data",
            data.to_str().unwrap(),
            "--image-size",
            "72x88",
            "--epochs",
            "1",
            "--batch-size",
            "4",
            "--quiet",
            "--output",
            out.to_str().unwrap(),
        ],
    );
    let text = stdout(&o);
    assert!(o.status.success(), "{text}\n{}", stderr(&o));
    assert!(text.contains("classifier.1 was replaced"), "{text}");
    assert!(text.contains("training only classifier.1"), "{text}");
    assert!(out.join("model.krust").is_file());
    assert_clean_error(
        &run_krust(None, &["train", "--freeze-base", "--epochs", "1"]),
        "--freeze-base needs --weights",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
