//! Data-moving shape ops: permute, slice, concatenate and pad (reshape lives on `Tensor`).

use crate::shape::{normalize_axis, numel, strides_of};
use crate::{Result, Tensor, TensorError};

/// Copies a box of `extent` from `src` at `src_start` into `dst` at `dst_start`; innermost
/// runs are contiguous so each is one `copy_from_slice`.
fn copy_box(
    src: &[f32],
    src_shape: &[usize],
    src_start: &[usize],
    dst: &mut [f32],
    dst_shape: &[usize],
    dst_start: &[usize],
    extent: &[usize],
) {
    let rank = extent.len();
    if rank == 0 {
        dst[0] = src[0];
        return;
    }
    if extent.contains(&0) {
        return;
    }
    let (ss, ds) = (strides_of(src_shape), strides_of(dst_shape));
    let run = extent[rank - 1];
    let rows = numel(&extent[..rank - 1]);
    let mut idx = vec![0usize; rank - 1];
    for _ in 0..rows {
        let mut so = src_start[rank - 1];
        let mut dof = dst_start[rank - 1];
        for d in 0..rank - 1 {
            so += (src_start[d] + idx[d]) * ss[d];
            dof += (dst_start[d] + idx[d]) * ds[d];
        }
        dst[dof..dof + run].copy_from_slice(&src[so..so + run]);
        for d in (0..rank - 1).rev() {
            idx[d] += 1;
            if idx[d] < extent[d] {
                break;
            }
            idx[d] = 0;
        }
    }
}

impl Tensor {
    /// Reorders axes: output axis `i` is input axis `perm[i]`.
    pub fn permute(&self, perm: &[usize]) -> Result<Tensor> {
        let rank = self.rank();
        let mut seen = vec![false; rank];
        if perm.len() != rank
            || perm
                .iter()
                .any(|&p| p >= rank || std::mem::replace(&mut seen[p], true))
        {
            return Err(TensorError::invalid(
                "permute",
                format!(
                    "{perm:?} is not a permutation of the {rank} axes of shape {:?}",
                    self.shape()
                ),
            ));
        }
        let in_strides = strides_of(self.shape());
        let out_shape: Vec<usize> = perm.iter().map(|&p| self.shape()[p]).collect();
        let src = self.as_slice();
        let mut out = crate::buffer::zeroed(src.len());
        if rank > 0 && !out.is_empty() {
            let inner = out_shape[rank - 1];
            let inner_stride = in_strides[perm[rank - 1]];
            let mut idx = vec![0usize; rank - 1];
            for row in out.chunks_mut(inner) {
                let base: usize = (0..rank - 1).map(|d| idx[d] * in_strides[perm[d]]).sum();
                for (j, o) in row.iter_mut().enumerate() {
                    *o = src[base + j * inner_stride];
                }
                for d in (0..rank - 1).rev() {
                    idx[d] += 1;
                    if idx[d] < out_shape[d] {
                        break;
                    }
                    idx[d] = 0;
                }
            }
        } else {
            out.copy_from_slice(src);
        }
        Ok(Tensor::from_parts(out_shape, out))
    }

    /// Matrix transpose of a rank-2 tensor.
    pub fn transpose2d(&self) -> Result<Tensor> {
        if self.rank() != 2 {
            return Err(TensorError::invalid(
                "transpose2d",
                format!("expected a matrix, got shape {:?}", self.shape()),
            ));
        }
        self.permute(&[1, 0])
    }

    /// The sub-tensor `start..end` along `axis`.
    pub fn slice(&self, axis: isize, start: usize, end: usize) -> Result<Tensor> {
        let a = normalize_axis("slice", axis, self.rank())?;
        let dim = self.shape()[a];
        if start > end || end > dim {
            return Err(TensorError::invalid(
                "slice",
                format!("range {start}..{end} is outside axis {a} of length {dim}"),
            ));
        }
        let mut extent = self.shape().to_vec();
        extent[a] = end - start;
        let mut src_start = vec![0; self.rank()];
        src_start[a] = start;
        let mut out = crate::buffer::zeroed(numel(&extent));
        copy_box(
            self.as_slice(),
            self.shape(),
            &src_start,
            &mut out,
            &extent,
            &vec![0; self.rank()],
            &extent,
        );
        Ok(Tensor::from_parts(extent, out))
    }

    /// Joins tensors along `axis`; all other dimensions must agree.
    pub fn concat(tensors: &[&Tensor], axis: isize) -> Result<Tensor> {
        let first = tensors
            .first()
            .ok_or_else(|| TensorError::invalid("concat", "needs at least one tensor"))?;
        let a = normalize_axis("concat", axis, first.rank())?;
        let mut out_shape = first.shape().to_vec();
        out_shape[a] = 0;
        for t in tensors {
            let same_rank = t.rank() == first.rank();
            if !same_rank || (0..t.rank()).any(|d| d != a && t.shape()[d] != first.shape()[d]) {
                return Err(TensorError::mismatch(
                    "concat",
                    first.shape(),
                    t.shape(),
                    format!("all dimensions except axis {a} must match"),
                ));
            }
            out_shape[a] += t.shape()[a];
        }
        let mut out = crate::buffer::zeroed(numel(&out_shape));
        let mut dst_start = vec![0; first.rank()];
        let zeros = vec![0; first.rank()];
        for t in tensors {
            copy_box(
                t.as_slice(),
                t.shape(),
                &zeros,
                &mut out,
                &out_shape,
                &dst_start,
                t.shape(),
            );
            dst_start[a] += t.shape()[a];
        }
        Ok(Tensor::from_parts(out_shape, out))
    }

    /// Pads every axis with `(before, after)` cells of `value`.
    pub fn pad(&self, pads: &[(usize, usize)], value: f32) -> Result<Tensor> {
        if pads.len() != self.rank() {
            return Err(TensorError::invalid(
                "pad",
                format!(
                    "got {} (before, after) pairs for a tensor of rank {}",
                    pads.len(),
                    self.rank()
                ),
            ));
        }
        let out_shape: Vec<usize> = self
            .shape()
            .iter()
            .zip(pads)
            .map(|(d, (b, a))| d + b + a)
            .collect();
        let mut out = vec![value; numel(&out_shape)];
        let dst_start: Vec<usize> = pads.iter().map(|p| p.0).collect();
        copy_box(
            self.as_slice(),
            self.shape(),
            &vec![0; self.rank()],
            &mut out,
            &out_shape,
            &dst_start,
            self.shape(),
        );
        Ok(Tensor::from_parts(out_shape, out))
    }

    /// The inverse of `pad`: drops `(before, after)` cells from every axis.
    pub fn crop(&self, pads: &[(usize, usize)]) -> Result<Tensor> {
        if pads.len() != self.rank() || pads.iter().zip(self.shape()).any(|((b, a), d)| b + a > *d)
        {
            return Err(TensorError::invalid(
                "crop",
                format!("cannot crop {pads:?} from shape {:?}", self.shape()),
            ));
        }
        let extent: Vec<usize> = self
            .shape()
            .iter()
            .zip(pads)
            .map(|(d, (b, a))| d - b - a)
            .collect();
        let start: Vec<usize> = pads.iter().map(|p| p.0).collect();
        let mut out = crate::buffer::zeroed(numel(&extent));
        copy_box(
            self.as_slice(),
            self.shape(),
            &start,
            &mut out,
            &extent,
            &vec![0; self.rank()],
            &extent,
        );
        Ok(Tensor::from_parts(extent, out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iota(shape: &[usize]) -> Tensor {
        Tensor::from_vec(
            shape.to_vec(),
            (0..numel(shape)).map(|v| v as f32).collect(),
        )
        .unwrap()
    }

    #[test]
    fn permute_moves_channels_first() {
        let x = iota(&[1, 2, 2, 3]);
        let y = x.permute(&[0, 3, 1, 2]).unwrap();
        assert_eq!(y.shape(), &[1, 3, 2, 2]);
        assert_eq!(
            y.to_vec(),
            vec![0., 3., 6., 9., 1., 4., 7., 10., 2., 5., 8., 11.]
        );
        assert!(x.permute(&[0, 0, 1, 2]).is_err());
    }

    #[test]
    fn slice_concat_roundtrip() {
        let x = iota(&[2, 5, 3]);
        let a = x.slice(1, 0, 2).unwrap();
        let b = x.slice(-2, 2, 5).unwrap();
        assert_eq!(a.shape(), &[2, 2, 3]);
        let y = Tensor::concat(&[&a, &b], 1).unwrap();
        assert_eq!(y.to_vec(), x.to_vec());
        assert!(x.slice(1, 3, 6).is_err());
    }

    #[test]
    fn pad_then_crop_is_identity() {
        let x = iota(&[2, 3]);
        let p = x.pad(&[(1, 0), (0, 2)], -1.0).unwrap();
        assert_eq!(p.shape(), &[3, 5]);
        assert_eq!(&p.to_vec()[..5], &[-1.0; 5]);
        assert_eq!(&p.to_vec()[5..10], &[0., 1., 2., -1., -1.]);
        assert_eq!(p.crop(&[(1, 0), (0, 2)]).unwrap().to_vec(), x.to_vec());
    }
}
