//! Softmax, log-softmax and the fused softmax cross-entropy, all shifted by the row maximum so
//! no exp overflows.

use crate::shape::{normalize_axis, numel};
use crate::{Result, Tensor, TensorError};
use rayon::prelude::*;

/// Runs `f` on every 1-D lane along `axis`, gathered into a contiguous buffer and scattered back.
fn map_lanes(
    x: &Tensor,
    axis: isize,
    op: &'static str,
    f: impl Fn(&mut [f32]) + Sync + Send,
) -> Result<Tensor> {
    let a = normalize_axis(op, axis, x.rank())?;
    let shape = x.shape();
    let (outer, len, inner) = (numel(&shape[..a]), shape[a], numel(&shape[a + 1..]));
    let mut out = x.as_slice().to_vec();
    if len == 0 {
        return Ok(x.clone());
    }
    if inner == 1 {
        let big = out.len() >= crate::parallel::MIN_PARALLEL_ELEMENTS;
        if big {
            out.par_chunks_mut(len).for_each(&f);
        } else {
            out.chunks_mut(len).for_each(&f);
        }
    } else {
        let mut lane = vec![0.0; len];
        for o in 0..outer {
            for i in 0..inner {
                for k in 0..len {
                    lane[k] = out[(o * len + k) * inner + i];
                }
                f(&mut lane);
                for k in 0..len {
                    out[(o * len + k) * inner + i] = lane[k];
                }
            }
        }
    }
    Ok(Tensor::from_parts(shape.to_vec(), out))
}

fn softmax_lane(v: &mut [f32]) {
    let m = v.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let mut s = 0.0;
    for x in v.iter_mut() {
        *x = (*x - m).exp();
        s += *x;
    }
    v.iter_mut().for_each(|x| *x /= s);
}

/// x - logsumexp(x). The maximum's own term exp(0) = 1 is left out of the sum and added back
/// through ln_1p, so a confident row keeps its tiny loss (ln(1 + 2.8e-11) ≠ 0 in float32).
fn log_softmax_lane(v: &mut [f32]) {
    let (mut m, mut at) = (f32::NEG_INFINITY, 0);
    for (i, &x) in v.iter().enumerate() {
        if x > m {
            (m, at) = (x, i);
        }
    }
    let rest: f32 = v
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != at)
        .map(|(_, x)| (x - m).exp())
        .sum();
    // Subtract m before the log term so x = m keeps the tiny -ln_1p(rest) exactly.
    let log_rest = rest.ln_1p();
    v.iter_mut().for_each(|x| *x = (*x - m) - log_rest);
}

impl Tensor {
    /// Softmax along `axis`.
    pub fn softmax(&self, axis: isize) -> Result<Tensor> {
        map_lanes(self, axis, "softmax", softmax_lane)
    }

    /// log(softmax) along `axis`, computed as x - max - log Σ exp(x - max).
    pub fn log_softmax(&self, axis: isize) -> Result<Tensor> {
        map_lanes(self, axis, "log_softmax", log_softmax_lane)
    }
}

/// Mean over the batch of -log softmax(logits)[label], for logits (batch, classes) and integer
/// labels. Returns the loss and the softmax probabilities, which are all the backward needs:
/// d loss / d logits = (p - onehot(label)) / batch.
pub fn softmax_cross_entropy(logits: &Tensor, labels: &[u32]) -> Result<(f32, Tensor)> {
    if logits.rank() != 2 || logits.shape()[0] != labels.len() {
        return Err(TensorError::invalid(
            "softmax_cross_entropy",
            format!(
                "expects logits (batch, classes) and one label per row; got {:?} and {} labels",
                logits.shape(),
                labels.len()
            ),
        ));
    }
    let classes = logits.shape()[1];
    if let Some((i, l)) = labels
        .iter()
        .enumerate()
        .find(|(_, &l)| l as usize >= classes)
    {
        return Err(TensorError::invalid(
            "softmax_cross_entropy",
            format!("label {l} at position {i} is out of range for {classes} classes"),
        ));
    }
    let log_p = logits.log_softmax(-1)?;
    let lp = log_p.as_slice();
    let total: f64 = labels
        .iter()
        .enumerate()
        .map(|(i, &l)| -(lp[i * classes + l as usize] as f64))
        .sum();
    let probs = log_p.exp();
    Ok(((total / labels.len().max(1) as f64) as f32, probs))
}

/// Backward of [`softmax_cross_entropy`] for an upstream gradient `scale` on the loss.
pub fn softmax_cross_entropy_backward(probs: &Tensor, labels: &[u32], scale: f32) -> Tensor {
    let classes = probs.shape()[1];
    let k = scale / labels.len().max(1) as f32;
    let mut g = probs.mul_scalar(k);
    let gs = g.as_mut_slice();
    for (i, &l) in labels.iter().enumerate() {
        gs[i * classes + l as usize] -= k;
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_of_course_example() {
        let x = Tensor::from_vec([3], vec![47., 50., 12.]).unwrap();
        let p = x.softmax(0).unwrap().to_vec();
        assert!((p[0] - 0.047_425_87).abs() < 1e-6);
        assert!((p[1] - 0.952_574_1).abs() < 1e-6);
        // The course rounds e^-38 / (1 + e^-3) = 2.99e-17 to "≈ 3.1e-17".
        assert!((p[2] - 2.99e-17).abs() < 0.01e-17, "{}", p[2]);
    }

    #[test]
    fn log_softmax_is_finite_for_huge_logits() {
        let x = Tensor::from_vec([1, 3], vec![1e4, -1e4, 0.0]).unwrap();
        let l = x.log_softmax(-1).unwrap();
        assert!(!l.has_non_finite());
        assert_eq!(l.to_vec()[0], 0.0);
    }

    #[test]
    fn softmax_along_a_middle_axis() {
        let x = Tensor::from_vec([1, 2, 2], vec![0., 1., 0., 1.]).unwrap();
        let p = x.softmax(1).unwrap().to_vec();
        assert_eq!(p, vec![0.5, 0.5, 0.5, 0.5]);
    }

    #[test]
    fn cross_entropy_rejects_out_of_range_labels() {
        let x = Tensor::zeros([2, 3]);
        assert!(softmax_cross_entropy(&x, &[0, 3]).is_err());
        let (loss, _) = softmax_cross_entropy(&x, &[0, 2]).unwrap();
        assert!((loss - 3f32.ln()).abs() < 1e-6);
    }
}
