//! `Tensor`: a shape plus contiguous float32 storage that lives on a device.

use crate::buffer::HostBuffer;
use crate::shape::numel;
use crate::{Result, TensorError};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use std::sync::Arc;

/// Where a tensor's elements live. Only the CPU exists today; a CUDA device becomes one more
/// variant here plus one more arm in each op family's dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Cpu,
}

/// The device seam: storage is an enum over devices, matched once per op.
#[derive(Debug, Clone)]
pub(crate) enum Storage {
    /// Row-major host memory, shared so that clones and reshapes cost nothing; it returns to
    /// the buffer pool when the last tensor holding it drops.
    Cpu(Arc<HostBuffer>),
}

/// An n-dimensional float32 tensor, row-major, channels-last by convention.
#[derive(Debug, Clone)]
pub struct Tensor {
    shape: Vec<usize>,
    storage: Storage,
}

impl Tensor {
    /// Builds a tensor from row-major values; the length must match the shape.
    pub fn from_vec(shape: impl Into<Vec<usize>>, data: Vec<f32>) -> Result<Tensor> {
        let shape = shape.into();
        let expected = numel(&shape);
        if expected != data.len() {
            return Err(TensorError::DataLength {
                shape,
                expected,
                found: data.len(),
            });
        }
        Ok(Tensor {
            shape,
            storage: Storage::Cpu(Arc::new(HostBuffer::new(data))),
        })
    }

    /// Internal constructor for kernels that computed exactly `numel(shape)` values.
    pub(crate) fn from_parts(shape: Vec<usize>, data: Vec<f32>) -> Tensor {
        debug_assert_eq!(numel(&shape), data.len());
        Tensor {
            shape,
            storage: Storage::Cpu(Arc::new(HostBuffer::new(data))),
        }
    }

    pub fn full(shape: impl Into<Vec<usize>>, value: f32) -> Tensor {
        let shape = shape.into();
        let n = numel(&shape);
        let mut data = crate::buffer::dirty(n);
        data.fill(value);
        Tensor::from_parts(shape, data)
    }

    pub fn zeros(shape: impl Into<Vec<usize>>) -> Tensor {
        Tensor::full(shape, 0.0)
    }

    pub fn ones(shape: impl Into<Vec<usize>>) -> Tensor {
        Tensor::full(shape, 1.0)
    }

    /// A rank-0 tensor holding one value.
    pub fn scalar(value: f32) -> Tensor {
        Tensor::from_parts(vec![], vec![value])
    }

    /// Standard-normal samples scaled by `std` around `mean`.
    pub fn randn(shape: impl Into<Vec<usize>>, mean: f32, std: f32, rng: &mut impl Rng) -> Tensor {
        let shape = shape.into();
        let n = numel(&shape);
        let data = (0..n)
            .map(|_| {
                let z: f32 = StandardNormal.sample(rng);
                mean + std * z
            })
            .collect();
        Tensor::from_parts(shape, data)
    }

    /// Uniform samples in [low, high).
    pub fn rand_uniform(
        shape: impl Into<Vec<usize>>,
        low: f32,
        high: f32,
        rng: &mut impl Rng,
    ) -> Tensor {
        let shape = shape.into();
        let n = numel(&shape);
        let data = (0..n).map(|_| rng.gen_range(low..high)).collect();
        Tensor::from_parts(shape, data)
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    pub fn numel(&self) -> usize {
        numel(&self.shape)
    }

    pub fn device(&self) -> Device {
        match self.storage {
            Storage::Cpu(_) => Device::Cpu,
        }
    }

    /// The elements in row-major order, borrowed from the CPU device's host memory. Private to
    /// krust-tensor: other crates read values through the named transfer [`Tensor::to_vec`]
    /// (or [`Tensor::item`]) at their I/O boundaries, so compute never bypasses the backend.
    pub(crate) fn as_slice(&self) -> &[f32] {
        match &self.storage {
            Storage::Cpu(data) => data.as_slice(),
        }
    }

    /// Mutable elements; copies the storage first if another tensor shares it.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [f32] {
        match &mut self.storage {
            Storage::Cpu(data) => Arc::make_mut(data).as_mut_slice(),
        }
    }

    /// Copies the elements, in row-major order, to host memory: the one way values leave a
    /// tensor (readers, writers, metrics, plots). A device backend transfers here.
    pub fn to_vec(&self) -> Vec<f32> {
        self.as_slice().to_vec()
    }

    /// Whether `other` is this very storage seen with the same shape (a clone or a reshape
    /// back), not merely equal values.
    pub fn same_storage(&self, other: &Tensor) -> bool {
        self.shape == other.shape
            && match (&self.storage, &other.storage) {
                (Storage::Cpu(a), Storage::Cpu(b)) => Arc::ptr_eq(a, b),
            }
    }

    /// The single value of a one-element tensor.
    pub fn item(&self) -> Result<f32> {
        if self.numel() != 1 {
            return Err(TensorError::invalid(
                "item",
                format!(
                    "tensor of shape {:?} has {} elements, not 1",
                    self.shape,
                    self.numel()
                ),
            ));
        }
        Ok(self.as_slice()[0])
    }

    /// Same elements seen with another shape of equal size; shares storage.
    pub fn reshape(&self, shape: impl Into<Vec<usize>>) -> Result<Tensor> {
        let shape = shape.into();
        if numel(&shape) != self.numel() {
            return Err(TensorError::mismatch(
                "reshape",
                &self.shape,
                &shape,
                "element counts differ",
            ));
        }
        Ok(Tensor {
            shape,
            storage: self.storage.clone(),
        })
    }

    /// Largest absolute elementwise difference, for tests and tolerance checks.
    pub fn max_abs_diff(&self, other: &Tensor) -> Result<f32> {
        if self.shape != other.shape {
            return Err(TensorError::mismatch(
                "max_abs_diff",
                &self.shape,
                &other.shape,
                "shapes differ",
            ));
        }
        Ok(self
            .as_slice()
            .iter()
            .zip(other.as_slice())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max))
    }

    /// True if any element is NaN or infinite.
    pub fn has_non_finite(&self) -> bool {
        self.as_slice().iter().any(|v| !v.is_finite())
    }
}

impl Tensor {
    pub(crate) fn storage_ref(&self) -> &Storage {
        &self.storage
    }
}
