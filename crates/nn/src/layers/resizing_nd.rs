//! 1-D and 3-D versions of the border and repeat layers: `ZeroPadding1D/3D`,
//! `Cropping1D/3D` and `UpSampling1D/3D` (nearest: each step/voxel repeated). Borders are
//! (before, after) per spatial axis, asymmetric where Keras allows it.

use super::Layer;
use crate::config::ConfigReader;
use crate::{NnError, Result};
use krust_autograd::Var;
use krust_tensor::Tensor;
use serde_json::Value;

fn borders_json(b: &[(usize, usize)]) -> Value {
    if b.len() == 1 {
        serde_json::json!([b[0].0, b[0].1])
    } else {
        Value::Array(b.iter().map(|&(x, y)| serde_json::json!([x, y])).collect())
    }
}

fn check_rank(layer: &str, input_shape: &[usize], axes: usize) -> Result<()> {
    if input_shape.len() != axes + 1 {
        return Err(NnError::layer(
            layer,
            format!("expects {axes} spatial axes and channels, got {input_shape:?}"),
        ));
    }
    Ok(())
}

/// Zero padding along `axes` (1 or 3) spatial axes.
#[derive(Debug, Clone)]
pub struct ZeroPadding {
    /// (before, after) per spatial axis. Default `1`: one zero on every side.
    pub padding: Vec<(usize, usize)>,
    class: &'static str,
}

/// Cropping along `axes` (1 or 3) spatial axes.
#[derive(Debug, Clone)]
pub struct Cropping {
    /// (before, after) per spatial axis. Default `1`: Keras crops one step or voxel off
    /// every side, in 1-D and 3-D alike.
    pub cropping: Vec<(usize, usize)>,
    class: &'static str,
}

/// Nearest upsampling along `axes` (1 or 3) spatial axes.
#[derive(Debug, Clone)]
pub struct UpSampling {
    /// Repeats per spatial axis. Default `2` on every axis.
    pub size: Vec<usize>,
    class: &'static str,
}

pub struct ZeroPadding1D;
pub struct ZeroPadding3D;
pub struct Cropping1D;
pub struct Cropping3D;
pub struct UpSampling1D;
pub struct UpSampling3D;

impl ZeroPadding1D {
    /// Keras's `ZeroPadding1D()`: padding 1.
    pub fn with_defaults() -> ZeroPadding {
        ZeroPadding1D::new((1, 1))
    }

    #[allow(clippy::new_ret_no_self)]
    pub fn new(padding: (usize, usize)) -> ZeroPadding {
        ZeroPadding {
            padding: vec![padding],
            class: "ZeroPadding1D",
        }
    }
}

impl ZeroPadding3D {
    /// Keras's `ZeroPadding3D()`: padding 1 on every axis.
    pub fn with_defaults() -> ZeroPadding {
        ZeroPadding3D::new([(1, 1); 3])
    }

    #[allow(clippy::new_ret_no_self)]
    pub fn new(padding: [(usize, usize); 3]) -> ZeroPadding {
        ZeroPadding {
            padding: padding.to_vec(),
            class: "ZeroPadding3D",
        }
    }
}

impl Cropping1D {
    /// Keras's `Cropping1D()`: cropping 1.
    pub fn with_defaults() -> Cropping {
        Cropping1D::new((1, 1))
    }

    #[allow(clippy::new_ret_no_self)]
    pub fn new(cropping: (usize, usize)) -> Cropping {
        Cropping {
            cropping: vec![cropping],
            class: "Cropping1D",
        }
    }
}

impl Cropping3D {
    /// Keras's `Cropping3D()`: cropping 1 on every axis.
    pub fn with_defaults() -> Cropping {
        Cropping3D::new([(1, 1); 3])
    }

    #[allow(clippy::new_ret_no_self)]
    pub fn new(cropping: [(usize, usize); 3]) -> Cropping {
        Cropping {
            cropping: cropping.to_vec(),
            class: "Cropping3D",
        }
    }
}

impl UpSampling1D {
    /// Keras's `UpSampling1D()`: size 2.
    pub fn with_defaults() -> UpSampling {
        UpSampling1D::new(2)
    }

    #[allow(clippy::new_ret_no_self)]
    pub fn new(size: usize) -> UpSampling {
        UpSampling {
            size: vec![size],
            class: "UpSampling1D",
        }
    }
}

impl UpSampling3D {
    /// Keras's `UpSampling3D()`: size 2 on every axis.
    pub fn with_defaults() -> UpSampling {
        UpSampling3D::new([2; 3])
    }

    #[allow(clippy::new_ret_no_self)]
    pub fn new(size: [usize; 3]) -> UpSampling {
        UpSampling {
            size: size.to_vec(),
            class: "UpSampling3D",
        }
    }
}

fn axes_of(class: &str) -> usize {
    if class.ends_with("1D") {
        1
    } else {
        3
    }
}

impl ZeroPadding {
    /// Builds the 1-D or 3-D class from its Keras config, over the class's defaults.
    pub fn from_config(class: &'static str, config: &Value) -> Result<Self> {
        let mut c = ConfigReader::new(class, config)?;
        let mut layer = match axes_of(class) {
            1 => ZeroPadding1D::with_defaults(),
            _ => ZeroPadding3D::with_defaults(),
        };
        layer.class = class;
        if let Some(padding) = c.borders_opt("padding", layer.padding.len())? {
            layer.padding = padding;
        }
        c.finish()?;
        Ok(layer)
    }
}

impl Cropping {
    /// Builds the 1-D or 3-D class from its Keras config, over the class's defaults.
    pub fn from_config(class: &'static str, config: &Value) -> Result<Self> {
        let mut c = ConfigReader::new(class, config)?;
        let mut layer = match axes_of(class) {
            1 => Cropping1D::with_defaults(),
            _ => Cropping3D::with_defaults(),
        };
        layer.class = class;
        if let Some(cropping) = c.borders_opt("cropping", layer.cropping.len())? {
            layer.cropping = cropping;
        }
        c.finish()?;
        Ok(layer)
    }
}

impl UpSampling {
    /// Builds the 1-D or 3-D class from its Keras config, over the class's defaults.
    pub fn from_config(class: &'static str, config: &Value) -> Result<Self> {
        let mut c = ConfigReader::new(class, config)?;
        let mut layer = match axes_of(class) {
            1 => UpSampling1D::with_defaults(),
            _ => UpSampling3D::with_defaults(),
        };
        layer.class = class;
        if let Some(size) = c.axes_opt("size", layer.size.len())? {
            layer.size = size;
        }
        c.finish()?;
        Ok(layer)
    }
}

impl Layer for ZeroPadding {
    fn class_name(&self) -> &'static str {
        self.class
    }

    fn config(&self) -> Value {
        let mut c = serde_json::json!({"padding": borders_json(&self.padding)});
        if self.padding.len() == 3 {
            c["data_format"] = serde_json::json!("channels_last");
        }
        c
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        check_rank(self.class, input_shape, self.padding.len())?;
        let mut out = input_shape.to_vec();
        for (d, (b, a)) in self.padding.iter().enumerate() {
            out[d] += b + a;
        }
        Ok(out)
    }

    fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
        let mut pads = vec![(0, 0)];
        pads.extend(self.padding.iter().copied());
        pads.push((0, 0));
        Ok(x.pad(&pads, 0.0)?)
    }
}

impl Layer for Cropping {
    fn class_name(&self) -> &'static str {
        self.class
    }

    fn config(&self) -> Value {
        let mut c = serde_json::json!({"cropping": borders_json(&self.cropping)});
        if self.cropping.len() == 3 {
            c["data_format"] = serde_json::json!("channels_last");
        }
        c
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        check_rank(self.class, input_shape, self.cropping.len())?;
        let mut out = input_shape.to_vec();
        for (d, (b, a)) in self.cropping.iter().enumerate() {
            if b + a >= out[d] {
                return Err(NnError::layer(
                    self.class,
                    format!(
                        "cropping {:?} leaves nothing of {input_shape:?}",
                        self.cropping
                    ),
                ));
            }
            out[d] -= b + a;
        }
        Ok(out)
    }

    fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
        let s = x.shape();
        let mut y = x.clone();
        for (d, &(b, a)) in self.cropping.iter().enumerate() {
            y = y.slice(d as isize + 1, b, s[d + 1] - a)?;
        }
        Ok(y)
    }
}

impl Layer for UpSampling {
    fn class_name(&self) -> &'static str {
        self.class
    }

    fn config(&self) -> Value {
        let mut c = serde_json::json!({"size": if self.size.len() == 1 { serde_json::json!(self.size[0]) } else { serde_json::json!(self.size) }});
        if self.size.len() == 3 {
            c["data_format"] = serde_json::json!("channels_last");
        }
        c
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        check_rank(self.class, input_shape, self.size.len())?;
        if self.size.contains(&0) {
            return Err(NnError::layer(self.class, "size must be at least 1"));
        }
        Ok(input_shape
            .iter()
            .enumerate()
            .map(|(d, &n)| n * self.size.get(d).copied().unwrap_or(1))
            .collect())
    }

    fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
        // Interleave a broadcast axis after each spatial axis: (b, d1, 1, d2, 1, ..., c) times
        // ones (1, 1, s1, 1, s2, ..., 1) repeats every element s_i times along axis i.
        let s = x.shape();
        let mut expanded = vec![s[0]];
        let mut ones = vec![1];
        let mut out = vec![s[0]];
        for (d, &k) in self.size.iter().enumerate() {
            expanded.extend([s[d + 1], 1]);
            ones.extend([1, k]);
            out.push(s[d + 1] * k);
        }
        let c = s[s.len() - 1];
        expanded.push(c);
        ones.push(1);
        out.push(c);
        Ok(x.reshape(&expanded)?
            .mul(&Var::constant(Tensor::ones(ones)))?
            .reshape(&out)?)
    }
}
