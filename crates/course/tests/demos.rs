//! The course demos as library functions: their numbers against the course notes' worked
//! examples, their PNGs, and the shipped files they read.

use krust_course::{self as demos, NormalizationSettings};
use krust_nn::Activation;
use std::path::{Path, PathBuf};

/// A fresh, empty directory under the system temp dir, unique to this test process.
fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("krust-course-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// A file that exists, is non-empty and starts with the PNG signature.
fn assert_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.len() > 1000,
        "{} is only {} bytes",
        path.display(),
        bytes.len()
    );
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
}

fn close(got: f64, want: f64, tolerance: f64) -> bool {
    (got - want).abs() <= tolerance
}

#[test]
fn losses_demo_reproduces_the_course_examples() {
    let demo = demos::losses().unwrap();

    // Binary cross-entropy is -ln p for label 1 and -ln(1 - p) for label 0.
    let want_binary = [
        (1.0, 0.9, -(0.9f64.ln())),
        (1.0, 0.6, -(0.6f64.ln())),
        (1.0, 0.1, -(0.1f64.ln())),
        (0.0, 0.1, -(0.9f64.ln())),
        (0.0, 0.6, -(0.4f64.ln())),
        (0.0, 0.9, -(0.1f64.ln())),
    ];
    assert_eq!(demo.binary.len(), want_binary.len());
    for (got, (y, p, loss)) in demo.binary.iter().zip(want_binary) {
        assert_eq!((got.target, got.probability), (y, p));
        assert!(close(got.loss.into(), loss, 1e-5), "{got:?}, want {loss}");
    }

    // The three-sample example: -ln 0.9, -ln 0.6, -ln 0.5, mean 0.436.
    for (got, p) in demo.categorical_per_sample.iter().zip([0.9f64, 0.6, 0.5]) {
        assert!(close((*got).into(), -p.ln(), 1e-5), "{got} vs -ln {p}");
    }
    assert!(
        close(demo.categorical_mean.into(), 0.436, 5e-4),
        "{}",
        demo.categorical_mean
    );

    // Scores [5,-3,2], [5,10,10], [5,-20,-20], true class 0.
    let hinge: Vec<f32> = demo.scores.iter().map(|s| s.multiclass_hinge).collect();
    assert_eq!(hinge, vec![0.0, 12.0, 0.0]);
    let ce: Vec<f64> = demo
        .scores
        .iter()
        .map(|s| f64::from(s.cross_entropy))
        .collect();
    // The course rounds to 0.05 and 5.70; the third is ln(1 + 2e^-25) ≈ 2e^-25 = 2.78e-11,
    // which the course writes as "≈ 2e-11".
    assert!(close(ce[0], 0.05, 0.005), "{ce:?}");
    assert!(close(ce[1], 5.70, 0.005), "{ce:?}");
    let third = 2.0 * (-25.0f64).exp();
    assert!(close(ce[2], third, 1e-3 * third), "{ce:?}");
    assert!((1e-11..1e-10).contains(&ce[2]), "{ce:?}");
}

#[test]
fn activations_demo_tables_match_the_course_and_autograd_matches_the_calculus() {
    let dir = temp_dir("activations");
    let demo = demos::activations(&dir).unwrap();

    let sigmoid_of = |x: f32| {
        demo.sigmoid
            .iter()
            .find(|(input, _)| *input == x)
            .map(|(_, s)| f64::from(*s))
            .unwrap_or_else(|| panic!("no sigmoid({x}) row"))
    };
    assert!(close(sigmoid_of(-1.0), 0.268941421, 1e-7));
    assert!(close(sigmoid_of(0.0), 0.5, 0.0));
    assert!(close(sigmoid_of(2.0), 0.880797078, 1e-7));

    let (scores, course) = &demo.softmax[0];
    assert_eq!(scores, &vec![47.0, 50.0, 12.0]);
    assert!(close(course[0].into(), 0.047, 5e-4), "{course:?}");
    assert!(close(course[1].into(), 0.953, 5e-4), "{course:?}");
    // e^-38 / (1 + e^-3 + e^-38) = 2.99e-17; the course's "3.1e-17" is e^-38 before dividing.
    let tiny = (-38.0f64).exp() / (1.0 + (-3.0f64).exp());
    assert!(close(course[2].into(), tiny, 1e-3 * tiny), "{course:?}");
    assert!(
        close(course[2].into(), 3.1e-17, 0.05 * 3.1e-17),
        "{course:?}"
    );
    let (_, gentle) = &demo.softmax[1];
    for (got, want) in gentle.iter().zip([0.09003057, 0.24472847, 0.66524096]) {
        assert!(close((*got).into(), want, 1e-6), "{gentle:?}");
    }

    // Autograd's derivative against the analytic one at a few points of the plotted curves.
    let curve = |name: &str| {
        demo.curves
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no {name} curve"))
    };
    for name in ["sigmoid", "tanh"] {
        let c = curve(name);
        for i in [0, 40, 90, 100, 130, 200] {
            let (x, y, dy) = (c.x[i], c.value[i], c.derivative[i]);
            let want = if name == "sigmoid" {
                y * (1.0 - y)
            } else {
                1.0 - y * y
            };
            assert!(
                close(dy.into(), want.into(), 1e-6),
                "{name}'({x}) = {dy}, want {want}"
            );
        }
    }
    let relu = curve("relu");
    assert_eq!((relu.derivative[40], relu.derivative[160]), (0.0, 1.0));
    let (_, derivative) =
        demos::value_and_derivative(&Activation::Sigmoid, &[-2.0, 0.0, 3.0]).unwrap();
    for (x, d) in [-2.0f64, 0.0, 3.0].iter().zip(derivative) {
        let s = 1.0 / (1.0 + (-x).exp());
        assert!(close(d.into(), s * (1.0 - s), 1e-6), "sigmoid'({x}) = {d}");
    }

    assert_eq!(demo.curves.len(), demos::PLOTTED_ACTIVATIONS.len());
    for c in &demo.curves {
        assert_eq!(c.plot, dir.join(format!("{}.png", c.name)));
        assert_png(&c.plot);
    }
}

#[test]
fn standardized_inputs_train_to_a_lower_loss_than_raw_pixel_values() {
    let dir = temp_dir("normalization");
    let settings = NormalizationSettings {
        train_images: 1000,
        test_images: 500,
        epochs: 2,
        ..NormalizationSettings::default()
    };
    let demo = demos::normalization(&settings, &dir).unwrap();
    let (raw, standardized) = (&demo.raw, &demo.standardized);
    assert_eq!(raw.train_loss.len(), 2);
    assert_eq!(standardized.val_loss.len(), 2);
    assert!(
        standardized.final_train_loss() < raw.final_train_loss(),
        "train loss: standardized {:?}, raw {:?}",
        standardized.train_loss,
        raw.train_loss
    );
    assert!(
        standardized.final_val_loss() < raw.final_val_loss(),
        "test loss: standardized {:?}, raw {:?}",
        standardized.val_loss,
        raw.val_loss
    );
    assert!(
        standardized.final_test_accuracy() > raw.final_test_accuracy() + 0.2,
        "test accuracy: standardized {:?}, raw {:?}",
        standardized.val_accuracy,
        raw.val_accuracy
    );
    // Pixel bytes as floats 0..255: Fashion-MNIST's mean pixel is about 73.
    assert!((60.0..90.0).contains(&demo.mean), "mean {}", demo.mean);
    assert_png(&demo.loss_plot);
    assert_png(&demo.accuracy_plot);
}

#[test]
fn the_shipped_photos_are_found_in_the_source_tree() {
    let photos = demos::shipped_photos();
    assert_eq!(photos.len(), 4);
    for photo in &photos {
        assert!(photo.is_file(), "{} is missing", photo.display());
        // The repository's data/photos (beside crates/course), not a path under this crate.
        let root = photo.ancestors().nth(3).unwrap();
        assert!(
            photo.starts_with(root.join("data/photos"))
                && root.join("crates/course/Cargo.toml").is_file(),
            "{}",
            photo.display()
        );
    }
}
