//! Matrix products: plain, transposed operands, and the raw strided entry point the
//! convolution kernels share, running on our AVX-512 GEMM where the CPU has it and on the
//! `gemm` crate elsewhere.

use crate::{Result, Tensor, TensorError};

/// A row-major matrix view `rows x cols`, optionally read transposed.
#[derive(Clone, Copy)]
pub struct MatRef<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub transposed: bool,
}

impl<'a> MatRef<'a> {
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        MatRef {
            data,
            rows,
            cols,
            transposed: false,
        }
    }

    pub fn t(self) -> Self {
        MatRef {
            transposed: !self.transposed,
            ..self
        }
    }

    /// Logical (rows, cols) after the optional transpose.
    pub(crate) fn dims(&self) -> (usize, usize) {
        if self.transposed {
            (self.cols, self.rows)
        } else {
            (self.rows, self.cols)
        }
    }

    /// (row stride, column stride) of the logical matrix.
    pub(crate) fn strides(&self) -> (isize, isize) {
        if self.transposed {
            (1, self.cols as isize)
        } else {
            (self.cols as isize, 1)
        }
    }
}

/// `c = a·b` (or `c += a·b` when `accumulate`), with `c` row-major `m x n`.
/// `threads` > 1 lets gemm split the work on the rayon pool; kernels that already run in
/// parallel over the batch pass 1 so the two levels never oversubscribe the cores.
pub fn gemm_into(a: MatRef, b: MatRef, c: &mut [f32], accumulate: bool, threads: usize) {
    let (m, k) = a.dims();
    let (k2, n) = b.dims();
    assert_eq!(k, k2, "gemm_into: inner dimensions differ");
    assert!(a.data.len() >= a.rows * a.cols && b.data.len() >= b.rows * b.cols);
    assert!(c.len() >= m * n, "gemm_into: output too small");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c[..m * n].fill(0.0);
        }
        return;
    }
    if crate::sgemm::isa() == crate::sgemm::Isa::Avx512 {
        crate::sgemm::gemm_avx512(a, b, c, accumulate, threads);
        return;
    }
    let (a_rs, a_cs) = a.strides();
    let (b_rs, b_cs) = b.strides();
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the asserts above guarantee every (row, col) address formed from these strides
    // lies inside the slices, and `c` does not alias `a` or `b` (it is borrowed mutably).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a_cs,
            a_rs,
            b.data.as_ptr(),
            b_cs,
            b_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// A right-hand matrix reused by many products (a convolution's kernel, met once per chunk of
/// output rows): packed once for our GEMM, kept as a view for the `gemm` crate.
pub enum SharedB<'a> {
    Packed(crate::sgemm::PackedB),
    /// Packed ahead of the call and kept by the caller (inference's prepared kernels).
    Borrowed(&'a crate::sgemm::PackedB),
    View(MatRef<'a>),
}

impl<'a> SharedB<'a> {
    pub fn new(b: MatRef<'a>) -> SharedB<'a> {
        if crate::sgemm::isa() == crate::sgemm::Isa::Avx512 {
            SharedB::Packed(crate::sgemm::PackedB::new(
                b,
                crate::parallel::num_threads(),
            ))
        } else {
            SharedB::View(b)
        }
    }

    /// `c (+)= a · b`, `c` row-major, on up to `threads` threads.
    pub fn gemm_into(&self, a: MatRef, c: &mut [f32], accumulate: bool, threads: usize) {
        match self {
            SharedB::Packed(p) => crate::sgemm::gemm_packed(a, p, c, accumulate, threads),
            SharedB::Borrowed(p) => crate::sgemm::gemm_packed(a, p, c, accumulate, threads),
            SharedB::View(b) => gemm_into(a, *b, c, accumulate, threads),
        }
    }

    /// `c (+)= a · b` for an A whose rows are made on demand: packed straight into the
    /// GEMM's panels on the AVX-512 path, materialized into a per-thread scratch matrix
    /// first otherwise.
    pub(crate) fn gemm_rows(
        &self,
        a: &impl crate::sgemm::RowSource,
        c: &mut [f32],
        accumulate: bool,
        threads: usize,
    ) {
        thread_local! {
            static ROWS: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        match self {
            SharedB::Packed(p) => crate::sgemm::gemm_packed_from(a, p, c, accumulate, threads),
            SharedB::Borrowed(p) => crate::sgemm::gemm_packed_from(a, p, c, accumulate, threads),
            SharedB::View(b) => {
                let (m, k) = a.size();
                // Taken out while in use, so a nested call on this thread gets its own.
                let mut rows = ROWS.with(|cell| std::mem::take(&mut *cell.borrow_mut()));
                rows.resize(m * k, 0.0);
                for (i, row) in rows.chunks_exact_mut(k.max(1)).take(m).enumerate() {
                    a.row_part(i, 0, row);
                }
                gemm_into(
                    MatRef::new(&rows[..m * k], m, k),
                    *b,
                    c,
                    accumulate,
                    threads,
                );
                ROWS.with(|cell| *cell.borrow_mut() = rows);
            }
        }
    }
}

impl Tensor {
    /// `(..., k) · (k, n) -> (..., n)`, with optional transposes of either 2-D operand.
    pub fn matmul_ex(
        &self,
        transpose_a: bool,
        other: &Tensor,
        transpose_b: bool,
    ) -> Result<Tensor> {
        let mismatch =
            |why: &str| TensorError::mismatch("matmul", self.shape(), other.shape(), why);
        if other.rank() != 2 || self.rank() < 1 || (transpose_a && self.rank() != 2) {
            return Err(mismatch(
                "expects (..., k) x (k, n); transposes need matrices",
            ));
        }
        let k_a = *self.shape().last().unwrap_or(&0);
        let rows_a = self.numel() / k_a.max(1);
        let a = MatRef::new(self.as_slice(), rows_a, k_a);
        let a = if transpose_a { a.t() } else { a };
        let b = MatRef::new(other.as_slice(), other.shape()[0], other.shape()[1]);
        let b = if transpose_b { b.t() } else { b };
        let (m, k) = a.dims();
        let (k2, n) = b.dims();
        if k != k2 {
            return Err(mismatch("inner dimensions differ"));
        }
        let mut out = crate::buffer::dirty(m * n);
        let threads = if m * n * k >= 1 << 18 {
            crate::parallel::num_threads()
        } else {
            1
        };
        gemm_into(a, b, &mut out, false, threads);
        let mut shape = if transpose_a {
            vec![m]
        } else {
            self.shape()[..self.rank() - 1].to_vec()
        };
        shape.push(n);
        Ok(Tensor::from_parts(shape, out))
    }

    /// `(..., k) · (k, n) -> (..., n)`.
    pub fn matmul(&self, other: &Tensor) -> Result<Tensor> {
        self.matmul_ex(false, other, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matmul_matches_hand_computation_with_transposes() {
        let a = Tensor::from_vec([2, 3], vec![1., 2., 3., 4., 5., 6.]).unwrap();
        let b = Tensor::from_vec([3, 2], vec![7., 8., 9., 10., 11., 12.]).unwrap();
        assert_eq!(a.matmul(&b).unwrap().to_vec(), vec![58., 64., 139., 154.]);
        let at = a.transpose2d().unwrap();
        assert_eq!(
            at.matmul_ex(true, &b, false).unwrap().to_vec(),
            vec![58., 64., 139., 154.]
        );
        let bt = b.transpose2d().unwrap();
        assert_eq!(
            a.matmul_ex(false, &bt, true).unwrap().to_vec(),
            vec![58., 64., 139., 154.]
        );
        assert!(a.matmul(&a).is_err());
    }

    #[test]
    fn large_parallel_matmul_agrees_with_naive() {
        let (m, k, n) = (70, 130, 90);
        let a: Vec<f32> = (0..m * k).map(|i| ((i * 7 % 13) as f32) - 6.0).collect();
        let b: Vec<f32> = (0..k * n).map(|i| ((i * 5 % 11) as f32) - 5.0).collect();
        let c = Tensor::from_vec([m, k], a.clone())
            .unwrap()
            .matmul(&Tensor::from_vec([k, n], b.clone()).unwrap())
            .unwrap();
        for i in (0..m).step_by(7) {
            for j in (0..n).step_by(5) {
                let want: f32 = (0..k).map(|t| a[i * k + t] * b[t * n + j]).sum();
                assert_eq!(c.as_slice()[i * n + j], want);
            }
        }
    }
}
