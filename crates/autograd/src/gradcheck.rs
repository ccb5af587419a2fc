//! Finite-difference gradient check: compares backward's gradients with central differences
//! of a random projection of the output, so every output element's gradient path is used.

use crate::{no_grad, Result, Tensor, TensorError, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Tolerances and step of a gradient check.
#[derive(Debug, Clone, Copy)]
pub struct GradCheck {
    /// Finite-difference step.
    pub eps: f32,
    /// Allowed |analytic - numeric| is `atol + rtol * max(|analytic|, |numeric|)`.
    pub atol: f32,
    pub rtol: f32,
    /// At most this many elements per input are perturbed (evenly spread).
    pub max_elements: usize,
}

impl Default for GradCheck {
    fn default() -> Self {
        GradCheck {
            eps: 1e-2,
            atol: 2e-3,
            rtol: 2e-2,
            max_elements: 64,
        }
    }
}

/// sum(y ⊙ r) in float64, the scalar whose gradient is checked.
fn projected(y: &Tensor, r: &[f32]) -> f64 {
    y.to_vec()
        .iter()
        .zip(r)
        .map(|(a, b)| *a as f64 * *b as f64)
        .sum()
}

impl GradCheck {
    /// Checks d/d(inputs) of `f` at `inputs`. Every input is a parameter; `f` may ignore some.
    pub fn run(&self, inputs: &[Tensor], f: impl Fn(&[Var]) -> Result<Var>) -> Result<()> {
        let params: Vec<Var> = inputs.iter().map(|t| Var::parameter(t.clone())).collect();
        let y = f(&params)?;
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let r: Vec<f32> = (0..y.value_ref().numel())
            .map(|_| rng.gen_range(-1.0..1.0))
            .collect();
        let r_t = Var::constant(Tensor::from_vec(y.shape(), r.clone())?);
        y.mul(&r_t)?.sum()?.backward()?;

        for (i, input) in inputs.iter().enumerate() {
            let analytic = params[i]
                .grad()
                .unwrap_or_else(|| Tensor::zeros(input.shape().to_vec()));
            let analytic_values = analytic.to_vec();
            let n = input.numel();
            let step = n.div_ceil(self.max_elements).max(1);
            for j in (0..n).step_by(step) {
                let eval = |delta: f32| -> Result<f64> {
                    let t = input.with_element_added(j, delta)?;
                    let vars: Vec<Var> = inputs
                        .iter()
                        .enumerate()
                        .map(|(k, x)| Var::constant(if k == i { t.clone() } else { x.clone() }))
                        .collect();
                    let out = no_grad(|| f(&vars))?;
                    let v = projected(&out.value_ref(), &r);
                    Ok(v)
                };
                let numeric =
                    ((eval(self.eps)? - eval(-self.eps)?) / (2.0 * self.eps as f64)) as f32;
                let a = analytic_values[j];
                let allowed = self.atol + self.rtol * a.abs().max(numeric.abs());
                if (a - numeric).abs() > allowed || !a.is_finite() {
                    return Err(TensorError::invalid(
                        "gradcheck",
                        format!("input {i} element {j}: backward gives {a}, finite differences give {numeric}"),
                    ));
                }
            }
        }
        Ok(())
    }
}
