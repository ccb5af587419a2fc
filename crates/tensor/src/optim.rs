//! Optimizer updates as fused ops: one call per parameter tensor updates the weights and the
//! optimizer's slot tensors in a single pass, as a device backend runs them. The arithmetic is
//! Keras's, in its order, so trajectories match Keras's to the last bit the fixtures pin.

use crate::{Result, Tensor, TensorError};

/// One step of an optimizer rule for one parameter, with every scalar already resolved for
/// this step (learning rate, bias corrections). The slot tensors each rule reads and writes are
/// listed on its variant, in the order [`apply_update`] takes them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Update {
    /// `w -= lr·g`. No slots.
    Sgd { lr: f32 },
    /// `v = m·v − lr·g; w += v` (or `m·v − lr·g` with Nesterov). Slots: velocity.
    Momentum {
        lr: f32,
        momentum: f32,
        nesterov: bool,
    },
    /// Adam with `alpha = lr·√(1−β₂ᵗ)/(1−β₁ᵗ)`. Slots: m, v (and v̂ when `amsgrad`).
    Adam {
        alpha: f32,
        one_minus_beta_1: f32,
        one_minus_beta_2: f32,
        epsilon: f32,
        amsgrad: bool,
    },
    /// RMSprop. Slots: velocity, then the momentum buffer when `momentum > 0`, then the
    /// average gradient when `centered`.
    RmsProp {
        lr: f32,
        rho: f32,
        one_minus_rho: f32,
        epsilon: f32,
        momentum: f32,
        centered: bool,
    },
    /// Adagrad. Slots: accumulator.
    Adagrad { lr: f32, epsilon: f32 },
    /// Nadam with this step's momentum schedule. Slots: m, v.
    Nadam {
        lr: f32,
        beta_1: f32,
        beta_2: f32,
        epsilon: f32,
        u_t: f32,
        u_next: f32,
        u_product: f32,
        u_product_next: f32,
        beta_2_power: f32,
    },
    /// Decoupled weight decay `w -= w·factor` (factor = decay·lr). No slots; `g` is unused.
    WeightDecay { factor: f32 },
}

impl Update {
    fn slot_count(&self) -> usize {
        match *self {
            Update::Sgd { .. } | Update::WeightDecay { .. } => 0,
            Update::Momentum { .. } | Update::Adagrad { .. } => 1,
            Update::Adam { amsgrad, .. } => 2 + amsgrad as usize,
            Update::RmsProp {
                momentum, centered, ..
            } => 1 + (momentum > 0.0) as usize + centered as usize,
            Update::Nadam { .. } => 2,
        }
    }
}

/// Applies `update` to `w` with gradient `g`, reading and writing `slots` in place.
pub fn apply_update(
    update: &Update,
    w: &mut Tensor,
    g: &Tensor,
    slots: &mut [&mut Tensor],
) -> Result<()> {
    if slots.len() != update.slot_count() {
        return Err(TensorError::invalid(
            "optimizer update",
            format!(
                "{update:?} takes {} slot tensors, got {}",
                update.slot_count(),
                slots.len()
            ),
        ));
    }
    let uses_gradient = !matches!(update, Update::WeightDecay { .. });
    if (uses_gradient && g.shape() != w.shape()) || slots.iter().any(|s| s.shape() != w.shape()) {
        return Err(TensorError::mismatch(
            "optimizer update",
            w.shape(),
            g.shape(),
            "the gradient and every slot must have the parameter's shape",
        ));
    }
    let mut slot_data: Vec<&mut [f32]> = slots.iter_mut().map(|s| s.as_mut_slice()).collect();
    let (w, g) = (w.as_mut_slice(), g.as_slice());
    match *update {
        Update::Sgd { lr } => {
            for (w, &g) in w.iter_mut().zip(g) {
                *w -= g * lr;
            }
        }
        Update::WeightDecay { factor } => {
            w.iter_mut().for_each(|w| *w -= *w * factor);
        }
        Update::Momentum {
            lr,
            momentum: m,
            nesterov,
        } => {
            let [v] = slot_data.as_mut_slice() else {
                unreachable!("slot count checked above")
            };
            for ((w, v), &g) in w.iter_mut().zip(v.iter_mut()).zip(g) {
                *v = *v * m - g * lr;
                *w += if nesterov { *v * m - g * lr } else { *v };
            }
        }
        Update::Adam {
            alpha,
            one_minus_beta_1,
            one_minus_beta_2,
            epsilon: eps,
            amsgrad,
        } => match slot_data.as_mut_slice() {
            [m, v, v_hat] if amsgrad => {
                for j in 0..w.len() {
                    m[j] += (g[j] - m[j]) * one_minus_beta_1;
                    v[j] += (g[j] * g[j] - v[j]) * one_minus_beta_2;
                    v_hat[j] = v_hat[j].max(v[j]);
                    w[j] -= m[j] * alpha / (v_hat[j].sqrt() + eps);
                }
            }
            [m, v] => {
                for (((w, m), v), &g) in w.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g) {
                    *m += (g - *m) * one_minus_beta_1;
                    *v += (g * g - *v) * one_minus_beta_2;
                    *w -= *m * alpha / (v.sqrt() + eps);
                }
            }
            _ => unreachable!("slot count checked above"),
        },
        Update::RmsProp {
            lr,
            rho,
            one_minus_rho,
            epsilon: eps,
            momentum,
            centered,
        } => {
            let mut it = slot_data.into_iter();
            let v = it.next().expect("slot count checked above");
            let mut s = if momentum > 0.0 { it.next() } else { None };
            let mut mean_g = if centered { it.next() } else { None };
            for j in 0..w.len() {
                v[j] = rho * v[j] + one_minus_rho * (g[j] * g[j]);
                let denominator = match mean_g.as_deref_mut() {
                    Some(a) => {
                        a[j] = rho * a[j] + one_minus_rho * g[j];
                        v[j] - a[j] * a[j] + eps
                    }
                    None => v[j] + eps,
                };
                let increment = lr * g[j] / denominator.sqrt();
                match s.as_deref_mut() {
                    Some(s) => {
                        s[j] = momentum * s[j] + increment;
                        w[j] -= s[j];
                    }
                    None => w[j] -= increment,
                }
            }
        }
        Update::Adagrad { lr, epsilon: eps } => {
            let [a] = slot_data.as_mut_slice() else {
                unreachable!("slot count checked above")
            };
            for ((w, a), &g) in w.iter_mut().zip(a.iter_mut()).zip(g) {
                *a += g * g;
                *w -= lr * g / (*a + eps).sqrt();
            }
        }
        Update::Nadam {
            lr,
            beta_1: b1,
            beta_2: b2,
            epsilon: eps,
            u_t,
            u_next,
            u_product,
            u_product_next,
            beta_2_power,
        } => {
            let [m, v] = slot_data.as_mut_slice() else {
                unreachable!("slot count checked above")
            };
            for j in 0..w.len() {
                m[j] += (g[j] - m[j]) * (1.0 - b1);
                v[j] += (g[j] * g[j] - v[j]) * (1.0 - b2);
                let m_hat =
                    u_next * m[j] / (1.0 - u_product_next) + (1.0 - u_t) * g[j] / (1.0 - u_product);
                let v_hat = v[j] / (1.0 - beta_2_power);
                w[j] -= m_hat * lr / (v_hat.sqrt() + eps);
            }
        }
    }
    Ok(())
}

impl Tensor {
    /// `self ← self·momentum + other·(1 − momentum)`, in place: moving statistics.
    pub fn blend_inplace(&mut self, other: &Tensor, momentum: f32) -> Result<()> {
        if self.shape() != other.shape() {
            return Err(TensorError::mismatch(
                "blend_inplace",
                self.shape(),
                other.shape(),
                "shapes must be equal",
            ));
        }
        for (v, &x) in self.as_mut_slice().iter_mut().zip(other.as_slice()) {
            *v = *v * momentum + x * (1.0 - momentum);
        }
        Ok(())
    }

    /// Every element clamped to `[lo, hi]`, in place.
    pub fn clamp_inplace(&mut self, lo: f32, hi: f32) {
        self.as_mut_slice()
            .iter_mut()
            .for_each(|x| *x = x.clamp(lo, hi));
    }

    /// Every element multiplied by `s`, in place.
    pub fn scale_inplace(&mut self, s: f32) {
        self.as_mut_slice().iter_mut().for_each(|x| *x *= s);
    }

    /// Every element `x` replaced by `x·c / d` (in that order, as Keras's `clipnorm` rounds).
    pub fn scale_ratio_inplace(&mut self, c: f32, d: f32) {
        self.as_mut_slice().iter_mut().for_each(|x| *x = *x * c / d);
    }

    /// Σ x², accumulated in float64.
    pub fn sum_of_squares(&self) -> f64 {
        self.as_slice()
            .iter()
            .map(|&x| (x as f64) * (x as f64))
            .sum()
    }

    /// A copy with `delta` added to the element at flat index `index` (finite differences).
    pub fn with_element_added(&self, index: usize, delta: f32) -> Result<Tensor> {
        if index >= self.numel() {
            return Err(TensorError::invalid(
                "with_element_added",
                format!("index {index} is out of range for shape {:?}", self.shape()),
            ));
        }
        let mut t = self.clone();
        t.as_mut_slice()[index] += delta;
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f32]) -> Tensor {
        Tensor::from_vec(vec![v.len()], v.to_vec()).unwrap()
    }

    #[test]
    fn sgd_momentum_and_adam_follow_their_formulas() {
        let g = t(&[1.0, -2.0]);
        let mut w = t(&[0.5, 0.5]);
        apply_update(&Update::Sgd { lr: 0.1 }, &mut w, &g, &mut []).unwrap();
        assert_eq!(w.as_slice(), &[0.4, 0.7]);
        let mut v = t(&[1.0, 0.0]);
        let mut w = t(&[0.0, 0.0]);
        let rule = Update::Momentum {
            lr: 0.1,
            momentum: 0.9,
            nesterov: false,
        };
        apply_update(&rule, &mut w, &g, &mut [&mut v]).unwrap();
        assert_eq!(v.as_slice(), &[0.9 - 0.1, 0.2]);
        assert_eq!(w.as_slice(), v.as_slice());
        let (mut m, mut v) = (t(&[0.0, 0.0]), t(&[0.0, 0.0]));
        let mut w = t(&[0.0, 0.0]);
        let rule = Update::Adam {
            alpha: 0.01,
            one_minus_beta_1: 0.1,
            one_minus_beta_2: 0.001,
            epsilon: 1e-7,
            amsgrad: false,
        };
        apply_update(&rule, &mut w, &g, &mut [&mut m, &mut v]).unwrap();
        assert_eq!(m.as_slice(), &[0.1, -0.2]);
        let want = -0.1 * 0.01 / (0.001f32.sqrt() + 1e-7);
        assert!((w.as_slice()[0] - want).abs() < 1e-7);
    }

    #[test]
    fn wrong_slot_counts_and_shapes_are_refused() {
        let (mut w, g) = (t(&[1.0, 2.0]), t(&[1.0, 2.0]));
        let adagrad = Update::Adagrad {
            lr: 0.1,
            epsilon: 1e-7,
        };
        assert!(apply_update(&adagrad, &mut w, &g, &mut []).is_err());
        let mut short = t(&[0.0]);
        assert!(apply_update(&adagrad, &mut w, &g, &mut [&mut short]).is_err());
        assert!(apply_update(&Update::Sgd { lr: 1.0 }, &mut w, &t(&[1.0]), &mut []).is_err());
    }

    #[test]
    fn in_place_helpers() {
        let mut a = t(&[1.0, -3.0]);
        a.blend_inplace(&t(&[3.0, 1.0]), 0.5).unwrap();
        assert_eq!(a.as_slice(), &[2.0, -1.0]);
        a.clamp_inplace(-0.5, 0.5);
        assert_eq!(a.as_slice(), &[0.5, -0.5]);
        a.scale_inplace(4.0);
        assert_eq!(a.as_slice(), &[2.0, -2.0]);
        assert_eq!(a.sum_of_squares(), 8.0);
        let b = a.with_element_added(1, 1.0).unwrap();
        assert_eq!(b.as_slice(), &[2.0, -1.0]);
        assert!(a.with_element_added(2, 1.0).is_err());
    }
}
