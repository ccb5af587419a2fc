//! The activation a convolution applies to its output while that output is still in cache.

use crate::elementwise::sigmoid;

/// What a fused kernel does to each output value after the bias: the inference path folds
/// `Conv → BatchNormalization → activation` into one convolution with this epilogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Epilogue {
    #[default]
    Identity,
    Relu,
    /// `min(max(x, 0), 6)`, MobileNet's activation.
    Relu6,
    /// `x · sigmoid(x)` (swish).
    Silu,
}

impl Epilogue {
    /// Applies the activation to every value of `y` in place.
    #[inline]
    pub fn apply(self, y: &mut [f32]) {
        match self {
            Epilogue::Identity => {}
            Epilogue::Relu => y.iter_mut().for_each(|v| *v = v.max(0.0)),
            Epilogue::Relu6 => y.iter_mut().for_each(|v| *v = v.clamp(0.0, 6.0)),
            Epilogue::Silu => y.iter_mut().for_each(|v| *v *= sigmoid(*v)),
        }
    }

    /// Adds `bias` (one value per output channel) to every row of `y` (whole rows of
    /// `bias.len()` values) and `residual` (the values of a residual connection at the same
    /// positions as `y`), then applies the activation: `act(y + bias + residual)`, ResNet's
    /// `relu(bn(conv(x)) + shortcut)`, in one pass while `y` is in cache.
    #[inline]
    pub fn apply_fused(self, y: &mut [f32], bias: Option<&[f32]>, residual: Option<&[f32]>) {
        if let Some(b) = bias.filter(|b| !b.is_empty()) {
            for row in y.chunks_exact_mut(b.len()) {
                row.iter_mut().zip(b).for_each(|(v, &bv)| *v += bv);
            }
        }
        if let Some(r) = residual {
            debug_assert_eq!(r.len(), y.len());
            y.iter_mut().zip(r).for_each(|(v, &rv)| *v += rv);
        }
        self.apply(y);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_epilogue_is_its_activation() {
        let x = [-7.0f32, -0.5, 0.0, 0.5, 6.5];
        let run = |e: Epilogue| {
            let mut y = x;
            e.apply(&mut y);
            y
        };
        assert_eq!(run(Epilogue::Identity), x);
        let mut y = [1.0f32, -2.0, 3.0, -4.0];
        Epilogue::Relu.apply_fused(&mut y, Some(&[0.5, 1.0]), None);
        assert_eq!(y, [1.5, 0.0, 3.5, 0.0]);
        assert_eq!(run(Epilogue::Relu), [0.0, 0.0, 0.0, 0.5, 6.5]);
        assert_eq!(run(Epilogue::Relu6), [0.0, 0.0, 0.0, 0.5, 6.0]);
        let silu = run(Epilogue::Silu);
        for (s, v) in silu.iter().zip(x) {
            assert!((s - v / (1.0 + (-v).exp())).abs() < 1e-6);
        }
    }
}
