//! `Arithmetic`: the elementwise operations Keras 3 records as graph nodes when a functional
//! model applies an op to a tensor (`x + 3.0`, `x * (1 / 6)`, `a + b`): add, subtract,
//! multiply or divide of tensors and constants, with NumPy broadcasting.

use super::Layer;
use crate::config::ConfigReader;
use crate::{NnError, Result};
use krust_autograd::Var;
use krust_tensor::Tensor;
use serde_json::{json, Value};

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

/// `op(left, right)`, each operand the next input tensor (None) or a constant.
#[derive(Debug, Clone)]
pub struct Arithmetic {
    pub op: ArithmeticOp,
    pub operands: [Option<f32>; 2],
}

impl Arithmetic {
    pub fn new(op: ArithmeticOp, operands: [Option<f32>; 2]) -> Result<Self> {
        if operands.iter().all(Option::is_some) {
            return Err(NnError::layer(
                "Arithmetic",
                "needs at least one tensor operand (both are constants)",
            ));
        }
        Ok(Arithmetic { op, operands })
    }

    pub fn from_config(config: &Value) -> Result<Self> {
        let mut c = ConfigReader::new("Arithmetic", config)?;
        let op_value = c.value("op").cloned().unwrap_or(Value::Null);
        let op = op_value
            .as_str()
            .and_then(ArithmeticOp::parse)
            .ok_or_else(|| {
                NnError::argument(
                    "op",
                    format!("expected \"add\", \"subtract\", \"multiply\" or \"divide\", got {op_value}"),
                )
            })?;
        let bad = |v: &Value| {
            NnError::argument(
                "operands",
                format!("expected two entries, each null (a tensor) or a number, got {v}"),
            )
        };
        let list = c.value("operands").cloned().unwrap_or(Value::Null);
        let items = list
            .as_array()
            .filter(|a| a.len() == 2)
            .ok_or_else(|| bad(&list))?;
        let mut operands = [None; 2];
        for (slot, item) in operands.iter_mut().zip(items) {
            *slot = match item {
                Value::Null => None,
                v => Some(v.as_f64().ok_or_else(|| bad(&list))? as f32),
            };
        }
        c.finish()?;
        Arithmetic::new(op, operands)
    }

    fn tensor_inputs(&self) -> usize {
        self.operands.iter().filter(|o| o.is_none()).count()
    }
}

impl Layer for Arithmetic {
    fn class_name(&self) -> &'static str {
        "Arithmetic"
    }

    fn config(&self) -> Value {
        json!({"op": self.op.name(), "operands": self.operands})
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
