//! Area under the ROC curve, exact, with ties handled as scikit-learn's `roc_auc_score`.

use crate::validate::{all_finite, labels_in_range, not_empty, row_count, same_length};
use crate::MetricsError;

/// Exact area under the ROC curve of `scores` (higher means "more positive") against
/// `positive`.
///
/// Samples with equal scores form one threshold, so the curve moves diagonally through a
/// tie; the trapezoid area this gives equals the Mann–Whitney statistic with average ranks
/// and matches scikit-learn's `roc_auc_score`. Errors when only one class is present or a
/// score is not finite.
pub fn roc_auc(scores: &[f32], positive: &[bool]) -> Result<f64, MetricsError> {
    same_length("scores", scores.len(), "positive", positive.len())?;
    not_empty("scores", scores.len())?;
    all_finite("scores", scores)?;
    let positives = positive.iter().filter(|&&p| p).count();
    let negatives = positive.len() - positives;
    if positives == 0 || negatives == 0 {
        return Err(MetricsError::SingleClass {
            positives,
            negatives,
        });
    }

    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_unstable_by(|&a, &b| scores[b].total_cmp(&scores[a]));

    // Walk thresholds from the highest score down. Counts stay integers, and the doubled
    // trapezoid area (sum of Δfp · (tp_before + tp_after)) stays an integer too, so the
    // only rounding is the final division.
    let (mut true_positives, mut false_positives) = (0u64, 0u64);
    let mut doubled_area: u128 = 0;
    let mut start = 0;
    while start < order.len() {
        let threshold = scores[order[start]];
        let mut end = start;
        let (tp_before, fp_before) = (true_positives, false_positives);
        while end < order.len() && scores[order[end]] == threshold {
            if positive[order[end]] {
                true_positives += 1;
            } else {
                false_positives += 1;
            }
            end += 1;
        }
        doubled_area +=
            u128::from(false_positives - fp_before) * u128::from(tp_before + true_positives);
        start = end;
    }
    Ok(doubled_area as f64 / (2.0 * positives as f64 * negatives as f64))
}

/// Macro-averaged one-vs-rest ROC AUC: for each class present in `labels`, the AUC of its
/// score column against "label is this class", averaged without weights.
///
/// Classes absent from `labels` are skipped (their one-vs-rest AUC is undefined), which
/// differs from scikit-learn's `multi_class="ovr"`, which refuses such input. Errors when
/// fewer than two classes are present.
pub fn one_vs_rest_macro_auc(
    scores: &[f32],
    num_classes: usize,
    labels: &[u32],
) -> Result<f64, MetricsError> {
    let rows = row_count("scores", scores, num_classes)?;
    same_length("scores rows", rows, "labels", labels.len())?;
    labels_in_range("labels", labels, num_classes)?;
    let mut present = vec![false; num_classes];
    for &label in labels {
        present[label as usize] = true;
    }
    let present_classes: Vec<usize> = (0..num_classes).filter(|&c| present[c]).collect();
    if present_classes.len() < 2 {
        return Err(MetricsError::SingleClass {
            positives: rows,
            negatives: 0,
        });
    }
    let mut sum = 0.0;
    for &class in &present_classes {
        let column: Vec<f32> = scores
            .chunks_exact(num_classes)
            .map(|row| row[class])
            .collect();
        let is_class: Vec<bool> = labels.iter().map(|&l| l as usize == class).collect();
        sum += roc_auc(&column, &is_class)?;
    }
    Ok(sum / present_classes.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfectly_separated_scores_have_auc_one_and_reversed_scores_zero() {
        let positive = [false, false, true, true];
        assert_eq!(roc_auc(&[0.1, 0.2, 0.8, 0.9], &positive).unwrap(), 1.0);
        assert_eq!(roc_auc(&[0.9, 0.8, 0.2, 0.1], &positive).unwrap(), 0.0);
    }

    #[test]
    fn auc_counts_each_correctly_ordered_pair() {
        // scikit-learn's own example: roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) = 0.75.
        let auc = roc_auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]).unwrap();
        assert_eq!(auc, 0.75);
    }

    #[test]
    fn a_tie_between_a_positive_and_a_negative_counts_half() {
        // Pairs (pos, neg): (0.5, 0.5) tie = 0.5, (0.5, 0.1) = 1, (0.9, 0.5) = 1,
        // (0.9, 0.1) = 1 -> 3.5 / 4.
        let auc = roc_auc(&[0.5, 0.9, 0.5, 0.1], &[true, true, false, false]).unwrap();
        assert_eq!(auc, 0.875);
    }

    #[test]
    fn constant_scores_give_one_half() {
        let auc = roc_auc(&[0.3; 5], &[true, false, true, false, false]).unwrap();
        assert_eq!(auc, 0.5);
    }

    #[test]
    fn roc_auc_rejects_a_single_class() {
        assert_eq!(
            roc_auc(&[0.1, 0.2], &[true, true]).unwrap_err(),
            MetricsError::SingleClass {
                positives: 2,
                negatives: 0
            }
        );
    }

    #[test]
    fn roc_auc_rejects_nan_scores() {
        assert!(matches!(
            roc_auc(&[0.1, f32::NAN], &[true, false]),
            Err(MetricsError::NotFinite { index: 1, .. })
        ));
    }

    #[test]
    fn one_vs_rest_skips_classes_absent_from_the_labels() {
        // Class 2 never appears; classes 0 and 1 are perfectly separated by their columns.
        let scores = [
            0.8, 0.1, 0.1, //
            0.7, 0.2, 0.1, //
            0.1, 0.8, 0.1, //
            0.2, 0.6, 0.2,
        ];
        let auc = one_vs_rest_macro_auc(&scores, 3, &[0, 0, 1, 1]).unwrap();
        assert_eq!(auc, 1.0);
    }

    #[test]
    fn one_vs_rest_rejects_labels_of_a_single_class() {
        assert!(matches!(
            one_vs_rest_macro_auc(&[0.5, 0.5, 0.5, 0.5], 2, &[1, 1]),
            Err(MetricsError::SingleClass { .. })
        ));
    }
}
