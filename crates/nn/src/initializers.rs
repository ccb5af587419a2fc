//! Weight initializers with Keras's fan computation: for a kernel of shape
//! (k1, ..., kn, in, out) the receptive field is k1·…·kn, fan_in = in·rf, fan_out = out·rf.

use krust_tensor::random::next_rng;
use krust_tensor::Tensor;
use rand_distr::{Distribution, Normal};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Initializer {
    Zeros,
    Ones,
    /// U(-limit, limit) with limit = sqrt(6 / (fan_in + fan_out)): Keras's kernel default.
    GlorotUniform,
    /// Truncated normal (cut at 2 std) with std = sqrt(2 / fan_in), as Keras's he_normal.
    HeNormal,
}

/// (fan_in, fan_out) of a weight shape, as Keras computes them.
pub fn fans(shape: &[usize]) -> (f32, f32) {
    match shape.len() {
        0 => (1.0, 1.0),
        1 => (shape[0] as f32, shape[0] as f32),
        2 => (shape[0] as f32, shape[1] as f32),
        n => {
            let rf: usize = shape[..n - 2].iter().product();
            ((shape[n - 2] * rf) as f32, (shape[n - 1] * rf) as f32)
        }
    }
}

impl Initializer {
    /// Draws a fresh tensor from the global seed's next generator.
    pub fn sample(&self, shape: &[usize]) -> Tensor {
        let mut rng = next_rng();
        let (fan_in, fan_out) = fans(shape);
        match self {
            Initializer::Zeros => Tensor::zeros(shape.to_vec()),
            Initializer::Ones => Tensor::ones(shape.to_vec()),
            Initializer::GlorotUniform => {
                let limit = (6.0 / (fan_in + fan_out).max(1.0)).sqrt();
                Tensor::rand_uniform(shape.to_vec(), -limit, limit, &mut rng)
            }
            Initializer::HeNormal => {
                // Keras divides by the std of a unit normal truncated at ±2 (0.8796) so the
                // truncated samples keep the intended variance.
                let std = (2.0 / fan_in.max(1.0)).sqrt() / 0.879_625_7;
                let normal = Normal::new(0.0f32, 1.0).expect("unit normal is valid");
                let n: usize = shape.iter().product();
                let data = (0..n)
                    .map(|_| loop {
                        let z = normal.sample(&mut rng);
                        if z.abs() <= 2.0 {
                            break z * std;
                        }
                    })
                    .collect();
                Tensor::from_vec(shape.to_vec(), data).expect("length matches shape")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fans_of_conv_kernel_include_receptive_field() {
        assert_eq!(fans(&[5, 5, 6, 16]), (150.0, 400.0));
        assert_eq!(fans(&[400, 120]), (400.0, 120.0));
    }

    fn moments(t: &Tensor) -> (f32, f32) {
        let v = t.as_slice();
        let mean = v.iter().sum::<f32>() / v.len() as f32;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / v.len() as f32;
        (mean, var)
    }

    #[test]
    fn glorot_uniform_has_keras_variance() {
        let t = Initializer::GlorotUniform.sample(&[300, 200]);
        let (mean, var) = moments(&t);
        let want = 2.0 / 500.0; // limit² / 3 = 6/(in+out)/3
        assert!(mean.abs() < 2e-3, "mean {mean}");
        assert!((var - want).abs() / want < 0.03, "var {var} vs {want}");
        let limit = (6.0f32 / 500.0).sqrt();
        assert!(t.as_slice().iter().all(|x| x.abs() <= limit));
    }

    #[test]
    fn he_normal_has_variance_two_over_fan_in() {
        let t = Initializer::HeNormal.sample(&[3, 3, 64, 128]);
        let (mean, var) = moments(&t);
        let want = 2.0 / (9.0 * 64.0);
        assert!(mean.abs() < 2e-3, "mean {mean}");
        assert!((var - want).abs() / want < 0.03, "var {var} vs {want}");
    }
}
