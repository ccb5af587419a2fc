//! Optimizer state for exact resume: per-parameter buffers (Keras's "optimizer variables")
//! named `<optimizer>/<slot>/<parameter index>`, plus the iteration count.

use crate::{NnError, Result};
use krust_autograd::Var;
use krust_tensor::Tensor;
use std::collections::BTreeMap;

/// Everything an optimizer needs to continue exactly where it stopped, besides its config.
///
/// Each tensor is named `<optimizer>/<slot>/<parameter index>`, such as `adam/momentum/3` or
/// `rmsprop/average_gradient/0`, or `<optimizer>/<name>` for a scalar (`nadam/u_product`), so
/// the list can go into a safetensors file as it is; `iterations` fits in its metadata.
#[derive(Debug, Clone, Default)]
pub struct OptimizerState {
    pub iterations: u64,
    pub variables: Vec<(String, Tensor)>,
}

impl OptimizerState {
    /// The tensor named `name`, if present.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.variables
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t)
    }
}

pub(crate) fn state_error(why: impl Into<String>) -> NnError {
    NnError::argument("optimizer state", why)
}

/// One per-parameter buffer of an optimizer, created at a parameter's first update.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    pub name: &'static str,
    initial_value: f32,
    values: Vec<Option<Tensor>>,
}

impl Slot {
    pub fn new(name: &'static str, initial_value: f32) -> Self {
        Slot {
            name,
            initial_value,
            values: Vec::new(),
        }
    }

    /// Creates the buffers of parameters updated for the first time, and checks that existing
    /// ones still match their parameter (an optimizer stays with one parameter list).
    pub fn prepare(&mut self, optimizer: &str, grads: &[(usize, Tensor)]) -> Result<()> {
        for (i, g) in grads {
            if *i >= self.values.len() {
                self.values.resize(i + 1, None);
            }
            match &self.values[*i] {
                Some(t) if t.shape() != g.shape() => {
                    return Err(state_error(format!(
                        "{optimizer}/{}/{i} has shape {:?} but parameter {i} has shape {:?}: \
                         an optimizer must keep stepping the same parameter list",
                        self.name,
                        t.shape(),
                        g.shape()
                    )))
                }
                Some(_) => {}
                None => {
                    self.values[*i] = Some(Tensor::full(g.shape().to_vec(), self.initial_value))
                }
            }
        }
        Ok(())
    }

    /// The buffer of parameter `i`; [`Slot::prepare`] must have created it.
    pub fn values_mut(&mut self, i: usize) -> &mut Tensor {
        self.values[i]
            .as_mut()
            .expect("prepare() creates the buffer of every parameter it is given")
    }

    pub fn export(&self, optimizer: &str, out: &mut Vec<(String, Tensor)>) {
        for (i, t) in self.values.iter().enumerate() {
            if let Some(t) = t {
                out.push((format!("{optimizer}/{}/{i}", self.name), t.clone()));
            }
        }
    }
}

/// Replaces `slots` with the per-parameter entries of `variables` (all named `optimizer/...`;
/// the optimizer has taken out its own scalars). Nothing changes unless every entry names one
/// of `slots`, a parameter index within `params` and that parameter's shape, and every
/// parameter has either all of its slots or none.
pub(crate) fn load_slots(
    optimizer: &str,
    slots: &mut [&mut Slot],
    variables: &[(String, Tensor)],
    params: &[Var],
) -> Result<()> {
    let slot_names: Vec<&str> = slots.iter().map(|s| s.name).collect();
    let mut loaded: Vec<BTreeMap<usize, Tensor>> = vec![BTreeMap::new(); slots.len()];
    for (name, tensor) in variables {
        let mut parts = name.split('/');
        let (Some(prefix), Some(slot), Some(index), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(state_error(format!(
                "unexpected entry {name:?}: expected {optimizer}/<slot>/<parameter index>"
            )));
        };
        if prefix != optimizer {
            return Err(state_error(format!(
                "entry {name:?} belongs to another optimizer, not {optimizer}"
            )));
        }
        let Some(s) = slot_names.iter().position(|&n| n == slot) else {
            return Err(state_error(format!(
                "entry {name:?}: this {optimizer} has the slots {slot_names:?} (its config \
                 differs from the one that saved the state)"
            )));
        };
        let index: usize = index
            .parse()
            .map_err(|_| state_error(format!("entry {name:?}: bad parameter index")))?;
        let Some(param) = params.get(index) else {
            return Err(state_error(format!(
                "entry {name:?} is for parameter {index}, but there are {} parameters",
                params.len()
            )));
        };
        if param.shape() != tensor.shape() {
            return Err(state_error(format!(
                "entry {name:?} has shape {:?} but parameter {index} has shape {:?}",
                tensor.shape(),
                param.shape()
            )));
        }
        if loaded[s].insert(index, tensor.clone()).is_some() {
            return Err(state_error(format!("entry {name:?} appears twice")));
        }
    }
    for index in loaded.iter().flat_map(|m| m.keys()) {
        if let Some(s) = loaded.iter().position(|m| !m.contains_key(index)) {
            return Err(state_error(format!(
                "parameter {index} has some slots but no {optimizer}/{}/{index}",
                slot_names[s]
            )));
        }
    }
    for (slot, entries) in slots.iter_mut().zip(loaded) {
        slot.values = vec![None; params.len()];
        for (i, t) in entries {
            slot.values[i] = Some(t);
        }
    }
    Ok(())
}
