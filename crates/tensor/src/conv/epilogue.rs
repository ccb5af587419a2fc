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
        assert_eq!(run(Epilogue::Relu), [0.0, 0.0, 0.0, 0.5, 6.5]);
        assert_eq!(run(Epilogue::Relu6), [0.0, 0.0, 0.0, 0.5, 6.0]);
        let silu = run(Epilogue::Silu);
        for (s, v) in silu.iter().zip(x) {
            assert!((s - v / (1.0 + (-v).exp())).abs() < 1e-6);
        }
    }
}
