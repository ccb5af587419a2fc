//! Metrics checked against scikit-learn 1.9.1 and TensorFlow 2.21.0 on the inputs printed by
//! `tools/make_metrics_reference.py` (numpy seed 11; inputs embedded literally below).

use crate::{
    one_vs_rest_macro_auc, roc_auc, sparse_categorical_accuracy, top_k_accuracy, ConfusionMatrix,
};

fn assert_close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < 1e-12,
        "got {actual}, scikit-learn gives {expected}"
    );
}

#[test]
fn roc_auc_with_many_ties_matches_sklearn_roc_auc_score() {
    let scores = [
        0.1, 0.5, 0.6, 0.0, 0.1, 0.9, 0.1, 0.1, 0.9, 0.6, 0.4, 0.5, 0.7, 0.3, 0.1, 0.8, 0.7, 0.5,
        0.8, 0.5,
    ];
    let positive = [
        false, true, false, false, true, false, true, false, false, true, false, true, true, false,
        false, true, false, true, false, true,
    ];
    assert_close(roc_auc(&scores, &positive).unwrap(), 0.5202020202020202);
}

#[test]
fn one_vs_rest_macro_auc_matches_sklearn_multi_class_ovr() {
    let scores = [
        0.24, 0.21, 0.5, 0.05, 0.23, 0.19, 0.08, 0.5, 0.2, 0.06, 0.47, 0.27, 0.3, 0.24, 0.42, 0.04,
        0.35, 0.35, 0.03, 0.27, 0.17, 0.48, 0.14, 0.21, 0.31, 0.09, 0.4, 0.2, 0.23, 0.08, 0.42,
        0.27, 0.07, 0.15, 0.29, 0.49, 0.04, 0.47, 0.31, 0.18, 0.06, 0.59, 0.05, 0.3, 0.75, 0.04,
        0.15, 0.06,
    ];
    let labels = [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 0];
    assert_close(
        one_vs_rest_macro_auc(&scores, 4, &labels).unwrap(),
        0.5958333333333332,
    );
}

const REPORT_TRUE: [u32; 12] = [0, 1, 2, 2, 2, 1, 0, 0, 3, 3, 1, 2];
const REPORT_PREDICTED: [u32; 12] = [0, 2, 2, 2, 1, 1, 0, 1, 0, 2, 1, 2];

#[test]
fn confusion_matrix_and_macro_scores_match_sklearn_with_zero_division_0() {
    let matrix = ConfusionMatrix::new(&REPORT_TRUE, &REPORT_PREDICTED, 4).unwrap();
    assert_eq!(
        matrix.counts(),
        &[2, 1, 0, 0, 0, 2, 1, 0, 0, 1, 3, 0, 1, 0, 1, 0]
    );
    assert_close(matrix.macro_precision(), 0.44166666666666665);
    assert_close(matrix.macro_recall(), 0.5208333333333333);
    assert_close(matrix.macro_f1(), 0.47619047619047616);
}

#[test]
fn report_reproduces_sklearn_classification_report_character_for_character() {
    let matrix = ConfusionMatrix::new(&REPORT_TRUE, &REPORT_PREDICTED, 4).unwrap();
    let names: Vec<String> = ["T-shirt/top", "Trouser", "Pullover", "Ankle boot"]
        .map(String::from)
        .to_vec();
    // A `\` continuation would strip the header's leading spaces, hence the raw string.
    let expected = r"              precision    recall  f1-score   support

 T-shirt/top       0.67      0.67      0.67         3
     Trouser       0.50      0.67      0.57         3
    Pullover       0.60      0.75      0.67         4
  Ankle boot       0.00      0.00      0.00         2

    accuracy                           0.58        12
   macro avg       0.44      0.52      0.48        12
weighted avg       0.49      0.58      0.53        12
";
    assert_eq!(matrix.report(&names).unwrap(), expected);
}

#[test]
fn top_k_ties_straddling_k_match_tensorflow_in_top_k() {
    let scores = [
        0.9, 0.3, 0.3, 0.3, //
        0.1, 0.5, 0.5, 0.2, //
        0.4, 0.4, 0.4, 0.4,
    ];
    let labels = [2, 3, 1];
    // in_top_k k=1: [False, False, True]; k=2: [True, False, True].
    assert_close(top_k_accuracy(&scores, 4, &labels, 1).unwrap(), 1.0 / 3.0);
    assert_close(top_k_accuracy(&scores, 4, &labels, 2).unwrap(), 2.0 / 3.0);
    // Keras's sparse_categorical_accuracy takes the first index of a tie, so row 3 (all
    // 0.4, label 1) is wrong there even though in_top_k calls it a hit at k = 1.
    assert_close(
        sparse_categorical_accuracy(&scores, 4, &labels).unwrap(),
        0.0,
    );
}
