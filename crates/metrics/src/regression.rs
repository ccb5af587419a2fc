//! Regression metrics: mean absolute and mean squared error, accumulated in f64.

use crate::validate::{not_empty, same_length};
use crate::MetricsError;

/// Mean of `|pred - target|` over all entries (Keras `mean_absolute_error`, flattened).
pub fn mean_absolute_error(pred: &[f32], target: &[f32]) -> Result<f64, MetricsError> {
    mean_of(pred, target, |difference| difference.abs())
}

/// Mean of `(pred - target)²` over all entries (Keras `mean_squared_error`, flattened).
pub fn mean_squared_error(pred: &[f32], target: &[f32]) -> Result<f64, MetricsError> {
    mean_of(pred, target, |difference| difference * difference)
}

fn mean_of(
    pred: &[f32],
    target: &[f32],
    per_entry: impl Fn(f64) -> f64,
) -> Result<f64, MetricsError> {
    same_length("pred", pred.len(), "target", target.len())?;
    not_empty("pred", pred.len())?;
    let sum: f64 = pred
        .iter()
        .zip(target)
        .map(|(&p, &t)| per_entry(f64::from(p) - f64::from(t)))
        .sum();
    Ok(sum / pred.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_absolute_error_averages_absolute_differences() {
        // |1-0| + |2-4| + |3-3| + |-1-1| = 1 + 2 + 0 + 2 = 5, over 4 entries.
        let mae = mean_absolute_error(&[1.0, 2.0, 3.0, -1.0], &[0.0, 4.0, 3.0, 1.0]).unwrap();
        assert_eq!(mae, 1.25);
    }

    #[test]
    fn mean_squared_error_averages_squared_differences() {
        // 1 + 4 + 0 + 4 = 9, over 4 entries.
        let mse = mean_squared_error(&[1.0, 2.0, 3.0, -1.0], &[0.0, 4.0, 3.0, 1.0]).unwrap();
        assert_eq!(mse, 2.25);
    }

    #[test]
    fn regression_metrics_reject_mismatched_lengths() {
        let err = mean_squared_error(&[1.0, 2.0], &[1.0]).unwrap_err();
        assert_eq!(
            err,
            MetricsError::LengthMismatch {
                left: "pred",
                left_len: 2,
                right: "target",
                right_len: 1
            }
        );
    }

    #[test]
    fn regression_metrics_reject_empty_input() {
        assert_eq!(
            mean_absolute_error(&[], &[]).unwrap_err(),
            MetricsError::Empty { what: "pred" }
        );
    }
}
