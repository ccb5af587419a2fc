//! Per-class loss weights (Keras's `class_weight`) from a command-line spec: "balanced" or one
//! number per class.

use crate::{Result, TrainError};
use krust_data::Dataset;

/// scikit-learn's "balanced" weights, `n / (classes · count)`: a class seen half as often as
/// the average weighs twice as much. A class with no sample gets 0 (it adds no loss anyway).
pub fn balanced_class_weights(counts: &[usize]) -> Vec<f32> {
    let n: usize = counts.iter().sum();
    let k = counts.len() as f32;
    counts
        .iter()
        .map(|&c| {
            if c == 0 {
                0.0
            } else {
                n as f32 / (k * c as f32)
            }
        })
        .collect()
}

/// The weights `spec` names for the classes of `train`: "balanced" (from its label counts) or
/// a comma-separated list of numbers, one per class (`fit` checks their count and sign).
pub fn class_weights(spec: &str, train: &Dataset) -> Result<Vec<f32>> {
    if spec.trim() == "balanced" {
        return Ok(balanced_class_weights(&train.class_counts()));
    }
    spec.split(',')
        .map(|w| {
            w.trim().parse::<f32>().map_err(|_| TrainError::Argument {
                argument: "class weights",
                why: format!("{w:?} is not a number"),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_weights_follow_scikit_learn() {
        // sklearn.utils.class_weight.compute_class_weight("balanced", ...) on counts 6, 3, 1.
        let w = balanced_class_weights(&[6, 3, 1]);
        let want = [10.0 / 18.0, 10.0 / 9.0, 10.0 / 3.0];
        for (g, w) in w.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{g} vs {w}");
        }
        assert_eq!(
            balanced_class_weights(&[2, 0, 2]),
            vec![4.0 / 6.0, 0.0, 4.0 / 6.0]
        );
    }

    #[test]
    fn a_list_is_parsed_and_a_word_in_it_is_named() {
        use krust_data::{Samples, Targets};
        let targets = Targets::Classes {
            labels: vec![0, 1, 1, 1],
            num_classes: 2,
        };
        let train = Dataset::new(
            "four",
            Samples::Floats(vec![0.0; 4]),
            vec![1],
            targets,
            vec![],
        )
        .unwrap();
        assert_eq!(class_weights(" 1, 0.5", &train).unwrap(), vec![1.0, 0.5]);
        assert_eq!(
            class_weights("balanced", &train).unwrap(),
            vec![2.0, 2.0 / 3.0]
        );
        let err = class_weights("1,heavy", &train).unwrap_err().to_string();
        assert!(
            err.contains("class weights") && err.contains("heavy"),
            "{err}"
        );
    }
}
