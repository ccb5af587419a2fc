//! Issue 11, "the model remembers its inputs", end to end with the real binary: `krust train`
//! records the image size, colour mode and class names in the model file; `evaluate`,
//! `predict` and `classify` prepare new inputs from that record; an image folder without
//! `--image-size` keeps its own size and colour mode; an older model file without the record
//! still evaluates with explicit flags.

mod common;

use common::{assert_clean_error, run_krust, stderr, stdout, temp_dir};
use krust::nn::saving::{load_model, load_model_with_inputs, save_model};
use std::path::{Path, PathBuf};
use std::process::Output;

const CLASSES: [&str; 2] = ["coat", "sneaker"];
const SIDE: u32 = 28;

fn krust(args: &[&str]) -> Output {
    run_krust(None, args)
}

fn text(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// The gray pixels of image `k` of class `class`: dark coats, bright sneakers, with a
/// per-image texture.
fn pixels(class: usize, k: u32) -> Vec<u8> {
    (0..SIDE * SIDE)
        .map(|i| {
            let (y, x) = (i / SIDE, i % SIDE);
            match class {
                0 => 20 + ((x + y + k) % 40) as u8,
                _ => 180 + ((x * y + k) % 60) as u8,
            }
        })
        .collect()
}

/// `root/coat/k.png` and `root/sneaker/k.png`: eight 28x28 grayscale PNGs each.
fn gray_folder(root: &Path) {
    for (class, name) in CLASSES.iter().enumerate() {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).expect("class folder");
        for k in 0..8 {
            image::GrayImage::from_raw(SIDE, SIDE, pixels(class, k))
                .expect("28x28 pixels")
                .save(dir.join(format!("{k}.png")))
                .expect("png written");
        }
    }
}

/// Trains a small MLP for a few quick epochs on `data` with `extra` flags into `out`.
fn train(data: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "train",
        "--data",
        text(data),
        "--model",
        "mlp",
        "--epochs",
        "3",
        "--batch-size",
        "8",
        "--quiet",
        "--output",
        text(out),
    ];
    args.extend_from_slice(extra);
    let o = krust(&args);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    o
}

/// A C-order `.npy` file of `shape` holding `data`, in numpy's default type for `T`.
fn write_npy<T: npyz::AutoSerialize + Copy>(path: &Path, shape: &[u64], data: &[T]) {
    use npyz::WriterBuilder;
    let mut bytes = Vec::new();
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(shape)
        .writer(&mut bytes)
        .begin_nd()
        .expect("npy header");
    writer.extend(data.iter().copied()).expect("npy data");
    writer.finish().expect("npy finished");
    std::fs::write(path, bytes).expect("npy written");
}

/// The "CLASS (P%)" ends of `krust predict`'s lines, in order.
fn predicted(o: &Output) -> Vec<String> {
    assert!(o.status.success(), "{}\n{}", stdout(o), stderr(o));
    stdout(o)
        .lines()
        .filter_map(|line| line.rsplit_once(": ").map(|(_, class)| class.to_string()))
        .filter(|class| class.ends_with("%)"))
        .collect()
}

#[test]
fn a_gray_folder_keeps_its_size_and_the_model_file_records_it() {
    let root = temp_dir("inputs-default");
    let data = root.join("imgs");
    gray_folder(&data);
    let run = root.join("run");
    let o = train(&data, &run, &[]);
    // Before issue 11: 28x28 gray PNGs silently became 64x64 RGB.
    assert!(
        stdout(&o).contains("of shape [28, 28, 1]"),
        "{}",
        stdout(&o)
    );
    for file in ["model.krust", "best.krust"] {
        let (_, inputs) = load_model_with_inputs(&run.join(file)).expect("model loads");
        let inputs = inputs.unwrap_or_else(|| panic!("{file} records its inputs"));
        assert_eq!(inputs.image_dims(), Some((28, 28, 1)), "{file}");
        assert_eq!(inputs.class_names, CLASSES, "{file}");
    }

    // classify with the model FILE (no --weights) names a stored class.
    let photo = data.join("sneaker").join("3.png");
    let model = run.join("model.krust");
    let o = krust(&[
        "classify",
        text(&photo),
        "--model",
        text(&model),
        "--top",
        "2",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("1. ") && out.contains("2. "), "{out}");
    assert!(out.contains("coat") && out.contains("sneaker"), "{out}");
    assert!(out.contains('%'), "{out}");
    let o = krust(&["classify", text(&photo), "--model", text(&model), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let line: serde_json::Value =
        serde_json::from_str(stdout(&o).lines().next().expect("a line")).expect("json");
    let label = line["top"][0]["label"].as_str().expect("a label");
    assert!(CLASSES.contains(&label), "{line}");

    // predict: two photos, and the same pixels as uint8, float32 and float64 arrays.
    let photos = [data.join("coat").join("1.png"), photo.clone()];
    let from_png = predicted(&krust(&[
        "predict",
        "--model",
        text(&model),
        "--input",
        text(&photos[0]),
        "--input",
        text(&photos[1]),
    ]));
    assert_eq!(from_png.len(), 2, "{from_png:?}");
    let bytes: Vec<u8> = [pixels(0, 1), pixels(1, 3)].concat();
    let shape = [2, 28, 28, 1];
    let u8_path = root.join("x-u8.npy");
    write_npy(&u8_path, &shape, &bytes);
    let f32_path = root.join("x-f32.npy");
    let f32_data: Vec<f32> = bytes.iter().map(|&b| f32::from(b) / 255.0).collect();
    write_npy(&f32_path, &shape, &f32_data);
    let f64_path = root.join("x-f64.npy");
    let f64_data: Vec<f64> = bytes.iter().map(|&b| f64::from(b) / 255.0).collect();
    write_npy(&f64_path, &shape, &f64_data);
    let out_npy = root.join("y.npy");
    let predict = |input: &Path| {
        predicted(&krust(&[
            "predict",
            "--model",
            text(&model),
            "--input",
            text(input),
            "--output",
            text(&out_npy),
        ]))
    };
    let from_f32 = predict(&f32_path);
    assert_eq!(from_png, from_f32, "photos and float32 pixels/255 agree");
    assert_eq!(predict(&u8_path), from_f32, "uint8 is scaled by 1/255");
    let class = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .map(|l| l.split(" (").next().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(class(&predict(&f64_path)), class(&from_f32));
    assert!(
        from_f32
            .iter()
            .all(|l| CLASSES.iter().any(|c| l.starts_with(c))),
        "{from_f32:?}"
    );
    assert!(out_npy.is_file(), "--output still writes the raw outputs");

    // Photos mixed with arrays, and an unsupported array type, are clean errors.
    let o = krust(&[
        "predict",
        "--model",
        text(&model),
        "--input",
        text(&photo),
        "--input",
        text(&u8_path),
    ]);
    assert_clean_error(&o, "not both");
    let i32_path = root.join("x-i32.npy");
    write_npy(&i32_path, &[1, 1], &[0i32]);
    let o = krust(&[
        "predict",
        "--model",
        text(&model),
        "--input",
        text(&i32_path),
    ]);
    assert_clean_error(&o, "x-i32.npy");
}

#[test]
fn evaluate_uses_the_stored_size_and_refuses_contradicting_flags() {
    let root = temp_dir("inputs-evaluate");
    let data = root.join("imgs");
    gray_folder(&data);
    let run = root.join("run");
    // Resized to 20x20 RGB: neither the images' own size nor the 64x64 default.
    train(&data, &run, &["--image-size", "20x20", "--rgb"]);
    let model = run.join("model.krust");
    let o = krust(&[
        "evaluate",
        text(&model),
        "--data",
        text(&data),
        "--output",
        text(&root.join("eval")),
    ]);
    // Before issue 11: a shape error (the folder was read at 64x64 RGB).
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("Evaluating"), "{}", stdout(&o));
    let o = krust(&[
        "evaluate",
        text(&model),
        "--data",
        text(&data),
        "--image-size",
        "28x28",
    ]);
    assert_clean_error(&o, "--image-size 28x28 contradicts");
    assert!(stderr(&o).contains("20x20"), "{}", stderr(&o));
    let o = krust(&[
        "evaluate",
        text(&model),
        "--data",
        text(&data),
        "--grayscale",
    ]);
    assert_clean_error(&o, "--grayscale contradicts");
}

#[test]
fn an_older_model_file_without_the_record_still_evaluates_with_flags() {
    let root = temp_dir("inputs-old");
    let data = root.join("imgs");
    gray_folder(&data);
    let run = root.join("run");
    train(&data, &run, &["--image-size", "20x20"]);
    // Rewrite the model as krust wrote it before issue 11: no inputs entry.
    let old = root.join("old.krust");
    save_model(&load_model(&run.join("model.krust")).expect("loads"), &old).expect("saved");
    assert!(load_model_with_inputs(&old).expect("loads").1.is_none());
    let o = krust(&[
        "evaluate",
        text(&old),
        "--data",
        text(&data),
        "--image-size",
        "20x20",
        "--grayscale",
        "--output",
        text(&root.join("eval")),
    ]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    // Photos need the record; the error says what to do instead.
    let photo: PathBuf = data.join("coat").join("0.png");
    let o = krust(&["classify", text(&photo), "--model", text(&old)]);
    assert_clean_error(&o, "records no image size");
    let o = krust(&["predict", "--model", text(&old), "--input", text(&photo)]);
    assert_clean_error(&o, "records no image size");
    // Without class names there is nothing to print: --output is needed.
    let x = root.join("x.npy");
    write_npy(&x, &[1, 20, 20, 1], &[7u8; 400]);
    let o = krust(&["predict", "--model", text(&old), "--input", text(&x)]);
    assert_clean_error(&o, "--output");
    let o = krust(&[
        "classify",
        text(&photo),
        "--model",
        text(&root.join("missing.krust")),
    ]);
    assert_clean_error(&o, "missing.krust");
}

#[test]
fn a_folder_of_mixed_sizes_says_it_resizes_to_the_default() {
    let root = temp_dir("inputs-mixed");
    let data = root.join("imgs");
    gray_folder(&data);
    image::RgbImage::from_pixel(30, 20, image::Rgb([200, 10, 10]))
        .save(data.join("coat").join("odd.png"))
        .expect("png written");
    let o = train(&data, &root.join("run"), &[]);
    assert!(
        stdout(&o).contains("of shape [64, 64, 3]"),
        "{}",
        stdout(&o)
    );
    let err = stderr(&o);
    assert_eq!(err.matches("different sizes").count(), 1, "{err}");
    assert!(err.contains("--image-size"), "{err}");
}

#[test]
fn classify_explains_a_model_files_prediction_over_the_photo_it_saw() {
    let root = temp_dir("inputs-explain");
    let data = root.join("imgs");
    gray_folder(&data);
    let run = root.join("run");
    let o = krust(&[
        "train",
        "--data",
        text(&data),
        "--model",
        "lenet5",
        "--epochs",
        "1",
        "--quiet",
        "--output",
        text(&run),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let photo = data.join("coat").join("1.png");
    let maps = root.join("maps");
    let o = krust(&[
        "classify",
        text(&photo),
        "--model",
        text(&run.join("model.krust")),
        "--explain",
        text(&maps),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The heat map is drawn over the photo at the size the model records (28x28 grey).
    let map = image::open(maps.join("1.gradcam.png")).expect("a heat map PNG");
    assert_eq!((map.width(), map.height()), (28, 28));
    // An MLP has no feature map to explain: a clean error, not a picture of nothing.
    let o = train(&data, &root.join("mlp"), &[]);
    assert!(o.status.success());
    let o = krust(&[
        "classify",
        text(&photo),
        "--model",
        text(&root.join("mlp").join("model.krust")),
        "--explain",
        text(&maps),
    ]);
    assert_clean_error(&o, "no convolutional feature map");
}
