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
        self.run_with_weights(inputs, &[], f)
    }

    /// Checks d/d(inputs) of `f` at `inputs` and d/d(weight) of every named weight `f` reads
    /// (a layer's kernel and bias), the weights nudged in place and restored. This is the one
    /// finite-difference loop of the project: autograd's op tests, the layer harness and the
    /// layer tests all call it.
    pub fn run_with_weights(
        &self,
        inputs: &[Tensor],
        weights: &[(String, Var)],
        f: impl Fn(&[Var]) -> Result<Var>,
    ) -> Result<()> {
        let params: Vec<Var> = inputs.iter().map(|t| Var::parameter(t.clone())).collect();
        weights.iter().for_each(|(_, w)| w.zero_grad());
        let y = f(&params)?;
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let r: Vec<f32> = (0..y.value_ref().numel())
            .map(|_| rng.gen_range(-1.0..1.0))
            .collect();
        let r_t = Var::constant(Tensor::from_vec(y.shape(), r.clone())?);
        y.mul(&r_t)?.sum()?.backward()?;
        // sum(f(xs) ⊙ r) at the inputs `xs`, with the weights as they are now.
        let value = |xs: &[Tensor]| -> Result<f64> {
            let vars: Vec<Var> = xs.iter().map(|x| Var::constant(x.clone())).collect();
            let out = no_grad(|| f(&vars))?;
            let v = projected(&out.value_ref(), &r);
            Ok(v)
        };
        let compare = |what: &str, a: f32, numeric: f32| -> Result<()> {
            let allowed = self.atol + self.rtol * a.abs().max(numeric.abs());
            if (a - numeric).abs() > allowed || !a.is_finite() {
                return Err(TensorError::invalid(
                    "gradcheck",
                    format!("{what}: backward gives {a}, finite differences give {numeric}"),
                ));
            }
            Ok(())
        };
        let central = |up: f64, down: f64| ((up - down) / (2.0 * self.eps as f64)) as f32;

        for (i, input) in inputs.iter().enumerate() {
            let analytic = params[i]
                .grad()
                .unwrap_or_else(|| Tensor::zeros(input.shape().to_vec()))
                .to_vec();
            for j in self.sample(input.numel()) {
                let nudged = |delta: f32| -> Result<f64> {
                    let mut xs = inputs.to_vec();
                    xs[i] = input.with_element_added(j, delta)?;
                    value(&xs)
                };
                let numeric = central(nudged(self.eps)?, nudged(-self.eps)?);
                compare(&format!("input {i} element {j}"), analytic[j], numeric)?;
            }
        }
        for (name, w) in weights {
            let analytic = w
                .grad()
                .unwrap_or_else(|| Tensor::zeros(w.shape()))
                .to_vec();
            for j in self.sample(analytic.len()) {
                let add = |delta: f32| -> Result<()> {
                    w.update_value(|t| -> Result<()> {
                        *t = t.with_element_added(j, delta)?;
                        Ok(())
                    })
                };
                add(self.eps)?;
                let up = value(inputs);
                add(-2.0 * self.eps)?;
                let down = value(inputs);
                add(self.eps)?;
                let numeric = central(up?, down?);
                compare(&format!("weight {name} element {j}"), analytic[j], numeric)?;
            }
        }
        Ok(())
    }

    /// At most `max_elements` indices below `n`, evenly spread.
    fn sample(&self, n: usize) -> impl Iterator<Item = usize> {
        (0..n).step_by(n.div_ceil(self.max_elements.max(1)).max(1))
    }
}
