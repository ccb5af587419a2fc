//! Keras 3's losses. Each loss computes one value per sample ([`Loss::per_sample`], Keras's
//! `reduction=None`: the output's shape without its last axis) and reduces them like Keras,
//! by default to their mean ("sum_over_batch_size"). Probabilities are clipped to
//! [1e-7, 1 - 1e-7] as Keras clips them; `from_logits` paths use stable fused forms.

use crate::{NnError, Result};
use krust_autograd::Var;
use krust_tensor::{Tensor, UnaryOp};

/// 1 - x: the complement of a one-hot or probability target.
const ONE_MINUS: UnaryOp = UnaryOp::Affine {
    scale: -1.0,
    shift: 1.0,
};
use serde::{Deserialize, Serialize};

/// Keras's epsilon for clipping probabilities and guarding divisions and logs.
pub const EPSILON: f32 = 1e-7;

/// What a loss compares the model's output against.
pub enum Targets<'a> {
    /// One integer class per sample.
    Sparse(&'a [u32]),
    /// A tensor shaped like the output (one-hot or soft labels, regression targets).
    Dense(&'a Tensor),
}

/// How per-sample losses become the loss (Keras's `reduction=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reduction {
    /// The mean over every per-sample value (Keras's default, "sum_over_batch_size": the sum
    /// divided by the number of values, so a (batch, steps) loss divides by batch · steps).
    #[default]
    SumOverBatchSize,
    /// The plain sum.
    Sum,
    /// No reduction: the per-sample values themselves.
    None,
}

impl Reduction {
    pub fn reduce(self, per_sample: &Var) -> Result<Var> {
        Ok(match self {
            Reduction::SumOverBatchSize => per_sample.mean()?,
            Reduction::Sum => per_sample.sum()?,
            Reduction::None => per_sample.clone(),
        })
    }
}

pub trait Loss {
    /// The Keras name ("categorical_crossentropy", "huber_loss", ...).
    fn name(&self) -> &'static str;

    /// One loss per sample: the output's shape without its last axis (Keras's
    /// `reduction=None`).
    fn per_sample(&self, output: &Var, targets: &Targets) -> Result<Var>;

    /// The loss under Keras's default reduction, the mean of [`Loss::per_sample`].
    fn compute(&self, output: &Var, targets: &Targets) -> Result<Var> {
        Reduction::SumOverBatchSize.reduce(&self.per_sample(output, targets)?)
    }

    /// This loss under another reduction (Keras's `reduction=` argument).
    fn with_reduction(self, reduction: Reduction) -> Reduced<Self>
    where
        Self: Sized,
    {
        Reduced {
            loss: self,
            reduction,
        }
    }
}

/// A loss with a chosen [`Reduction`]; built by [`Loss::with_reduction`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Reduced<L> {
    pub loss: L,
    pub reduction: Reduction,
}

impl<L: Loss> Loss for Reduced<L> {
    fn name(&self) -> &'static str {
        self.loss.name()
    }

    fn per_sample(&self, output: &Var, targets: &Targets) -> Result<Var> {
        self.loss.per_sample(output, targets)
    }

    fn compute(&self, output: &Var, targets: &Targets) -> Result<Var> {
        match self.reduction {
            // The inner loss's own mean keeps any fused path it has.
            Reduction::SumOverBatchSize => self.loss.compute(output, targets),
            other => other.reduce(&self.loss.per_sample(output, targets)?),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Target handling shared by the losses.

/// The dense targets, shape-aligned with the output as Keras's `squeeze_or_expand_to_same_rank`
/// does: when the ranks differ by one and the longer shape ends in 1, a rank-1 side gains the
/// trailing 1, otherwise the longer side loses it. Any other mismatch is an error.
fn dense_targets(loss: &str, output: &Var, targets: &Targets) -> Result<(Var, Tensor)> {
    let Targets::Dense(y) = targets else {
        return Err(NnError::argument(
            "targets",
            format!("{loss} needs a target tensor shaped like the output, not integer labels"),
        ));
    };
    let (out_shape, y_shape) = (output.shape(), y.shape().to_vec());
    if out_shape == y_shape {
        return Ok((output.clone(), (*y).clone()));
    }
    let (o, t) = (out_shape.len(), y_shape.len());
    if t == o + 1 && y_shape.last() == Some(&1) && y_shape[..o] == out_shape[..] {
        return Ok(if o == 1 {
            (output.reshape(&y_shape)?, (*y).clone())
        } else {
            (output.clone(), y.reshape(out_shape)?)
        });
    }
    if o == t + 1 && out_shape.last() == Some(&1) && out_shape[..t] == y_shape[..] {
        return Ok(if t == 1 {
            (output.clone(), y.reshape(out_shape)?)
        } else {
            (output.reshape(&y_shape)?, (*y).clone())
        });
    }
    Err(NnError::argument(
        "targets",
        format!("{loss}: target shape {y_shape:?} does not match the output {out_shape:?}"),
    ))
}

/// The integer labels, one per lane of the output's last (class) axis.
fn sparse_labels<'a>(loss: &str, output: &Var, targets: &'a Targets) -> Result<&'a [u32]> {
    let Targets::Sparse(labels) = targets else {
        return Err(NnError::argument(
            "targets",
            format!("{loss} needs integer labels; use the categorical loss for one-hot targets"),
        ));
    };
    let shape = output.shape();
    let classes = shape.last().copied().unwrap_or(0);
    let lanes: usize = shape[..shape.len().saturating_sub(1)].iter().product();
    if shape.is_empty() || lanes != labels.len() {
        return Err(NnError::argument(
            "targets",
            format!(
                "{loss}: expected one label per row of the (..., classes) output {shape:?}, got {} labels",
                labels.len()
            ),
        ));
    }
    if let Some((i, l)) = labels
        .iter()
        .enumerate()
        .find(|(_, &l)| l as usize >= classes)
    {
        return Err(NnError::argument(
            "labels",
            format!("label {l} at position {i} is out of range for {classes} classes"),
        ));
    }
    Ok(labels)
}

/// One-hot rows for `labels`, shaped like `shape` (whose last axis is the classes).
fn one_hot(labels: &[u32], shape: &[usize]) -> Result<Tensor> {
    let classes = shape.last().copied().unwrap_or(0);
    let mut data = vec![0.0; labels.len() * classes];
    for (i, &l) in labels.iter().enumerate() {
        data[i * classes + l as usize] = 1.0;
    }
    Ok(Tensor::from_vec(shape.to_vec(), data)?)
}

fn check_label_smoothing(label_smoothing: f32) -> Result<()> {
    if !(0.0..=1.0).contains(&label_smoothing) {
        return Err(NnError::argument(
            "label_smoothing",
            format!("{label_smoothing} is not in [0, 1]"),
        ));
    }
    Ok(())
}

/// The mean over the last axis, which turns per-element terms into per-sample losses.
fn mean_last(v: &Var) -> Result<Var> {
    Ok(v.mean_axes(&[-1], false)?)
}

// ---------------------------------------------------------------------------------------------
// Cross-entropies.

/// Binary cross-entropy, per element then averaged over the last axis:
/// -(y·ln p + (1-y)·ln(1-p)).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct BinaryCrossentropy {
    /// True when the model outputs logits rather than probabilities (default false).
    pub from_logits: bool,
    /// In [0, 1]: labels move towards 0.5, y·(1 - s) + s/2 (default 0).
    pub label_smoothing: f32,
}

impl Loss for BinaryCrossentropy {
    fn name(&self) -> &'static str {
        "binary_crossentropy"
    }

    fn per_sample(&self, output: &Var, targets: &Targets) -> Result<Var> {
        check_label_smoothing(self.label_smoothing)?;
        let (p, mut y) = dense_targets(self.name(), output, targets)?;
        if self.label_smoothing != 0.0 {
            let s = self.label_smoothing;
            y = y.unary(UnaryOp::Affine {
                scale: 1.0 - s,
                shift: 0.5 * s,
            });
        }
        let terms = if self.from_logits {
            p.binary_cross_entropy_with_logits(&y)?
        } else {
            p.binary_cross_entropy(&y, EPSILON)?
        };
        mean_last(&terms)
    }
}

/// One-hot (or soft) labels against per-class scores: -Σ_c y_c · ln p_c over the last axis.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct CategoricalCrossentropy {
    /// True when the model outputs logits rather than probabilities (default false).
    pub from_logits: bool,
    /// In [0, 1]: labels become y·(1 - s) + s/classes (default 0).
    pub label_smoothing: f32,
}

impl Loss for CategoricalCrossentropy {
    fn name(&self) -> &'static str {
        "categorical_crossentropy"
    }

    fn per_sample(&self, output: &Var, targets: &Targets) -> Result<Var> {
        check_label_smoothing(self.label_smoothing)?;
        let (p, mut y) = dense_targets(self.name(), output, targets)?;
        if self.label_smoothing != 0.0 {
            let s = self.label_smoothing;
            let classes = *y.shape().last().unwrap_or(&1) as f32;
            y = y.unary(UnaryOp::Affine {
                scale: 1.0 - s,
                shift: s / classes,
            });
        }
        let log_p = if self.from_logits {
            p.log_softmax(-1)?
        } else {
            // Keras renormalizes each row to sum to 1, then clips.
            let total = p.sum_axes(&[-1], true)?;
            p.div(&total)?.clip(EPSILON, 1.0 - EPSILON).log()
        };
        Ok(log_p.mul(&Var::constant(y))?.sum_axes(&[-1], false)?.neg())
    }
}

/// Integer labels against per-class scores: -ln p[label].
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct SparseCategoricalCrossentropy {
    /// True when the model outputs logits rather than probabilities (default false).
    pub from_logits: bool,
}

impl Loss for SparseCategoricalCrossentropy {
    fn name(&self) -> &'static str {
        "sparse_categorical_crossentropy"
    }

    fn per_sample(&self, output: &Var, targets: &Targets) -> Result<Var> {
        let labels = sparse_labels(self.name(), output, targets)?;
        let shape = output.shape();
        // Keras's probability path clips, takes the log and feeds that to the logits path, so
        // its probabilities are renormalized after clipping (the categorical loss renormalizes
        // before): -ln(clip(p)[label] / Σ clip(p)).
        let logits = if self.from_logits {
            output.clone()
        } else {
            output.clip(EPSILON, 1.0 - EPSILON).log()
        };
        let log_p = logits.log_softmax(-1)?;
        Ok(log_p
            .mul(&Var::constant(one_hot(labels, &shape)?))?
            .sum_axes(&[-1], false)?
            .neg())
    }

    fn compute(&self, output: &Var, targets: &Targets) -> Result<Var> {
        if self.from_logits && output.shape().len() == 2 {
            // The fused node: the same mean, one pass, gradient (softmax - onehot) / batch.
            let labels = sparse_labels(self.name(), output, targets)?;
            return Ok(output.softmax_cross_entropy(labels)?);
        }
        Reduction::SumOverBatchSize.reduce(&self.per_sample(output, targets)?)
    }
}

// ---------------------------------------------------------------------------------------------
// Regression losses: per-element terms averaged over the last axis.

/// mean((y - p)²) over the last axis (the L2 loss).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct MeanSquaredError;

impl Loss for MeanSquaredError {
    fn name(&self) -> &'static str {
        "mean_squared_error"
    }

    fn per_sample(&self, output: &Var, targets: &Targets) -> Result<Var> {
        let (p, y) = dense_targets(self.name(), output, targets)?;
        mean_last(&p.sub(&Var::constant(y))?.square())
    }
}

/// mean(|y - p|) over the last axis (the L1 loss); the gradient at p = y is 0.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct MeanAbsoluteError;

impl Loss for MeanAbsoluteError {
    fn name(&self) -> &'static str {
        "mean_absolute_error"
    }

    fn per_sample(&self, output: &Var, targets: &Targets) -> Result<Var> {
        let (p, y) = dense_targets(self.name(), output, targets)?;
        mean_last(&Var::constant(y).sub(&p)?.abs())
    }
}

/// 100 · mean(|(y - p) / max(|y|, 1e-7)|) over the last axis.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct MeanAbsolutePercentageError;

impl Loss for MeanAbsolutePercentageError {
    fn name(&self) -> &'static str {
        "mean_absolute_percentage_error"
    }

    fn per_sample(&self, output: &Var, targets: &Targets) -> Result<Var> {
        let (p, y) = dense_targets(self.name(), output, targets)?;
        let scale = y.abs().unary(UnaryOp::MaximumScalar(EPSILON));
        let relative = Var::constant(y).sub(&p)?.div(&Var::constant(scale))?.abs();
        Ok(mean_last(&relative)?.mul_scalar(100.0))
    }
}

/// mean((ln(1 + p) - ln(1 + y))²) over the last axis, with p and y raised to at least 1e-7.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct MeanSquaredLogarithmicError;

impl Loss for MeanSquaredLogarithmicError {
    fn name(&self) -> &'static str {
        "mean_squared_logarithmic_error"
    }

    fn per_sample(&self, output: &Var, targets: &Targets) -> Result<Var> {
        let (p, y) = dense_targets(self.name(), output, targets)?;
        mean_last(&p.squared_log_error(&y, EPSILON)?)
    }
}

/// Huber loss of the error e = p - y, averaged over the last axis: ½e² for |e| ≤ delta, else
/// delta·(|e| - ½delta).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Huber {
    /// Where the loss turns from quadratic to linear (Keras's default 1.0).
    pub delta: f32,
}

impl Default for Huber {
    fn default() -> Self {
        Huber { delta: 1.0 }
    }
}

impl Loss for Huber {
    fn name(&self) -> &'static str {
        "huber_loss"
    }

    fn per_sample(&self, output: &Var, targets: &Targets) -> Result<Var> {
        let (p, y) = dense_targets(self.name(), output, targets)?;
        mean_last(&p.sub(&Var::constant(y))?.huber(self.delta))
    }
}

/// mean(ln cosh(p - y)) over the last axis: like ½e² for small errors, |e| - ln 2 for large.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct LogCosh;

impl Loss for LogCosh {
    fn name(&self) -> &'static str {
        "log_cosh"
    }

    fn per_sample(&self, output: &Var, targets: &Targets) -> Result<Var> {
        let (p, y) = dense_targets(self.name(), output, targets)?;
        mean_last(&p.sub(&Var::constant(y))?.log_cosh())
    }
}

/// mean(p - y·ln(p + 1e-7)) over the last axis, for count targets.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Poisson;

impl Loss for Poisson {
    fn name(&self) -> &'static str {
        "poisson"
    }

    fn per_sample(&self, output: &Var, targets: &Targets) -> Result<Var> {
        let (p, y) = dense_targets(self.name(), output, targets)?;
        let log_p = p.add_scalar(EPSILON).log();
        mean_last(&p.sub(&Var::constant(y).mul(&log_p)?)?)
    }
}

// ---------------------------------------------------------------------------------------------
// Distribution and direction losses: sums over the last axis.

/// Σ y·ln(y / p) over the last axis, with y and p clipped to [1e-7, 1].
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct KLDivergence;

impl Loss for KLDivergence {
    fn name(&self) -> &'static str {
        "kl_divergence"
    }

    fn per_sample(&self, output: &Var, targets: &Targets) -> Result<Var> {
        let (p, y) = dense_targets(self.name(), output, targets)?;
        let y = Var::constant(y.clamp(EPSILON, 1.0));
        let p = p.clip(EPSILON, 1.0);
        Ok(y.div(&p)?.log().mul(&y)?.sum_axes(&[-1], false)?)
    }
}

/// The negative cosine similarity -Σ ŷ·p̂ along `axis`, where x̂ = x / max(‖x‖, 1e-7): -1 for
/// parallel vectors, 0 when either is zero (Keras's sign, so minimizing aligns them).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CosineSimilarity {
    /// The axis holding the vectors (Keras's default -1).
    pub axis: isize,
}

impl Default for CosineSimilarity {
    fn default() -> Self {
        CosineSimilarity { axis: -1 }
    }
}

/// x / max(‖x‖₂, 1e-7) along `axis`, as Keras's `normalize`: x · min(1/√Σx², 1e7), written as
/// x · max(Σx², 1e-14)^(-1/2) so a zero vector's gradient is 0, not 0 · ∞.
fn l2_normalize(x: &Var, axis: isize) -> Result<Var> {
    let floor = Var::constant(Tensor::scalar(EPSILON * EPSILON));
    let inverse_norm = x
        .square()
        .sum_axes(&[axis], true)?
        .maximum(&floor)?
        .powf(-0.5);
    Ok(x.mul(&inverse_norm)?)
}

impl Loss for CosineSimilarity {
    fn name(&self) -> &'static str {
        "cosine_similarity"
    }

    fn per_sample(&self, output: &Var, targets: &Targets) -> Result<Var> {
        let (p, y) = dense_targets(self.name(), output, targets)?;
        let y = l2_normalize(&Var::constant(y), self.axis)?;
        let p = l2_normalize(&p, self.axis)?;
        Ok(y.mul(&p)?.sum_axes(&[self.axis], false)?.neg())
    }
}

// ---------------------------------------------------------------------------------------------
// Margin losses.

/// Keras's hinge labels: when every label is 0 or 1 they become -1 or 1; any other label set
/// (already ±1, or soft) is used as given. The test is over the whole tensor, as in Keras.
fn hinge_labels(y: Tensor) -> Tensor {
    if y.to_vec().iter().all(|&v| v == 0.0 || v == 1.0) {
        y.unary(UnaryOp::Affine {
            scale: 2.0,
            shift: -1.0,
        })
    } else {
        y
    }
}

/// max(1 - y·p, 0) per element, with TensorFlow's maximum convention (the gradient passes at
/// exactly 0 margin).
fn hinge_terms(loss: &str, output: &Var, targets: &Targets) -> Result<Var> {
    let (p, y) = dense_targets(loss, output, targets)?;
    let margin = Var::constant(hinge_labels(y))
        .mul(&p)?
        .neg()
        .add_scalar(1.0);
    Ok(margin.maximum(&Var::constant(Tensor::scalar(0.0)))?)
}

/// mean(max(1 - y·p, 0)) over the last axis, labels ±1 (0/1 labels are converted).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Hinge;

impl Loss for Hinge {
    fn name(&self) -> &'static str {
        "hinge"
    }

    fn per_sample(&self, output: &Var, targets: &Targets) -> Result<Var> {
        mean_last(&hinge_terms(self.name(), output, targets)?)
    }
}

/// mean(max(1 - y·p, 0)²) over the last axis, labels ±1 (0/1 labels are converted).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct SquaredHinge;

impl Loss for SquaredHinge {
    fn name(&self) -> &'static str {
        "squared_hinge"
    }

    fn per_sample(&self, output: &Var, targets: &Targets) -> Result<Var> {
        mean_last(&hinge_terms(self.name(), output, targets)?.square())
    }
}

/// Keras's categorical hinge, max(neg - pos + 1, 0) with pos = Σ y·p and
/// neg = max((1 - y)·p) over the last axis. As in Keras, the true class's zeroed score takes
/// part in the max, so neg is never below 0.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct CategoricalHinge;

impl Loss for CategoricalHinge {
    fn name(&self) -> &'static str {
        "categorical_hinge"
    }

    fn per_sample(&self, output: &Var, targets: &Targets) -> Result<Var> {
        let (p, y) = dense_targets(self.name(), output, targets)?;
        let others = y.unary(ONE_MINUS);
        let pos = p.mul(&Var::constant(y))?.sum_axes(&[-1], false)?;
        let neg = p.mul(&Var::constant(others))?.max_axes(&[-1], false)?;
        let margin = neg.sub(&pos)?.add_scalar(1.0);
        Ok(margin.maximum(&Var::constant(Tensor::scalar(0.0)))?)
    }
}

/// The multiclass SVM loss of the course notes (Weston-Watkins): for scores s and true class
/// y, Σ_{j≠y} max(0, s_j - s_y + margin). Not in Keras, whose categorical hinge takes the max
/// over j instead of the sum and needs one-hot targets; this one takes integer labels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MulticlassHinge {
    /// The required gap between the true class's score and each other score (default 1).
    pub margin: f32,
}

impl Default for MulticlassHinge {
    fn default() -> Self {
        MulticlassHinge { margin: 1.0 }
    }
}

impl Loss for MulticlassHinge {
    fn name(&self) -> &'static str {
        "multiclass_hinge"
    }

    fn per_sample(&self, output: &Var, targets: &Targets) -> Result<Var> {
        let labels = sparse_labels(self.name(), output, targets)?;
        let truth = one_hot(labels, &output.shape())?;
        let others = truth.unary(ONE_MINUS);
        let true_score = output.mul(&Var::constant(truth))?.sum_axes(&[-1], true)?;
        let violations = output
            .sub(&true_score)?
            .add_scalar(self.margin)
            .maximum(&Var::constant(Tensor::scalar(0.0)))?;
        Ok(violations
            .mul(&Var::constant(others))?
            .sum_axes(&[-1], false)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(shape: &[usize], v: &[f32]) -> Tensor {
        Tensor::from_vec(shape.to_vec(), v.to_vec()).unwrap()
    }

    #[test]
    fn wrong_target_kind_or_count_is_an_error() {
        let p = Var::constant(Tensor::zeros([2, 3]));
        assert!(SparseCategoricalCrossentropy::default()
            .compute(&p, &Targets::Sparse(&[0]))
            .is_err());
        assert!(SparseCategoricalCrossentropy::default()
            .compute(&p, &Targets::Sparse(&[0, 3]))
            .is_err());
        let y = Tensor::zeros([2, 3]);
        assert!(SparseCategoricalCrossentropy::default()
            .compute(&p, &Targets::Dense(&y))
            .is_err());
        assert!(MeanSquaredError
            .compute(&p, &Targets::Sparse(&[0, 1]))
            .is_err());
        assert!(MeanSquaredError
            .compute(&p, &Targets::Dense(&Tensor::zeros([3, 2])))
            .is_err());
        let smoothing = CategoricalCrossentropy {
            from_logits: false,
            label_smoothing: 1.5,
        };
        assert!(smoothing.compute(&p, &Targets::Dense(&y)).is_err());
    }

    #[test]
    fn rank_one_targets_meet_a_trailing_unit_axis_as_in_keras() {
        // y (3,) against p (3, 1): Keras expands y to (3, 1); three per-sample losses.
        let p = Var::constant(t(&[3, 1], &[0.0, 1.0, 3.0]));
        let y = t(&[3], &[1.0, 1.0, 1.0]);
        let per = MeanSquaredError
            .per_sample(&p, &Targets::Dense(&y))
            .unwrap();
        assert_eq!(per.value().to_vec(), vec![1.0, 0.0, 4.0]);
    }
}
