//! Data-moving shape ops: permute, slice, concatenate, pad, and row gather/scatter (reshape
//! lives on `Tensor`).

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

/// The `(rows, width)` of a rank-2 table, or an error naming `op`.
fn table_shape(op: &'static str, shape: &[usize]) -> Result<(usize, usize)> {
    match *shape {
        [rows, width] => Ok((rows, width)),
        _ => Err(TensorError::invalid(
            op,
            format!("expects a (rows, width) table, got {shape:?}"),
        )),
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

    /// Rows of a `(rows, width)` table picked by `indices`: shape `(indices.len(), width)`.
    /// An index past the table is an error naming it and its position.
    pub fn gather_rows(&self, indices: &[usize]) -> Result<Tensor> {
        let (rows, width) = table_shape("gather_rows", self.shape())?;
        if let Some((i, &bad)) = indices.iter().enumerate().find(|(_, &r)| r >= rows) {
            return Err(TensorError::invalid(
                "gather_rows",
                format!("index {bad} at position {i} is out of range for {rows} rows"),
            ));
        }
        let src = self.as_slice();
        let mut out = crate::buffer::dirty(indices.len() * width);
        for (dst, &r) in out.chunks_exact_mut(width.max(1)).zip(indices) {
            dst.copy_from_slice(&src[r * width..(r + 1) * width]);
        }
        Ok(Tensor::from_parts(vec![indices.len(), width], out))
    }

    /// The adjoint of [`Tensor::gather_rows`]: a `(rows, width)` table of zeros to which row `i`
    /// of this `(indices.len(), width)` tensor is added at row `indices[i]` (repeats add up).
    pub fn scatter_add_rows(&self, indices: &[usize], rows: usize) -> Result<Tensor> {
        let (n, width) = table_shape("scatter_add_rows", self.shape())?;
        if n != indices.len() {
            return Err(TensorError::invalid(
                "scatter_add_rows",
                format!("{n} rows to scatter but {} indices", indices.len()),
            ));
        }
        if let Some((i, &bad)) = indices.iter().enumerate().find(|(_, &r)| r >= rows) {
            return Err(TensorError::invalid(
                "scatter_add_rows",
                format!("index {bad} at position {i} is out of range for {rows} rows"),
            ));
        }
        let mut out = crate::buffer::zeroed(rows * width);
        for (src, &r) in self.as_slice().chunks_exact(width.max(1)).zip(indices) {
            out[r * width..(r + 1) * width]
                .iter_mut()
                .zip(src)
                .for_each(|(d, v)| *d += v);
        }
        Ok(Tensor::from_parts(vec![rows, width], out))
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

    #[test]
    fn gather_rows_picks_rows_and_scatter_add_rows_is_its_adjoint() {
        let table = iota(&[4, 3]);
        let y = table.gather_rows(&[2, 0, 2]).unwrap();
        assert_eq!(y.shape(), &[3, 3]);
        assert_eq!(y.to_vec(), vec![6., 7., 8., 0., 1., 2., 6., 7., 8.]);
        // <gather(T), G> == <T, scatter(G)> for any G: repeated rows add up.
        let g = Tensor::from_vec([3, 3], vec![1., 2., 3., 4., 5., 6., 7., 8., 9.]).unwrap();
        let back = g.scatter_add_rows(&[2, 0, 2], 4).unwrap();
        assert_eq!(
            back.to_vec(),
            vec![4., 5., 6., 0., 0., 0., 8., 10., 12., 0., 0., 0.]
        );
        let dot = |a: &Tensor, b: &Tensor| a.mul(b).unwrap().sum_all();
        assert_eq!(dot(&y, &g), dot(&table, &back));
        let err = table.gather_rows(&[1, 4]).unwrap_err().to_string();
        assert!(err.contains("index 4 at position 1"), "{err}");
        assert!(g.scatter_add_rows(&[0, 1], 4).is_err());
        assert!(g.scatter_add_rows(&[0, 1, 9], 4).is_err());
        assert!(iota(&[2, 2, 2]).gather_rows(&[0]).is_err());
    }

    #[test]
    fn column_sums_match_sum_over_leading_axes() {
        let x = iota(&[3, 5, 7]);
        let fast = x.column_sums().unwrap();
        let slow = x.sum_axes(&[0, 1], false).unwrap();
        assert_eq!(fast.shape(), &[7]);
        assert_eq!(fast.to_vec(), slow.to_vec());
        assert!(Tensor::scalar(1.0).column_sums().is_err());
    }

    #[test]
    fn same_storage_tells_a_clone_from_an_equal_copy() {
        let x = iota(&[2, 3]);
        assert!(x.same_storage(&x.clone()));
        assert!(x.same_storage(&x.reshape([6]).unwrap().reshape([2, 3]).unwrap()));
        assert!(!x.same_storage(&x.reshape([3, 2]).unwrap()));
        assert!(!x.same_storage(&iota(&[2, 3])));
    }
}
