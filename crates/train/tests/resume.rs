//! Saving mid-training and resuming gives exactly the weights of an uninterrupted run:
//! the optimizer's moments and iteration count travel in the file, and each epoch's shuffle
//! depends only on (seed, epoch).

use krust_data::fashion_mnist::{load_fashion_mnist, shipped_subset_dir};
use krust_data::Dataset;
use krust_nn::losses::SparseCategoricalCrossentropy;
use krust_nn::optimizers::Adam;
use krust_nn::saving::{load_training_state, save_training_state};
use krust_nn::Module;
use krust_train::{fit, FitConfig};

fn small_train_set() -> Dataset {
    let data = load_fashion_mnist(&shipped_subset_dir()).unwrap();
    data.train.head(640)
}

fn cfg(initial_epoch: usize, epochs: usize) -> FitConfig<'static> {
    FitConfig {
        epochs,
        initial_epoch,
        batch_size: 64,
        seed: 3,
        ..FitConfig::default()
    }
}

/// Trains `build()` 3 epochs straight, and 1 epoch + save + load + 2 epochs, and requires
/// bit-identical weights.
fn resume_matches_straight_through(what: &str, build: impl Fn() -> Box<dyn Module>) {
    // Both runs start from set_seed(21). The seed is the test thread's own, so the tests of
    // this file run side by side without a lock.
    let train = small_train_set();
    let loss = SparseCategoricalCrossentropy { from_logits: true };

    krust_tensor::random::set_seed(21);
    let straight = build();
    let mut opt = Adam::new(1e-3).unwrap();
    fit(
        straight.as_ref(),
        &mut opt,
        &loss,
        &train,
        &cfg(0, 3),
        &mut [],
    )
    .unwrap();

    krust_tensor::random::set_seed(21);
    let first = build();
    let mut opt = Adam::new(1e-3).unwrap();
    fit(first.as_ref(), &mut opt, &loss, &train, &cfg(0, 1), &mut []).unwrap();
    let path =
        std::env::temp_dir().join(format!("krust-resume-{what}-{}.krust", std::process::id()));
    save_training_state(first.as_ref(), &opt, 1, &path).unwrap();
    drop((first, opt));

    let state = load_training_state(&path).unwrap();
    assert_eq!(state.epochs_done, 1);
    let mut opt = state.optimizer.expect("optimizer saved");
    assert_eq!(opt.iterations(), 10);
    fit(
        &state.model,
        opt.as_mut(),
        &loss,
        &train,
        &cfg(1, 3),
        &mut [],
    )
    .unwrap();

    let (a, b) = (straight.named_weights(), state.model.named_weights());
    assert_eq!(a.len(), b.len());
    for ((name, a), (_, b)) in a.iter().zip(b) {
        let same = a
            .value()
            .to_vec()
            .iter()
            .zip(b.value().to_vec())
            .all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(
            same,
            "{what}: {name} differs between the resumed and the uninterrupted run"
        );
    }
    let _ = std::fs::remove_file(&path);
}

#[test]
fn save_mid_training_then_resume_equals_training_straight_through() {
    resume_matches_straight_through("lenet5", || {
        Box::new(krust_zoo::lenet5(&[28, 28, 1], 10).unwrap())
    });
}

#[test]
fn a_functional_model_resumes_exactly_too() {
    use krust_nn::functional::Graph;
    use krust_nn::layers::{Add, Conv2D, Dense, Flatten, MaxPooling2D};
    use krust_tensor::Padding::Same;
    resume_matches_straight_through("residual", || {
        let g = Graph::new();
        let inputs = g.input(&[28, 28, 1]);
        let x = inputs.apply(MaxPooling2D::new((2, 2))).unwrap();
        let y = x.apply(Conv2D::new(4, (3, 3)).with_padding(Same)).unwrap();
        let shortcut = x.apply(Conv2D::new(4, (1, 1))).unwrap();
        let sum = g.merge(Add::new(), &[&y, &shortcut]).unwrap();
        let logits = sum
            .apply(Flatten::new())
            .unwrap()
            .apply(Dense::new(10))
            .unwrap();
        Box::new(g.model(&[&inputs], &[&logits]).unwrap())
    });
}
