//! `Arithmetic`: the elementwise operations Keras 3 records as graph nodes when a functional
//! model applies an op to a tensor (`x + 3.0`, `x * (1 / 6)`, `a + b`): add, subtract,
//! multiply or divide of tensors and constants, with NumPy broadcasting.

use super::Layer;
use crate::config::args::{self, KerasArgs};
use crate::{NnError, Result};
use krust_autograd::Var;
use krust_tensor::Tensor;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// The operation of an [`Arithmetic`] node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithmeticOp {
    Add,
    Subtract,
    Multiply,
    Divide,
}

impl ArithmeticOp {
    /// krust's config name ("add", ...).
    pub fn name(self) -> &'static str {
        match self {
            ArithmeticOp::Add => "add",
            ArithmeticOp::Subtract => "subtract",
            ArithmeticOp::Multiply => "multiply",
            ArithmeticOp::Divide => "divide",
        }
    }

    /// Reads krust's name or the class name of a Keras 3 op (`keras.src.ops.numpy.Add`, ...).
    pub fn parse(name: &str) -> Option<ArithmeticOp> {
        Some(match name {
            "add" | "Add" => ArithmeticOp::Add,
            "subtract" | "Subtract" => ArithmeticOp::Subtract,
            "multiply" | "Multiply" => ArithmeticOp::Multiply,
            "divide" | "Divide" | "TrueDivide" => ArithmeticOp::Divide,
            _ => return None,
        })
    }

    fn apply(self, a: &Var, b: &Var) -> Result<Var> {
        Ok(match self {
            ArithmeticOp::Add => a.add(b)?,
            ArithmeticOp::Subtract => a.sub(b)?,
            ArithmeticOp::Multiply => a.mul(b)?,
            ArithmeticOp::Divide => a.div(b)?,
        })
    }
}

/// Written as krust's name; read from it or from a Keras 3 op's class name.
impl Serialize for ArithmeticOp {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.name().serialize(s)
    }
}

impl<'de> Deserialize<'de> for ArithmeticOp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        v.as_str().and_then(ArithmeticOp::parse).ok_or_else(|| {
            D::Error::custom(format!(
                "expected \"add\", \"subtract\", \"multiply\" or \"divide\", got {v}"
            ))
        })
    }
}

/// `op(left, right)`, each operand the next input tensor (None) or a constant. Its fields
/// are its config's arguments (see `config::args`), both required.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Arithmetic {
    pub op: ArithmeticOp,
    /// Two entries, each null (a tensor) or a number; at least one a tensor.
    #[serde(deserialize_with = "operands")]
    pub operands: [Option<f32>; 2],
}

/// `operands`' reader: a list of two entries, each null or a number.
fn operands<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<[Option<f32>; 2], D::Error> {
    let v = Value::deserialize(d)?;
    let bad = || {
        D::Error::custom(format!(
            "expected two entries, each null (a tensor) or a number, got {v}"
        ))
    };
    let items = v.as_array().filter(|a| a.len() == 2).ok_or_else(bad)?;
    let mut operands = [None; 2];
    for (slot, item) in operands.iter_mut().zip(items) {
        *slot = match item {
            Value::Null => None,
            x => Some(x.as_f64().ok_or_else(bad)? as f32),
        };
    }
    Ok(operands)
}

impl Arithmetic {
    pub fn new(op: ArithmeticOp, operands: [Option<f32>; 2]) -> Result<Self> {
        let mut layer = Arithmetic { op, operands };
        layer.check_args()?;
        Ok(layer)
    }

    pub fn from_config(config: &Value) -> Result<Self> {
        args::read("Arithmetic", config)
    }

    fn tensor_inputs(&self) -> usize {
        self.operands.iter().filter(|o| o.is_none()).count()
    }
}

impl KerasArgs for Arithmetic {
    const REQUIRED: &'static [&'static str] = &["op", "operands"];

    fn check_args(&mut self) -> Result<()> {
        if self.operands.iter().all(Option::is_some) {
            return Err(NnError::layer(
                "Arithmetic",
                "needs at least one tensor operand (both are constants)",
            ));
        }
        Ok(())
    }
}

impl Layer for Arithmetic {
    fn class_name(&self) -> &'static str {
        "Arithmetic"
    }

    fn config(&self) -> Value {
        args::write(self)
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        self.build_multi(&[input_shape.to_vec()])
    }

    fn build_multi(&mut self, shapes: &[Vec<usize>]) -> Result<Vec<usize>> {
        if shapes.len() != self.tensor_inputs() {
            return Err(NnError::layer(
                "Arithmetic",
                format!(
                    "{} takes {} tensor input(s), got {}",
                    self.op.name(),
                    self.tensor_inputs(),
                    shapes.len()
                ),
            ));
        }
        match shapes {
            [a, b] => krust_tensor::broadcast_shapes("arithmetic", a, b).map_err(|_| {
                NnError::layer(
                    "Arithmetic",
                    format!("inputs {a:?} and {b:?} do not broadcast"),
                )
            }),
            _ => Ok(shapes[0].clone()),
        }
    }

    fn forward(&self, x: &Var, training: bool) -> Result<Var> {
        self.forward_multi(std::slice::from_ref(x), training)
    }

    fn forward_multi(&self, xs: &[Var], _training: bool) -> Result<Var> {
        if xs.len() != self.tensor_inputs() {
            return Err(NnError::layer(
                "Arithmetic",
                format!(
                    "takes {} tensor input(s), got {}",
                    self.tensor_inputs(),
                    xs.len()
                ),
            ));
        }
        let mut tensors = xs.iter();
        let mut operand = |o: Option<f32>| -> Result<Var> {
            match o {
                Some(c) => Ok(Var::constant(Tensor::scalar(c))),
                None => tensors
                    .next()
                    .cloned()
                    .ok_or_else(|| NnError::layer("Arithmetic", "missing a tensor input")),
            }
        };
        let a = operand(self.operands[0])?;
        let b = operand(self.operands[1])?;
        self.op.apply(&a, &b)
    }

    fn flops(&self, output_shape: &[usize]) -> u64 {
        output_shape.iter().product::<usize>() as u64
    }
}
