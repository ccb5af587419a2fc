//! Every model made by tools/make_keras_models.py, in both Keras formats, must load and
//! reproduce Keras's own predictions; broken files must give one-line errors, never panics.

use krust_import::{load_model, npy, LoadedModel};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/keras/models")
}

/// Names of the fixture models that have reference outputs.
fn model_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_suffix(".y0.npy")
                .map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

/// The files `<name>.<stem>0.npy`, `<name>.<stem>1.npy`, ... in order.
fn arrays(name: &str, stem: &str) -> Vec<krust_tensor::Tensor> {
    (0..)
        .map(|i| fixtures().join(format!("{name}.{stem}{i}.npy")))
        .take_while(|p| p.exists())
        .map(|p| npy::read_f32(&p).unwrap())
        .collect()
}

fn worst_error(model: &LoadedModel, name: &str) -> f32 {
    let (xs, ys) = (arrays(name, "x"), arrays(name, "y"));
    let outputs = model.predict(&xs).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(outputs.len(), ys.len(), "{name}: number of outputs");
    let mut worst = 0f32;
    for (out, want) in outputs.iter().zip(&ys) {
        assert_eq!(out.shape(), want.shape(), "{name}: output shape");
        for (a, b) in out.to_vec().iter().zip(want.to_vec()) {
            worst = worst.max((a - b).abs());
        }
    }
    worst
}

#[test]
fn every_fixture_model_reproduces_keras_in_both_formats() {
    let names = model_names();
    assert!(names.len() >= 12, "fixtures missing: {names:?}");
    let mut worst = (0f32, String::new());
    let mut checked = 0;
    for name in &names {
        for ext in ["keras", "h5"] {
            let path = fixtures().join(format!("{name}.{ext}"));
            let model = load_model(&path).unwrap_or_else(|e| panic!("{e}"));
            let err = worst_error(&model, name);
            assert!(
                err <= 1e-4,
                "{name}.{ext}: worst difference from Keras {err}"
            );
            if err >= worst.0 {
                worst = (err, format!("{name}.{ext}"));
            }
            checked += 1;
        }
    }
    println!(
        "{checked} model files match Keras; worst absolute difference {:e} ({})",
        worst.0, worst.1
    );
}

#[test]
fn chunked_compressed_datasets_are_read() {
    let model = load_model(&fixtures().join("resnet_block.chunked.h5")).unwrap();
    assert!(worst_error(&model, "resnet_block") <= 1e-4);
}

#[test]
fn both_formats_give_the_same_summary_and_parameter_count() {
    for name in model_names() {
        let a = load_model(&fixtures().join(format!("{name}.keras"))).unwrap();
        let b = load_model(&fixtures().join(format!("{name}.h5"))).unwrap();
        assert_eq!(a.count_params(), b.count_params(), "{name}");
        assert_eq!(a.summary(), b.summary(), "{name}");
        assert!(a.summary().contains("Total params"), "{name}");
    }
}

#[test]
fn nested_model_keeps_keras_layer_names() {
    let model = load_model(&fixtures().join("nested.keras")).unwrap();
    let summary = model.summary();
    assert!(summary.contains("features/conv2d"), "{summary}");
    assert!(
        summary.contains("features/batch_normalization"),
        "{summary}"
    );
}

#[test]
fn a_layer_krust_lacks_is_named() {
    for ext in ["keras", "h5"] {
        let err = load_model(&fixtures().join(format!("unsupported_lstm.{ext}")))
            .err()
            .expect("LSTM must be refused")
            .to_string();
        assert!(
            err.contains("LSTM") && err.contains("unsupported_lstm"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn an_argument_krust_lacks_is_named() {
    for ext in ["keras", "h5"] {
        let err = load_model(&fixtures().join(format!("unsupported_argument.{ext}")))
            .err()
            .expect("channels_first must be refused")
            .to_string();
        assert!(
            err.contains("data_format") && err.contains("channels_first"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("krust-import-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Loading `bytes` saved as `file_name` must return an error (or, for a harmless change, a
/// model), never panic; errors are one line that names the file.
fn load_damaged(dir: &Path, file_name: &str, bytes: &[u8]) -> Option<String> {
    let path = dir.join(file_name);
    std::fs::write(&path, bytes).unwrap();
    let result = std::panic::catch_unwind(|| load_model(&path).err().map(|e| e.to_string()));
    let err = result.unwrap_or_else(|_| panic!("panic on damaged {file_name}"));
    if let Some(e) = &err {
        assert!(
            e.contains(&path.display().to_string()),
            "error does not name the file: {e}"
        );
        assert_eq!(e.lines().count(), 1, "not one line: {e}");
    }
    err
}

#[test]
fn truncated_files_give_one_line_errors() {
    let dir = scratch("truncated");
    for file in [
        "resnet_block.keras",
        "resnet_block.h5",
        "nested.keras",
        "nested.h5",
    ] {
        let bytes = std::fs::read(fixtures().join(file)).unwrap();
        let mut cuts: Vec<usize> = (0..64).map(|i| i * bytes.len() / 64).collect();
        cuts.extend([0, 1, 4, 8, 100, bytes.len() - 1]);
        for cut in cuts {
            let err = load_damaged(&dir, file, &bytes[..cut]);
            assert!(err.is_some(), "{file} cut at {cut} loaded");
        }
    }
}

#[test]
fn flipped_bytes_never_panic() {
    let dir = scratch("flipped");
    for file in ["multi_io.keras", "multi_io.h5", "sequential_cnn.h5"] {
        let bytes = std::fs::read(fixtures().join(file)).unwrap();
        // A deterministic spread of positions, denser in the first 4 KiB (headers, B-trees).
        let mut positions: Vec<usize> = (0..200).map(|i| i * 4096 / 200).collect();
        positions.extend((0..200).map(|i| (i * 7919 + 13) % bytes.len()));
        for pos in positions {
            for flip in [0xff, 0x01] {
                let mut damaged = bytes.clone();
                damaged[pos] ^= flip;
                load_damaged(&dir, file, &damaged);
            }
        }
    }
}

#[test]
fn a_krust_model_file_loads_too() {
    let dir = scratch("krust");
    let mut seq = krust_nn::Sequential::new();
    seq.add(krust_nn::layers::Input::new(&[4])).unwrap();
    seq.add(krust_nn::layers::Dense::new(3)).unwrap();
    let path = dir.join("tiny.krust");
    krust_nn::saving::save_model(&seq, &path).unwrap();
    let loaded = load_model(&path).unwrap();
    let x = krust_tensor::Tensor::from_vec([2, 4], vec![0.5; 8]).unwrap();
    assert_eq!(
        loaded.predict(std::slice::from_ref(&x)).unwrap()[0].to_vec(),
        seq.predict(&x).unwrap().to_vec()
    );
    let garbage = load_damaged(&dir, "garbage.keras", b"not a zip at all").unwrap();
    assert!(garbage.contains("zip"), "{garbage}");
}

#[test]
fn every_keras_model_saved_as_a_krust_file_predicts_bit_identically() {
    let dir = scratch("convert");
    for name in model_names() {
        let model = load_model(&fixtures().join(format!("{name}.keras"))).unwrap();
        let path = dir.join(format!("{name}.krust"));
        krust_nn::saving::save_model(&model, &path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let again = load_model(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let xs = arrays(&name, "x");
        let (a, b) = (model.predict(&xs).unwrap(), again.predict(&xs).unwrap());
        for (x, y) in a.iter().zip(&b) {
            assert!(
                x.to_vec()
                    .iter()
                    .zip(y.to_vec())
                    .all(|(p, q)| p.to_bits() == q.to_bits()),
                "{name}: predictions changed through the krust file"
            );
        }
        assert_eq!(again.summary(), model.summary(), "{name}");
    }
}
