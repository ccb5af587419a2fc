//! Keras's callback semantics, checked on scripted logs (EarlyStopping, ReduceLROnPlateau,
//! LearningRateScheduler, CSVLogger, ModelCheckpoint) and in real `fit` runs (TerminateOnNaN,
//! class weights, validation logs, restoring the best weights).

use krust_data::{Dataset, Samples, Targets};
use krust_nn::layers::{Dense, Input};
use krust_nn::losses::SparseCategoricalCrossentropy;
use krust_nn::optimizers::{Adam, Optimizer, Sgd};
use krust_nn::Sequential;
use krust_train::{
    fit, Callback, Control, CsvLogger, EarlyStopping, FitConfig, LearningRateScheduler, Logs,
    ModelCheckpoint, ReduceLROnPlateau, TerminateOnNaN,
};

/// Input 2 → Dense 2 with fixed weights: tests run in parallel threads that share the global
/// seed, so the weights must not come from the random initializer.
fn tiny_model() -> Sequential {
    let mut m = Sequential::new();
    m.add(Input::new(&[2])).expect("input");
    m.add(Dense::new(2)).expect("dense");
    let values = [vec![0.3, -0.2, 0.1, 0.4], vec![0.05, -0.05]];
    for (param, value) in m.parameters().iter().zip(values) {
        let shape = param.value().shape().to_vec();
        param
            .set_value(krust_tensor::Tensor::from_vec(shape, value).expect("shape"))
            .expect("set");
    }
    m
}

fn logs(pairs: &[(&str, f64)]) -> Logs {
    let mut l = Logs::default();
    for (name, value) in pairs {
        l.set(name, *value);
    }
    l
}

/// Feeds `values` of `monitor` to `callback` epoch by epoch; returns the epoch after which
/// training was stopped, if it was, and the learning rate after each epoch.
fn drive(
    callback: &mut dyn Callback,
    monitor: &str,
    values: &[f64],
    optimizer: &mut dyn Optimizer,
) -> (Option<usize>, Vec<f32>) {
    drive_resumed(callback, monitor, &[], values, &tiny_model(), optimizer)
}

#[test]
fn early_stopping_waits_patience_epochs_without_improvement() {
    let mut sgd = Sgd::new(0.1, 0.0, false).expect("sgd");
    // Best at epoch 1 (0.5); epochs 2, 3 do not improve; patience 2 stops after epoch 3.
    let mut es = EarlyStopping::new("val_loss", 2);
    let (stopped, _) = drive(&mut es, "val_loss", &[0.9, 0.5, 0.6, 0.55, 0.1], &mut sgd);
    assert_eq!(stopped, Some(3));
    assert_eq!(es.best_epoch(), 1);
}

#[test]
fn early_stopping_min_delta_ignores_tiny_improvements_and_accuracy_is_maximized() {
    let mut sgd = Sgd::new(0.1, 0.0, false).expect("sgd");
    let mut es = EarlyStopping::new("val_loss", 1).min_delta(0.01);
    let (stopped, _) = drive(&mut es, "val_loss", &[1.0, 0.995, 0.9], &mut sgd);
    assert_eq!(stopped, Some(1), "0.005 is below min_delta");
    let mut es = EarlyStopping::new("val_accuracy", 1);
    let (stopped, _) = drive(&mut es, "val_accuracy", &[0.5, 0.6, 0.7, 0.65], &mut sgd);
    assert_eq!(stopped, Some(3));
}

#[test]
fn early_stopping_with_an_absent_metric_names_what_the_logs_hold() {
    let mut sgd = Sgd::new(0.1, 0.0, false).expect("sgd");
    let model = tiny_model();
    let mut control = Control {
        model: &model,
        optimizer: &mut sgd,
        stop_training: false,
        stop_reason: None,
    };
    let mut es = EarlyStopping::new("val_loss", 1);
    es.on_train_begin(&mut control).expect("begin");
    let error = es
        .on_epoch_end(0, &logs(&[("loss", 1.0)]), &mut control)
        .expect_err("no val_loss");
    let text = error.to_string();
    assert!(
        text.contains("val_loss") && text.contains("available: loss"),
        "{text}"
    );
}

#[test]
fn reduce_lr_on_plateau_multiplies_by_factor_after_patience_and_respects_cooldown_and_min_lr() {
    let mut sgd = Sgd::new(1.0, 0.0, false).expect("sgd");
    let mut plateau = ReduceLROnPlateau::new("val_loss", 0.5, 2)
        .expect("valid")
        .cooldown(1)
        .min_lr(0.2);
    // As Keras: improves at 0, then flat: reduce after epoch 2 (wait 2). Epoch 3 ends the
    // cooldown and counts wait 1 in the same step, so epoch 4 reduces to 0.25; epoch 6 would
    // give 0.125 and is clamped to min_lr 0.2, after which nothing changes.
    let (_, rates) = drive(
        &mut plateau,
        "val_loss",
        &[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        &mut sgd,
    );
    assert_eq!(rates, vec![1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2, 0.2]);
    assert!(ReduceLROnPlateau::new("val_loss", 1.5, 2).is_err());
}

#[test]
fn learning_rate_scheduler_sets_the_rate_at_each_epoch_start() {
    let mut adam = Adam::new(1e-3).expect("adam");
    let mut scheduler = LearningRateScheduler::new(|epoch, _| 0.1 / (epoch as f64 + 1.0));
    let (_, rates) = drive(&mut scheduler, "loss", &[1.0, 1.0, 1.0], &mut adam);
    let expected = [0.1f32, 0.05, 0.1 / 3.0];
    for (r, e) in rates.iter().zip(expected) {
        assert!((r - e).abs() < 1e-7, "{rates:?}");
    }
}

#[test]
fn csv_logger_writes_keras_columns_and_appends_when_asked() {
    let path = std::env::temp_dir().join(format!("krust-csv-{}.csv", std::process::id()));
    let mut sgd = Sgd::new(0.1, 0.0, false).expect("sgd");
    let model = tiny_model();
    let mut control = Control {
        model: &model,
        optimizer: &mut sgd,
        stop_training: false,
        stop_reason: None,
    };
    let mut csv = CsvLogger::new(&path);
    csv.on_train_begin(&mut control).expect("begin");
    for epoch in 0..2 {
        let l = logs(&[("loss", 1.0 / (epoch as f64 + 1.0)), ("val_loss", 2.0)]);
        csv.on_epoch_end(epoch, &l, &mut control).expect("row");
    }
    assert_eq!(
        std::fs::read_to_string(&path).expect("csv"),
        "epoch,loss,val_loss\n0,1,2\n1,0.5,2\n"
    );
    let mut more = CsvLogger::new(&path).append(true);
    more.on_train_begin(&mut control).expect("begin");
    more.on_epoch_end(2, &logs(&[("loss", 0.25), ("val_loss", 1.5)]), &mut control)
        .expect("row");
    assert!(std::fs::read_to_string(&path)
        .expect("csv")
        .ends_with("1,0.5,2\n2,0.25,1.5\n"));
}

#[test]
fn model_checkpoint_saves_only_improvements() {
    let path = std::env::temp_dir().join(format!("krust-ckpt-{}.krust", std::process::id()));
    let mut sgd = Sgd::new(0.1, 0.0, false).expect("sgd");
    let mut checkpoint = ModelCheckpoint::new(&path, "val_loss", true);
    drive(&mut checkpoint, "val_loss", &[1.0, 0.8, 0.9, 0.7], &mut sgd);
    assert_eq!(checkpoint.saved_epochs, vec![0, 1, 3]);
    assert!(krust_nn::saving::load_model(&path).is_ok());
}

/// Two linearly separable classes of 2-D points, as floats.
fn blobs(n: usize) -> Dataset {
    let mut x = Vec::new();
    let mut labels = Vec::new();
    for i in 0..n {
        let class = (i % 2) as u32;
        let sign = if class == 0 { -1.0 } else { 1.0 };
        x.push(sign + 0.1 * ((i * 7 % 13) as f32 / 13.0));
        x.push(sign * 0.5);
        labels.push(class);
    }
    Dataset::new(
        "blobs",
        Samples::Floats(x),
        vec![2],
        Targets::Classes {
            labels,
            num_classes: 2,
        },
        vec![],
    )
    .expect("valid")
}

#[test]
fn terminate_on_nan_stops_cleanly_where_fit_alone_fails() {
    let data = blobs(64);
    let loss = SparseCategoricalCrossentropy { from_logits: true };
    let cfg = FitConfig {
        epochs: 3,
        batch_size: 16,
        ..FitConfig::default()
    };
    let model = tiny_model();
    model.parameters()[0]
        .set_value(krust_tensor::Tensor::from_vec(vec![2, 2], vec![f32::NAN; 4]).expect("nan"))
        .expect("set");
    let mut sgd = Sgd::new(0.1, 0.0, false).expect("sgd");
    let error = fit(&model, &mut sgd, &loss, &data, &cfg, &mut []).expect_err("NaN loss");
    assert!(error.to_string().contains("NaN"), "{error}");
    let mut stop = TerminateOnNaN;
    let history = fit(&model, &mut sgd, &loss, &data, &cfg, &mut [&mut stop]).expect("clean stop");
    assert!(history.epochs.is_empty());
    assert!(history
        .stopped_early
        .as_deref()
        .is_some_and(|r| r.contains("invalid loss")));
}

#[test]
fn fit_logs_validation_metrics_and_early_stopping_restores_the_best_weights() {
    let data = blobs(128);
    let (train, validation) = data.split_validation(0.25).expect("split");
    let loss = SparseCategoricalCrossentropy { from_logits: true };
    let cfg = FitConfig {
        epochs: 40,
        batch_size: 16,
        validation: Some(&validation),
        ..FitConfig::default()
    };
    let model = tiny_model();
    let mut adam = Adam::new(0.05).expect("adam");
    let mut es = EarlyStopping::new("val_loss", 0)
        .min_delta(10.0) // nothing ever improves after the first epoch
        .restore_best_weights(true);
    let history = fit(&model, &mut adam, &loss, &train, &cfg, &mut [&mut es]).expect("fit");
    assert_eq!(history.epochs.len(), 2, "stops after the second epoch");
    assert!(history.names().contains(&"val_accuracy".to_string()));
    assert!(history.stopped_early.is_some());
    // The weights are the first epoch's again: evaluating gives epoch 1's validation loss.
    let logs =
        krust_train::evaluate_metrics(&model, &loss, &validation, 64, &[]).expect("evaluate");
    let first = history.epochs[0].get("val_loss");
    assert!((logs.get("loss").expect("loss") - first).abs() < 1e-6);
}

#[test]
fn class_weights_scale_each_samples_loss() {
    let data = blobs(32);
    let loss = SparseCategoricalCrossentropy { from_logits: true };
    let run = |weights: Option<Vec<f32>>| {
        let model = tiny_model();
        // One batch per epoch: the logged loss is the initial weights' loss.
        let mut sgd = Sgd::new(0.1, 0.0, false).expect("sgd");
        let cfg = FitConfig {
            epochs: 1,
            batch_size: 32,
            shuffle: false,
            class_weights: weights,
            ..FitConfig::default()
        };
        fit(&model, &mut sgd, &loss, &data, &cfg, &mut [])
            .expect("fit")
            .epochs[0]
            .loss()
    };
    let plain = run(None);
    // Doubling every weight doubles the mean loss; weights (1, 0) keep half the samples' losses.
    assert!((run(Some(vec![2.0, 2.0])) - 2.0 * plain).abs() < 1e-5);
    let class0 = run(Some(vec![1.0, 0.0]));
    let class1 = run(Some(vec![0.0, 1.0]));
    assert!((class0 + class1 - plain).abs() < 1e-5);
    let model = tiny_model();
    let mut sgd = Sgd::new(0.1, 0.0, false).expect("sgd");
    let cfg = FitConfig {
        class_weights: Some(vec![1.0]),
        ..FitConfig::default()
    };
    let error = fit(&model, &mut sgd, &loss, &data, &cfg, &mut []).expect_err("1 weight for 2");
    assert!(error.to_string().contains("class weights"), "{error}");
}

/// Starts `callback` as a resumed run does: `on_train_begin`, then the earlier epochs'
/// `monitor` values (and learning rates) replayed; then `values` as live epochs. Returns
/// the epoch training stopped after, and the learning rate after each live epoch.
fn drive_resumed(
    callback: &mut dyn Callback,
    monitor: &str,
    earlier: &[(f64, f64)],
    values: &[f64],
    model: &Sequential,
    optimizer: &mut dyn Optimizer,
) -> (Option<usize>, Vec<f32>) {
    let mut control = Control {
        model,
        optimizer,
        stop_training: false,
        stop_reason: None,
    };
    callback.on_train_begin(&mut control).expect("begin");
    for (epoch, &(value, rate)) in earlier.iter().enumerate() {
        callback
            .replay_epoch(epoch, &logs(&[(monitor, value), ("learning_rate", rate)]))
            .expect("replay");
    }
    let mut rates = Vec::new();
    for (k, &v) in values.iter().enumerate() {
        let epoch = earlier.len() + k;
        callback
            .on_epoch_begin(epoch, &mut control)
            .expect("epoch begin");
        callback
            .on_epoch_end(epoch, &logs(&[(monitor, v)]), &mut control)
            .expect("epoch end");
        rates.push(control.optimizer.learning_rate());
        if control.stop_training {
            return (Some(epoch), rates);
        }
    }
    (None, rates)
}

#[test]
fn resumed_callbacks_replay_the_earlier_epochs_and_act_as_an_uninterrupted_run_would() {
    let model = tiny_model();
    // EarlyStopping, patience 2: straight through it stops after epoch 3.
    let values = [1.0, 0.9, 0.95, 0.96];
    let mut straight = EarlyStopping::new("val_loss", 2);
    let mut sgd = Sgd::new(0.1, 0.0, false).unwrap();
    assert_eq!(
        drive(&mut straight, "val_loss", &values, &mut sgd).0,
        Some(3)
    );
    let earlier: Vec<(f64, f64)> = values[..3].iter().map(|&v| (v, 0.1)).collect();
    let mut resumed = EarlyStopping::new("val_loss", 2);
    let (stopped, _) = drive_resumed(
        &mut resumed,
        "val_loss",
        &earlier,
        &[0.96],
        &model,
        &mut sgd,
    );
    assert_eq!(
        stopped,
        Some(3),
        "the patience count goes on from before the resume"
    );
    assert_eq!(resumed.best_epoch(), 1);

    // ReduceLROnPlateau, patience 2: the third epoch without improvement halves the rate.
    let mut plateau = ReduceLROnPlateau::new("val_loss", 0.5, 2).unwrap();
    let mut sgd = Sgd::new(0.1, 0.0, false).unwrap();
    let (_, rates) = drive_resumed(
        &mut plateau,
        "val_loss",
        &[(1.0, 0.1), (1.1, 0.1)],
        &[1.2],
        &model,
        &mut sgd,
    );
    assert_eq!(rates, vec![0.05]);

    // ModelCheckpoint: a resumed epoch worse than an earlier best writes nothing.
    let path = std::env::temp_dir().join(format!("krust-replay-{}.krust", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut checkpoint = ModelCheckpoint::new(&path, "val_loss", true);
    let mut sgd = Sgd::new(0.1, 0.0, false).unwrap();
    drive_resumed(
        &mut checkpoint,
        "val_loss",
        &[(0.5, 0.1)],
        &[0.7],
        &model,
        &mut sgd,
    );
    assert!(checkpoint.saved_epochs.is_empty() && !path.exists());
}

#[test]
fn a_resumed_early_stopping_restores_a_best_epoch_from_before_the_resume_from_its_file() {
    let path = std::env::temp_dir().join(format!("krust-es-best-{}.krust", std::process::id()));
    // The best epoch's weights, as the interrupted run wrote them.
    let best = tiny_model();
    krust_nn::saving::save_model(&best, &path).unwrap();
    // The resumed model has moved on since.
    let model = tiny_model();
    for p in model.parameters() {
        let moved: Vec<f32> = p.value().to_vec().iter().map(|v| v + 1.0).collect();
        let shape = p.value().shape().to_vec();
        p.set_value(krust_tensor::Tensor::from_vec(shape, moved).unwrap())
            .unwrap();
    }
    let mut early = EarlyStopping::new("val_loss", 1)
        .restore_best_weights(true)
        .best_weights_file(&path);
    let mut sgd = Sgd::new(0.1, 0.0, false).unwrap();
    let (stopped, _) = drive_resumed(
        &mut early,
        "val_loss",
        &[(0.5, 0.1)],
        &[0.9],
        &model,
        &mut sgd,
    );
    assert_eq!(stopped, Some(1));
    for (restored, saved) in model.parameters().iter().zip(best.parameters()) {
        assert_eq!(restored.value().to_vec(), saved.value().to_vec());
    }
    std::fs::remove_file(&path).unwrap();
}
