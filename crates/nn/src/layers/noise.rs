//! Regularization layers that are active only in training and the identity at inference:
//! `SpatialDropout1D/2D/3D` (drop whole feature maps), `GaussianDropout` (multiply by noise
//! centred on 1), `GaussianNoise` (add noise centred on 0), `AlphaDropout` (SELU-preserving
//! dropout) and `StochasticDepth` (drop a sample's residual branch). Each draws from its own
//! generator, seeded from the thread's seed when the layer is created.

use super::Layer;
use crate::config::args::{self, KerasArgs, Unset};
use crate::{NnError, Result};
use krust_autograd::Var;
use krust_tensor::random::{RandomOp, RandomStream};
use krust_tensor::UnaryOp;
use serde::{Deserialize, Serialize};

fn check_rate(layer: &str, rate: f32) -> Result<()> {
    if !(0.0..1.0).contains(&rate) {
        return Err(NnError::layer(
            layer,
            format!("rate must be in [0, 1), got {rate}"),
        ));
    }
    Ok(())
}

/// Drops whole channels: one keep/drop decision per (sample, channel), shared by every
/// position, survivors scaled by 1/(1 - rate). Keras's `SpatialDropout1D/2D/3D(rate)`; its
/// fields are its Keras arguments (see `config::args`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default = "SpatialDropout::keras_defaults", deny_unknown_fields)]
pub struct SpatialDropout {
    /// Fraction of channels dropped. Keras requires it; a config without it reads as `0.5`.
    pub rate: f32,
    /// Keras's `noise_shape`, which krust does not implement: default `None`.
    noise_shape: Unset,
    /// The masks' stream, under Keras's `seed`: default `None`, the thread's generator.
    #[serde(rename = "seed", with = "args::seed")]
    noise: RandomStream,
    /// 1, 2 or 3 spatial axes.
    #[serde(skip)]
    spatial_axes: usize,
}

impl SpatialDropout {
    /// Draws the masks from a stream of their own made from `seed` (Keras's `seed`
    /// argument), instead of from the thread's generator.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.noise = RandomStream::seeded(seed);
        self
    }

    /// The defaults for every argument (rate 0.5 where Keras requires one), the one place
    /// they are written; the spatial axes come from the class.
    fn keras_defaults() -> Self {
        SpatialDropout {
            rate: 0.5,
            noise_shape: Unset,
            noise: RandomStream::new(),
            spatial_axes: 0,
        }
    }

    fn with_axes(rate: f32, spatial_axes: usize) -> Self {
        SpatialDropout {
            rate,
            spatial_axes,
            ..Self::keras_defaults()
        }
    }

    fn name(&self) -> &'static str {
        match self.spatial_axes {
            1 => "SpatialDropout1D",
            2 => "SpatialDropout2D",
            _ => "SpatialDropout3D",
        }
    }

    pub fn from_config(class: &str, config: &serde_json::Value) -> Result<Self> {
        let mut layer: SpatialDropout = args::read(class, config)?;
        layer.spatial_axes = match class {
            "SpatialDropout1D" => 1,
            "SpatialDropout2D" => 2,
            _ => 3,
        };
        Ok(layer)
    }
}

impl KerasArgs for SpatialDropout {}

/// `SpatialDropout1D(rate)`: inputs (steps, channels).
pub struct SpatialDropout1D;
/// `SpatialDropout2D(rate)`: inputs (height, width, channels).
pub struct SpatialDropout2D;
/// `SpatialDropout3D(rate)`: inputs (depth, height, width, channels).
pub struct SpatialDropout3D;

impl SpatialDropout1D {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(rate: f32) -> SpatialDropout {
        SpatialDropout::with_axes(rate, 1)
    }
}

impl SpatialDropout2D {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(rate: f32) -> SpatialDropout {
        SpatialDropout::with_axes(rate, 2)
    }
}

impl SpatialDropout3D {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(rate: f32) -> SpatialDropout {
        SpatialDropout::with_axes(rate, 3)
    }
}

impl Layer for SpatialDropout {
    fn random_stream(&self) -> Option<&RandomStream> {
        Some(&self.noise)
    }

    fn class_name(&self) -> &'static str {
        self.name()
    }

    fn config(&self) -> serde_json::Value {
        args::write(self)
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        check_rate(self.name(), self.rate)?;
        if input_shape.len() != self.spatial_axes + 1 {
            return Err(NnError::layer(
                self.name(),
                format!(
                    "expects inputs with {} spatial axes and channels, got {input_shape:?}",
                    self.spatial_axes
                ),
            ));
        }
        Ok(input_shape.to_vec())
    }

    fn forward(&self, x: &Var, training: bool) -> Result<Var> {
        if !training || self.rate == 0.0 {
            return Ok(x.clone());
        }
        let shape = x.shape();
        let (b, c) = (shape[0], shape[shape.len() - 1]);
        let keep = 1.0 - self.rate;
        let mut mask_shape = vec![1; shape.len()];
        mask_shape[0] = b;
        mask_shape[shape.len() - 1] = c;
        let mask = self
            .noise
            .draw(RandomOp::inverted_dropout(keep), &mask_shape);
        Ok(x.mul(&Var::constant(mask))?)
    }
}

/// Multiplies by Gaussian noise with mean 1 and standard deviation sqrt(rate / (1 - rate)).
/// Keras's `GaussianDropout(rate)`; its fields are its Keras arguments (see `config::args`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default = "GaussianDropout::keras_defaults", deny_unknown_fields)]
pub struct GaussianDropout {
    /// Keras requires it; a config without it reads as `0.5` (`GaussianDropout::default`).
    pub rate: f32,
    /// The noise's stream, under Keras's `seed`: default `None`, the thread's generator.
    #[serde(rename = "seed", with = "args::seed")]
    noise: RandomStream,
}

impl GaussianDropout {
    /// Draws the masks from a stream of their own made from `seed` (Keras's `seed`
    /// argument), instead of from the thread's generator.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.noise = RandomStream::seeded(seed);
        self
    }

    /// The defaults for every argument (rate 0.5 where Keras requires one), the one place
    /// they are written.
    fn keras_defaults() -> Self {
        GaussianDropout {
            rate: 0.5,
            noise: RandomStream::new(),
        }
    }

    pub fn new(rate: f32) -> Self {
        GaussianDropout {
            rate,
            ..Self::keras_defaults()
        }
    }

    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        args::read("GaussianDropout", config)
    }
}

impl KerasArgs for GaussianDropout {}

/// Rate 0.5: what `from_config` reads a config without `rate` as.
impl Default for GaussianDropout {
    fn default() -> Self {
        GaussianDropout::keras_defaults()
    }
}

impl Layer for GaussianDropout {
    fn random_stream(&self) -> Option<&RandomStream> {
        Some(&self.noise)
    }

    fn class_name(&self) -> &'static str {
        "GaussianDropout"
    }

    fn config(&self) -> serde_json::Value {
        args::write(self)
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        check_rate("GaussianDropout", self.rate)?;
        Ok(input_shape.to_vec())
    }

    fn forward(&self, x: &Var, training: bool) -> Result<Var> {
        if !training || self.rate == 0.0 {
            return Ok(x.clone());
        }
        let std = (self.rate / (1.0 - self.rate)).sqrt();
        let noise = self
            .noise
            .draw(RandomOp::Normal { mean: 1.0, std }, &x.shape());
        Ok(x.mul(&Var::constant(noise))?)
    }
}

/// Adds Gaussian noise with mean 0 and standard deviation `stddev`. Keras's
/// `GaussianNoise(stddev)`; its fields are its Keras arguments (see `config::args`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default = "GaussianNoise::keras_defaults", deny_unknown_fields)]
pub struct GaussianNoise {
    /// Keras requires it; a config without it reads as `0.0` (`GaussianNoise::default`).
    pub stddev: f32,
    /// The noise's stream, under Keras's `seed`: default `None`, the thread's generator.
    #[serde(rename = "seed", with = "args::seed")]
    noise: RandomStream,
}

impl GaussianNoise {
    /// Draws the masks from a stream of their own made from `seed` (Keras's `seed`
    /// argument), instead of from the thread's generator.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.noise = RandomStream::seeded(seed);
        self
    }

    /// The defaults for every argument (no noise where Keras requires a `stddev`), the one
    /// place they are written.
    fn keras_defaults() -> Self {
        GaussianNoise {
            stddev: 0.0,
            noise: RandomStream::new(),
        }
    }

    pub fn new(stddev: f32) -> Self {
        GaussianNoise {
            stddev,
            ..Self::keras_defaults()
        }
    }

    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        args::read("GaussianNoise", config)
    }
}

impl KerasArgs for GaussianNoise {}

/// No noise: what `from_config` reads a config without `stddev` as.
impl Default for GaussianNoise {
    fn default() -> Self {
        GaussianNoise::keras_defaults()
    }
}

impl Layer for GaussianNoise {
    fn random_stream(&self) -> Option<&RandomStream> {
        Some(&self.noise)
    }

    fn class_name(&self) -> &'static str {
        "GaussianNoise"
    }

    fn config(&self) -> serde_json::Value {
        args::write(self)
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        if !(self.stddev >= 0.0 && self.stddev.is_finite()) {
            return Err(NnError::layer(
                "GaussianNoise",
                format!("stddev must be a non-negative number, got {}", self.stddev),
            ));
        }
        Ok(input_shape.to_vec())
    }

    fn forward(&self, x: &Var, training: bool) -> Result<Var> {
        if !training || self.stddev == 0.0 {
            return Ok(x.clone());
        }
        let noise = self.noise.draw(
            RandomOp::Normal {
                mean: 0.0,
                std: self.stddev,
            },
            &x.shape(),
        );
        Ok(x.add(&Var::constant(noise))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use krust_tensor::Tensor;

    #[test]
    fn spatial_dropout_drops_whole_channels_and_is_identity_at_inference() {
        let mut d = SpatialDropout2D::new(0.5);
        d.build(&[4, 4, 64]).unwrap();
        let x = Var::constant(Tensor::ones([2, 4, 4, 64]));
        assert_eq!(
            d.forward(&x, false).unwrap().value().to_vec(),
            x.value().to_vec()
        );
        let y = d.forward(&x, true).unwrap().value();
        let v = y.to_vec();
        for b in 0..2 {
            for c in 0..64 {
                let first = v[b * 1024 + c];
                assert!(first == 0.0 || first == 2.0);
                assert!(
                    (0..16).all(|p| v[b * 1024 + p * 64 + c] == first),
                    "channel {c} not dropped whole"
                );
            }
        }
        let kept = v.iter().filter(|&&x| x != 0.0).count() as f32 / v.len() as f32;
        assert!((kept - 0.5).abs() < 0.15, "kept {kept}");
    }

    #[test]
    fn gaussian_layers_have_the_right_moments_in_training_only() {
        let x = Var::constant(Tensor::ones([200, 100]));
        let mut gd = GaussianDropout::new(0.2);
        gd.build(&[100]).unwrap();
        let y = gd.forward(&x, true).unwrap().value();
        let (m, v) = moments(&y.to_vec());
        assert!((m - 1.0).abs() < 0.01 && (v - 0.25).abs() < 0.02, "{m} {v}");
        assert_eq!(
            gd.forward(&x, false).unwrap().value().to_vec(),
            x.value().to_vec()
        );
        let mut gn = GaussianNoise::new(0.3);
        gn.build(&[100]).unwrap();
        let y = gn.forward(&x, true).unwrap().value();
        let (m, v) = moments(&y.to_vec());
        assert!((m - 1.0).abs() < 0.01 && (v - 0.09).abs() < 0.01, "{m} {v}");
        assert_eq!(
            gn.forward(&x, false).unwrap().value().to_vec(),
            x.value().to_vec()
        );
    }

    fn moments(v: &[f32]) -> (f32, f32) {
        let m = v.iter().sum::<f32>() / v.len() as f32;
        (
            m,
            v.iter().map(|x| (x - m).powi(2)).sum::<f32>() / v.len() as f32,
        )
    }
}

/// SELU's negative saturation -α·λ, the value a dropped unit takes in `AlphaDropout`.
const ALPHA_P: f32 = -1.673_263_2 * 1.050_701;

/// Dropout for self-normalizing (SELU) networks: dropped units are set to SELU's negative
/// saturation instead of 0, then an affine map a·x + b restores the mean and variance.
/// Keras's `AlphaDropout(rate)`; its fields are its Keras arguments (see `config::args`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default = "AlphaDropout::keras_defaults", deny_unknown_fields)]
pub struct AlphaDropout {
    /// Keras requires it; a config without it reads as `0.5` (`AlphaDropout::default`).
    pub rate: f32,
    /// As `Dropout`'s: None entries take the input's size, 1 entries share a decision.
    /// Default `None`.
    #[serde(deserialize_with = "args::whole")]
    pub noise_shape: Option<Vec<Option<usize>>>,
    /// The masks' stream, under Keras's `seed`: default `None`, the thread's generator.
    #[serde(rename = "seed", with = "args::seed")]
    noise: RandomStream,
}

impl AlphaDropout {
    /// Draws the masks from a stream of their own made from `seed` (Keras's `seed`
    /// argument), instead of from the thread's generator.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.noise = RandomStream::seeded(seed);
        self
    }

    /// The defaults for every argument (rate 0.5 where Keras requires one), the one place
    /// they are written.
    fn keras_defaults() -> Self {
        AlphaDropout {
            rate: 0.5,
            noise_shape: None,
            noise: RandomStream::new(),
        }
    }

    pub fn new(rate: f32) -> Self {
        AlphaDropout {
            rate,
            ..Self::keras_defaults()
        }
    }

    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        args::read("AlphaDropout", config)
    }
}

impl KerasArgs for AlphaDropout {}

/// Rate 0.5: what `from_config` reads a config without `rate` as.
impl Default for AlphaDropout {
    fn default() -> Self {
        AlphaDropout::keras_defaults()
    }
}

impl Layer for AlphaDropout {
    fn random_stream(&self) -> Option<&RandomStream> {
        Some(&self.noise)
    }

    fn class_name(&self) -> &'static str {
        "AlphaDropout"
    }

    fn config(&self) -> serde_json::Value {
        args::write(self)
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        check_rate("AlphaDropout", self.rate)?;
        Ok(input_shape.to_vec())
    }

    fn forward(&self, x: &Var, training: bool) -> Result<Var> {
        if !training || self.rate == 0.0 {
            return Ok(x.clone());
        }
        let rate = self.rate;
        let a = ((1.0 - rate) * (1.0 + rate * ALPHA_P * ALPHA_P)).powf(-0.5);
        let b = -a * ALPHA_P * rate;
        let shape = super::dropout::mask_shape("AlphaDropout", &self.noise_shape, &x.shape())?;
        // a·(kept ? x : α') + b, as x·(a·kept) + (b - a·α'·kept + a·α'), kept ∈ {0, 1}.
        let kept = self.noise.draw(
            RandomOp::Bernoulli {
                p: 1.0 - rate,
                one: 1.0,
                zero: 0.0,
            },
            &shape,
        );
        let scale = Var::constant(kept.unary(UnaryOp::MulScalar(a)));
        let shift = Var::constant(kept.unary(UnaryOp::Affine {
            scale: -a * ALPHA_P,
            shift: a * ALPHA_P + b,
        }));
        Ok(x.mul(&scale)?.add(&shift)?)
    }
}

/// ConvNeXt's `StochasticDepth` (drop path): in training each sample's whole residual branch
/// is dropped with probability `drop_path_rate` and kept ones are scaled by 1/(1 - rate).
/// Its fields are its Keras arguments (see `config::args`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default = "StochasticDepth::keras_defaults", deny_unknown_fields)]
pub struct StochasticDepth {
    /// Probability of dropping a sample's branch (required).
    pub drop_path_rate: f32,
    #[serde(skip)]
    noise: RandomStream,
}

impl StochasticDepth {
    /// The defaults for every argument, the one place they are written: `drop_path_rate` has
    /// none (0 until it is read).
    fn keras_defaults() -> Self {
        StochasticDepth {
            drop_path_rate: 0.0,
            noise: RandomStream::new(),
        }
    }

    pub fn new(drop_path_rate: f32) -> Self {
        StochasticDepth {
            drop_path_rate,
            ..Self::keras_defaults()
        }
    }

    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        args::read("StochasticDepth", config)
    }
}

impl KerasArgs for StochasticDepth {
    const REQUIRED: &'static [&'static str] = &["drop_path_rate"];
}

impl Layer for StochasticDepth {
    fn random_stream(&self) -> Option<&RandomStream> {
        Some(&self.noise)
    }

    fn class_name(&self) -> &'static str {
        "StochasticDepth"
    }

    fn config(&self) -> serde_json::Value {
        args::write(self)
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        check_rate("StochasticDepth", self.drop_path_rate)?;
        Ok(input_shape.to_vec())
    }

    fn forward(&self, x: &Var, training: bool) -> Result<Var> {
        if !training || self.drop_path_rate == 0.0 {
            return Ok(x.clone());
        }
        let keep = 1.0 - self.drop_path_rate;
        let shape = x.shape();
        let mut mask_shape = vec![1; shape.len()];
        mask_shape[0] = shape[0];
        let mask = self
            .noise
            .draw(RandomOp::inverted_dropout(keep), &mask_shape);
        Ok(x.mul(&Var::constant(mask))?)
    }
}
