//! Accuracy metrics over rows of class scores, matching Keras's `*_accuracy` functions.

use crate::validate::{labels_in_range, not_empty, row_count, same_length};
use crate::MetricsError;

/// Index of the largest score in each row of a row-major `rows × num_classes` matrix.
///
/// Ties go to the first index, like Keras/NumPy `argmax`. NaN scores never win; a row that
/// is all NaN maps to class 0.
pub fn argmax_rows(scores: &[f32], num_classes: usize) -> Result<Vec<u32>, MetricsError> {
    row_count("scores", scores, num_classes)?;
    Ok(scores.chunks_exact(num_classes).map(argmax).collect())
}

/// Fraction of rows whose argmax equals the integer label (Keras
/// `sparse_categorical_accuracy`).
pub fn sparse_categorical_accuracy(
    scores: &[f32],
    num_classes: usize,
    labels: &[u32],
) -> Result<f64, MetricsError> {
    let rows = row_count("scores", scores, num_classes)?;
    same_length("scores rows", rows, "labels", labels.len())?;
    labels_in_range("labels", labels, num_classes)?;
    let correct = scores
        .chunks_exact(num_classes)
        .zip(labels)
        .filter(|(row, &label)| argmax(row) == label)
        .count();
    Ok(correct as f64 / rows as f64)
}

/// Fraction of rows whose argmax equals the argmax of the one-hot target row (Keras
/// `categorical_accuracy`).
pub fn categorical_accuracy(
    scores: &[f32],
    one_hot: &[f32],
    num_classes: usize,
) -> Result<f64, MetricsError> {
    same_length("scores", scores.len(), "one_hot", one_hot.len())?;
    let rows = row_count("scores", scores, num_classes)?;
    let correct = scores
        .chunks_exact(num_classes)
        .zip(one_hot.chunks_exact(num_classes))
        .filter(|(row, target)| argmax(row) == argmax(target))
        .count();
    Ok(correct as f64 / rows as f64)
}

/// Keras's default `threshold` for [`binary_accuracy`].
pub const DEFAULT_BINARY_THRESHOLD: f32 = 0.5;

/// Fraction of entries where `(probability > threshold)` equals the target (Keras
/// `binary_accuracy`; Keras's default threshold is [`DEFAULT_BINARY_THRESHOLD`]).
///
/// As in Keras, the prediction is `1.0` only when strictly above the threshold, and a target
/// that is neither `0.0` nor `1.0` never counts as correct.
pub fn binary_accuracy(
    probabilities: &[f32],
    targets: &[f32],
    threshold: f32,
) -> Result<f64, MetricsError> {
    same_length(
        "probabilities",
        probabilities.len(),
        "targets",
        targets.len(),
    )?;
    not_empty("probabilities", probabilities.len())?;
    let correct = probabilities
        .iter()
        .zip(targets)
        .filter(|(&p, &t)| {
            let predicted = if p > threshold { 1.0 } else { 0.0 };
            predicted == t
        })
        .count();
    Ok(correct as f64 / probabilities.len() as f64)
}

/// Fraction of rows whose label is among the `k` largest scores (Keras
/// `sparse_top_k_categorical_accuracy`, default `k = 5`).
///
/// Ties follow TensorFlow's `in_top_k`: classes tied with the label's score all count as in
/// the top k, so a row is correct when fewer than `k` classes score strictly higher than the
/// label. A non-finite label score is never correct.
pub fn top_k_accuracy(
    scores: &[f32],
    num_classes: usize,
    labels: &[u32],
    k: usize,
) -> Result<f64, MetricsError> {
    if k == 0 {
        return Err(MetricsError::InvalidArgument {
            name: "k",
            value: 0,
            reason: "top-k accuracy needs k >= 1",
        });
    }
    let rows = row_count("scores", scores, num_classes)?;
    same_length("scores rows", rows, "labels", labels.len())?;
    labels_in_range("labels", labels, num_classes)?;
    let correct = scores
        .chunks_exact(num_classes)
        .zip(labels)
        .filter(|(row, &label)| {
            let label_score = row[label as usize];
            label_score.is_finite() && row.iter().filter(|&&s| s > label_score).count() < k
        })
        .count();
    Ok(correct as f64 / rows as f64)
}

/// First index of the largest non-NaN value; 0 when every value is NaN.
fn argmax(row: &[f32]) -> u32 {
    let mut best: Option<(usize, f32)> = None;
    for (index, &value) in row.iter().enumerate() {
        if value.is_nan() {
            continue;
        }
        if best.is_none_or(|(_, best_value)| value > best_value) {
            best = Some((index, value));
        }
    }
    best.map_or(0, |(index, _)| index as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_rows_breaks_ties_towards_the_first_index() {
        let scores = [0.2, 0.5, 0.5, 0.9, 0.1, 0.9, 0.0, 0.0, 0.0];
        assert_eq!(argmax_rows(&scores, 3).unwrap(), vec![1, 0, 0]);
    }

    #[test]
    fn argmax_rows_skips_nan_scores() {
        let scores = [f32::NAN, 0.1, 0.3, f32::NAN, f32::NAN, f32::NAN];
        assert_eq!(argmax_rows(&scores, 3).unwrap(), vec![2, 0]);
    }

    #[test]
    fn argmax_rows_rejects_a_length_that_is_not_a_multiple_of_num_classes() {
        assert_eq!(
            argmax_rows(&[0.0; 5], 2).unwrap_err(),
            MetricsError::NotRowMajor {
                what: "scores",
                len: 5,
                num_classes: 2
            }
        );
    }

    #[test]
    fn argmax_rows_rejects_zero_classes() {
        assert!(matches!(
            argmax_rows(&[0.0; 4], 0),
            Err(MetricsError::InvalidArgument {
                name: "num_classes",
                ..
            })
        ));
    }

    #[test]
    fn sparse_categorical_accuracy_counts_rows_whose_argmax_is_the_label() {
        // argmax per row: 1, 0, 2, 2 against labels 1, 1, 2, 0 -> 2 of 4.
        let scores = [
            0.1, 0.8, 0.1, //
            0.6, 0.3, 0.1, //
            0.2, 0.2, 0.6, //
            0.3, 0.3, 0.4,
        ];
        let accuracy = sparse_categorical_accuracy(&scores, 3, &[1, 1, 2, 0]).unwrap();
        assert_eq!(accuracy, 0.5);
    }

    #[test]
    fn sparse_categorical_accuracy_rejects_a_label_out_of_range() {
        let err = sparse_categorical_accuracy(&[0.5, 0.5, 0.5, 0.5], 2, &[0, 2]).unwrap_err();
        assert_eq!(
            err,
            MetricsError::LabelOutOfRange {
                what: "labels",
                index: 1,
                label: 2,
                num_classes: 2
            }
        );
    }

    #[test]
    fn sparse_categorical_accuracy_rejects_more_rows_than_labels() {
        let err = sparse_categorical_accuracy(&[0.5; 6], 2, &[0, 1]).unwrap_err();
        assert!(matches!(
            err,
            MetricsError::LengthMismatch {
                left_len: 3,
                right_len: 2,
                ..
            }
        ));
    }

    #[test]
    fn sparse_categorical_accuracy_rejects_empty_scores() {
        assert_eq!(
            sparse_categorical_accuracy(&[], 3, &[]).unwrap_err(),
            MetricsError::Empty { what: "scores" }
        );
    }

    #[test]
    fn categorical_accuracy_compares_argmax_of_scores_and_one_hot_rows() {
        let scores = [0.1, 0.9, 0.7, 0.3, 0.5, 0.5];
        let one_hot = [0.0, 1.0, 0.0, 1.0, 1.0, 0.0];
        // Rows: 1 vs 1 (hit), 0 vs 1 (miss), 0 (tie to first) vs 0 (hit).
        let accuracy = categorical_accuracy(&scores, &one_hot, 2).unwrap();
        assert!((accuracy - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn categorical_accuracy_rejects_mismatched_lengths() {
        assert!(matches!(
            categorical_accuracy(&[0.0; 4], &[0.0; 6], 2),
            Err(MetricsError::LengthMismatch { .. })
        ));
    }

    #[test]
    fn binary_accuracy_predicts_one_only_strictly_above_the_threshold() {
        // 0.5 is not above 0.5, so it predicts 0: matches target 0, misses target 1.
        let probabilities = [0.5, 0.5, 0.51, 0.2];
        let targets = [0.0, 1.0, 1.0, 1.0];
        let accuracy = binary_accuracy(&probabilities, &targets, DEFAULT_BINARY_THRESHOLD).unwrap();
        assert_eq!(accuracy, 0.5);
    }

    #[test]
    fn binary_accuracy_honours_a_custom_threshold() {
        let accuracy = binary_accuracy(&[0.3, 0.1], &[1.0, 0.0], 0.25).unwrap();
        assert_eq!(accuracy, 1.0);
    }

    #[test]
    fn top_k_accuracy_counts_labels_among_the_k_largest_scores() {
        let scores = [
            0.5, 0.3, 0.2, 0.0, // label 1 is 2nd
            0.1, 0.2, 0.3, 0.4, // label 0 is 4th
            0.4, 0.3, 0.2, 0.1, // label 2 is 3rd
        ];
        let labels = [1, 0, 2];
        assert!((top_k_accuracy(&scores, 4, &labels, 1).unwrap() - 0.0).abs() < 1e-12);
        assert!((top_k_accuracy(&scores, 4, &labels, 2).unwrap() - 1.0 / 3.0).abs() < 1e-12);
        assert!((top_k_accuracy(&scores, 4, &labels, 3).unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(top_k_accuracy(&scores, 4, &labels, 10).unwrap(), 1.0);
    }

    #[test]
    fn top_k_accuracy_counts_scores_tied_at_the_boundary_as_inside_like_in_top_k() {
        // Label 2 ties with classes 1 and 3 behind class 0: only one class scores strictly
        // higher, so it is in the top 2 even though a stable sort would place it 3rd or 4th.
        let scores = [0.9, 0.3, 0.3, 0.3];
        assert_eq!(top_k_accuracy(&scores, 4, &[2], 2).unwrap(), 1.0);
    }

    #[test]
    fn top_k_accuracy_rejects_k_zero() {
        assert!(matches!(
            top_k_accuracy(&[0.5, 0.5], 2, &[0], 0),
            Err(MetricsError::InvalidArgument { name: "k", .. })
        ));
    }
}
