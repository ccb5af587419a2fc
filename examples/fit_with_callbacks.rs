//! Keras-style training from Rust: Fashion-MNIST (the shipped subset), standardized inputs,
//! augmentation on the loader threads, a validation split, early stopping and a CSV log, then
//! test metrics with krust-metrics and a confusion-matrix PNG with krust-plot.
//!
//! `cargo run --release --example fit_with_callbacks`

use krust::data::augment::Pipeline;
use krust::data::fashion_mnist::{load_fashion_mnist, shipped_subset_dir};
use krust::metrics::{argmax_rows, ConfusionMatrix};
use krust::nn::layers::{Layer, Normalization};
use krust::nn::losses::SparseCategoricalCrossentropy;
use krust::nn::optimizers::Adam;
use krust::train::{
    fit, predict_probabilities, CsvLogger, EarlyStopping, FitConfig, Metric, TestTimeAugmentation,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = load_fashion_mnist(&shipped_subset_dir())?;
    let (train, validation) = data.train.split_validation(0.1)?;

    // Per-channel statistics fitted on the training set live in the model's first layer.
    let (mean, variance) = train.channel_statistics();
    let normalization: Box<dyn Layer> = Box::new(Normalization::with_stats(&mean, &variance));
    krust::tensor::random::set_seed(0);
    let model = krust::zoo::build_with_preprocessing(
        "lenet5",
        train.sample_shape(),
        10,
        vec![normalization],
    )?;

    let augmentation = Pipeline::parse("flip,crop:2")?;
    let out = std::env::temp_dir().join("krust-example");
    std::fs::create_dir_all(&out)?;
    let mut early_stopping = EarlyStopping::new("val_loss", 2).restore_best_weights(true);
    let mut csv = CsvLogger::new(out.join("history.csv"));
    let config = FitConfig {
        epochs: 3,
        batch_size: 64,
        verbose: true,
        metrics: vec![Metric::Accuracy, Metric::TopK(2)],
        validation: Some(&validation),
        augmentation: Some(&augmentation),
        ..FitConfig::default()
    };
    let loss = SparseCategoricalCrossentropy { from_logits: true };
    let mut adam = Adam::new(1e-3)?;
    let history = fit(
        &model,
        &mut adam,
        &loss,
        &train,
        &config,
        &mut [&mut early_stopping, &mut csv],
    )?;
    println!(
        "val_accuracy per epoch: {:?}",
        history.series("val_accuracy")
    );

    let probabilities = predict_probabilities(&model, &data.test, 500, TestTimeAugmentation::Flip)?;
    let labels = data.test.labels().ok_or("Fashion-MNIST has class labels")?;
    let predicted = argmax_rows(&probabilities, 10)?;
    let matrix = ConfusionMatrix::new(labels, &predicted, 10)?;
    println!("{}", matrix.report(data.test.class_names())?);
    krust::plot::confusion_matrix_heatmap(
        out.join("confusion_matrix.png"),
        matrix.counts(),
        data.test.class_names(),
        "LeNet-5 on Fashion-MNIST",
    )?;
    println!(
        "history.csv and confusion_matrix.png are in {}",
        out.display()
    );
    Ok(())
}
