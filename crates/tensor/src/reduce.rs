//! Reductions over any set of axes (sum, mean, max), argmax, and the sum-to-shape that undoes
//! broadcasting in backward passes.

use crate::shape::{normalize_axis, numel};
use crate::{Result, Tensor, TensorError};
use rayon::prelude::*;

#[derive(Clone, Copy)]
enum Reducer {
    Sum,
    Max,
}

/// Reduces one axis of a row-major array seen as (outer, len, inner).
fn reduce_axis(src: &[f32], outer: usize, len: usize, inner: usize, how: Reducer) -> Vec<f32> {
    let mut out = crate::buffer::zeroed(outer * inner);
    let body = |o: usize, dst: &mut [f32]| {
        let base = o * len * inner;
        dst.copy_from_slice(&src[base..base + inner]);
        for k in 1..len {
            let row = &src[base + k * inner..base + (k + 1) * inner];
            match how {
                Reducer::Sum => dst.iter_mut().zip(row).for_each(|(d, s)| *d += s),
                // NaN propagates, as in NumPy and PyTorch.
                Reducer::Max => dst.iter_mut().zip(row).for_each(|(d, &s)| {
                    if s > *d || s.is_nan() {
                        *d = s
                    }
                }),
            }
        }
    };
    // An empty axis sums to zero (NumPy's identity); there is no first row to seed `dst` from.
    // (Max over an empty axis is rejected before it gets here.)
    if inner == 0 || len == 0 {
        return out;
    }
    if src.len() >= crate::parallel::MIN_PARALLEL_ELEMENTS && outer > 1 {
        out.par_chunks_mut(inner)
            .enumerate()
            .for_each(|(o, d)| body(o, d));
    } else {
        out.chunks_mut(inner)
            .enumerate()
            .for_each(|(o, d)| body(o, d));
    }
    out
}

/// Column sums of a row-major (rows, cols) array, for bias gradients. Rows are added eight at a
/// time as one contiguous run of 8·cols values, so the adds vectorize even when `cols` is a
/// small number like 6; chunks of rows run in parallel and are combined in order.
pub(crate) fn column_sums(data: &[f32], cols: usize) -> Vec<f32> {
    if cols == 0 {
        return Vec::new();
    }
    let block = 8 * cols;
    let rows_per_task = (1 << 14) / cols.max(1) / 8 * 8 + 8;
    let partial = |chunk: &[f32]| -> Vec<f32> {
        let mut acc = vec![0.0; block];
        let blocks = chunk.chunks_exact(block);
        let tail = blocks.remainder();
        for b in blocks {
            acc.iter_mut().zip(b).for_each(|(a, v)| *a += v);
        }
        let mut sums = vec![0.0; cols];
        for run in acc.chunks(cols).chain(tail.chunks(cols)) {
            sums.iter_mut().zip(run).for_each(|(s, v)| *s += v);
        }
        sums
    };
    let parts: Vec<Vec<f32>> = data.par_chunks(rows_per_task * cols).map(partial).collect();
    let mut sums = vec![0.0; cols];
    for p in parts {
        sums.iter_mut().zip(p).for_each(|(s, v)| *s += v);
    }
    sums
}

impl Tensor {
    fn reduce(
        &self,
        op: &'static str,
        axes: &[isize],
        keepdims: bool,
        how: Reducer,
    ) -> Result<Tensor> {
        let rank = self.rank();
        let mut axes_n: Vec<usize> = axes
            .iter()
            .map(|&a| normalize_axis(op, a, rank))
            .collect::<Result<_>>()?;
        axes_n.sort_unstable();
        axes_n.dedup();
        if let Some(&a) = axes_n.iter().find(|&&a| self.shape()[a] == 0) {
            if matches!(how, Reducer::Max) {
                return Err(TensorError::invalid(op, format!("axis {a} is empty")));
            }
        }
        let mut shape = self.shape().to_vec();
        let mut data = self.as_slice().to_vec();
        // Reduce the highest axis first so lower axis indices stay valid.
        for &a in axes_n.iter().rev() {
            let outer = numel(&shape[..a]);
            let inner = numel(&shape[a + 1..]);
            data = reduce_axis(&data, outer, shape[a], inner, how);
            shape[a] = 1;
        }
        if !keepdims {
            shape = shape
                .iter()
                .enumerate()
                .filter(|(i, _)| !axes_n.contains(i))
                .map(|(_, &d)| d)
                .collect();
        }
        Ok(Tensor::from_parts(shape, data))
    }

    /// Sum over every axis but the last: the bias gradient of a dense or convolution layer,
    /// shape `(last,)`. Same values as `sum_axes` over the leading axes, on a faster path.
    pub fn column_sums(&self) -> Result<Tensor> {
        let &cols = self.shape().last().ok_or_else(|| {
            TensorError::invalid(
                "column_sums",
                "needs a tensor of rank 1 or more, got a scalar",
            )
        })?;
        Ok(Tensor::from_parts(
            vec![cols],
            column_sums(self.as_slice(), cols),
        ))
    }

    /// Sum over `axes` (negative axes count from the end).
    pub fn sum_axes(&self, axes: &[isize], keepdims: bool) -> Result<Tensor> {
        self.reduce("sum", axes, keepdims, Reducer::Sum)
    }

    /// Mean over `axes`.
    pub fn mean_axes(&self, axes: &[isize], keepdims: bool) -> Result<Tensor> {
        let rank = self.rank();
        let mut count = 1usize;
        let mut seen = vec![false; rank];
        for &a in axes {
            let a = normalize_axis("mean", a, rank)?;
            if !seen[a] {
                seen[a] = true;
                count *= self.shape()[a];
            }
        }
        let s = self.sum_axes(axes, keepdims)?;
        Ok(s.mul_scalar(1.0 / count.max(1) as f32))
    }

    /// Maximum over `axes`.
    pub fn max_axes(&self, axes: &[isize], keepdims: bool) -> Result<Tensor> {
        self.reduce("max", axes, keepdims, Reducer::Max)
    }

    /// Sum of all elements.
    pub fn sum_all(&self) -> f32 {
        self.as_slice().iter().sum()
    }

    /// Index of the largest element along `axis` (first one on ties); the axis is removed.
    pub fn argmax(&self, axis: isize) -> Result<(Vec<usize>, Vec<usize>)> {
        let a = normalize_axis("argmax", axis, self.rank())?;
        let shape = self.shape();
        if shape[a] == 0 {
            return Err(TensorError::invalid("argmax", format!("axis {a} is empty")));
        }
        let (outer, len, inner) = (numel(&shape[..a]), shape[a], numel(&shape[a + 1..]));
        let src = self.as_slice();
        let mut out = vec![0usize; outer * inner];
        for o in 0..outer {
            for i in 0..inner {
                let mut best = 0;
                let mut best_v = src[o * len * inner + i];
                for k in 1..len {
                    let v = src[(o * len + k) * inner + i];
                    if v > best_v {
                        best_v = v;
                        best = k;
                    }
                }
                out[o * inner + i] = best;
            }
        }
        let mut out_shape = shape.to_vec();
        out_shape.remove(a);
        Ok((out_shape, out))
    }

    /// Sums a broadcast result back down to `target` (the shape an operand had before
    /// broadcasting): leading extra axes and axes where `target` has 1 are summed.
    pub fn sum_to_shape(&self, target: &[usize]) -> Result<Tensor> {
        if self.shape() == target {
            return Ok(self.clone());
        }
        let rank = self.rank();
        if target.len() > rank {
            return Err(TensorError::mismatch(
                "sum_to_shape",
                self.shape(),
                target,
                "target has more dimensions",
            ));
        }
        let offset = rank - target.len();
        let mut axes = Vec::new();
        for i in 0..rank {
            if i < offset || (target[i - offset] == 1 && self.shape()[i] != 1) {
                axes.push(i as isize);
            } else if target[i - offset] != self.shape()[i] {
                return Err(TensorError::mismatch(
                    "sum_to_shape",
                    self.shape(),
                    target,
                    "target does not broadcast to this shape",
                ));
            }
        }
        self.sum_axes(&axes, true)?.reshape(target.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(shape: &[usize], v: Vec<f32>) -> Tensor {
        Tensor::from_vec(shape.to_vec(), v).unwrap()
    }

    #[test]
    fn sum_over_several_axes_with_and_without_keepdims() {
        let x = t(&[2, 3, 4], (0..24).map(|v| v as f32).collect());
        let s = x.sum_axes(&[0, 2], false).unwrap();
        assert_eq!(s.shape(), &[3]);
        assert_eq!(s.to_vec(), vec![60., 92., 124.]);
        let k = x.sum_axes(&[-1], true).unwrap();
        assert_eq!(k.shape(), &[2, 3, 1]);
        assert_eq!(k.to_vec()[0], 6.0);
    }

    #[test]
    fn mean_and_max_over_axes() {
        let x = t(&[2, 2], vec![1., 5., 3., 2.]);
        assert_eq!(x.mean_axes(&[0], false).unwrap().to_vec(), vec![2., 3.5]);
        assert_eq!(x.max_axes(&[1], false).unwrap().to_vec(), vec![5., 3.]);
        assert_eq!(x.max_axes(&[0, 1], false).unwrap().to_vec(), vec![5.]);
    }

    #[test]
    fn argmax_takes_first_of_ties() {
        let x = t(&[2, 3], vec![1., 7., 7., 9., 0., 9.]);
        assert_eq!(x.argmax(1).unwrap(), (vec![2], vec![1, 0]));
        assert_eq!(x.argmax(0).unwrap().1, vec![1, 0, 1]);
    }

    #[test]
    fn column_sums_match_a_plain_loop() {
        for (rows, cols) in [(1000, 6), (13, 3), (5000, 16), (7, 1)] {
            let data: Vec<f32> = (0..rows * cols)
                .map(|i| ((i * 31 % 17) as f32) - 8.0)
                .collect();
            let mut want = vec![0.0f32; cols];
            for r in 0..rows {
                for c in 0..cols {
                    want[c] += data[r * cols + c];
                }
            }
            assert_eq!(column_sums(&data, cols), want, "{rows}x{cols}");
        }
    }

    #[test]
    fn sum_to_shape_undoes_broadcasting() {
        let g = Tensor::ones([4, 2, 3]);
        assert_eq!(g.sum_to_shape(&[3]).unwrap().to_vec(), vec![8., 8., 8.]);
        assert_eq!(g.sum_to_shape(&[2, 1]).unwrap().to_vec(), vec![12., 12.]);
    }

    #[test]
    fn out_of_range_axis_is_an_error() {
        assert!(Tensor::ones([2]).sum_axes(&[3], false).is_err());
    }
}
