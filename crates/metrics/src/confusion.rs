//! Confusion matrix and the per-class scores read from it (precision, recall, F1, report).

use std::fmt::Write as _;

use crate::validate::{labels_in_range, not_empty, positive_num_classes, same_length};
use crate::MetricsError;

/// Counts of (true class, predicted class) pairs: rows are true classes, columns predicted,
/// as in scikit-learn's `confusion_matrix`.
///
/// Per-class scores follow scikit-learn with `labels = range(num_classes)` and
/// `zero_division = 0`: a score whose denominator is zero is 0, and macro averages run over
/// every class, including classes absent from both the labels and the predictions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfusionMatrix {
    num_classes: usize,
    /// Row-major `num_classes × num_classes`.
    counts: Vec<u64>,
}

impl ConfusionMatrix {
    /// Tallies `true_labels[i]` against `predicted[i]`.
    pub fn new(
        true_labels: &[u32],
        predicted: &[u32],
        num_classes: usize,
    ) -> Result<Self, MetricsError> {
        positive_num_classes(num_classes)?;
        same_length(
            "true_labels",
            true_labels.len(),
            "predicted",
            predicted.len(),
        )?;
        not_empty("true_labels", true_labels.len())?;
        labels_in_range("true_labels", true_labels, num_classes)?;
        labels_in_range("predicted", predicted, num_classes)?;
        let mut counts = vec![0; num_classes * num_classes];
        for (&truth, &prediction) in true_labels.iter().zip(predicted) {
            counts[truth as usize * num_classes + prediction as usize] += 1;
        }
        Ok(Self {
            num_classes,
            counts,
        })
    }

    /// Number of classes (rows and columns).
    pub fn num_classes(&self) -> usize {
        self.num_classes
    }

    /// Row-major counts, rows = true class, columns = predicted class (the layout a heatmap
    /// takes).
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// How many samples of class `true_class` were predicted as `predicted_class`.
    pub fn count(&self, true_class: u32, predicted_class: u32) -> Result<u64, MetricsError> {
        let row = self.class_index(true_class)?;
        let column = self.class_index(predicted_class)?;
        Ok(self.cell(row, column))
    }

    /// Number of samples tallied.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Fraction of samples on the diagonal.
    pub fn accuracy(&self) -> f64 {
        let correct: u64 = (0..self.num_classes).map(|c| self.cell(c, c)).sum();
        ratio(correct, self.total())
    }

    /// How many samples truly belong to `class` (its row sum; scikit-learn's "support").
    pub fn support(&self, class: u32) -> Result<u64, MetricsError> {
        Ok(self.row_sum(self.class_index(class)?))
    }

    /// Of the samples predicted as `class`, the fraction that truly are; 0 when none are
    /// predicted as `class`.
    pub fn precision(&self, class: u32) -> Result<f64, MetricsError> {
        Ok(self.precision_of(self.class_index(class)?))
    }

    /// Of the samples truly in `class`, the fraction predicted as `class`; 0 when the class
    /// has no samples.
    pub fn recall(&self, class: u32) -> Result<f64, MetricsError> {
        Ok(self.recall_of(self.class_index(class)?))
    }

    /// Harmonic mean of precision and recall; 0 when both are 0.
    pub fn f1(&self, class: u32) -> Result<f64, MetricsError> {
        Ok(self.f1_of(self.class_index(class)?))
    }

    /// Unweighted mean of per-class precision over all classes.
    pub fn macro_precision(&self) -> f64 {
        self.macro_average(Self::precision_of)
    }

    /// Unweighted mean of per-class recall over all classes.
    pub fn macro_recall(&self) -> f64 {
        self.macro_average(Self::recall_of)
    }

    /// Unweighted mean of per-class F1 over all classes (not the F1 of the macro precision
    /// and recall, matching scikit-learn).
    pub fn macro_f1(&self) -> f64 {
        self.macro_average(Self::f1_of)
    }

    /// A text table laid out like scikit-learn's `classification_report(digits=2)`: one row
    /// per class (precision, recall, f1-score, support), then accuracy, macro avg and
    /// weighted avg rows.
    pub fn report(&self, class_names: &[String]) -> Result<String, MetricsError> {
        same_length(
            "class_names",
            class_names.len(),
            "num_classes",
            self.num_classes,
        )?;
        const DIGITS: usize = 2;
        const LAST_LINE_HEADING: &str = "weighted avg";
        let width = class_names
            .iter()
            .map(|name| name.chars().count())
            .chain([LAST_LINE_HEADING.len(), DIGITS])
            .max()
            .unwrap_or(LAST_LINE_HEADING.len());

        let mut text = String::new();
        // `write!` into a String cannot fail; the results are ignored for that reason.
        let _ = write!(text, "{:>width$} ", "");
        for heading in ["precision", "recall", "f1-score", "support"] {
            let _ = write!(text, " {heading:>9}");
        }
        text.push_str("\n\n");
        let row = |text: &mut String, name: &str, scores: [f64; 3], support: u64| {
            let _ = write!(text, "{name:>width$} ");
            for score in scores {
                let _ = write!(text, " {score:>9.DIGITS$}");
            }
            let _ = writeln!(text, " {support:>9}");
        };
        for (class, name) in class_names.iter().enumerate() {
            let scores = [
                self.precision_of(class),
                self.recall_of(class),
                self.f1_of(class),
            ];
            row(&mut text, name, scores, self.row_sum(class));
        }
        text.push('\n');
        let total = self.total();
        let _ = writeln!(
            text,
            "{:>width$}  {:>9} {:>9} {:>9.DIGITS$} {:>9}",
            "accuracy",
            "",
            "",
            self.accuracy(),
            total
        );
        let macro_scores = [self.macro_precision(), self.macro_recall(), self.macro_f1()];
        row(&mut text, "macro avg", macro_scores, total);
        let weighted_scores = [
            self.weighted_average(Self::precision_of),
            self.weighted_average(Self::recall_of),
            self.weighted_average(Self::f1_of),
        ];
        row(&mut text, LAST_LINE_HEADING, weighted_scores, total);
        Ok(text)
    }

    fn class_index(&self, class: u32) -> Result<usize, MetricsError> {
        if (class as usize) < self.num_classes {
            Ok(class as usize)
        } else {
            Err(MetricsError::ClassOutOfRange {
                class,
                num_classes: self.num_classes,
            })
        }
    }

    fn cell(&self, row: usize, column: usize) -> u64 {
        self.counts[row * self.num_classes + column]
    }

    fn row_sum(&self, row: usize) -> u64 {
        (0..self.num_classes).map(|c| self.cell(row, c)).sum()
    }

    fn column_sum(&self, column: usize) -> u64 {
        (0..self.num_classes).map(|r| self.cell(r, column)).sum()
    }

    fn precision_of(&self, class: usize) -> f64 {
        ratio(self.cell(class, class), self.column_sum(class))
    }

    fn recall_of(&self, class: usize) -> f64 {
        ratio(self.cell(class, class), self.row_sum(class))
    }

    fn f1_of(&self, class: usize) -> f64 {
        // 2·tp / (2·tp + fp + fn) equals the harmonic mean of precision and recall, and
        // avoids a 0/0 when precision is undefined but recall is not.
        let true_positives = self.cell(class, class);
        let predicted = self.column_sum(class);
        let actual = self.row_sum(class);
        ratio(2 * true_positives, predicted + actual)
    }

    fn macro_average(&self, score: fn(&Self, usize) -> f64) -> f64 {
        let sum: f64 = (0..self.num_classes).map(|c| score(self, c)).sum();
        sum / self.num_classes as f64
    }

    fn weighted_average(&self, score: fn(&Self, usize) -> f64) -> f64 {
        let weighted: f64 = (0..self.num_classes)
            .map(|c| score(self, c) * self.row_sum(c) as f64)
            .sum();
        let total = self.total();
        if total == 0 {
            0.0
        } else {
            weighted / total as f64
        }
    }
}

/// `numerator / denominator`, or 0 when the denominator is 0 (scikit-learn's
/// `zero_division=0`).
fn ratio(numerator: u64, denominator: u64) -> f64 {
    if denominator == 0 {
        0.0
    } else {
        numerator as f64 / denominator as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 3 classes, 6 samples:
    /// true 0 -> pred 0, 0, 1; true 1 -> pred 1; true 2 -> pred 0, 2.
    fn small_matrix() -> ConfusionMatrix {
        ConfusionMatrix::new(&[0, 0, 0, 1, 2, 2], &[0, 0, 1, 1, 0, 2], 3).unwrap()
    }

    #[test]
    fn rows_are_true_classes_and_columns_predictions() {
        let matrix = small_matrix();
        assert_eq!(matrix.counts(), &[2, 1, 0, 0, 1, 0, 1, 0, 1]);
        assert_eq!(matrix.count(0, 1).unwrap(), 1);
        assert_eq!(matrix.count(2, 0).unwrap(), 1);
        assert_eq!(matrix.count(1, 0).unwrap(), 0);
        assert_eq!(matrix.num_classes(), 3);
        assert_eq!(matrix.total(), 6);
    }

    #[test]
    fn accuracy_is_the_diagonal_over_the_total() {
        assert_eq!(small_matrix().accuracy(), 4.0 / 6.0);
    }

    #[test]
    fn per_class_scores_match_hand_computed_values() {
        let matrix = small_matrix();
        // Class 0: tp 2, predicted 3 times, 3 samples.
        assert_eq!(matrix.precision(0).unwrap(), 2.0 / 3.0);
        assert_eq!(matrix.recall(0).unwrap(), 2.0 / 3.0);
        assert!((matrix.f1(0).unwrap() - 2.0 / 3.0).abs() < 1e-12);
        // Class 1: tp 1, predicted twice, 1 sample.
        assert_eq!(matrix.precision(1).unwrap(), 0.5);
        assert_eq!(matrix.recall(1).unwrap(), 1.0);
        assert!((matrix.f1(1).unwrap() - 2.0 / 3.0).abs() < 1e-12);
        // Class 2: tp 1, predicted once, 2 samples.
        assert_eq!(matrix.precision(2).unwrap(), 1.0);
        assert_eq!(matrix.recall(2).unwrap(), 0.5);
        assert!((matrix.f1(2).unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(matrix.support(2).unwrap(), 2);
    }

    #[test]
    fn macro_averages_are_unweighted_means_over_classes() {
        let matrix = small_matrix();
        assert!((matrix.macro_precision() - (2.0 / 3.0 + 0.5 + 1.0) / 3.0).abs() < 1e-12);
        assert!((matrix.macro_recall() - (2.0 / 3.0 + 1.0 + 0.5) / 3.0).abs() < 1e-12);
        assert!((matrix.macro_f1() - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn a_class_never_predicted_nor_present_scores_zero_and_still_counts_in_macro_averages() {
        let matrix = ConfusionMatrix::new(&[0, 1], &[0, 1], 3).unwrap();
        assert_eq!(matrix.precision(2).unwrap(), 0.0);
        assert_eq!(matrix.recall(2).unwrap(), 0.0);
        assert_eq!(matrix.f1(2).unwrap(), 0.0);
        assert!((matrix.macro_f1() - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn class_accessors_reject_a_class_out_of_range() {
        let matrix = small_matrix();
        let expected = MetricsError::ClassOutOfRange {
            class: 3,
            num_classes: 3,
        };
        assert_eq!(matrix.precision(3).unwrap_err(), expected);
        assert_eq!(matrix.count(0, 3).unwrap_err(), expected);
    }

    #[test]
    fn new_rejects_a_prediction_out_of_range() {
        assert_eq!(
            ConfusionMatrix::new(&[0, 1], &[0, 5], 2).unwrap_err(),
            MetricsError::LabelOutOfRange {
                what: "predicted",
                index: 1,
                label: 5,
                num_classes: 2
            }
        );
    }

    #[test]
    fn new_rejects_mismatched_lengths_and_empty_input() {
        assert!(matches!(
            ConfusionMatrix::new(&[0, 1], &[0], 2),
            Err(MetricsError::LengthMismatch { .. })
        ));
        assert_eq!(
            ConfusionMatrix::new(&[], &[], 2).unwrap_err(),
            MetricsError::Empty {
                what: "true_labels"
            }
        );
    }

    #[test]
    fn report_rejects_the_wrong_number_of_class_names() {
        assert!(matches!(
            small_matrix().report(&["a".to_string()]),
            Err(MetricsError::LengthMismatch { .. })
        ));
    }
}
