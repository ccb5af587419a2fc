//! Classification losses, reduced by the mean over the batch like Keras. Probabilities are
//! renormalized and clipped to [1e-7, 1 - 1e-7] before the log, as Keras does; `from_logits`
//! paths use a stable log-softmax (sparse: the fused softmax cross-entropy node).

use crate::{NnError, Result};
use krust_autograd::Var;
use krust_tensor::Tensor;

/// Keras's epsilon for clipping probabilities.
pub const EPSILON: f32 = 1e-7;

/// What a loss compares the model's output against.
pub enum Targets<'a> {
    /// One integer class per sample.
    Sparse(&'a [u32]),
    /// A tensor shaped like the output (one-hot or soft labels).
    Dense(&'a Tensor),
}

pub trait Loss {
    fn name(&self) -> &'static str;
    fn compute(&self, output: &Var, targets: &Targets) -> Result<Var>;
}

/// Integer labels against per-class scores.
#[derive(Debug, Clone, Copy, Default)]
pub struct SparseCategoricalCrossentropy {
    /// True when the model outputs logits rather than probabilities.
    pub from_logits: bool,
}

/// One-hot (or soft) labels against per-class scores.
#[derive(Debug, Clone, Copy, Default)]
pub struct CategoricalCrossentropy {
    pub from_logits: bool,
}

/// log of the clipped, renormalized probabilities along the last axis.
fn clipped_log_probs(p: &Var) -> Result<Var> {
    let total = p.sum_axes(&[-1], true)?;
    Ok(p.div(&total)?.clip(EPSILON, 1.0 - EPSILON).log())
}

fn one_hot(labels: &[u32], classes: usize) -> Result<Tensor> {
    let mut data = vec![0.0; labels.len() * classes];
    for (i, &l) in labels.iter().enumerate() {
        if l as usize >= classes {
            return Err(NnError::argument(
                "labels",
                format!("label {l} at position {i} is out of range for {classes} classes"),
            ));
        }
        data[i * classes + l as usize] = 1.0;
    }
    Ok(Tensor::from_vec([labels.len(), classes], data)?)
}

/// -mean over samples of Σ_c y_c · log p_c.
fn cross_entropy_dense(output: &Var, y: &Tensor, from_logits: bool) -> Result<Var> {
    if y.shape() != output.shape().as_slice() {
        return Err(NnError::argument(
            "targets",
            format!(
                "shape {:?} does not match the output {:?}",
                y.shape(),
                output.shape()
            ),
        ));
    }
    let log_p = if from_logits {
        output.log_softmax(-1)?
    } else {
        clipped_log_probs(output)?
    };
    let per_sample = log_p
        .mul(&Var::constant(y.clone()))?
        .sum_axes(&[-1], false)?;
    Ok(per_sample.mean()?.neg())
}

impl Loss for SparseCategoricalCrossentropy {
    fn name(&self) -> &'static str {
        "sparse_categorical_crossentropy"
    }

    fn compute(&self, output: &Var, targets: &Targets) -> Result<Var> {
        let Targets::Sparse(labels) = targets else {
            return Err(NnError::argument(
                "targets",
                "sparse categorical cross-entropy needs integer labels",
            ));
        };
        let shape = output.shape();
        if shape.len() != 2 || shape[0] != labels.len() {
            return Err(NnError::argument(
                "targets",
                format!("expected one label per row of the (batch, classes) output {shape:?}, got {} labels", labels.len()),
            ));
        }
        if self.from_logits {
            Ok(output.softmax_cross_entropy(labels)?)
        } else {
            cross_entropy_dense(output, &one_hot(labels, shape[1])?, false)
        }
    }
}

impl Loss for CategoricalCrossentropy {
    fn name(&self) -> &'static str {
        "categorical_crossentropy"
    }

    fn compute(&self, output: &Var, targets: &Targets) -> Result<Var> {
        let Targets::Dense(y) = targets else {
            return Err(NnError::argument("targets", "categorical cross-entropy needs one-hot targets; use the sparse loss for integer labels"));
        };
        cross_entropy_dense(output, y, self.from_logits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(shape: &[usize], v: &[f32]) -> Tensor {
        Tensor::from_vec(shape.to_vec(), v.to_vec()).unwrap()
    }

    #[test]
    fn three_sample_categorical_cross_entropy_is_mean_negative_log_of_true_class() {
        // mean(-ln 0.7, -ln 0.5, -ln 0.9) = 0.38506.
        let p = Var::constant(t(&[3, 3], &[0.7, 0.1, 0.2, 0.1, 0.5, 0.4, 0.02, 0.9, 0.08]));
        let y = t(&[3, 3], &[1., 0., 0., 0., 1., 0., 0., 1., 0.]);
        let loss = CategoricalCrossentropy::default()
            .compute(&p, &Targets::Dense(&y))
            .unwrap();
        assert!((loss.value().item().unwrap() - 0.38506).abs() < 1e-4);
        let sparse = SparseCategoricalCrossentropy::default()
            .compute(&p, &Targets::Sparse(&[0, 1, 1]))
            .unwrap();
        assert!((sparse.value().item().unwrap() - 0.38506).abs() < 1e-4);
    }

    #[test]
    fn course_scores_cross_entropy_from_logits() {
        // Scores [5,-3,2], [5,10,10], [5,-20,-20], true class 0: the course's ≈ 0.05, 5.70 and
        // ≈ 2e-11; exactly ln(1 + e^-8 + e^-3), 5 + ln(2 + e^-5) and ln(1 + 2e^-25) = 2.78e-11,
        // which only survives float32 because log-softmax uses ln_1p.
        let want = [0.048_907, 5.696_51, 2.777_6e-11];
        for (row, w) in [[5., -3., 2.], [5., 10., 10.], [5., -20., -20.]]
            .iter()
            .zip(want)
        {
            let x = Var::constant(t(&[1, 3], row));
            let l = SparseCategoricalCrossentropy { from_logits: true }
                .compute(&x, &Targets::Sparse(&[0]))
                .unwrap();
            let v = l.value().item().unwrap();
            assert!((v - w).abs() <= 1e-3 * w, "{row:?}: {v} vs {w}");
        }
    }

    #[test]
    fn probabilities_are_clipped_so_zero_gives_finite_loss() {
        let p = Var::constant(t(&[1, 2], &[0.0, 1.0]));
        let l = SparseCategoricalCrossentropy::default()
            .compute(&p, &Targets::Sparse(&[0]))
            .unwrap();
        assert!((l.value().item().unwrap() - 16.118_095).abs() < 1e-3);
    }

    #[test]
    fn wrong_target_count_is_an_error() {
        let p = Var::constant(Tensor::zeros([2, 3]));
        assert!(SparseCategoricalCrossentropy::default()
            .compute(&p, &Targets::Sparse(&[0]))
            .is_err());
    }
}
