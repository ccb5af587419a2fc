//! `Var`: a tensor in the autograd graph, the tape it records, and the reverse walk.

use crate::{Result, Tensor, TensorError};
use std::cell::{Cell, Ref, RefCell};
use std::collections::HashSet;
use std::rc::Rc;

/// The backward rule of one recorded op: given d(loss)/d(output), the gradient for each input
/// (None where an input needs none).
pub(crate) type BackwardFn = Box<dyn FnOnce(&Tensor) -> Result<Vec<Option<Tensor>>>>;

struct GradFn {
    parents: Vec<Var>,
    backward: BackwardFn,
}

struct Node {
    value: RefCell<Tensor>,
    grad: RefCell<Option<Tensor>>,
    requires_grad: bool,
    /// True for op results recorded with a backward rule. Once a backward pass has run (and
    /// dropped) that rule, such a node is "consumed": reaching it again must be an error, not
    /// a silent stop that loses every gradient behind it.
    recorded: bool,
    grad_fn: RefCell<Option<GradFn>>,
}

/// A node of the autograd graph: a value, and (for parameters and op results that depend on
/// them) a gradient. Cloning a `Var` clones a handle to the same node.
#[derive(Clone)]
pub struct Var(Rc<Node>);

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// Runs `f` without recording any op (inference, evaluation, optimizer updates).
pub fn no_grad<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            GRAD_ENABLED.with(|g| g.set(self.0));
        }
    }
    let _restore = Restore(GRAD_ENABLED.with(|g| g.replace(false)));
    f()
}

pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(|g| g.get())
}

impl Var {
    fn from_node(value: Tensor, requires_grad: bool, grad_fn: Option<GradFn>) -> Var {
        Var(Rc::new(Node {
            value: RefCell::new(value),
            grad: RefCell::new(None),
            requires_grad,
            recorded: grad_fn.is_some(),
            grad_fn: RefCell::new(grad_fn),
        }))
    }

    /// A value that needs no gradient (inputs, targets, masks).
    pub fn constant(value: Tensor) -> Var {
        Var::from_node(value, false, None)
    }

    /// A trainable leaf: gradients accumulate into it until [`Var::zero_grad`].
    pub fn parameter(value: Tensor) -> Var {
        Var::from_node(value, true, None)
    }

    /// Records an op's result. If grad is disabled or no input requires a gradient, the
    /// result is a constant and `backward` is dropped unrun.
    pub(crate) fn from_op(value: Tensor, parents: &[&Var], backward: BackwardFn) -> Var {
        let needs = is_grad_enabled() && parents.iter().any(|p| p.requires_grad());
        if !needs {
            return Var::constant(value);
        }
        let parents = parents.iter().map(|p| (*p).clone()).collect();
        Var::from_node(value, true, Some(GradFn { parents, backward }))
    }

    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad
    }

    /// Whether both handles point at the same node (the same weight, not equal values).
    pub fn same_node(&self, other: &Var) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }

    /// The current value (a cheap shared handle).
    pub fn value(&self) -> Tensor {
        self.0.value.borrow().clone()
    }

    /// Borrows the value without cloning the handle.
    pub fn value_ref(&self) -> Ref<'_, Tensor> {
        self.0.value.borrow()
    }

    pub fn shape(&self) -> Vec<usize> {
        self.0.value.borrow().shape().to_vec()
    }

    /// Replaces the value (loading weights); the shape must not change.
    pub fn set_value(&self, value: Tensor) -> Result<()> {
        let mut v = self.0.value.borrow_mut();
        if v.shape() != value.shape() {
            return Err(TensorError::mismatch(
                "set_value",
                v.shape(),
                value.shape(),
                "a variable keeps its shape",
            ));
        }
        *v = value;
        Ok(())
    }

    /// Mutates the value in place (optimizer steps).
    pub fn update_value<R>(&self, f: impl FnOnce(&mut Tensor) -> R) -> R {
        f(&mut self.0.value.borrow_mut())
    }

    /// The accumulated gradient, if any backward pass has reached this variable.
    pub fn grad(&self) -> Option<Tensor> {
        self.0.grad.borrow().clone()
    }

    pub fn zero_grad(&self) {
        *self.0.grad.borrow_mut() = None;
    }

    fn accumulate(&self, g: Tensor) -> Result<()> {
        let mut slot = self.0.grad.borrow_mut();
        match slot.as_mut() {
            Some(acc) => acc.axpy_inplace(1.0, &g)?,
            None => *slot = Some(g),
        }
        Ok(())
    }

    /// Backpropagates from a scalar (one-element) result.
    pub fn backward(&self) -> Result<()> {
        let shape = self.shape();
        if shape.iter().product::<usize>() != 1 {
            return Err(TensorError::invalid(
                "backward",
                format!(
                    "needs a one-element result (a loss), got shape {shape:?}; use backward_with"
                ),
            ));
        }
        self.backward_with(Tensor::ones(shape))
    }

    /// Backpropagates `grad` = d(loss)/d(self). The recorded graph below `self` is consumed:
    /// each node's backward rule runs once and is dropped, freeing its saved tensors. A later
    /// backward that reaches any consumed node (the same loss again, or another loss sharing
    /// part of this graph) is an error; run the forward pass again, or sum the losses first.
    pub fn backward_with(&self, grad: Tensor) -> Result<()> {
        if !self.requires_grad() {
            return Err(TensorError::invalid(
                "backward",
                "this value does not depend on any parameter",
            ));
        }
        if grad.shape() != self.shape().as_slice() {
            return Err(TensorError::mismatch(
                "backward",
                &self.shape(),
                grad.shape(),
                "seed gradient shape",
            ));
        }
        // Fails before touching any gradient, so an error leaves the graph as it was.
        let order = self.topological_order()?;
        self.accumulate(grad)?;
        for var in order.iter().rev() {
            let Some(grad_fn) = var.0.grad_fn.borrow_mut().take() else {
                continue;
            };
            // Interior nodes hand their gradient on and keep nothing.
            let Some(g) = var.0.grad.borrow_mut().take() else {
                continue;
            };
            let grads = (grad_fn.backward)(&g)?;
            for (parent, pg) in grad_fn.parents.iter().zip(grads) {
                if let (true, Some(pg)) = (parent.requires_grad(), pg) {
                    parent.accumulate(pg)?;
                }
            }
        }
        Ok(())
    }

    /// Nodes with a backward rule, each after all of its inputs (iterative DFS). Errors if the
    /// walk reaches an op result whose rule an earlier backward pass already consumed.
    fn topological_order(&self) -> Result<Vec<Var>> {
        let mut order = Vec::new();
        let mut seen: HashSet<*const Node> = HashSet::new();
        let mut stack: Vec<(Var, bool)> = vec![(self.clone(), false)];
        while let Some((var, expanded)) = stack.pop() {
            if expanded {
                order.push(var);
                continue;
            }
            if !seen.insert(Rc::as_ptr(&var.0)) {
                continue;
            }
            let parents: Vec<Var> = match var.0.grad_fn.borrow().as_ref() {
                Some(f) => f.parents.iter().filter(|p| p.requires_grad()).cloned().collect(),
                None if var.0.recorded => {
                    return Err(TensorError::invalid(
                        "backward",
                        format!(
                            "the graph behind a {:?} result was already consumed by an earlier backward pass; \
                             run the forward pass again (or add the losses and call backward once)",
                            var.shape()
                        ),
                    ))
                }
                None => continue,
            };
            stack.push((var, true));
            for p in parents {
                if !seen.contains(&Rc::as_ptr(&p.0)) {
                    stack.push((p, false));
                }
            }
        }
        Ok(order)
    }
}

impl std::fmt::Debug for Var {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Var(shape={:?}, requires_grad={})",
            self.shape(),
            self.requires_grad()
        )
    }
}
