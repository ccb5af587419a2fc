//! Weight initializers as Keras 3 defines them, with Keras's fan computation: for a kernel of
//! shape (k1, ..., kn, in, out) the receptive field is k1·…·kn, fan_in = in·rf and
//! fan_out = out·rf. Every random draw takes its generator from the thread's seed (`krust_tensor::random::set_seed`).

use crate::optimizers::keras_config::{class_and_config, json_f32, keras_object, ConfigReader};
use crate::{NnError, Result};
use krust_tensor::random::next_rng;
use krust_tensor::Tensor;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{json, Value};

/// Which fan [`Initializer::VarianceScaling`] divides its scale by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FanMode {
    FanIn,
    FanOut,
    /// (fan_in + fan_out) / 2.
    FanAvg,
}

/// The distribution [`Initializer::VarianceScaling`] draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalingDistribution {
    /// Normal cut at ±2 standard deviations, widened so the samples keep the target variance.
    TruncatedNormal,
    UntruncatedNormal,
    Uniform,
}

/// A weight initializer. Layers default to `GlorotUniform` for kernels and `Zeros` for biases,
/// as in Keras. Build the ones with arguments through the checked constructors
/// ([`Initializer::random_normal`], ...) or [`Initializer::from_name`] for Keras's defaults.
///
/// Serde reads and writes Keras's serialized form,
/// `{"module": "keras.initializers", "class_name": "RandomNormal", "config": {"mean": 0.0,
/// "stddev": 0.05, "seed": null}, "registered_name": null}`, and also reads a bare Keras
/// name such as `"he_normal"`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Initializer {
    Zeros,
    Ones,
    Constant {
        value: f32,
    },
    /// N(mean, stddev²); Keras default N(0, 0.05²).
    RandomNormal {
        mean: f32,
        stddev: f32,
    },
    /// U(minval, maxval); Keras default U(−0.05, 0.05).
    RandomUniform {
        minval: f32,
        maxval: f32,
    },
    /// N(mean, stddev²) with samples beyond 2·stddev redrawn; Keras default stddev 0.05.
    TruncatedNormal {
        mean: f32,
        stddev: f32,
    },
    /// Zero-mean samples with variance scale / n, n the fan chosen by `mode`: truncated
    /// normal or normal with that variance, or U(−√(3·scale/n), √(3·scale/n)).
    VarianceScaling {
        scale: f32,
        mode: FanMode,
        distribution: ScalingDistribution,
    },
    /// Variance scaling (1, fan_avg, truncated normal): Xavier normal.
    GlorotNormal,
    /// Variance scaling (1, fan_avg, uniform): U(±√(6 / (fan_in + fan_out))). Keras's kernel
    /// default.
    GlorotUniform,
    /// Variance scaling (2, fan_in, truncated normal): Kaiming normal.
    HeNormal,
    /// Variance scaling (2, fan_in, uniform).
    HeUniform,
    /// Variance scaling (1, fan_in, truncated normal).
    LecunNormal,
    /// Variance scaling (1, fan_in, uniform).
    LecunUniform,
    /// `gain` times a random orthogonal matrix of shape (∏shape[..-1], shape[-1]), reshaped.
    Orthogonal {
        gain: f32,
    },
    /// `gain` times the (possibly rectangular) identity; 2-D shapes only.
    Identity {
        gain: f32,
    },
}

/// (fan_in, fan_out) of a weight shape, as Keras computes them: rank 0 gives (1, 1), rank 1
/// (n, n), rank 2 (in, out), and higher ranks multiply both by the receptive field
/// ∏shape[..-2].
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

/// The standard deviation of a unit normal truncated to [−2, 2]: Keras divides by it so that
/// truncated samples keep the intended variance.
const TRUNCATED_NORMAL_STDDEV: f64 = 0.879_625_661_034_239_8;

fn argument_error(argument: &str, why: impl Into<String>) -> NnError {
    NnError::argument(argument, why)
}

fn check_finite(argument: &str, x: f32) -> Result<()> {
    if !x.is_finite() {
        return Err(argument_error(argument, format!("must be finite, got {x}")));
    }
    Ok(())
}

fn check_stddev(stddev: f32) -> Result<()> {
    if !(stddev.is_finite() && stddev >= 0.0) {
        return Err(argument_error(
            "stddev",
            format!("must be a finite number >= 0, got {stddev}"),
        ));
    }
    Ok(())
}

impl Initializer {
    pub fn constant(value: f32) -> Result<Self> {
        check_finite("value", value)?;
        Ok(Initializer::Constant { value })
    }

    pub fn random_normal(mean: f32, stddev: f32) -> Result<Self> {
        check_finite("mean", mean)?;
        check_stddev(stddev)?;
        Ok(Initializer::RandomNormal { mean, stddev })
    }

    pub fn random_uniform(minval: f32, maxval: f32) -> Result<Self> {
        check_finite("minval", minval)?;
        check_finite("maxval", maxval)?;
        if minval > maxval {
            return Err(argument_error(
                "minval",
                format!("must not exceed maxval, got minval {minval} > maxval {maxval}"),
            ));
        }
        Ok(Initializer::RandomUniform { minval, maxval })
    }

    pub fn truncated_normal(mean: f32, stddev: f32) -> Result<Self> {
        check_finite("mean", mean)?;
        check_stddev(stddev)?;
        Ok(Initializer::TruncatedNormal { mean, stddev })
    }

    /// Keras: "Argument `scale` must be positive float."
    pub fn variance_scaling(
        scale: f32,
        mode: FanMode,
        distribution: ScalingDistribution,
    ) -> Result<Self> {
        if !(scale.is_finite() && scale > 0.0) {
            return Err(argument_error(
                "scale",
                format!("must be a positive number, got {scale}"),
            ));
        }
        Ok(Initializer::VarianceScaling {
            scale,
            mode,
            distribution,
        })
    }

    pub fn orthogonal(gain: f32) -> Result<Self> {
        check_finite("gain", gain)?;
        Ok(Initializer::Orthogonal { gain })
    }

    pub fn identity(gain: f32) -> Result<Self> {
        check_finite("gain", gain)?;
        Ok(Initializer::Identity { gain })
    }

    /// An initializer with Keras's default arguments from a Keras name: the snake_case name
    /// (`"glorot_uniform"`), the class name (`"GlorotUniform"`) or one of Keras's aliases
    /// (`"normal"`, `"uniform"`, `"zero"`, `"one"`, `"OrthogonalInitializer"`,
    /// `"IdentityInitializer"`).
    pub fn from_name(name: &str) -> Result<Self> {
        Ok(match name {
            "zeros" | "Zeros" | "zero" => Initializer::Zeros,
            "ones" | "Ones" | "one" => Initializer::Ones,
            "constant" | "Constant" => Initializer::Constant { value: 0.0 },
            "random_normal" | "RandomNormal" | "normal" => Initializer::RandomNormal {
                mean: 0.0,
                stddev: 0.05,
            },
            "random_uniform" | "RandomUniform" | "uniform" => Initializer::RandomUniform {
                minval: -0.05,
                maxval: 0.05,
            },
            "truncated_normal" | "TruncatedNormal" => Initializer::TruncatedNormal {
                mean: 0.0,
                stddev: 0.05,
            },
            "variance_scaling" | "VarianceScaling" => Initializer::VarianceScaling {
                scale: 1.0,
                mode: FanMode::FanIn,
                distribution: ScalingDistribution::TruncatedNormal,
            },
            "glorot_normal" | "GlorotNormal" => Initializer::GlorotNormal,
            "glorot_uniform" | "GlorotUniform" => Initializer::GlorotUniform,
            "he_normal" | "HeNormal" => Initializer::HeNormal,
            "he_uniform" | "HeUniform" => Initializer::HeUniform,
            "lecun_normal" | "LecunNormal" => Initializer::LecunNormal,
            "lecun_uniform" | "LecunUniform" => Initializer::LecunUniform,
            "orthogonal" | "Orthogonal" | "OrthogonalInitializer" => {
                Initializer::Orthogonal { gain: 1.0 }
            }
            "identity" | "Identity" | "IdentityInitializer" => Initializer::Identity { gain: 1.0 },
            _ => {
                return Err(argument_error(
                    "initializer",
                    format!("unknown initializer {name:?}"),
                ))
            }
        })
    }

    /// Keras's class name.
    pub fn class_name(&self) -> &'static str {
        match self {
            Initializer::Zeros => "Zeros",
            Initializer::Ones => "Ones",
            Initializer::Constant { .. } => "Constant",
            Initializer::RandomNormal { .. } => "RandomNormal",
            Initializer::RandomUniform { .. } => "RandomUniform",
            Initializer::TruncatedNormal { .. } => "TruncatedNormal",
            Initializer::VarianceScaling { .. } => "VarianceScaling",
            Initializer::GlorotNormal => "GlorotNormal",
            Initializer::GlorotUniform => "GlorotUniform",
            Initializer::HeNormal => "HeNormal",
            Initializer::HeUniform => "HeUniform",
            Initializer::LecunNormal => "LecunNormal",
            Initializer::LecunUniform => "LecunUniform",
            Initializer::Orthogonal { .. } => "Orthogonal",
            Initializer::Identity { .. } => "Identity",
        }
    }

    /// The named variance-scaling initializers as (scale, mode, distribution).
    fn variance_scaling_arguments(&self) -> Option<(f32, FanMode, ScalingDistribution)> {
        use FanMode::*;
        use ScalingDistribution::*;
        match *self {
            Initializer::VarianceScaling {
                scale,
                mode,
                distribution,
            } => Some((scale, mode, distribution)),
            Initializer::GlorotNormal => Some((1.0, FanAvg, TruncatedNormal)),
            Initializer::GlorotUniform => Some((1.0, FanAvg, Uniform)),
            Initializer::HeNormal => Some((2.0, FanIn, TruncatedNormal)),
            Initializer::HeUniform => Some((2.0, FanIn, Uniform)),
            Initializer::LecunNormal => Some((1.0, FanIn, TruncatedNormal)),
            Initializer::LecunUniform => Some((1.0, FanIn, Uniform)),
            _ => None,
        }
    }

    /// Checks the arguments of a variant built directly rather than through its constructor.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Initializer::Constant { value } => Initializer::constant(value).map(drop),
            Initializer::RandomNormal { mean, stddev } => {
                Initializer::random_normal(mean, stddev).map(drop)
            }
            Initializer::RandomUniform { minval, maxval } => {
                Initializer::random_uniform(minval, maxval).map(drop)
            }
            Initializer::TruncatedNormal { mean, stddev } => {
                Initializer::truncated_normal(mean, stddev).map(drop)
            }
            Initializer::VarianceScaling {
                scale,
                mode,
                distribution,
            } => Initializer::variance_scaling(scale, mode, distribution).map(drop),
            Initializer::Orthogonal { gain } | Initializer::Identity { gain } => {
                check_finite("gain", gain)
            }
            _ => Ok(()),
        }
    }

    /// The element count of a weight of `shape`, checked before anything is allocated: a size
    /// read from a model file that overflows, or that asks for more than
    /// [`MAX_WEIGHT_ELEMENTS`] or more memory than the machine has available, is an error
    /// naming the shape and the bytes it would take.
    pub fn checked_elements(shape: &[usize]) -> Result<usize> {
        let too_big = |why: String| NnError::argument("weight shape", why);
        let n = krust_tensor::checked_numel(shape)
            .ok_or_else(|| too_big(format!("{shape:?} has more elements than a usize holds")))?;
        let gib = |elements: usize| elements as f64 * 4.0 / (1u64 << 30) as f64;
        if n > MAX_WEIGHT_ELEMENTS {
            return Err(too_big(format!(
                "{shape:?} has {n} elements ({:.1} GiB); krust allows at most {MAX_WEIGHT_ELEMENTS} \
                 ({:.0} GiB) in one weight",
                gib(n),
                gib(MAX_WEIGHT_ELEMENTS)
            )));
        }
        if let Some(available) = krust_tensor::buffer::available_memory_bytes() {
            if n as u64 * 4 > available {
                return Err(too_big(format!(
                    "{shape:?} needs {:.1} GiB, more than the {:.1} GiB of memory available",
                    gib(n),
                    available as f64 / (1u64 << 30) as f64
                )));
            }
        }
        Ok(n)
    }

    /// Draws a fresh tensor from the next generator of the thread's seed; errors on invalid
    /// arguments, and on a shape the initializer cannot fill (orthogonal below rank 2,
    /// identity other than rank 2).
    pub fn try_sample(&self, shape: &[usize]) -> Result<Tensor> {
        self.validate()?;
        let n = Self::checked_elements(shape)?;
        let data = match *self {
            Initializer::Zeros => return Ok(Tensor::zeros(shape.to_vec())),
            Initializer::Ones => return Ok(Tensor::ones(shape.to_vec())),
            Initializer::Constant { value } => return Ok(Tensor::full(shape.to_vec(), value)),
            Initializer::Identity { gain } => identity(shape, gain)?,
            Initializer::Orthogonal { gain } => orthogonal(shape, gain, &mut next_rng())?,
            Initializer::RandomNormal { mean, stddev } => {
                let mut rng = next_rng();
                (0..n)
                    .map(|_| {
                        let z: f32 = StandardNormal.sample(&mut rng);
                        mean + stddev * z
                    })
                    .collect()
            }
            Initializer::RandomUniform { minval, maxval } => {
                return Ok(uniform(shape, minval, maxval))
            }
            Initializer::TruncatedNormal { mean, stddev } => {
                truncated_normal(n, mean, stddev, &mut next_rng())
            }
            _ => {
                let (scale, mode, distribution) = self
                    .variance_scaling_arguments()
                    .expect("every other variant is a variance scaling");
                let (fan_in, fan_out) = fans(shape);
                let n_fan = match mode {
                    FanMode::FanIn => fan_in as f64,
                    FanMode::FanOut => fan_out as f64,
                    FanMode::FanAvg => (fan_in as f64 + fan_out as f64) / 2.0,
                };
                let scale = scale as f64 / n_fan.max(1.0);
                match distribution {
                    ScalingDistribution::TruncatedNormal => {
                        let stddev = (scale.sqrt() / TRUNCATED_NORMAL_STDDEV) as f32;
                        truncated_normal(n, 0.0, stddev, &mut next_rng())
                    }
                    ScalingDistribution::UntruncatedNormal => {
                        let stddev = scale.sqrt() as f32;
                        let mut rng = next_rng();
                        (0..n)
                            .map(|_| {
                                let z: f32 = StandardNormal.sample(&mut rng);
                                stddev * z
                            })
                            .collect()
                    }
                    ScalingDistribution::Uniform => {
                        let limit = (3.0 * scale).sqrt() as f32;
                        return Ok(uniform(shape, -limit, limit));
                    }
                }
            }
        };
        Ok(Tensor::from_vec(shape.to_vec(), data)?)
    }

    /// [`Initializer::try_sample`] for arguments and shapes known to be valid (a layer's
    /// defaults).
    ///
    /// # Panics
    /// Where `try_sample` returns an error.
    pub fn sample(&self, shape: &[usize]) -> Tensor {
        self.try_sample(shape)
            .unwrap_or_else(|e| panic!("initializer {}: {e}", self.class_name()))
    }

    /// Keras's `get_config()` of this initializer. The random ones carry `"seed": null`:
    /// krust seeds every initializer from the thread's seed (`random::set_seed`).
    pub fn config(&self) -> Value {
        let mut config = match *self {
            Initializer::Zeros | Initializer::Ones => return json!({}),
            Initializer::Constant { value } => return json!({"value": json_f32(value)}),
            Initializer::Identity { gain } => return json!({"gain": json_f32(gain)}),
            Initializer::RandomNormal { mean, stddev }
            | Initializer::TruncatedNormal { mean, stddev } => {
                json!({"mean": json_f32(mean), "stddev": json_f32(stddev)})
            }
            Initializer::RandomUniform { minval, maxval } => {
                json!({"minval": json_f32(minval), "maxval": json_f32(maxval)})
            }
            Initializer::VarianceScaling {
                scale,
                mode,
                distribution,
            } => json!({
                "scale": json_f32(scale),
                "mode": match mode {
                    FanMode::FanIn => "fan_in",
                    FanMode::FanOut => "fan_out",
                    FanMode::FanAvg => "fan_avg",
                },
                "distribution": match distribution {
                    ScalingDistribution::TruncatedNormal => "truncated_normal",
                    ScalingDistribution::UntruncatedNormal => "untruncated_normal",
                    ScalingDistribution::Uniform => "uniform",
                },
                "input_axes": null,
                "output_axes": null,
            }),
            Initializer::Orthogonal { gain } => json!({"gain": json_f32(gain)}),
            // The named variance-scaling initializers (Keras 3.15 lists their axes too).
            _ => json!({"input_axes": null, "output_axes": null}),
        };
        config["seed"] = Value::Null;
        config
    }

    /// Keras's serialized form: `{"module", "class_name", "config", "registered_name"}`.
    pub fn to_keras_json(&self) -> Value {
        keras_object("keras.initializers", self.class_name(), self.config())
    }

    /// Reads Keras's serialized form or a bare Keras name. A per-initializer `seed` is an
    /// error: krust seeds every initializer from the thread's seed (`random::set_seed`).
    pub fn from_keras_json(value: &Value) -> Result<Self> {
        let (class, config) = class_and_config("initializer", value)?;
        let default = Initializer::from_name(class)?;
        let mut c = ConfigReader::new(default.class_name(), &config)?;
        if let Some(seed) = c.value("seed") {
            return Err(c.error(
                "seed",
                format!("= {seed}: a per-initializer seed is not supported; krust seeds from the thread's seed (`random::set_seed`)"),
            ));
        }
        let init = match default {
            Initializer::Constant { value } => Initializer::constant(c.f32_or("value", value)?)?,
            Initializer::RandomNormal { mean, stddev } => {
                Initializer::random_normal(c.f32_or("mean", mean)?, c.f32_or("stddev", stddev)?)?
            }
            Initializer::TruncatedNormal { mean, stddev } => {
                Initializer::truncated_normal(c.f32_or("mean", mean)?, c.f32_or("stddev", stddev)?)?
            }
            Initializer::RandomUniform { minval, maxval } => Initializer::random_uniform(
                c.f32_or("minval", minval)?,
                c.f32_or("maxval", maxval)?,
            )?,
            Initializer::VarianceScaling { .. } => {
                let mode = match c.string_or("mode", "fan_in")? {
                    "fan_in" => FanMode::FanIn,
                    "fan_out" => FanMode::FanOut,
                    "fan_avg" => FanMode::FanAvg,
                    other => {
                        return Err(c.error(
                            "mode",
                            format!("= {other:?}: use one of fan_in, fan_out, fan_avg"),
                        ))
                    }
                };
                // Keras lower-cases the distribution and reads "normal" as truncated normal.
                let distribution = match c
                    .string_or("distribution", "truncated_normal")?
                    .to_ascii_lowercase()
                    .as_str()
                {
                    "truncated_normal" | "normal" => ScalingDistribution::TruncatedNormal,
                    "untruncated_normal" => ScalingDistribution::UntruncatedNormal,
                    "uniform" => ScalingDistribution::Uniform,
                    other => {
                        return Err(c.error(
                            "distribution",
                            format!(
                                "= {other:?}: use one of truncated_normal, untruncated_normal, \
                                 uniform"
                            ),
                        ))
                    }
                };
                c.only_default("input_axes", Value::Null)?;
                c.only_default("output_axes", Value::Null)?;
                Initializer::variance_scaling(c.f32_or("scale", 1.0)?, mode, distribution)?
            }
            Initializer::Orthogonal { gain } => Initializer::orthogonal(c.f32_or("gain", gain)?)?,
            // Keras's Identity writes no config (its gain is lost on a Keras round trip);
            // krust writes the gain and reads it when present.
            Initializer::Identity { gain } => Initializer::identity(c.f32_or("gain", gain)?)?,
            other => {
                if other.variance_scaling_arguments().is_some() {
                    c.only_default("input_axes", Value::Null)?;
                    c.only_default("output_axes", Value::Null)?;
                }
                other
            }
        };
        c.finish()?;
        Ok(init)
    }
}

impl Serialize for Initializer {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_keras_json().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Initializer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Initializer::from_keras_json(&value).map_err(serde::de::Error::custom)
    }
}

/// The most elements one weight tensor may hold (8 GiB of float32): larger than any real
/// layer's weight (VGG-16's biggest is 103 million), small enough that a hostile size in a
/// model file is refused before it is allocated.
pub const MAX_WEIGHT_ELEMENTS: usize = 1 << 31;

fn uniform(shape: &[usize], low: f32, high: f32) -> Tensor {
    if low == high {
        return Tensor::full(shape.to_vec(), low);
    }
    Tensor::rand_uniform(shape.to_vec(), low, high, &mut next_rng())
}

/// N(mean, stddev²) with every sample beyond two standard deviations redrawn, as TensorFlow's
/// `truncated_normal` that Keras uses.
fn truncated_normal(n: usize, mean: f32, stddev: f32, rng: &mut impl Rng) -> Vec<f32> {
    (0..n)
        .map(|_| loop {
            let z: f32 = StandardNormal.sample(rng);
            if z.abs() <= 2.0 {
                break mean + z * stddev;
            }
        })
        .collect()
}

fn identity(shape: &[usize], gain: f32) -> Result<Vec<f32>> {
    let &[rows, cols] = shape else {
        return Err(argument_error(
            "shape",
            format!(
                "the identity initializer fills 2-D matrices only, got shape {shape:?} of rank {}",
                shape.len()
            ),
        ));
    };
    let mut data = vec![0.0; rows * cols];
    for i in 0..rows.min(cols) {
        data[i * cols + i] = gain;
    }
    Ok(data)
}

/// Keras's orthogonal initializer: a (max(r, c), min(r, c)) standard-normal matrix A with
/// r = ∏shape[..-1] and c = shape[-1]; its QR factors with the signs of diag(R) moved into Q
/// (which makes Q unique and Haar-distributed); Q, transposed when r < c, times `gain`.
fn orthogonal(shape: &[usize], gain: f32, rng: &mut impl Rng) -> Result<Vec<f32>> {
    if shape.len() < 2 {
        return Err(argument_error(
            "shape",
            format!(
                "the orthogonal initializer needs at least 2 dimensions, got shape {shape:?} of \
                 rank {}",
                shape.len()
            ),
        ));
    }
    let cols = shape[shape.len() - 1];
    let rows: usize = shape[..shape.len() - 1].iter().product();
    let (m, n) = (rows.max(cols), rows.min(cols));
    let a: Vec<f64> = (0..m * n)
        .map(|_| {
            let z: f32 = StandardNormal.sample(rng);
            z as f64
        })
        .collect();
    let q = orthonormal_columns(a, m, n);
    let mut data = vec![0.0f32; rows * cols];
    for i in 0..m {
        for j in 0..n {
            let value = gain * q[i * n + j] as f32;
            if rows >= cols {
                data[i * cols + j] = value;
            } else {
                data[j * cols + i] = value;
            }
        }
    }
    Ok(data)
}

/// The Q of the thin QR factorization of the row-major m×n matrix `a` (m ≥ n), normalized so
/// that R has a non-negative diagonal: Householder reflections in float64, then Q built by
/// applying them to the first n columns of the identity.
fn orthonormal_columns(mut a: Vec<f64>, m: usize, n: usize) -> Vec<f64> {
    let mut reflectors: Vec<Vec<f64>> = Vec::with_capacity(n);
    let mut r_signs = vec![1.0f64; n];
    for k in 0..n {
        let x: Vec<f64> = (k..m).map(|i| a[i * n + k]).collect();
        let norm = x.iter().map(|v| v * v).sum::<f64>().sqrt();
        // v = x + sign(x₀)·‖x‖·e₁ avoids cancellation; then R[k][k] = −sign(x₀)·‖x‖.
        let sign = if x[0] >= 0.0 { 1.0 } else { -1.0 };
        let mut v = x;
        v[0] += sign * norm;
        let v_norm_sq = v.iter().map(|t| t * t).sum::<f64>();
        if v_norm_sq > 0.0 {
            // A ← (I − 2vvᵀ/vᵀv)·A on rows k.., columns k..
            for j in k..n {
                let dot: f64 = (k..m).map(|i| v[i - k] * a[i * n + j]).sum();
                let f = 2.0 * dot / v_norm_sq;
                for i in k..m {
                    a[i * n + j] -= f * v[i - k];
                }
            }
        }
        r_signs[k] = if a[k * n + k] < 0.0 { -1.0 } else { 1.0 };
        reflectors.push(v);
    }
    // Q = H₀·H₁·…·Hₙ₋₁ applied to the first n columns of I, last reflector first.
    let mut q = vec![0.0f64; m * n];
    for j in 0..n {
        q[j * n + j] = 1.0;
    }
    for (k, v) in reflectors.iter().enumerate().rev() {
        let v_norm_sq = v.iter().map(|t| t * t).sum::<f64>();
        if v_norm_sq == 0.0 {
            continue;
        }
        for j in 0..n {
            let dot: f64 = (k..m).map(|i| v[i - k] * q[i * n + j]).sum();
            let f = 2.0 * dot / v_norm_sq;
            for i in k..m {
                q[i * n + j] -= f * v[i - k];
            }
        }
    }
    // Keras's q *= sign(diag(r)): flip the columns whose R diagonal is negative.
    for i in 0..m {
        for j in 0..n {
            q[i * n + j] *= r_signs[j];
        }
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fans_of_conv_kernel_include_receptive_field() {
        assert_eq!(fans(&[5, 5, 6, 16]), (150.0, 400.0));
        assert_eq!(fans(&[400, 120]), (400.0, 120.0));
        assert_eq!(fans(&[7]), (7.0, 7.0));
        assert_eq!(fans(&[]), (1.0, 1.0));
        assert_eq!(fans(&[3, 4, 5, 6, 7]), (360.0, 420.0));
    }

    #[test]
    fn householder_q_matches_gram_schmidt_with_positive_r_diagonal() {
        // For a full-rank A, the Q whose R has a positive diagonal is unique, so classical
        // Gram-Schmidt gives the same columns.
        let (m, n) = (5, 3);
        let a: Vec<f64> = (0..m * n)
            .map(|k| ((k * 7 + 3) % 11) as f64 - 5.0 + 0.1 * k as f64)
            .collect();
        let q = orthonormal_columns(a.clone(), m, n);
        let mut basis: Vec<Vec<f64>> = Vec::new();
        for j in 0..n {
            let mut u: Vec<f64> = (0..m).map(|i| a[i * n + j]).collect();
            for b in &basis {
                let dot: f64 = (0..m).map(|i| b[i] * a[i * n + j]).sum();
                (0..m).for_each(|i| u[i] -= dot * b[i]);
            }
            let norm = u.iter().map(|x| x * x).sum::<f64>().sqrt();
            basis.push(u.into_iter().map(|x| x / norm).collect());
        }
        for j in 0..n {
            for i in 0..m {
                assert!((q[i * n + j] - basis[j][i]).abs() < 1e-12, "q[{i}][{j}]");
            }
        }
    }
}
