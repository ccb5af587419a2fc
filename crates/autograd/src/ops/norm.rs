//! Batch normalization with batch statistics as one op: forward normalizes each feature with
//! the batch's mean and biased variance, backward differentiates through those statistics.

use crate::{Result, Tensor, Var};
use krust_tensor::norm::{batch_norm_backward, batch_statistics, normalize, ChannelLayout};

/// The result of [`Var::batch_norm_training`]: the output and the batch statistics it used,
/// which a layer blends into its moving statistics.
pub struct BatchNormOutput {
    pub y: Var,
    pub mean: Vec<f32>,
    pub variance: Vec<f32>,
}

impl Var {
    /// (x - mean) / √(var + ε) · γ + β, with mean and variance taken per feature of `axis`
    /// (counted on the full shape) over every other axis. γ and β are vectors of one value
    /// per feature; either may be absent (scale 1, offset 0).
    pub fn batch_norm_training(
        &self,
        axis: usize,
        gamma: Option<&Var>,
        beta: Option<&Var>,
        epsilon: f32,
    ) -> Result<BatchNormOutput> {
        let x = self.value();
        let layout = ChannelLayout::of(x.shape(), axis)?;
        let channels = layout.channels;
        let per_feature = |v: Option<&Var>, default: f32| -> Result<Vec<f32>> {
            match v {
                Some(v) => Ok(v.value().reshape([channels])?.to_vec()),
                None => Ok(vec![default; channels]),
            }
        };
        let gamma_values = per_feature(gamma, 1.0)?;
        let beta_values = per_feature(beta, 0.0)?;
        let (mean, variance) = batch_statistics(&x, layout);
        let inv_std: Vec<f32> = variance
            .iter()
            .map(|v| 1.0 / (v + epsilon).sqrt())
            .collect();
        let scale: Vec<f32> = (0..channels)
            .map(|c| gamma_values[c] * inv_std[c])
            .collect();
        let y = normalize(&x, layout, &mean, &scale, &beta_values);

        let mut parents = vec![self];
        parents.extend(gamma);
        parents.extend(beta);
        let shapes = (gamma.map(|v| v.shape()), beta.map(|v| v.shape()));
        let saved_mean = mean.clone();
        let y = Var::from_op(
            y,
            &parents,
            Box::new(move |g| {
                let grads =
                    batch_norm_backward(g, &x, layout, &saved_mean, &inv_std, &gamma_values)?;
                let mut out = vec![Some(grads.x)];
                if let Some(shape) = &shapes.0 {
                    out.push(Some(Tensor::from_vec(shape.clone(), grads.gamma)?));
                }
                if let Some(shape) = &shapes.1 {
                    out.push(Some(Tensor::from_vec(shape.clone(), grads.beta)?));
                }
                Ok(out)
            }),
        );
        Ok(BatchNormOutput { y, mean, variance })
    }
}

#[cfg(test)]
mod tests {
    use crate::gradcheck::GradCheck;
    use crate::Tensor;

    fn values(shape: &[usize], seed: usize) -> Tensor {
        let n: usize = shape.iter().product();
        let v = (0..n)
            .map(|i| (((i + seed) * 37 % 29) as f32) * 0.15 - 2.0)
            .collect();
        Tensor::from_vec(shape.to_vec(), v).unwrap()
    }

    #[test]
    fn batch_norm_gradients_match_finite_differences_both_layouts() {
        for axis in [1, 2] {
            let x = values(&[5, 3, 4], 0);
            let c = x.shape()[axis];
            let gamma = values(&[c], 3).add_scalar(3.0);
            let beta = values(&[c], 5);
            GradCheck::default()
                .run(&[x, gamma, beta], |v| {
                    Ok(v[0]
                        .batch_norm_training(axis, Some(&v[1]), Some(&v[2]), 1e-3)?
                        .y)
                })
                .unwrap();
        }
    }

    #[test]
    fn batch_norm_without_gamma_and_beta_matches_finite_differences() {
        GradCheck::default()
            .run(&[values(&[6, 4], 1)], |v| {
                Ok(v[0].batch_norm_training(1, None, None, 1e-3)?.y)
            })
            .unwrap();
    }
}
