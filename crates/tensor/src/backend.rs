//! The device seam for elementwise ops and random tensors: every unary, binary (broadcasting)
//! and ternary op is checked for shapes and dispatched on the operands' storage here, in one
//! place. A backend receives the op by name ([`UnaryOp`], [`BinaryOp`], [`TernaryOp`],
//! [`RandomOp`]) and evaluates its scalar formula; a CUDA backend adds one arm per function
//! below and one kernel per op family (unary, broadcasting binary, ternary, counter-based
//! random) that switches on the op.

use crate::elementwise::{BinaryOp, TernaryOp, UnaryOp};
use crate::random::RandomOp;
use crate::shape::broadcast_shapes;
use crate::tensor::Storage;
use crate::{Result, Tensor, TensorError};

/// y = op(x) elementwise.
pub(crate) fn unary(op: UnaryOp, x: &Tensor) -> Tensor {
    match x.storage_ref() {
        Storage::Cpu(_) => cpu::unary(op, x),
    }
}

/// c = op(a, b) elementwise after NumPy broadcasting.
pub(crate) fn binary(op: BinaryOp, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let out_shape = broadcast_shapes(op.name(), a.shape(), b.shape())?;
    match (a.storage_ref(), b.storage_ref()) {
        (Storage::Cpu(_), Storage::Cpu(_)) => Ok(cpu::binary(op, a, b, out_shape)),
    }
}

/// d = op(a, b, c) elementwise on three tensors of one shape.
pub(crate) fn ternary(op: TernaryOp, a: &Tensor, b: &Tensor, c: &Tensor) -> Result<Tensor> {
    if a.shape() != b.shape() || a.shape() != c.shape() {
        let other = if a.shape() != b.shape() { b } else { c };
        return Err(TensorError::mismatch(
            op.name(),
            a.shape(),
            other.shape(),
            "shapes must be equal",
        ));
    }
    match (a.storage_ref(), b.storage_ref(), c.storage_ref()) {
        (Storage::Cpu(_), Storage::Cpu(_), Storage::Cpu(_)) => Ok(cpu::ternary(op, a, b, c)),
    }
}

/// A tensor of `shape` on `device` whose element `i` is `op` drawn at counter position
/// `position + i` under `key` (see [`crate::random`]): no generator state, so any split of the
/// work gives the same values.
pub(crate) fn random(
    op: RandomOp,
    shape: &[usize],
    key: u64,
    position: u64,
    device: crate::Device,
) -> Tensor {
    match device {
        crate::Device::Cpu => cpu::random(op, shape, key, position),
    }
}

/// The CPU kernels: chunked parallel loops, generic over the scalar function so that each hot
/// op is monomorphized into its own straight-line (vectorizable) loop; the remaining ops share
/// one loop that matches on the op per element.
mod cpu {
    use super::{BinaryOp, RandomOp, TernaryOp, UnaryOp};
    use crate::parallel::{for_each_chunk_mut, MIN_PARALLEL_ELEMENTS};
    use crate::shape::{broadcast_strides, numel};
    use crate::Tensor;
    use rayon::prelude::*;

    pub(super) fn unary(op: UnaryOp, x: &Tensor) -> Tensor {
        use UnaryOp::*;
        let src = x.as_slice();
        let out = match op {
            Neg => map(src, |v| Neg.apply(v)),
            AddScalar(s) => map(src, |v| AddScalar(s).apply(v)),
            MulScalar(s) => map(src, |v| MulScalar(s).apply(v)),
            Affine { scale, shift } => map(src, |v| Affine { scale, shift }.apply(v)),
            Exp => map(src, |v| Exp.apply(v)),
            Sqrt => map(src, |v| Sqrt.apply(v)),
            Square => map(src, |v| Square.apply(v)),
            Relu => map(src, |v| Relu.apply(v)),
            Sigmoid => map(src, |v| Sigmoid.apply(v)),
            other => map(src, |v| other.apply(v)),
        };
        Tensor::from_parts(x.shape().to_vec(), out)
    }

    pub(super) fn binary(op: BinaryOp, a: &Tensor, b: &Tensor, out_shape: Vec<usize>) -> Tensor {
        use BinaryOp::*;
        match op {
            Add => broadcast(a, b, out_shape, |x, y| Add.apply(x, y)),
            Sub => broadcast(a, b, out_shape, |x, y| Sub.apply(x, y)),
            Mul => broadcast(a, b, out_shape, |x, y| Mul.apply(x, y)),
            Div => broadcast(a, b, out_shape, |x, y| Div.apply(x, y)),
            Maximum => broadcast(a, b, out_shape, |x, y| Maximum.apply(x, y)),
            Minimum => broadcast(a, b, out_shape, |x, y| Minimum.apply(x, y)),
            Left => broadcast(a, b, out_shape, |x, y| Left.apply(x, y)),
            other => broadcast(a, b, out_shape, |x, y| other.apply(x, y)),
        }
    }

    pub(super) fn ternary(op: TernaryOp, a: &Tensor, b: &Tensor, c: &Tensor) -> Tensor {
        use TernaryOp::*;
        let (xa, xb, xc) = (a.as_slice(), b.as_slice(), c.as_slice());
        let out = match op {
            UnaryGrad(UnaryOp::Relu) => map3(xa, xb, xc, |g, x, y| {
                UnaryGrad(UnaryOp::Relu).apply(g, x, y)
            }),
            LhsGrad(BinaryOp::Mul) => {
                map3(xa, xb, xc, |g, x, y| LhsGrad(BinaryOp::Mul).apply(g, x, y))
            }
            RhsGrad(BinaryOp::Mul) => {
                map3(xa, xb, xc, |g, x, y| RhsGrad(BinaryOp::Mul).apply(g, x, y))
            }
            other => map3(xa, xb, xc, |g, x, y| other.apply(g, x, y)),
        };
        Tensor::from_parts(a.shape().to_vec(), out)
    }

    /// `f` over every element, in parallel chunks when large.
    pub(super) fn random(op: RandomOp, shape: &[usize], key: u64, position: u64) -> Tensor {
        let mut data = crate::buffer::dirty(numel(shape));
        for_each_chunk_mut(&mut data, |start, chunk| {
            for (i, v) in chunk.iter_mut().enumerate() {
                *v = op.value(key, position + (start + i) as u64);
            }
        });
        Tensor::from_parts(shape.to_vec(), data)
    }

    fn map<F>(src: &[f32], f: F) -> Vec<f32>
    where
        F: Fn(f32) -> f32 + Sync + Send,
    {
        let mut out = crate::buffer::dirty(src.len());
        for_each_chunk_mut(&mut out, |start, chunk| {
            let end = start + chunk.len();
            for (o, &x) in chunk.iter_mut().zip(&src[start..end]) {
                *o = f(x);
            }
        });
        out
    }

    /// `f` over pairs of same-index elements of equal-length slices.
    fn map2<F>(a: &[f32], b: &[f32], f: F) -> Vec<f32>
    where
        F: Fn(f32, f32) -> f32 + Sync + Send,
    {
        let mut out = crate::buffer::dirty(a.len());
        for_each_chunk_mut(&mut out, |start, chunk| {
            let end = start + chunk.len();
            for ((o, &x), &y) in chunk.iter_mut().zip(&a[start..end]).zip(&b[start..end]) {
                *o = f(x, y);
            }
        });
        out
    }

    /// `f` over triples of same-index elements of equal-length slices, in one pass.
    fn map3<F>(xa: &[f32], xb: &[f32], xc: &[f32], f: F) -> Vec<f32>
    where
        F: Fn(f32, f32, f32) -> f32 + Sync + Send,
    {
        let mut out = crate::buffer::dirty(xa.len());
        for_each_chunk_mut(&mut out, |start, chunk| {
            let end = start + chunk.len();
            let inputs = xa[start..end]
                .iter()
                .zip(&xb[start..end])
                .zip(&xc[start..end]);
            for (o, ((&p, &q), &r)) in chunk.iter_mut().zip(inputs) {
                *o = f(p, q, r);
            }
        });
        out
    }

    /// `f` after NumPy broadcasting to `out_shape` (already checked): equal shapes and scalar
    /// operands run as flat loops, everything else row by row.
    fn broadcast<F>(a: &Tensor, b: &Tensor, out_shape: Vec<usize>, f: F) -> Tensor
    where
        F: Fn(f32, f32) -> f32 + Sync + Send,
    {
        let (xa, xb) = (a.as_slice(), b.as_slice());
        let out = if a.shape() == b.shape() {
            map2(xa, xb, f)
        } else if b.numel() == 1 && out_shape == a.shape() {
            let y = xb[0];
            map(xa, |x| f(x, y))
        } else if a.numel() == 1 && out_shape == b.shape() {
            let x = xa[0];
            map(xb, |y| f(x, y))
        } else {
            broadcast_rows(a, b, &out_shape, f)
        };
        Tensor::from_parts(out_shape, out)
    }

    /// The general broadcast, one output row (last dimension) at a time.
    fn broadcast_rows<F>(a: &Tensor, b: &Tensor, out_shape: &[usize], f: F) -> Vec<f32>
    where
        F: Fn(f32, f32) -> f32 + Sync + Send,
    {
        let rank = out_shape.len();
        let sa = broadcast_strides(a.shape(), out_shape);
        let sb = broadcast_strides(b.shape(), out_shape);
        let (a, b) = (a.as_slice(), b.as_slice());
        let inner = if rank == 0 { 1 } else { out_shape[rank - 1] };
        let (ia, ib) = if rank == 0 {
            (0, 0)
        } else {
            (sa[rank - 1], sb[rank - 1])
        };
        let mut out = crate::buffer::dirty(numel(out_shape));
        let fill_row = |row: usize, dst: &mut [f32]| {
            // Offsets of this row's first element in each operand.
            let (mut oa, mut ob, mut rem) = (0, 0, row);
            for d in (0..rank.saturating_sub(1)).rev() {
                let idx = rem % out_shape[d];
                rem /= out_shape[d];
                oa += idx * sa[d];
                ob += idx * sb[d];
            }
            // Unit or zero inner strides (a per-channel vector against channels-last data, the
            // common case) run as slice loops the compiler vectorizes.
            let len = dst.len();
            match (ia, ib) {
                (1, 1) => {
                    let (ra, rb) = (&a[oa..oa + len], &b[ob..ob + len]);
                    for ((o, &x), &y) in dst.iter_mut().zip(ra).zip(rb) {
                        *o = f(x, y);
                    }
                }
                (1, 0) => {
                    let y = b[ob];
                    for (o, &x) in dst.iter_mut().zip(&a[oa..oa + len]) {
                        *o = f(x, y);
                    }
                }
                (0, 1) => {
                    let x = a[oa];
                    for (o, &y) in dst.iter_mut().zip(&b[ob..ob + len]) {
                        *o = f(x, y);
                    }
                }
                _ => {
                    for (j, o) in dst.iter_mut().enumerate() {
                        *o = f(a[oa + j * ia], b[ob + j * ib]);
                    }
                }
            }
        };
        if out.len() >= MIN_PARALLEL_ELEMENTS && inner > 0 {
            // Tasks of several short rows, so rayon's per-task cost stays small.
            let rows_per_task = (4096 / inner).max(1);
            out.par_chunks_mut(inner * rows_per_task)
                .enumerate()
                .for_each(|(t, block)| {
                    for (r, dst) in block.chunks_mut(inner).enumerate() {
                        fill_row(t * rows_per_task + r, dst);
                    }
                });
        } else if inner > 0 {
            out.chunks_mut(inner)
                .enumerate()
                .for_each(|(row, dst)| fill_row(row, dst));
        }
        out
    }
}
