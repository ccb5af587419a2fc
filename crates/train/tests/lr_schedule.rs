//! `schedule_from_spec`: each `--lr-schedule` form sets the rates it promises, and every
//! malformed spec is an error naming the flag.

use krust_nn::optimizers::Adam;
use krust_nn::{layers::Dense, layers::Input, Sequential};
use krust_train::{schedule_from_spec, Control, TrainError};

/// The learning rate a schedule sets at the start of each of `epochs` epochs.
fn rates(spec: &str, base_lr: f64, epochs: usize) -> Vec<f64> {
    let mut model = Sequential::new();
    model.add(Input::new(&[2])).unwrap();
    model.add(Dense::new(1)).unwrap();
    let mut optimizer = Adam::new(base_lr as f32).unwrap();
    let mut callback = schedule_from_spec(spec, base_lr, epochs).unwrap();
    (0..epochs)
        .map(|epoch| {
            let mut control = Control {
                model: &model,
                optimizer: &mut optimizer,
                stop_training: false,
                stop_reason: None,
            };
            callback.on_epoch_begin(epoch, &mut control).unwrap();
            f64::from(control.optimizer.learning_rate())
        })
        .collect()
}

fn close(got: &[f64], want: &[f64]) -> bool {
    got.len() == want.len() && got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-7)
}

#[test]
fn step_exponential_and_cosine_set_the_promised_rates() {
    let step = rates("step:2:0.5", 0.1, 5);
    assert!(close(&step, &[0.1, 0.1, 0.05, 0.05, 0.025]), "{step:?}");
    let exponential = rates("exponential:0.9", 0.1, 3);
    assert!(close(&exponential, &[0.1, 0.09, 0.081]), "{exponential:?}");
    let cosine = rates("cosine", 0.1, 4);
    let want: Vec<f64> = (0..4)
        .map(|e| 0.05 * (1.0 + (std::f64::consts::PI * e as f64 / 4.0).cos()))
        .collect();
    assert!(close(&cosine, &want), "{cosine:?}");
    // A plateau schedule changes nothing before it has seen a validation loss.
    assert!(close(&rates("plateau:2:0.5", 0.1, 2), &[0.1, 0.1]));
}

#[test]
fn malformed_specs_are_errors_naming_the_flag() {
    for spec in [
        "",
        "linear",
        "step",
        "step:0:0.5",
        "step:2.5:0.5",
        "step:2:x",
        "exponential",
        "exponential:fast",
        "cosine:3",
        "plateau:2",
        "plateau:-1:0.5",
        "plateau:2:1.5",
    ] {
        match schedule_from_spec(spec, 0.1, 10) {
            Ok(_) => panic!("{spec:?} was accepted"),
            Err(e) => {
                let text = e.to_string();
                assert!(
                    text.contains("--lr-schedule") || text.contains("ReduceLROnPlateau"),
                    "{spec:?}: {text}"
                );
                assert!(matches!(e, TrainError::Argument { .. }), "{spec:?}: {text}");
            }
        }
    }
}
