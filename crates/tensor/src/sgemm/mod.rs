//! Our float32 GEMM: packed panels, cache blocking and an AVX-512 micro-kernel chosen at run
//! time; CPUs without AVX-512 take the `gemm` crate's kernels instead.
//!
//! B is packed once into `KC × NR` panels (a convolution packs its kernel once per call and
//! reuses it for every chunk of output rows); each task packs its own `MC × KC` block of A
//! into `KC × MR` panels and runs the micro-kernel over every (A panel, B panel) pair, the B
//! panel staying in L1 while the A block stays in L2.

#[cfg(target_arch = "x86_64")]
mod avx512;

use crate::matmul::MatRef;
use rayon::prelude::*;
use std::cell::RefCell;
use std::sync::OnceLock;

/// Rows of C per micro-kernel call.
pub(crate) const MR: usize = 14;
/// Columns of C per micro-kernel call (two 16-float vectors).
pub(crate) const NR: usize = 32;
/// Depth of one packed slab: a B panel (KC·NR floats, 32 KiB) fits in L1.
const KC: usize = 256;
/// Rows of A packed per block (MC·KC floats, 192 KiB, fit in L2).
pub(crate) const MC: usize = 196;

/// The instruction set the GEMM runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// Our packed AVX-512F micro-kernel.
    Avx512,
    /// The `gemm` crate's kernels (AVX2/FMA or scalar, its own run-time choice).
    GemmCrate,
}

impl Isa {
    pub fn describe(self) -> &'static str {
        match self {
            Isa::Avx512 => "AVX-512F (krust packed 14x32 micro-kernel)",
            Isa::GemmCrate => "AVX2/FMA or scalar (gemm crate)",
        }
    }
}

/// The instruction set chosen for this CPU, detected once. `KRUST_GEMM=portable` forces the
/// `gemm` crate's path (to compare the two, or to rule ours out).
pub fn isa() -> Isa {
    static ISA: OnceLock<Isa> = OnceLock::new();
    *ISA.get_or_init(|| {
        if std::env::var("KRUST_GEMM").is_ok_and(|v| v == "portable") {
            return Isa::GemmCrate;
        }
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx512f") {
            return Isa::Avx512;
        }
        Isa::GemmCrate
    })
}

/// Floats of 64-byte alignment slack a packing buffer keeps, so panels start on cache lines.
const ALIGN: usize = 16;

/// Offset into `buf` of the first 64-byte aligned float.
fn aligned_start(buf: &[f32]) -> usize {
    let addr = buf.as_ptr() as usize;
    (addr.next_multiple_of(64) - addr) / 4
}

/// B (k × n) packed into slabs of `KC` rows, each slab into `NR`-column panels zero-padded on
/// the right: the form every micro-kernel call reads.
pub struct PackedB {
    buf: Vec<f32>,
    start: usize,
    k: usize,
    n: usize,
}

impl PackedB {
    /// Packs `b`, splitting the copy over the rayon pool when `threads > 1`.
    pub fn new(b: MatRef, threads: usize) -> PackedB {
        let mut packed = PackedB {
            buf: Vec::new(),
            start: 0,
            k: 0,
            n: 0,
        };
        packed.repack(b, threads);
        packed
    }

    /// Packs `b` into this buffer, reusing its allocation.
    pub fn repack(&mut self, b: MatRef, threads: usize) {
        let (k, n) = b.dims();
        let n_pad = n.next_multiple_of(NR);
        let len = k * n_pad + ALIGN;
        if self.buf.len() < len {
            self.buf = vec![0.0; len];
        }
        self.start = aligned_start(&self.buf);
        self.k = k;
        self.n = n;
        let (rs, cs) = b.strides();
        let panels = n_pad / NR;
        let data = &mut self.buf[self.start..self.start + k * n_pad];
        // Panel p of slab s: rows k0..k0+kc, columns p·NR.., stored kc·NR contiguous.
        let pack_slab = |k0: usize, slab: &mut [f32]| {
            let kc = KC.min(k - k0);
            for (p, panel) in slab.chunks_exact_mut(kc * NR).enumerate() {
                let j0 = p * NR;
                let cols = NR.min(n - j0);
                for kk in 0..kc {
                    let dst = &mut panel[kk * NR..(kk + 1) * NR];
                    let row = (k0 + kk) as isize * rs;
                    if cs == 1 {
                        let at = row as usize + j0;
                        dst[..cols].copy_from_slice(&b.data[at..at + cols]);
                    } else {
                        for (j, d) in dst[..cols].iter_mut().enumerate() {
                            *d = b.data[(row + (j0 + j) as isize * cs) as usize];
                        }
                    }
                    dst[cols..].fill(0.0);
                }
            }
            debug_assert_eq!(slab.len(), kc * panels * NR);
        };
        let slabs: Vec<(usize, &mut [f32])> = {
            let mut rest = data;
            let mut out = Vec::with_capacity(k.div_ceil(KC));
            let mut k0 = 0;
            while k0 < k {
                let kc = KC.min(k - k0);
                let (slab, tail) = rest.split_at_mut(kc * n_pad);
                out.push((k0, slab));
                rest = tail;
                k0 += kc;
            }
            out
        };
        if threads > 1 && k * n_pad >= 1 << 16 {
            slabs
                .into_par_iter()
                .for_each(|(k0, slab)| pack_slab(k0, slab));
        } else {
            slabs.into_iter().for_each(|(k0, slab)| pack_slab(k0, slab));
        }
    }

    /// Frees a buffer far larger than typical layers need, so one huge product does not pin
    /// its packing memory for the rest of the process.
    fn shrink_if_huge(&mut self) {
        if self.buf.len() > 1 << 24 {
            self.buf = Vec::new();
        }
    }

    pub fn k(&self) -> usize {
        self.k
    }

    pub fn n(&self) -> usize {
        self.n
    }

    /// The packed slab starting at row `k0` (its depth is `KC.min(k - k0)`).
    fn slab(&self, k0: usize) -> &[f32] {
        let n_pad = self.n.next_multiple_of(NR);
        let kc = KC.min(self.k - k0);
        &self.buf[self.start + k0 * n_pad..][..kc * n_pad]
    }
}

thread_local! {
    static PACK_A: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// How a packed A panel is laid out (see the micro-kernel): `Rows` keeps each row's depth
/// values contiguous (row stride `KC`), `Interleaved` keeps each depth step's `MR` row values
/// adjacent. A panel always spans `MR · KC` floats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    Rows,
    Interleaved,
}

/// Floats one packed A panel spans, in either layout.
const PANEL_A: usize = MR * KC;

/// The A operand of a GEMM: a matrix in memory, or rows made on the fly (a convolution's
/// im2col rows, packed straight from the image so the rows are never materialized).
pub(crate) trait PackA: Sync {
    /// (rows, depth).
    fn dims(&self) -> (usize, usize);
    /// Packs rows `i0..i0 + mc`, depth `k0..k0 + kc`, into `MR`-row panels of `PANEL_A`
    /// floats (rows past `mc` zeroed) and says which layout it wrote.
    fn pack(&self, i0: usize, mc: usize, k0: usize, kc: usize, dst: &mut [f32]) -> Layout;
}

/// An A operand whose rows are made on demand (a convolution's im2col rows, read straight
/// from the image): packing copies each row's depth range into its panel line, so the rows
/// are never materialized.
pub(crate) trait RowSource: Sync {
    /// (rows, depth).
    fn size(&self) -> (usize, usize);
    /// Writes depth `k0..k0 + dst.len()` of row `i` into `dst`.
    fn row_part(&self, i: usize, k0: usize, dst: &mut [f32]);

    /// `row_part` for rows `i0, i0 + 1, ...`, one per line (all of one length).
    fn rows_part<'a>(&self, i0: usize, k0: usize, lines: impl Iterator<Item = &'a mut [f32]>) {
        for (i, line) in lines.enumerate() {
            self.row_part(i0 + i, k0, line);
        }
    }
}

impl<S: RowSource> PackA for S {
    fn dims(&self) -> (usize, usize) {
        self.size()
    }

    fn pack(&self, i0: usize, mc: usize, k0: usize, kc: usize, dst: &mut [f32]) -> Layout {
        // Panel p's line r is row p·MR + r: the lines in memory order are the rows in order.
        let mut lines = dst.chunks_exact_mut(KC).map(|line| &mut line[..kc]);
        self.rows_part(i0, k0, lines.by_ref().take(mc));
        lines.for_each(|line| line.fill(0.0));
        Layout::Rows
    }
}

/// A plain matrix's rows, for `MatRef`'s row-contiguous case.
struct PlainRows<'a>(&'a MatRef<'a>);

impl RowSource for PlainRows<'_> {
    fn size(&self) -> (usize, usize) {
        self.0.dims()
    }

    fn row_part(&self, i: usize, k0: usize, dst: &mut [f32]) {
        let at = i * self.0.strides().0 as usize + k0;
        dst.copy_from_slice(&self.0.data[at..at + dst.len()]);
    }
}

impl PackA for MatRef<'_> {
    fn dims(&self) -> (usize, usize) {
        MatRef::dims(self)
    }

    fn pack(&self, i0: usize, mc: usize, k0: usize, kc: usize, dst: &mut [f32]) -> Layout {
        let cs = self.strides().1;
        if cs == 1 {
            // Contiguous rows: one copy per row.
            return PlainRows(self).pack(i0, mc, k0, kc, dst);
        }
        // A transposed: each depth step's row values are contiguous.
        for (p, panel) in dst.chunks_exact_mut(PANEL_A).enumerate() {
            let r0 = i0 + p * MR;
            let rows = MR.min(i0 + mc - r0);
            for kk in 0..kc {
                let at = (k0 + kk) * cs as usize + r0;
                let line = &mut panel[kk * MR..(kk + 1) * MR];
                if rows == MR {
                    // A fixed-length copy compiles to a few moves instead of a memcpy call.
                    let src: &[f32; MR] = self.data[at..at + MR].try_into().expect("MR values");
                    line.copy_from_slice(src);
                } else {
                    line[..rows].copy_from_slice(&self.data[at..at + rows]);
                    line[rows..].fill(0.0);
                }
            }
        }
        Layout::Interleaved
    }
}

/// One task: rows `i0..i0 + mc`, columns `j0..j1` of C, over the whole depth.
///
/// # Safety
/// `c` must point to a row-major `m × n` matrix (row stride `n`) that no other task writes in
/// this task's rows and columns; `isa()` must be `Avx512`.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
unsafe fn run_block<A: PackA + ?Sized>(
    a: &A,
    b: &PackedB,
    c: *mut f32,
    i0: usize,
    mc: usize,
    j0: usize,
    j1: usize,
    accumulate: bool,
) {
    let (k, n) = (b.k, b.n);
    let panels_a = mc.div_ceil(MR);
    let mut buf = PACK_A.with(|cell| std::mem::take(&mut *cell.borrow_mut()));
    {
        let len = panels_a * PANEL_A + ALIGN;
        if buf.len() < len {
            buf.resize(len, 0.0);
        }
        let start = aligned_start(&buf);
        let mut k0 = 0;
        while k0 < k {
            let kc = KC.min(k - k0);
            let packed_a = &mut buf[start..start + panels_a * PANEL_A];
            let layout = a.pack(i0, mc, k0, kc, packed_a);
            let kernel = match layout {
                Layout::Rows => avx512::kernel::<KC, 1>,
                Layout::Interleaved => avx512::kernel::<1, MR>,
            };
            let slab = b.slab(k0);
            let load_c = accumulate || k0 > 0;
            let mut j = j0;
            while j < j1 {
                let nr = NR.min(j1 - j);
                let bp = slab.as_ptr().add((j / NR) * kc * NR);
                for p in 0..panels_a {
                    let r = i0 + p * MR;
                    let mr = MR.min(i0 + mc - r);
                    kernel(
                        kc,
                        packed_a.as_ptr().add(p * PANEL_A),
                        bp,
                        c.add(r * n + j),
                        n,
                        mr,
                        nr,
                        load_c,
                    );
                }
                j += NR;
            }
            k0 += kc;
        }
    }
    PACK_A.with(|cell| *cell.borrow_mut() = buf);
}

/// A raw pointer that may cross to rayon tasks writing disjoint parts of C.
#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: tasks built from it write pairwise disjoint (row block, column range) regions.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

/// `c (+)= a · b` with B already packed; `c` row-major `m × n`. Requires `isa() == Avx512`.
pub fn gemm_packed(a: MatRef, b: &PackedB, c: &mut [f32], accumulate: bool, threads: usize) {
    gemm_packed_from(&a, b, c, accumulate, threads);
}

/// `gemm_packed` with A from any `PackA` source.
pub(crate) fn gemm_packed_from<A: PackA + ?Sized>(
    a: &A,
    b: &PackedB,
    c: &mut [f32],
    accumulate: bool,
    threads: usize,
) {
    let (m, k) = a.dims();
    let n = b.n;
    assert_eq!(k, b.k, "gemm_packed: inner dimensions differ");
    assert!(c.len() >= m * n, "gemm_packed: output too small");
    assert_eq!(isa(), Isa::Avx512, "gemm_packed needs the AVX-512 path");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c[..m * n].fill(0.0);
        }
        return;
    }
    #[cfg(target_arch = "x86_64")]
    {
        let ptr = SendPtr(c.as_mut_ptr());
        let flops = m * n * k;
        if threads <= 1 || flops < 1 << 20 {
            // SAFETY: one task covers all of C.
            for i0 in (0..m).step_by(MC) {
                unsafe { run_block(a, b, ptr.0, i0, MC.min(m - i0), 0, n, accumulate) };
            }
            return;
        }
        let n_panels = n.div_ceil(NR);
        // Every row block reads all of B and every column range packs all of A: with more
        // columns than rows (a deep layer at batch 1, weights larger than activations), split
        // only the columns, so B is read once, into up to 4 ranges per thread (for balance)
        // while packing A that many times stays cheaper than B.
        let (m_blocks, n_splits) = if n > m && m <= MC {
            let splits = (4 * threads).min(n / m).max(threads);
            (1, splits.min(n_panels))
        } else {
            // Row blocks, a multiple of the thread count, and column ranges when rows are few.
            let m_blocks = m.div_ceil(MC).next_multiple_of(threads).min(m.div_ceil(MR));
            (m_blocks, 0)
        };
        let mc = m.div_ceil(m_blocks).next_multiple_of(MR);
        let m_blocks = m.div_ceil(mc);
        let n_splits = if n_splits > 0 {
            n_splits
        } else {
            (4 * threads).div_ceil(m_blocks).max(2).clamp(1, n_panels)
        };
        let panels_per_split = n_panels.div_ceil(n_splits);
        let tasks: Vec<(usize, usize)> = (0..m_blocks)
            .flat_map(|i| (0..n_splits).map(move |j| (i, j)))
            .collect();
        tasks.into_par_iter().for_each(|(i, s)| {
            let i0 = i * mc;
            let j0 = s * panels_per_split * NR;
            let j1 = ((s + 1) * panels_per_split * NR).min(n);
            if j0 < j1 {
                let p = ptr;
                // SAFETY: (row block i, column split s) pairs are disjoint regions of C.
                unsafe { run_block(a, b, p.0, i0, mc.min(m - i0), j0, j1, accumulate) };
            }
        });
    }
}

thread_local! {
    static PACK_B: RefCell<Option<PackedB>> = const { RefCell::new(None) };
}

/// `c (+)= a · b` on the AVX-512 path: packs B (into a reused per-thread buffer) and runs.
pub fn gemm_avx512(a: MatRef, b: MatRef, c: &mut [f32], accumulate: bool, threads: usize) {
    // Taken out while in use: a nested call on this thread (rayon work stealing) packs its own.
    let mut packed = match PACK_B.with(|cell| cell.borrow_mut().take()) {
        Some(mut p) => {
            p.repack(b, threads);
            p
        }
        None => PackedB::new(b, threads),
    };
    gemm_packed(a, &packed, c, accumulate, threads);
    packed.shrink_if_huge();
    PACK_B.with(|cell| *cell.borrow_mut() = Some(packed));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &MatRef, b: &MatRef) -> Vec<f64> {
        let ((m, k), (_, n)) = (a.dims(), b.dims());
        let (ars, acs) = a.strides();
        let (brs, bcs) = b.strides();
        let mut c = vec![0.0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    let av = a.data[i * ars as usize + p * acs as usize] as f64;
                    let bv = b.data[p * brs as usize + j * bcs as usize] as f64;
                    c[i * n + j] += av * bv;
                }
            }
        }
        c
    }

    fn values(len: usize, seed: usize) -> Vec<f32> {
        (0..len)
            .map(|i| (((i * 7919 + seed * 104729) % 2003) as f32 / 1001.5) - 1.0)
            .collect()
    }

    #[test]
    fn every_edge_transpose_and_depth_matches_the_direct_product() {
        if isa() != Isa::Avx512 {
            eprintln!("no AVX-512 on this CPU: the gemm crate's path is tested through matmul");
            return;
        }
        for &(m, n, k) in &[
            (1, 1, 1),
            (12, 32, 7),
            (13, 33, 256),
            (25, 70, 257),
            (200, 45, 600),
            (5, 300, 31),
            (400, 64, 40),
        ] {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let av = values(m * k, 1);
                let bv = values(k * n, 2);
                let a = if ta {
                    MatRef::new(&av, k, m).t()
                } else {
                    MatRef::new(&av, m, k)
                };
                let b = if tb {
                    MatRef::new(&bv, n, k).t()
                } else {
                    MatRef::new(&bv, k, n)
                };
                let want = naive(&a, &b);
                for threads in [1, 2] {
                    for accumulate in [false, true] {
                        let mut c = values(m * n, 3);
                        let before = c.clone();
                        gemm_avx512(a, b, &mut c, accumulate, threads);
                        for i in 0..m * n {
                            let w = want[i] + if accumulate { before[i] as f64 } else { 0.0 };
                            assert!(
                                (c[i] as f64 - w).abs()
                                    <= 1e-4 * (1.0 + w.abs()) * (k as f64).sqrt(),
                                "{m}x{n}x{k} ta={ta} tb={tb} threads={threads} acc={accumulate} \
                                 at {i}: {} vs {w}",
                                c[i]
                            );
                        }
                    }
                }
            }
        }
    }
}
