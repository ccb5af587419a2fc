//! Test-time augmentation averages the probabilities of the views it names: checked against
//! hand-made views predicted one by one.

use krust_data::{Dataset, Samples, Targets};
use krust_nn::layers::{Dense, Flatten, Input};
use krust_nn::Sequential;
use krust_train::{predict, predict_probabilities, TestTimeAugmentation};

/// A linear model on 2x3x1 images whose output depends on where pixels are.
fn model() -> Sequential {
    krust_tensor::random::set_seed(11);
    let mut m = Sequential::new();
    m.add(Input::new(&[2, 3, 1])).expect("input");
    m.add(Flatten::new()).expect("flatten");
    m.add(Dense::new(3)).expect("dense");
    m
}

fn images(pixels: Vec<f32>) -> Dataset {
    let n = pixels.len() / 6;
    Dataset::new(
        "images",
        Samples::Floats(pixels),
        vec![2, 3, 1],
        Targets::Classes {
            labels: vec![0; n],
            num_classes: 3,
        },
        vec![],
    )
    .expect("valid")
}

fn softmax_rows(logits: &[f32], width: usize) -> Vec<f32> {
    logits
        .chunks(width)
        .flat_map(|row| {
            let max = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let exp: Vec<f32> = row.iter().map(|v| (v - max).exp()).collect();
            let sum: f32 = exp.iter().sum();
            exp.into_iter().map(move |e| e / sum)
        })
        .collect()
}

#[test]
fn flip_averages_the_image_and_its_mirror() {
    let m = model();
    let original = vec![0.1, 0.5, 0.9, 0.3, 0.2, 0.7, 1.0, 0.0, 0.4, 0.6, 0.8, 0.25];
    // Mirror each row of each image by hand.
    let mirrored: Vec<f32> = original
        .chunks(3)
        .flat_map(|row| row.iter().rev().copied().collect::<Vec<_>>())
        .collect();
    let p = softmax_rows(
        &predict(&m, &images(original.clone()), 8)
            .expect("predict")
            .to_vec(),
        3,
    );
    let q = softmax_rows(
        &predict(&m, &images(mirrored), 8).expect("predict").to_vec(),
        3,
    );
    let averaged =
        predict_probabilities(&m, &images(original), 8, TestTimeAugmentation::Flip).expect("tta");
    assert_eq!(averaged.len(), 6);
    for ((a, p), q) in averaged.iter().zip(&p).zip(&q) {
        assert!((a - (p + q) / 2.0).abs() < 1e-6, "{a} vs {p} and {q}");
    }
    assert!(
        p.iter().zip(&q).any(|(p, q)| (p - q).abs() > 1e-4),
        "the mirror changes the output"
    );
}

#[test]
fn ten_crop_views_match_the_model_input_size() {
    // 3x4 images, 2x3 crops: ten views averaged into one row of probabilities per image.
    let m = model();
    let pixels: Vec<f32> = (0..24).map(|i| i as f32 / 24.0).collect();
    let data = Dataset::new(
        "big",
        Samples::Floats(pixels),
        vec![3, 4, 1],
        Targets::Classes {
            labels: vec![0, 1],
            num_classes: 3,
        },
        vec![],
    )
    .expect("valid");
    let tta = TestTimeAugmentation::parse("ten-crop:2x3").expect("spec");
    let probabilities = predict_probabilities(&m, &data, 8, tta).expect("ten crops");
    assert_eq!(probabilities.len(), 6);
    for row in probabilities.chunks(3) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
    // The centre crop alone is one of the ten views; their average differs from it.
    let center = predict_probabilities(
        &m,
        &data,
        8,
        TestTimeAugmentation::CenterCrop {
            height: 2,
            width: 3,
        },
    )
    .expect("center crop");
    assert_eq!(center.len(), 6);
    assert!(probabilities
        .iter()
        .zip(&center)
        .any(|(a, c)| (a - c).abs() > 1e-6));
}
