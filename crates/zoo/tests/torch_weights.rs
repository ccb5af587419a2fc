//! torchvision state dicts loaded into the zoo reproduce PyTorch's logits.
//!
//! References come from `tools/make_torch_zoo_fixtures.py`: weights of randomly initialized
//! torchvision models (BatchNorm statistics moved away from 0/1), an input batch and the
//! eval-mode logits. SqueezeNet 1.1 (10 classes, float16 weights) is committed; the full set
//! (every architecture, 1000 classes, at 224x224 and 72x88) is large and is checked when
//! `target/torch-zoo/` holds it (run the script without arguments to make it).

use krust_import::npy::read_f32;
use krust_tensor::Tensor;
use krust_zoo::pretrained::load_pretrained;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// PyTorch's tolerance for this comparison: 1e-4 + 1e-3 * max|logit|, and the same top-1.
fn assert_logits_match(name: &str, ours: &Tensor, theirs: &Tensor) {
    assert_eq!(ours.shape(), theirs.shape(), "{name}: output shape");
    let scale = theirs.to_vec().iter().fold(0f32, |m, v| m.max(v.abs()));
    let worst = ours.max_abs_diff(theirs).unwrap();
    let tolerance = 1e-4 + 1e-3 * scale;
    println!("{name}: max |diff| {worst:.2e} (tolerance {tolerance:.2e}, max |logit| {scale:.3})");
    assert!(
        worst <= tolerance,
        "{name}: max |diff| {worst} > {tolerance}"
    );
    let classes = *theirs.shape().last().unwrap();
    let argmax = |row: &[f32]| {
        row.iter()
            .enumerate()
            .fold(
                (0, f32::NEG_INFINITY),
                |b, (i, &v)| if v > b.1 { (i, v) } else { b },
            )
            .0
    };
    for (a, b) in ours
        .to_vec()
        .chunks(classes)
        .zip(theirs.to_vec().chunks(classes))
    {
        assert_eq!(argmax(a), argmax(b), "{name}: top-1 differs");
    }
}

/// Loads `dir/name.pth` into the zoo model for the input's size and compares with PyTorch.
fn check(dir: &Path, name: &str, size: &str) {
    let x = read_f32(&dir.join(format!("{name}_input_{size}.npy"))).unwrap();
    let expected = read_f32(&dir.join(format!("{name}_logits_{size}.npy"))).unwrap();
    let net = load_pretrained(
        name,
        &dir.join(format!("{name}.pth")),
        &x.shape()[1..],
        None,
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    let y = net.model.predict(&[x]).unwrap().remove(0);
    assert_logits_match(&format!("{name} {size}"), &y, &expected);
}

#[test]
fn squeezenet_float16_file_reproduces_pytorch_logits() {
    check(&root().join("fixtures/torch/zoo"), "squeezenet1_1", "72x88");
}

#[test]
fn every_torchvision_architecture_reproduces_pytorch_logits_when_references_exist() {
    let dir = root().join("target/torch-zoo");
    if !dir.is_dir() {
        println!(
            "skipped: {} is absent; make it with `python tools/make_torch_zoo_fixtures.py` \
             (torch + torchvision)",
            dir.display()
        );
        return;
    }
    let mut checked = 0;
    for name in krust_zoo::pretrained::PRETRAINED_ARCHITECTURES {
        if !dir.join(format!("{name}.pth")).is_file() {
            continue;
        }
        for size in ["224x224", "72x88"] {
            check(&dir, name, size);
            checked += 1;
        }
    }
    println!("checked {checked} architecture/size pairs");
    assert!(checked > 0, "{} holds no reference", dir.display());
}

#[test]
fn googlenet_auxiliary_heads_are_ignored_with_a_note() {
    let dir = root().join("target/torch-zoo");
    let path = dir.join("googlenet.pth");
    if !path.is_file() {
        println!("skipped: {} is absent", path.display());
        return;
    }
    let net = load_pretrained("googlenet", &path, &[72, 88, 3], None).unwrap();
    assert!(
        net.report
            .notes
            .iter()
            .any(|n| n.contains("aux1.") && n.contains("ignored")),
        "{:?}",
        net.report.notes
    );
}

#[test]
fn a_different_class_count_replaces_the_head() {
    let path = root().join("fixtures/torch/zoo/squeezenet1_1.pth");
    let net = load_pretrained("squeezenet1_1", &path, &[72, 88, 3], Some(3)).unwrap();
    assert_eq!(net.classes, 3);
    assert!(
        net.report
            .notes
            .iter()
            .any(|n| n.contains("classifier.1 was replaced")),
        "{:?}",
        net.report.notes
    );
    let y = net
        .model
        .predict(&[Tensor::zeros([1, 72, 88, 3])])
        .unwrap()
        .remove(0);
    assert_eq!(y.shape(), &[1, 3]);
}

#[test]
fn weights_of_another_architecture_are_refused_with_every_problem_named() {
    // SqueezeNet's file into MobileNet v2: the head is found under another name, so the error
    // is about the file not holding mobilenet_v2 weights.
    let path = root().join("fixtures/torch/zoo/squeezenet1_1.pth");
    let err = load_pretrained("mobilenet_v2", &path, &[72, 88, 3], None)
        .err()
        .expect("must fail")
        .to_string();
    assert!(err.contains("squeezenet1_1.pth"), "{err}");
    assert!(
        err.contains("classifier.1.weight") || err.contains("missing"),
        "{err}"
    );
}

#[test]
fn missing_unexpected_and_misshaped_tensors_are_reported_together() {
    use safetensors::tensor::{Dtype, TensorView};
    let sd = krust_import::load_state_dict(&root().join("fixtures/torch/zoo/squeezenet1_1.pth"))
        .unwrap();
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, t) in sd.iter() {
        let krust_import::TensorData::F32(values) = &t.data else {
            continue;
        };
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        match name {
            "features.0.weight" => continue, // missing
            "features.0.bias" => {
                // mis-shaped: 64 -> 63 values
                tensors.push((name.into(), vec![63], bytes[..63 * 4].to_vec()));
                continue;
            }
            _ => tensors.push((name.into(), t.shape.clone(), bytes)),
        }
    }
    tensors.push(("extra.weight".into(), vec![2], vec![0; 8])); // unexpected
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                TensorView::new(Dtype::F32, s.clone(), b).unwrap(),
            )
        })
        .collect();
    let dir = std::env::temp_dir().join(format!("krust-zoo-weights-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("broken.safetensors");
    safetensors::serialize_to_file(views, &None, &path).unwrap();
    let err = load_pretrained("squeezenet1_1", &path, &[72, 88, 3], None)
        .err()
        .expect("must fail")
        .to_string();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(err.contains("broken.safetensors"), "{err}");
    assert!(err.contains("missing: features.0.weight"), "{err}");
    assert!(err.contains("unexpected: extra.weight"), "{err}");
    assert!(
        err.contains("features.0.bias: the file has [63], the model needs [64]"),
        "{err}"
    );
}
