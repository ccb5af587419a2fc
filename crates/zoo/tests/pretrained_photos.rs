//! The shipped photos through krust's preprocessing and the real pretrained EfficientNet-Lite0,
//! against references made with PyTorch (tools/make_pretrained_reference.py).

use krust_zoo::preprocess::{decode_photo, Preprocessing};
use std::path::{Path, PathBuf};

const PHOTOS: [&str; 4] = [
    "chelsea.png",
    "coffee.png",
    "rocket.jpg",
    "grace_hopper.jpg",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// torchvision's Resize(256) + CenterCrop(224) of each photo, as uint8 (4, 224, 224, 3).
fn torchvision_crops() -> Vec<u8> {
    let bytes = std::fs::read(root().join("fixtures/pretrained/photos_224.npy")).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    assert_eq!(npy.shape(), &[4, 224, 224, 3]);
    npy.into_vec::<u8>().unwrap()
}

#[test]
fn resize_and_centre_crop_match_torchvision_on_every_photo() {
    let reference = torchvision_crops();
    for (i, name) in PHOTOS.iter().enumerate() {
        let image = decode_photo(&root().join("data/photos").join(name)).unwrap();
        let ours = Preprocessing::EFFICIENTNET_LITE
            .resize_and_crop(&image)
            .unwrap()
            .into_raw();
        let theirs = &reference[i * 224 * 224 * 3..(i + 1) * 224 * 224 * 3];
        let diffs: Vec<i32> = ours
            .iter()
            .zip(theirs)
            .map(|(&a, &b)| (i32::from(a) - i32::from(b)).abs())
            .collect();
        let mean = diffs.iter().sum::<i32>() as f64 / diffs.len() as f64;
        let max = diffs.iter().copied().max().unwrap();
        println!("{name}: mean |diff| {mean:.3}, max {max} (of 255)");
        // PIL and the image crate both use an antialiased triangle filter; they differ in
        // intermediate rounding only.
        assert!(mean < 0.5, "{name}: mean difference {mean}");
        assert!(max <= 3, "{name}: max difference {max}");
    }
}

/// The real ImageNet weights (tools/fetch_efficientnet_lite0.sh); tests that need them say
/// so and pass when they are absent (CI has no copy: the file is 18 MB and not ours to ship).
fn lite0_weights() -> Option<PathBuf> {
    let path = root().join("weights/efficientnet-lite0-57934424.pth");
    if path.is_file() {
        Some(path)
    } else {
        println!(
            "skipped: {} is absent; fetch it with tools/fetch_efficientnet_lite0.sh",
            path.display()
        );
        None
    }
}

fn reference_probabilities() -> Vec<f32> {
    krust_import::npy::read_f32(&root().join("fixtures/pretrained/efficientnet_lite0_probs.npy"))
        .unwrap()
        .to_vec()
}

#[test]
fn real_efficientnet_lite0_matches_pytorch_on_the_same_preprocessed_photos() {
    let Some(weights) = lite0_weights() else {
        return;
    };
    let net = krust_zoo::pretrained::load_pretrained(
        "efficientnet_lite0",
        &weights,
        &[224, 224, 3],
        None,
    )
    .unwrap();
    assert_eq!(net.classes, 1000);
    // PyTorch's input: torchvision's crops, normalized with mean 127/255 and std 128/255.
    let p = Preprocessing::EFFICIENTNET_LITE;
    let x: Vec<f32> = torchvision_crops()
        .iter()
        .enumerate()
        .map(|(i, &v)| (f32::from(v) / 255.0 - p.mean[i % 3]) / p.std[i % 3])
        .collect();
    let x = krust_tensor::Tensor::from_vec([4, 224, 224, 3], x).unwrap();
    let logits = net.model.predict(&[x]).unwrap().remove(0);
    let ours: Vec<f32> = krust_zoo::pretrained::probabilities(&logits).concat();
    let theirs = reference_probabilities();
    let worst = ours
        .iter()
        .zip(&theirs)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    println!("max |probability difference| {worst:.2e}");
    assert!(worst <= 1e-4, "{worst}");
}

#[test]
fn classify_from_the_photo_files_agrees_with_pytorchs_pipeline() {
    let Some(weights) = lite0_weights() else {
        return;
    };
    use krust_zoo::pretrained::{classify_photos, load_pretrained, top_k};
    let net = load_pretrained("efficientnet_lite0", &weights, &[224, 224, 3], None).unwrap();
    let photos: Vec<PathBuf> = PHOTOS
        .iter()
        .map(|n| root().join("data/photos").join(n))
        .collect();
    let results =
        classify_photos(&net.model, &Preprocessing::EFFICIENTNET_LITE, &photos, 5).unwrap();
    let theirs = reference_probabilities();
    for (i, result) in results.iter().enumerate() {
        let reference = &theirs[i * 1000..(i + 1) * 1000];
        let mut ours: Vec<usize> = result.top.iter().map(|t| t.0).collect();
        let mut expected: Vec<usize> = top_k(reference, 5).iter().map(|t| t.0).collect();
        println!("{}: {:?}", PHOTOS[i], result.top);
        for &(index, p) in &result.top {
            assert!(
                (p - reference[index]).abs() <= 0.02,
                "{}: class {index}",
                PHOTOS[i]
            );
        }
        ours.sort_unstable();
        expected.sort_unstable();
        assert_eq!(ours, expected, "{}: the top-5 classes", PHOTOS[i]);
    }
    // chelsea.png is a cat (ImageNet 281-285: tabby, tiger cat, Persian, Siamese, Egyptian);
    // coffee.png an espresso (967) or a cup (968).
    assert!(
        (281..=285).contains(&results[0].top[0].0),
        "{:?}",
        results[0].top
    );
    assert!(
        [967, 968].contains(&results[1].top[0].0),
        "{:?}",
        results[1].top
    );
}
