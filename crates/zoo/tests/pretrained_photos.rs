//! The shipped photos through krust's preprocessing and the real pretrained EfficientNet-Lite0,
//! against references made with PyTorch (tools/make_pretrained_reference.py).

use krust_zoo::preprocess::{decode_photo, Preprocessing};
use std::path::{Path, PathBuf};

const PHOTOS: [&str; 4] = ["chelsea.png", "coffee.png", "rocket.jpg", "grace_hopper.jpg"];

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
