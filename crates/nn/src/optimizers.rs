//! Optimizers with Keras's update rules and defaults. State is kept per parameter position, so
//! an optimizer is paired with one model's parameter list.

use crate::{NnError, Result};
use krust_autograd::Var;

pub trait Optimizer {
    /// Applies one update from the parameters' accumulated gradients (parameters without a
    /// gradient are left alone).
    fn step(&mut self, params: &[Var]) -> Result<()>;
    fn learning_rate(&self) -> f32;
    fn set_learning_rate(&mut self, lr: f32);
}

fn check_lr(lr: f32) -> Result<()> {
    if !(lr.is_finite() && lr > 0.0) {
        return Err(NnError::argument(
            "learning_rate",
            format!("must be a positive number, got {lr}"),
        ));
    }
    Ok(())
}

/// Stochastic gradient descent with optional (Nesterov) momentum, Keras form:
/// v ← m·v − lr·g; w ← w + v (or w + m·v − lr·g with Nesterov).
#[derive(Debug, Clone)]
pub struct Sgd {
    pub learning_rate: f32,
    pub momentum: f32,
    pub nesterov: bool,
    velocity: Vec<Vec<f32>>,
}

impl Sgd {
    /// Keras defaults: learning rate 0.01, no momentum.
    pub fn new(learning_rate: f32, momentum: f32, nesterov: bool) -> Result<Self> {
        check_lr(learning_rate)?;
        if !(0.0..1.0).contains(&momentum) {
            return Err(NnError::argument(
                "momentum",
                format!("must be in [0, 1), got {momentum}"),
            ));
        }
        Ok(Sgd {
            learning_rate,
            momentum,
            nesterov,
            velocity: Vec::new(),
        })
    }
}

impl Optimizer for Sgd {
    fn step(&mut self, params: &[Var]) -> Result<()> {
        self.velocity.resize(params.len(), Vec::new());
        let (lr, m) = (self.learning_rate, self.momentum);
        for (p, v) in params.iter().zip(self.velocity.iter_mut()) {
            let Some(g) = p.grad() else { continue };
            let g = g.as_slice();
            if v.len() != g.len() {
                *v = vec![0.0; g.len()];
            }
            p.update_value(|w| {
                for ((w, v), g) in w.as_mut_slice().iter_mut().zip(v.iter_mut()).zip(g) {
                    if m == 0.0 {
                        *w -= lr * g;
                    } else {
                        *v = m * *v - lr * g;
                        *w += if self.nesterov { m * *v - lr * g } else { *v };
                    }
                }
            });
        }
        Ok(())
    }

    fn learning_rate(&self) -> f32 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.learning_rate = lr;
    }
}

/// Adam as Keras implements it: bias correction folded into the step size and ε added to
/// √v̂ (ε = 1e-7 by default).
#[derive(Debug, Clone)]
pub struct Adam {
    pub learning_rate: f32,
    pub beta_1: f32,
    pub beta_2: f32,
    pub epsilon: f32,
    iterations: u64,
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
}

impl Adam {
    /// Keras defaults: beta_1 0.9, beta_2 0.999, epsilon 1e-7.
    pub fn new(learning_rate: f32) -> Result<Self> {
        check_lr(learning_rate)?;
        Ok(Adam {
            learning_rate,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            iterations: 0,
            m: Vec::new(),
            v: Vec::new(),
        })
    }
}

impl Optimizer for Adam {
    fn step(&mut self, params: &[Var]) -> Result<()> {
        self.iterations += 1;
        let t = self.iterations as i32;
        let (b1, b2, eps) = (self.beta_1, self.beta_2, self.epsilon);
        let alpha = self.learning_rate * (1.0 - b2.powi(t)).sqrt() / (1.0 - b1.powi(t));
        self.m.resize(params.len(), Vec::new());
        self.v.resize(params.len(), Vec::new());
        for ((p, m), v) in params.iter().zip(self.m.iter_mut()).zip(self.v.iter_mut()) {
            let Some(g) = p.grad() else { continue };
            let g = g.as_slice();
            if m.len() != g.len() {
                *m = vec![0.0; g.len()];
                *v = vec![0.0; g.len()];
            }
            p.update_value(|w| {
                for (((w, m), v), &g) in w
                    .as_mut_slice()
                    .iter_mut()
                    .zip(m.iter_mut())
                    .zip(v.iter_mut())
                    .zip(g)
                {
                    *m += (1.0 - b1) * (g - *m);
                    *v += (1.0 - b2) * (g * g - *v);
                    *w -= alpha * *m / (v.sqrt() + eps);
                }
            });
        }
        Ok(())
    }

    fn learning_rate(&self) -> f32 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.learning_rate = lr;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use krust_tensor::Tensor;

    fn quadratic_descent(opt: &mut dyn Optimizer, steps: usize) -> f32 {
        // Minimize (w - 3)²: gradient 2(w - 3).
        let w = Var::parameter(Tensor::from_vec([1], vec![0.0]).unwrap());
        for _ in 0..steps {
            let three = Var::constant(Tensor::from_vec([1], vec![3.0]).unwrap());
            w.sub(&three)
                .unwrap()
                .square()
                .sum()
                .unwrap()
                .backward()
                .unwrap();
            opt.step(std::slice::from_ref(&w)).unwrap();
            w.zero_grad();
        }
        w.value().as_slice()[0]
    }

    #[test]
    fn sgd_momentum_and_adam_converge_on_a_quadratic() {
        assert!(
            (quadratic_descent(&mut Sgd::new(0.1, 0.0, false).unwrap(), 100) - 3.0).abs() < 1e-3
        );
        assert!(
            (quadratic_descent(&mut Sgd::new(0.05, 0.9, true).unwrap(), 300) - 3.0).abs() < 1e-3
        );
        assert!((quadratic_descent(&mut Adam::new(0.1).unwrap(), 500) - 3.0).abs() < 1e-2);
    }

    #[test]
    fn adam_first_step_moves_by_learning_rate() {
        // With bias correction the first Adam step is lr·sign(g) (up to ε).
        let w = Var::parameter(Tensor::from_vec([2], vec![1.0, 1.0]).unwrap());
        w.mul_scalar(5.0).sum().unwrap().backward().unwrap();
        Adam::new(0.01)
            .unwrap()
            .step(std::slice::from_ref(&w))
            .unwrap();
        for v in w.value().to_vec() {
            assert!((v - 0.99).abs() < 1e-6);
        }
    }

    #[test]
    fn non_positive_learning_rate_is_rejected() {
        assert!(Adam::new(0.0).is_err());
        assert!(Sgd::new(-1.0, 0.0, false).is_err());
        assert!(Sgd::new(0.1, 1.5, false).is_err());
    }
}
