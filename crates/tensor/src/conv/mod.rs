//! 2-D and 3-D convolution, channels-last, as im2col + GEMM: forward and both backward passes.
//!
//! Input (n, h, w, cin), kernel (kh, kw, cin, cout) as in Keras; a 3-D convolution adds a
//! leading depth axis to both, (n, d, h, w, cin) and (kd, kh, kw, cin, cout), and is the same
//! code with a depth loop (a 2-D convolution is the 3-D one with depth 1). One im2col row holds the
//! receptive field of one output pixel in (ky, kx, ci) order, which is exactly the row order
//! of the kernel flattened to (kh·kw·cin, cout), so a single GEMM produces channels-last
//! output. Work is split over chunks of output rows (forward) or whole images (backward) on
//! the rayon pool, each chunk running a single-threaded GEMM on im2col scratch that stays in
//! cache and is reused from a thread-local buffer.

mod epilogue;
mod grouped;
mod planar;

pub use epilogue::Epilogue;
pub use grouped::{
    conv2d_fused, conv2d_grouped, conv2d_grouped_backward, conv3d_grouped, conv3d_grouped_backward,
};

use crate::matmul::{gemm_into, MatRef, SharedB};
use crate::sgemm::{Isa, PackedB, RowSource};
use crate::shape::numel;
use crate::{Result, Tensor, TensorError};
use rayon::prelude::*;
use std::cell::RefCell;

/// Keras padding modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// No padding; windows that do not fit are dropped.
    Valid,
    /// Output size ceil(in / stride); the total padding is split with the extra cell at the
    /// bottom/right, as TensorFlow does.
    Same,
}

/// Output length and (before, after) padding of one spatial axis.
pub fn output_size(
    op: &'static str,
    input: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    padding: Padding,
) -> Result<(usize, usize, usize)> {
    if kernel == 0 || stride == 0 || dilation == 0 {
        return Err(TensorError::invalid(
            op,
            "kernel size, stride and dilation must be at least 1",
        ));
    }
    let span = (kernel - 1) * dilation + 1;
    match padding {
        Padding::Valid => {
            if input < span {
                return Err(TensorError::invalid(
                    op,
                    format!("input length {input} is smaller than the (dilated) window {span} with padding \"valid\""),
                ));
            }
            Ok(((input - span) / stride + 1, 0, 0))
        }
        Padding::Same => {
            let out = input.div_ceil(stride);
            let total = ((out.saturating_sub(1)) * stride + span).saturating_sub(input);
            Ok((out, total / 2, total - total / 2))
        }
    }
}

/// Strides, padding and dilation of a 2-D convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dSpec {
    pub strides: (usize, usize),
    pub padding: Padding,
    pub dilation: (usize, usize),
}

impl Default for Conv2dSpec {
    fn default() -> Self {
        Conv2dSpec {
            strides: (1, 1),
            padding: Padding::Valid,
            dilation: (1, 1),
        }
    }
}

/// Every size a convolution kernel needs, resolved once from the shapes and the spec.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    n: usize,
    /// Depth axis (1 for a 2-D convolution): input depth, kernel depth, output depth, front
    /// padding, stride, dilation.
    d: usize,
    kd: usize,
    od: usize,
    front: usize,
    sd: usize,
    dd: usize,
    h: usize,
    w: usize,
    cin: usize,
    kh: usize,
    kw: usize,
    cout: usize,
    oh: usize,
    ow: usize,
    top: usize,
    left: usize,
    sh: usize,
    sw: usize,
    dh: usize,
    dw: usize,
}

/// One (kz, ky) run of an im2col row clipped to a depth range (see `Geometry::slab`).
#[derive(Clone, Copy)]
struct Slab {
    kz: usize,
    ky: usize,
    lo: usize,
    hi: usize,
}

impl Geometry {
    fn new(x: &[usize], k: &[usize], spec: &Conv2dSpec) -> Result<Geometry> {
        if x.len() != 4 || k.len() != 4 || x[3] != k[2] {
            return Err(TensorError::mismatch(
                "conv2d",
                x,
                k,
                "expects input (n, h, w, c) and kernel (kh, kw, c, filters) with matching c",
            ));
        }
        let (oh, top, _) = output_size(
            "conv2d",
            x[1],
            k[0],
            spec.strides.0,
            spec.dilation.0,
            spec.padding,
        )?;
        let (ow, left, _) = output_size(
            "conv2d",
            x[2],
            k[1],
            spec.strides.1,
            spec.dilation.1,
            spec.padding,
        )?;
        Ok(Geometry {
            n: x[0],
            d: 1,
            kd: 1,
            od: 1,
            front: 0,
            sd: 1,
            dd: 1,
            h: x[1],
            w: x[2],
            cin: x[3],
            kh: k[0],
            kw: k[1],
            cout: k[3],
            oh,
            ow,
            top,
            left,
            sh: spec.strides.0,
            sw: spec.strides.1,
            dh: spec.dilation.0,
            dw: spec.dilation.1,
        })
    }

    /// The geometry of a 2-D convolution of `x` after `pad` ((top, bottom), (left, right))
    /// zeros are added around it, as a ZeroPadding2D before the convolution would: computed on
    /// the padded size, then read from the unpadded image with the extra zeros as padding, so
    /// the padded copy is never made.
    fn padded(
        x: &[usize],
        k: &[usize],
        spec: &Conv2dSpec,
        pad: [(usize, usize); 2],
    ) -> Result<Geometry> {
        if pad == [(0, 0); 2] {
            return Geometry::new(x, k, spec);
        }
        let grow = |len: usize, (a, b): (usize, usize)| {
            len.checked_add(a)
                .and_then(|l| l.checked_add(b))
                .ok_or_else(|| TensorError::invalid("conv2d", "padded size overflows"))
        };
        if x.len() != 4 {
            return Geometry::new(x, k, spec);
        }
        let outer = [x[0], grow(x[1], pad[0])?, grow(x[2], pad[1])?, x[3]];
        let mut g = Geometry::new(&outer, k, spec)?;
        g.h = x[1];
        g.w = x[2];
        g.top += pad[0].0;
        g.left += pad[1].0;
        Ok(g)
    }

    /// Geometry of a 3-D convolution: input (n, d, h, w, c), kernel (kd, kh, kw, c, filters).
    fn new_3d(x: &[usize], k: &[usize], spec: &Conv3dSpec) -> Result<Geometry> {
        if x.len() != 5 || k.len() != 5 || x[4] != k[3] {
            return Err(TensorError::mismatch(
                "conv3d",
                x,
                k,
                "expects input (n, d, h, w, c) and kernel (kd, kh, kw, c, filters) with matching c",
            ));
        }
        let axis = |i: usize| {
            output_size(
                "conv3d",
                x[i + 1],
                k[i],
                spec.strides[i],
                spec.dilation[i],
                spec.padding,
            )
        };
        let ((od, front, _), (oh, top, _), (ow, left, _)) = (axis(0)?, axis(1)?, axis(2)?);
        Ok(Geometry {
            n: x[0],
            d: x[1],
            kd: k[0],
            od,
            front,
            sd: spec.strides[0],
            dd: spec.dilation[0],
            h: x[2],
            w: x[3],
            cin: x[4],
            kh: k[1],
            kw: k[2],
            cout: k[4],
            oh,
            ow,
            top,
            left,
            sh: spec.strides[1],
            sw: spec.strides[2],
            dh: spec.dilation[1],
            dw: spec.dilation[2],
        })
    }

    /// Length of one im2col row.
    fn k(&self) -> usize {
        self.kd * self.kh * self.kw * self.cin
    }

    fn out_pixels(&self) -> usize {
        self.od * self.oh * self.ow
    }

    /// Input values of one image.
    fn image_len(&self) -> usize {
        self.d * self.h * self.w * self.cin
    }

    /// Output shape: (n, oh, ow, cout), or (n, od, oh, ow, cout) for a 3-D convolution.
    fn out_shape(&self, three_d: bool) -> Vec<usize> {
        if three_d {
            vec![self.n, self.od, self.oh, self.ow, self.cout]
        } else {
            vec![self.n, self.oh, self.ow, self.cout]
        }
    }

    fn is_flat(&self) -> bool {
        self.d == 1 && self.kd == 1 && self.od == 1
    }

    /// True when the input itself is the im2col matrix (1x1 kernel, stride 1, no padding).
    fn is_pointwise(&self) -> bool {
        self.kd == 1 && self.sd == 1 && self.kh == 1 && self.kw == 1 && self.sh == 1 && self.sw == 1
    }

    /// Input row/column of kernel tap `k` for output position `o`, or None if it is padding.
    #[inline]
    fn tap(o: usize, stride: usize, k: usize, dil: usize, pad: usize, len: usize) -> Option<usize> {
        let i = (o * stride + k * dil) as isize - pad as isize;
        (i >= 0 && (i as usize) < len).then_some(i as usize)
    }

    /// Fills `cols` with the im2col rows for output rows `r0..r0 + rows`.
    fn im2col(&self, x: &[f32], r0: usize, rows: usize, cols: &mut [f32]) {
        let k = self.k();
        for (r, dst) in cols[..rows * k].chunks_exact_mut(k).enumerate() {
            self.im2col_part(x, r0 + r, 0, dst);
        }
    }

    /// Writes values `k0..k0 + dst.len()` of im2col row `row` (output pixel `row`, receptive
    /// field in (kz, ky, kx, ci) order) into `dst`: contiguous runs of the image are copied
    /// whole, padding is zero.
    fn im2col_part(&self, x: &[f32], row: usize, k0: usize, dst: &mut [f32]) {
        if dst.is_empty() {
            return;
        }
        let (run, k1) = (self.kw * self.cin, k0 + dst.len());
        let slabs = (k0 / run..k1.div_ceil(run)).map(|s| self.slab(s, k0, k1));
        self.im2col_slabs(x, self.pixel(row), slabs, k0, dst);
    }

    /// Output pixel `row` as (image, oz, oy, ox).
    fn pixel(&self, row: usize) -> [usize; 4] {
        let (b, p) = (row / self.out_pixels(), row % self.out_pixels());
        let (oz, p) = (p / (self.oh * self.ow), p % (self.oh * self.ow));
        [b, oz, p / self.ow, p % self.ow]
    }

    /// The output pixel after `p` in row order.
    fn next_pixel(&self, [b, oz, oy, ox]: [usize; 4]) -> [usize; 4] {
        if ox + 1 < self.ow {
            [b, oz, oy, ox + 1]
        } else if oy + 1 < self.oh {
            [b, oz, oy + 1, 0]
        } else if oz + 1 < self.od {
            [b, oz + 1, 0, 0]
        } else {
            [b + 1, 0, 0, 0]
        }
    }

    /// Slab `s` (one (kz, ky) pair's kw·cin values) of an im2col row clipped to `k0..k1`:
    /// (kz, ky, first value, end value), the values counted from the row's start.
    fn slab(&self, s: usize, k0: usize, k1: usize) -> Slab {
        let run = self.kw * self.cin;
        Slab {
            kz: s / self.kh,
            ky: s % self.kh,
            lo: (s * run).max(k0),
            hi: ((s + 1) * run).min(k1),
        }
    }

    /// `im2col_part` for output pixel `pixel`, over the slabs covering `k0..k0 + dst.len()`.
    fn im2col_slabs(
        &self,
        x: &[f32],
        [b, oz, oy, ox]: [usize; 4],
        slabs: impl Iterator<Item = Slab>,
        k0: usize,
        dst: &mut [f32],
    ) {
        let cin = self.cin;
        let run = self.kw * cin;
        let x0 = (ox * self.sw) as isize - self.left as isize;
        let whole_run = self.dw == 1 && x0 >= 0 && x0 as usize + self.kw <= self.w;
        for Slab { kz, ky, lo, hi } in slabs {
            let out = &mut dst[lo - k0..hi - k0];
            let start = (kz * self.kh + ky) * run;
            let (a, e) = (lo - start, hi - start);
            let iz = Self::tap(oz, self.sd, kz, self.dd, self.front, self.d);
            let iy = Self::tap(oy, self.sh, ky, self.dh, self.top, self.h);
            let (Some(iz), Some(iy)) = (iz, iy) else {
                out.fill(0.0);
                continue;
            };
            let line = ((b * self.d + iz) * self.h + iy) * self.w;
            if whole_run {
                // Without dilation an interior pixel reads kw·cin contiguous values.
                let at = (line + x0 as usize) * cin;
                out.copy_from_slice(&x[at + a..at + e]);
                continue;
            }
            for kx in a / cin..e.div_ceil(cin) {
                let (ca, ce) = ((kx * cin).max(a), ((kx + 1) * cin).min(e));
                let cell = &mut out[ca - a..ce - a];
                match Self::tap(ox, self.sw, kx, self.dw, self.left, self.w) {
                    Some(ix) => {
                        let at = (line + ix) * cin + ca - kx * cin;
                        cell.copy_from_slice(&x[at..at + (ce - ca)]);
                    }
                    None => cell.fill(0.0),
                }
            }
        }
    }

    /// Scatter-adds im2col-shaped gradients back onto the input image(s) they came from.
    /// `dx` covers whole images; `dcols` covers their output rows.
    fn col2im(&self, dcols: &[f32], images: usize, dx: &mut [f32]) {
        let (k, cin) = (self.k(), self.cin);
        let plane = self.kh * self.kw * cin;
        for r in 0..images * self.out_pixels() {
            let (b, p) = (r / self.out_pixels(), r % self.out_pixels());
            let (oz, p) = (p / (self.oh * self.ow), p % (self.oh * self.ow));
            let (oy, ox) = (p / self.ow, p % self.ow);
            let row = &dcols[r * k..(r + 1) * k];
            for kz in 0..self.kd {
                let Some(iz) = Self::tap(oz, self.sd, kz, self.dd, self.front, self.d) else {
                    continue;
                };
                let src = &row[kz * plane..(kz + 1) * plane];
                let base = (b * self.d + iz) * self.h;
                for ky in 0..self.kh {
                    let Some(iy) = Self::tap(oy, self.sh, ky, self.dh, self.top, self.h) else {
                        continue;
                    };
                    // Interior pixels without dilation touch kw·cin contiguous values: one loop.
                    let x0 = (ox * self.sw) as isize - self.left as isize;
                    if self.dw == 1 && x0 >= 0 && x0 as usize + self.kw <= self.w {
                        let at = ((base + iy) * self.w + x0 as usize) * cin;
                        let run = self.kw * cin;
                        let s = &src[ky * run..(ky + 1) * run];
                        dx[at..at + run]
                            .iter_mut()
                            .zip(s)
                            .for_each(|(d, v)| *d += v);
                        continue;
                    }
                    for kx in 0..self.kw {
                        if let Some(ix) = Self::tap(ox, self.sw, kx, self.dw, self.left, self.w) {
                            let at = ((base + iy) * self.w + ix) * cin;
                            let s = &src[(ky * self.kw + kx) * cin..(ky * self.kw + kx + 1) * cin];
                            dx[at..at + cin]
                                .iter_mut()
                                .zip(s)
                                .for_each(|(d, v)| *d += v);
                        }
                    }
                }
            }
        }
    }
}

/// Bytes of im2col scratch one backward chunk aims for: small enough to stay in L2.
const CHUNK_BYTES: usize = 256 * 1024;

/// Output rows per forward task: one GEMM row block, so each task packs the im2col rows once.
const FORWARD_CHUNK_ROWS: usize = crate::sgemm::MC;

thread_local! {
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    static SCRATCH_GRAD: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

fn with_scratch<R>(
    key: &'static std::thread::LocalKey<RefCell<Vec<f32>>>,
    len: usize,
    f: impl FnOnce(&mut [f32]) -> R,
) -> R {
    // Taken out while in use, so a re-entrant call (rayon running another task on this thread
    // while `f` waits for a parallel section) gets its own buffer instead of a borrow panic.
    let mut buf = key.with(|cell| std::mem::take(&mut *cell.borrow_mut()));
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    let out = f(&mut buf[..len]);
    key.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.len() < buf.len() {
            *slot = buf;
        }
    });
    out
}

/// Convolution forward: `y = conv(x, kernel) + bias`, shape (n, oh, ow, cout).
pub fn conv2d(
    x: &Tensor,
    kernel: &Tensor,
    bias: Option<&Tensor>,
    spec: &Conv2dSpec,
) -> Result<Tensor> {
    conv2d_with(x, kernel, None, bias, spec, Epilogue::Identity)
}

/// `conv2d` followed by `epilogue`, applied chunk by chunk while the output is in cache;
/// `packed` is the kernel already packed for the GEMM, when the caller keeps one.
fn conv2d_with(
    x: &Tensor,
    kernel: &Tensor,
    packed: Option<&PackedB>,
    bias: Option<&Tensor>,
    spec: &Conv2dSpec,
    epilogue: Epilogue,
) -> Result<Tensor> {
    let g = Geometry::new(x.shape(), kernel.shape(), spec)?;
    forward(&g, x, kernel, packed, bias, None, epilogue)
}

/// A convolution kernel with its GEMM packing done once, for weights that serve many calls
/// (inference): a ResNet-18 otherwise re-packs its 47 MB of kernels on every prediction.
pub struct PreparedKernel {
    kernel: Tensor,
    groups: usize,
    packed: Option<PackedB>,
}

impl PreparedKernel {
    /// Packs `kernel` (kh, kw, cin / groups, filters) when its convolution runs as one GEMM
    /// on the AVX-512 path; otherwise it is kept as it is and packed per call.
    pub fn new(kernel: &Tensor, groups: usize) -> PreparedKernel {
        let s = kernel.shape();
        let packed =
            (groups == 1 && s.len() == 4 && crate::sgemm::isa() == Isa::Avx512).then(|| {
                let (k, cout) = (s[0] * s[1] * s[2], s[3]);
                PackedB::new(
                    MatRef::new(kernel.as_slice(), k, cout),
                    crate::parallel::num_threads(),
                )
            });
        PreparedKernel {
            kernel: kernel.clone(),
            groups,
            packed,
        }
    }

    pub fn kernel(&self) -> &Tensor {
        &self.kernel
    }

    pub fn groups(&self) -> usize {
        self.groups
    }
}

/// `conv2d_fused` with a prepared kernel: the same result, without packing the kernel.
/// `pad` ((top, bottom), (left, right)) adds zeros around `x` first, as a ZeroPadding2D before
/// the convolution does, without copying `x` into a padded tensor; `residual` (the output's
/// shape) is added before the epilogue: `epilogue(conv(x) + bias + residual)`.
pub fn conv2d_prepared(
    x: &Tensor,
    kernel: &PreparedKernel,
    bias: Option<&Tensor>,
    spec: &Conv2dSpec,
    pad: [(usize, usize); 2],
    residual: Option<&Tensor>,
    epilogue: Epilogue,
) -> Result<Tensor> {
    let (k, groups) = (kernel.kernel.shape(), kernel.groups);
    let g = if groups == 1 {
        Geometry::padded(x.shape(), k, spec, pad)?
    } else {
        Geometry::grouped(x.shape(), k, spec, groups, pad)?
    };
    let shape = g.out_shape(false);
    let residual = match residual {
        Some(r) if r.shape() != shape => {
            return Err(TensorError::mismatch(
                "conv2d",
                &shape,
                r.shape(),
                "the residual added to the output must have the output's shape",
            ))
        }
        r => r.map(Tensor::as_slice),
    };
    if groups == 1 {
        let packed = kernel.packed.as_ref();
        return forward(&g, x, &kernel.kernel, packed, bias, residual, epilogue);
    }
    grouped::grouped_forward_any(&g, x, &kernel.kernel, bias, groups, residual, epilogue)
}

/// Strides, padding and dilation of a 3-D convolution, (depth, height, width) each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv3dSpec {
    pub strides: [usize; 3],
    pub padding: Padding,
    pub dilation: [usize; 3],
}

/// 3-D convolution forward: input (n, d, h, w, cin), kernel (kd, kh, kw, cin, cout), output
/// (n, od, oh, ow, cout); the same im2col + GEMM as `conv2d` with a depth loop.
pub fn conv3d(
    x: &Tensor,
    kernel: &Tensor,
    bias: Option<&Tensor>,
    spec: &Conv3dSpec,
) -> Result<Tensor> {
    let g = Geometry::new_3d(x.shape(), kernel.shape(), spec)?;
    forward(&g, x, kernel, None, bias, None, Epilogue::Identity)
}

/// 3-D convolution backward: the input, kernel and bias gradients asked for, given dy.
pub fn conv3d_backward(
    x: &Tensor,
    kernel: &Tensor,
    dy: &Tensor,
    spec: &Conv3dSpec,
    need_input: bool,
    need_kernel: bool,
    need_bias: bool,
) -> Result<Conv2dGrads> {
    let g = Geometry::new_3d(x.shape(), kernel.shape(), spec)?;
    backward(&g, x, kernel, dy, need_input, need_kernel, need_bias)
}

/// The forward pass shared by 2-D and 3-D convolutions.
fn forward(
    g: &Geometry,
    x: &Tensor,
    kernel: &Tensor,
    packed: Option<&PackedB>,
    bias: Option<&Tensor>,
    residual: Option<&[f32]>,
    epilogue: Epilogue,
) -> Result<Tensor> {
    let g = *g;
    let shape = g.out_shape(x.rank() == 5);
    if let Some(b) = bias {
        if b.shape() != [g.cout] {
            return Err(TensorError::mismatch(
                "conv2d",
                kernel.shape(),
                b.shape(),
                "bias must be (filters,)",
            ));
        }
    }
    let rows = g.n * g.out_pixels();
    let mut out = crate::buffer::dirty(rows * g.cout);
    let bias = bias.map(|b| b.as_slice());
    let (xs, ws) = (x.as_slice(), kernel.as_slice());
    forward_into(&g, xs, ws, packed, bias, residual, epilogue, &mut out);
    Ok(Tensor::from_parts(shape, out))
}

/// The forward pass on raw slices: `out` (every value overwritten) receives
/// `epilogue(conv(xs, ws) + bias + residual)` for geometry `g`.
#[allow(clippy::too_many_arguments)]
fn forward_into(
    g: &Geometry,
    xs: &[f32],
    ws: &[f32],
    packed: Option<&PackedB>,
    bias: Option<&[f32]>,
    residual: Option<&[f32]>,
    epilogue: Epilogue,
    out: &mut [f32],
) {
    let g = *g;
    let (k, cout) = (g.k(), g.cout);
    let rows = g.n * g.out_pixels();
    if rows == 0 || cout == 0 {
        return;
    }
    if g.prefers_planar() {
        planar::forward(&g, xs, ws, bias, out);
        crate::parallel::for_each_chunk_mut(out, |start, y| {
            epilogue.apply_fused(y, None, residual.map(|r| &r[start..start + y.len()]))
        });
        return;
    }
    let pointwise = g.is_pointwise() && g.padding_free();
    let w = match packed {
        Some(p) => SharedB::Borrowed(p),
        None => SharedB::new(MatRef::new(ws, k, cout)),
    };
    let threads = crate::parallel::num_threads();
    // The GEMM overwrites the output; bias and activation follow in one pass per chunk.
    let accumulate = false;
    let finish = |start: usize, y: &mut [f32]| {
        epilogue.apply_fused(y, bias, residual.map(|r| &r[start..start + y.len()]))
    };
    if rows < 2 * threads * FORWARD_CHUNK_ROWS {
        // Too few rows to give every thread whole chunks: one GEMM, split inside over rows
        // and columns.
        if pointwise {
            w.gemm_into(MatRef::new(xs, rows, k), out, accumulate, threads);
        } else {
            let cols = Im2colRows::new(&g, xs, 0, rows);
            w.gemm_rows(&cols, out, accumulate, threads);
        }
        let rows_per_task = rows.div_ceil(threads).max(1);
        out.par_chunks_mut(rows_per_task * cout)
            .enumerate()
            .for_each(|(i, y)| finish(i * rows_per_task * cout, y));
        return;
    }
    out.par_chunks_mut(FORWARD_CHUNK_ROWS * cout)
        .enumerate()
        .for_each(|(c, y)| {
            let r0 = c * FORWARD_CHUNK_ROWS;
            let n_rows = y.len() / cout;
            if pointwise {
                w.gemm_into(
                    MatRef::new(&xs[r0 * k..(r0 + n_rows) * k], n_rows, k),
                    y,
                    accumulate,
                    1,
                );
            } else {
                w.gemm_rows(&Im2colRows::new(&g, xs, r0, n_rows), y, accumulate, 1);
            }
            finish(r0 * cout, y);
        });
}

/// Im2col rows `row0..row0 + rows` of a convolution as a GEMM operand, made from the image
/// as the GEMM packs them.
struct Im2colRows<'a> {
    g: &'a Geometry,
    x: &'a [f32],
    row0: usize,
    rows: usize,
}

impl<'a> Im2colRows<'a> {
    fn new(g: &'a Geometry, x: &'a [f32], row0: usize, rows: usize) -> Self {
        Im2colRows { g, x, row0, rows }
    }
}

impl RowSource for Im2colRows<'_> {
    fn size(&self) -> (usize, usize) {
        (self.rows, self.g.k())
    }

    fn row_part(&self, i: usize, k0: usize, dst: &mut [f32]) {
        self.g.im2col_part(self.x, self.row0 + i, k0, dst);
    }

    /// Consecutive rows share their slab list and step their output pixel by one, so the
    /// divisions that locate a row are done once per panel instead of once per row.
    fn rows_part<'a>(&self, i0: usize, k0: usize, lines: impl Iterator<Item = &'a mut [f32]>) {
        let g = self.g;
        let mut lines = lines.peekable();
        let Some(kc) = lines.peek().map(|l| l.len()) else {
            return;
        };
        let run = g.kw * g.cin;
        let (s0, s1) = (k0 / run, (k0 + kc).div_ceil(run));
        let mut slabs = [Slab {
            kz: 0,
            ky: 0,
            lo: 0,
            hi: 0,
        }; 16];
        if kc == 0 || s1 - s0 > slabs.len() {
            for (i, line) in lines.enumerate() {
                self.row_part(i0 + i, k0, line);
            }
            return;
        }
        for (slot, s) in slabs.iter_mut().zip(s0..s1) {
            *slot = g.slab(s, k0, k0 + kc);
        }
        let slabs = &slabs[..s1 - s0];
        let mut pixel = g.pixel(self.row0 + i0);
        for line in lines {
            g.im2col_slabs(self.x, pixel, slabs.iter().copied(), k0, line);
            pixel = g.next_pixel(pixel);
        }
    }
}

impl Geometry {
    /// For a stride-1 convolution, the geometry whose forward pass gives this one's input
    /// gradient: dy (this output) correlated with `flipped_kernel`, padded by
    /// `(k - 1)·dilation - pad` in front of each axis so that every window meets the output
    /// positions that read the input cell, and producing this input's size.
    fn input_grad(&self) -> Option<Geometry> {
        // Its output has `cin` columns: with fewer than one micro-kernel panel's worth the
        // GEMM would mostly compute padding, and col2im is cheaper. It also multiplies every
        // input cell by every tap, so a "valid" convolution on a small image (output much
        // smaller than input) would spend most of its work on zeros.
        let (input, output) = (self.d * self.h * self.w, self.out_pixels());
        if (self.sd, self.sh, self.sw) != (1, 1, 1)
            || self.cin < crate::sgemm::NR
            || 4 * input > 5 * output
        {
            return None;
        }
        let pad = |k: usize, dil: usize, pad: usize| ((k - 1) * dil).checked_sub(pad);
        Some(Geometry {
            d: self.od,
            od: self.d,
            front: pad(self.kd, self.dd, self.front)?,
            h: self.oh,
            w: self.ow,
            cin: self.cout,
            cout: self.cin,
            oh: self.h,
            ow: self.w,
            top: pad(self.kh, self.dh, self.top)?,
            left: pad(self.kw, self.dw, self.left)?,
            ..*self
        })
    }

    /// The kernel turned around in every spatial axis with its channel axes swapped,
    /// (kd, kh, kw, cout, cin): the kernel of `input_grad`.
    fn flipped_kernel(&self, w: &[f32]) -> Vec<f32> {
        let (cin, cout) = (self.cin, self.cout);
        let taps = self.kd * self.kh * self.kw;
        let mut out = crate::buffer::dirty(w.len());
        for t in 0..taps {
            let src = &w[(taps - 1 - t) * cin * cout..][..cin * cout];
            let dst = &mut out[t * cin * cout..][..cin * cout];
            for ci in 0..cin {
                for co in 0..cout {
                    dst[co * cin + ci] = src[ci * cout + co];
                }
            }
        }
        out
    }

    fn padding_free(&self) -> bool {
        self.front == 0
            && self.top == 0
            && self.left == 0
            && self.od == self.d
            && self.oh == self.h
            && self.ow == self.w
    }
}

/// Gradients of a convolution with respect to what was asked for.
pub struct Conv2dGrads {
    pub input: Option<Tensor>,
    pub kernel: Option<Tensor>,
    pub bias: Option<Tensor>,
}

/// Convolution backward: given dy (n, oh, ow, cout), the input gradient
/// `col2im(dy · Wᵀ)`, the kernel gradient `im2col(x)ᵀ · dy` and the bias gradient Σ dy.
pub fn conv2d_backward(
    x: &Tensor,
    kernel: &Tensor,
    dy: &Tensor,
    spec: &Conv2dSpec,
    need_input: bool,
    need_kernel: bool,
    need_bias: bool,
) -> Result<Conv2dGrads> {
    let g = Geometry::new(x.shape(), kernel.shape(), spec)?;
    backward(&g, x, kernel, dy, need_input, need_kernel, need_bias)
}

/// The backward pass shared by 2-D and 3-D convolutions.
fn backward(
    g: &Geometry,
    x: &Tensor,
    kernel: &Tensor,
    dy: &Tensor,
    need_input: bool,
    need_kernel: bool,
    need_bias: bool,
) -> Result<Conv2dGrads> {
    let g = *g;
    let out_shape = g.out_shape(x.rank() == 5);
    if dy.shape() != out_shape {
        return Err(TensorError::mismatch(
            "conv backward",
            &out_shape,
            dy.shape(),
            "output gradient has the wrong shape",
        ));
    }
    let (k, cout, img) = (g.k(), g.cout, g.image_len());
    let (xs, ws, dys) = (x.as_slice(), kernel.as_slice(), dy.as_slice());
    let rows_per_image = g.out_pixels();
    let images_per_chunk =
        (CHUNK_BYTES / (4 * k.max(1) * rows_per_image.max(1))).clamp(1, g.n.max(1));
    let n_chunks = g.n.div_ceil(images_per_chunk);
    let mut dx = if need_input {
        crate::buffer::zeroed(numel(x.shape()))
    } else {
        Vec::new()
    };
    let bias_grad =
        need_bias.then(|| Tensor::from_parts(vec![cout], crate::reduce::column_sums(dys, cout)));
    if g.prefers_planar() {
        let dw = planar::backward(
            &g,
            xs,
            ws,
            dys,
            need_kernel,
            need_input.then_some(dx.as_mut_slice()),
        );
        return Ok(Conv2dGrads {
            input: need_input.then(|| Tensor::from_parts(x.shape().to_vec(), dx)),
            kernel: dw.map(|d| Tensor::from_parts(kernel.shape().to_vec(), d)),
            bias: bias_grad,
        });
    }

    // Stride 1: the input gradient is itself a convolution (of dy with the kernel flipped and
    // transposed), run by the forward path with no im2col matrix and no scatter.
    let by_forward = g.input_grad().filter(|_| need_input);
    if let Some(gt) = &by_forward {
        let w = g.flipped_kernel(ws);
        forward_into(gt, dys, &w, None, None, None, Epilogue::Identity, &mut dx);
    }
    // The chunked pass computes the input gradient only where the forward path did not.
    let col2im_input = need_input && by_forward.is_none();
    let wt = col2im_input.then(|| SharedB::new(MatRef::new(ws, k, cout).t()));
    // One task per chunk of whole images, so col2im never writes across chunks; each returns
    // its partial kernel gradient, summed afterwards in chunk order (deterministic).
    let task = |c: usize, dx_chunk: Option<&mut [f32]>| -> Option<Vec<f32>> {
        let b0 = c * images_per_chunk;
        let images = images_per_chunk.min(g.n - b0);
        let (r0, n_rows) = (b0 * rows_per_image, images * rows_per_image);
        let dy_c = MatRef::new(&dys[r0 * cout..(r0 + n_rows) * cout], n_rows, cout);
        let mut dw_part = None;
        if need_kernel {
            let mut dw = vec![0.0; k * cout];
            if g.is_pointwise() && g.padding_free() {
                gemm_into(
                    MatRef::new(&xs[r0 * k..(r0 + n_rows) * k], n_rows, k).t(),
                    dy_c,
                    &mut dw,
                    false,
                    1,
                );
            } else {
                with_scratch(&SCRATCH, n_rows * k, |cols| {
                    g.im2col(xs, r0, n_rows, cols);
                    gemm_into(MatRef::new(cols, n_rows, k).t(), dy_c, &mut dw, false, 1);
                });
            }
            dw_part = Some(dw);
        }
        if let (Some(dx_c), Some(wt)) = (dx_chunk, &wt) {
            with_scratch(&SCRATCH_GRAD, n_rows * k, |dcols| {
                wt.gemm_into(dy_c, dcols, false, 1);
                g.col2im(dcols, images, dx_c);
            });
        }
        dw_part
    };
    let parts: Vec<Option<Vec<f32>>> = run_batch_chunks(
        &mut dx,
        images_per_chunk * img,
        n_chunks,
        col2im_input,
        need_kernel,
        task,
    );

    let kernel_grad = need_kernel.then(|| {
        let mut dw = vec![0.0; k * cout];
        for p in parts.iter().flatten() {
            dw.iter_mut().zip(p).for_each(|(d, v)| *d += v);
        }
        Tensor::from_parts(kernel.shape().to_vec(), dw)
    });
    Ok(Conv2dGrads {
        input: need_input.then(|| Tensor::from_parts(x.shape().to_vec(), dx)),
        kernel: kernel_grad,
        bias: bias_grad,
    })
}

/// Runs a backward `task` once per chunk of the batch, in parallel: with the chunk's slice of
/// `dx` (`chunk_len` values each) when the input gradient is wanted, else with None when only
/// the kernel gradient is; nothing when neither is (or the batch or images are empty).
pub(crate) fn run_batch_chunks<T: Send>(
    dx: &mut [f32],
    chunk_len: usize,
    n_chunks: usize,
    need_input: bool,
    need_kernel: bool,
    task: impl Fn(usize, Option<&mut [f32]>) -> T + Sync + Send,
) -> Vec<T> {
    if need_input && chunk_len > 0 {
        dx.par_chunks_mut(chunk_len)
            .enumerate()
            .map(|(c, d)| task(c, Some(d)))
            .collect()
    } else if need_kernel && n_chunks > 0 {
        (0..n_chunks)
            .into_par_iter()
            .map(|c| task(c, None))
            .collect()
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Direct-loop convolution, the definition the fast path must agree with.
    fn naive(x: &Tensor, w: &Tensor, spec: &Conv2dSpec) -> Vec<f32> {
        let g = Geometry::new(x.shape(), w.shape(), spec).unwrap();
        let (xs, ws) = (x.as_slice(), w.as_slice());
        let mut out = vec![0.0; g.n * g.oh * g.ow * g.cout];
        for b in 0..g.n {
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    for co in 0..g.cout {
                        let mut s = 0.0;
                        for ky in 0..g.kh {
                            for kx in 0..g.kw {
                                let iy = (oy * g.sh + ky * g.dh) as isize - g.top as isize;
                                let ix = (ox * g.sw + kx * g.dw) as isize - g.left as isize;
                                if iy < 0 || ix < 0 || iy >= g.h as isize || ix >= g.w as isize {
                                    continue;
                                }
                                for ci in 0..g.cin {
                                    s += xs[((b * g.h + iy as usize) * g.w + ix as usize) * g.cin
                                        + ci]
                                        * ws[((ky * g.kw + kx) * g.cin + ci) * g.cout + co];
                                }
                            }
                        }
                        out[((b * g.oh + oy) * g.ow + ox) * g.cout + co] = s;
                    }
                }
            }
        }
        out
    }

    fn seq(shape: &[usize], scale: f32) -> Tensor {
        let n = numel(shape);
        Tensor::from_vec(
            shape.to_vec(),
            (0..n)
                .map(|i| ((i * 37 % 23) as f32 - 11.0) * scale)
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn outer_padding_and_a_residual_equal_the_unfused_ops() {
        let pads = [[(1, 2), (0, 3)], [(1, 1), (1, 1)], [(2, 0), (0, 1)]];
        // (input channels, kernel, strides, padding, groups): planar, implicit-GEMM, 1x1,
        // grouped and depthwise paths.
        let cases = [
            (3, 3, 2, Padding::Valid, 1),
            (32, 3, 1, Padding::Same, 1),
            (8, 1, 1, Padding::Valid, 1),
            (8, 3, 1, Padding::Same, 2),
            (8, 3, 2, Padding::Valid, 8),
        ];
        for (cin, k, s, padding, groups) in cases {
            for pad in pads {
                let x = seq(&[2, 9, 7, cin], 0.37);
                let w = seq(&[k, k, cin / groups, 16], 0.11);
                let bias = seq(&[16], 0.5);
                let spec = Conv2dSpec {
                    strides: (s, s),
                    padding,
                    dilation: (1, 1),
                };
                let copy = x.pad(&[(0, 0), pad[0], pad[1], (0, 0)], 0.0).unwrap();
                let plain = conv2d_grouped(&copy, &w, Some(&bias), &spec, groups).unwrap();
                let residual = seq(plain.shape(), 0.3);
                let prepared = PreparedKernel::new(&w, groups);
                let run = |r: Option<&Tensor>, e| {
                    conv2d_prepared(&x, &prepared, Some(&bias), &spec, pad, r, e).unwrap()
                };
                let what = format!("{cin} {k} {s} {pad:?} {groups}");
                let check = |got: Tensor, want: Vec<f32>| {
                    assert_eq!(got.shape(), plain.shape(), "{what}");
                    for (a, b) in got.as_slice().iter().zip(&want) {
                        assert!(
                            (a - b).abs() <= 1e-4 * (1.0 + b.abs()),
                            "{what}: {a} vs {b}"
                        );
                    }
                };
                check(run(None, Epilogue::Identity), plain.to_vec());
                let relu_sum = plain
                    .as_slice()
                    .iter()
                    .zip(residual.as_slice())
                    .map(|(y, r)| (y + r).max(0.0))
                    .collect();
                check(run(Some(&residual), Epilogue::Relu), relu_sum);
            }
        }
        // A residual of another shape is an error, not a wrong answer.
        let x = seq(&[1, 5, 5, 4], 0.1);
        let prepared = PreparedKernel::new(&seq(&[3, 3, 4, 4], 0.1), 1);
        let wrong = seq(&[1, 5, 5, 4], 0.1);
        let spec = Conv2dSpec::default();
        let e = conv2d_prepared(
            &x,
            &prepared,
            None,
            &spec,
            [(0, 0); 2],
            Some(&wrong),
            Epilogue::Relu,
        );
        assert!(e.unwrap_err().to_string().contains("residual"));
    }

    #[test]
    fn conv3d_forward_and_backward_agree_with_direct_loops() {
        let spec = |s: [usize; 3], padding, d: [usize; 3]| Conv3dSpec {
            strides: s,
            padding,
            dilation: d,
        };
        let cases = [
            (
                [2, 5, 6, 7, 3],
                [2, 3, 3, 3, 4],
                spec([1, 1, 1], Padding::Valid, [1, 1, 1]),
            ),
            (
                [1, 6, 5, 5, 2],
                [3, 2, 3, 2, 5],
                spec([2, 1, 2], Padding::Same, [1, 1, 1]),
            ),
            (
                [2, 7, 6, 6, 2],
                [2, 2, 2, 2, 3],
                spec([1, 2, 1], Padding::Same, [2, 1, 2]),
            ),
            (
                [2, 3, 4, 5, 4],
                [1, 1, 1, 4, 6],
                spec([1, 1, 1], Padding::Valid, [1, 1, 1]),
            ),
        ];
        for (xs, ws, spec) in cases {
            let (x, w) = (seq(&xs, 0.1), seq(&ws, 0.05));
            let b = seq(&[ws[4]], 0.3);
            let y = conv3d(&x, &w, Some(&b), &spec).unwrap();
            let dy = seq(y.shape(), 0.07);
            // The grouped reference loops with one group.
            let (want_y, want_dx, want_dw) = grouped::tests::naive_3d(&x, &w, &dy, &spec, 1);
            let close = |got: &[f32], want: &[f32], what: &str| {
                assert_eq!(got.len(), want.len(), "{what}");
                for (i, (a, b)) in got.iter().zip(want).enumerate() {
                    assert!(
                        (a - b).abs() < 1e-3 * (1.0 + b.abs()),
                        "{what}[{i}]: {a} vs {b}"
                    );
                }
            };
            let with_bias: Vec<f32> = want_y
                .iter()
                .enumerate()
                .map(|(i, v)| v + b.as_slice()[i % ws[4]])
                .collect();
            close(y.as_slice(), &with_bias, &format!("y {xs:?} {spec:?}"));
            let grads = conv3d_backward(&x, &w, &dy, &spec, true, true, true).unwrap();
            close(
                grads.input.unwrap().as_slice(),
                &want_dx,
                &format!("dx {xs:?}"),
            );
            close(
                grads.kernel.unwrap().as_slice(),
                &want_dw,
                &format!("dw {xs:?}"),
            );
            let db: Vec<f32> = (0..ws[4])
                .map(|c| dy.as_slice().iter().skip(c).step_by(ws[4]).sum())
                .collect();
            close(grads.bias.unwrap().as_slice(), &db, "db");
        }
        // Mismatched channels are an error naming the op.
        let err = conv3d(
            &seq(&[1, 3, 3, 3, 2], 1.0),
            &seq(&[1, 1, 1, 3, 2], 1.0),
            None,
            &cases[0].2,
        )
        .unwrap_err();
        assert!(err.to_string().contains("conv3d"), "{err}");
    }

    #[test]
    fn same_padding_stride_2_pads_bottom_right() {
        // in 4, k 2, stride 2: out 2, total pad 0; in 5, k 4, stride 2: out 3, pad 1 top / 2 bottom.
        assert_eq!(
            output_size("t", 4, 2, 2, 1, Padding::Same).unwrap(),
            (2, 0, 0)
        );
        assert_eq!(
            output_size("t", 5, 4, 2, 1, Padding::Same).unwrap(),
            (3, 1, 2)
        );
        assert_eq!(
            output_size("t", 7, 3, 2, 1, Padding::Same).unwrap(),
            (4, 1, 1)
        );
        assert_eq!(
            output_size("t", 8, 3, 2, 1, Padding::Same).unwrap(),
            (4, 0, 1)
        );
        assert!(output_size("t", 2, 3, 1, 1, Padding::Valid).is_err());
    }

    #[test]
    fn im2col_gemm_agrees_with_direct_loops() {
        let cases = [
            ([2, 7, 6, 3], [3, 3, 3, 4], Conv2dSpec::default()),
            (
                [2, 8, 7, 3],
                [3, 3, 3, 5],
                Conv2dSpec {
                    strides: (2, 2),
                    padding: Padding::Same,
                    dilation: (1, 1),
                },
            ),
            (
                [1, 9, 9, 2],
                [3, 3, 2, 3],
                Conv2dSpec {
                    strides: (1, 1),
                    padding: Padding::Same,
                    dilation: (2, 2),
                },
            ),
            ([3, 5, 5, 4], [1, 1, 4, 6], Conv2dSpec::default()),
            // Rows packed straight from the image, with depth slabs (256) cutting kernel taps
            // and enough rows for the chunked path.
            (
                [2, 24, 21, 40],
                [3, 3, 40, 33],
                Conv2dSpec {
                    strides: (1, 1),
                    padding: Padding::Same,
                    dilation: (1, 2),
                },
            ),
            (
                [1, 6, 7, 1],
                [4, 2, 1, 2],
                Conv2dSpec {
                    strides: (2, 3),
                    padding: Padding::Same,
                    dilation: (1, 1),
                },
            ),
        ];
        for (xs, ws, spec) in cases {
            let x = seq(&xs, 0.1);
            let w = seq(&ws, 0.05);
            let y = conv2d(&x, &w, None, &spec).unwrap();
            let want = naive(&x, &w, &spec);
            for (a, b) in y.as_slice().iter().zip(&want) {
                assert!((a - b).abs() < 1e-4, "{xs:?} {ws:?} {spec:?}: {a} vs {b}");
            }
        }
    }

    /// Direct-loop gradients: dx and dw of sum(y ⊙ dy).
    fn naive_backward(
        x: &Tensor,
        w: &Tensor,
        dy: &Tensor,
        spec: &Conv2dSpec,
    ) -> (Vec<f32>, Vec<f32>) {
        let g = Geometry::new(x.shape(), w.shape(), spec).unwrap();
        let (xs, ws, gs) = (x.as_slice(), w.as_slice(), dy.as_slice());
        let (mut dx, mut dw) = (vec![0.0; xs.len()], vec![0.0; ws.len()]);
        for b in 0..g.n {
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    for ky in 0..g.kh {
                        for kx in 0..g.kw {
                            let Some(iy) = Geometry::tap(oy, g.sh, ky, g.dh, g.top, g.h) else {
                                continue;
                            };
                            let Some(ix) = Geometry::tap(ox, g.sw, kx, g.dw, g.left, g.w) else {
                                continue;
                            };
                            for ci in 0..g.cin {
                                for co in 0..g.cout {
                                    let xi = ((b * g.h + iy) * g.w + ix) * g.cin + ci;
                                    let wi = ((ky * g.kw + kx) * g.cin + ci) * g.cout + co;
                                    let gv = gs[((b * g.oh + oy) * g.ow + ox) * g.cout + co];
                                    dx[xi] += ws[wi] * gv;
                                    dw[wi] += xs[xi] * gv;
                                }
                            }
                        }
                    }
                }
            }
        }
        (dx, dw)
    }

    #[test]
    fn both_kernel_paths_agree_with_direct_loops_in_backward() {
        let same = |d| Conv2dSpec {
            strides: (1, 1),
            padding: Padding::Same,
            dilation: (d, d),
        };
        let cases = [
            // Planar path (stride 1, short im2col rows, wide output).
            ([3, 12, 10, 1], [5, 5, 1, 6], same(1)),
            ([2, 11, 13, 3], [3, 3, 3, 4], same(2)),
            ([2, 10, 12, 2], [3, 2, 2, 3], Conv2dSpec::default()),
            // im2col + GEMM path, input gradient by col2im.
            ([2, 9, 8, 6], [5, 5, 6, 16], Conv2dSpec::default()),
            // Stride 1 with at least 32 input channels and an output about the input's size:
            // the input gradient comes from the forward path (flipped kernel); uneven "same"
            // padding, dilation, 1x1, "valid", and enough rows for the chunked path.
            ([2, 9, 8, 32], [4, 2, 32, 7], same(1)),
            ([1, 11, 9, 33], [3, 3, 33, 9], same(2)),
            ([2, 5, 6, 40], [1, 1, 40, 3], Conv2dSpec::default()),
            ([2, 24, 21, 32], [3, 3, 32, 20], same(1)),
            ([1, 20, 20, 32], [3, 3, 32, 5], Conv2dSpec::default()),
            ([2, 9, 8, 6], [4, 2, 6, 7], same(1)),
            (
                [2, 8, 7, 3],
                [3, 3, 3, 5],
                Conv2dSpec {
                    strides: (2, 2),
                    padding: Padding::Same,
                    dilation: (1, 1),
                },
            ),
        ];
        for (xs, ws, spec) in cases {
            let (x, w) = (seq(&xs, 0.1), seq(&ws, 0.05));
            let g = Geometry::new(&xs, &ws, &spec).unwrap();
            let dy = seq(&[g.n, g.oh, g.ow, g.cout], 0.07);
            let grads = conv2d_backward(&x, &w, &dy, &spec, true, true, true).unwrap();
            let (dx, dw) = naive_backward(&x, &w, &dy, &spec);
            let close = |a: &[f32], b: &[f32]| {
                a.iter()
                    .zip(b)
                    .all(|(p, q)| (p - q).abs() <= 1e-4 * (1.0 + q.abs()))
            };
            assert!(
                close(grads.input.unwrap().as_slice(), &dx),
                "dx {xs:?} {ws:?} {spec:?}"
            );
            assert!(
                close(grads.kernel.unwrap().as_slice(), &dw),
                "dw {xs:?} {ws:?} {spec:?}"
            );
            let db = grads.bias.unwrap();
            let want: Vec<f32> = (0..g.cout)
                .map(|c| dy.as_slice().iter().skip(c).step_by(g.cout).sum())
                .collect();
            assert!(close(db.as_slice(), &want), "db {xs:?}");
        }
    }

    #[test]
    fn channel_mismatch_is_an_error() {
        let x = Tensor::zeros([1, 5, 5, 3]);
        let w = Tensor::zeros([3, 3, 2, 4]);
        assert!(conv2d(&x, &w, None, &Conv2dSpec::default()).is_err());
    }

    /// GFLOP/s of small_cnn's two 14×14 convolutions, forward and backward:
    /// `cargo test --release -p krust-tensor conv_small_cnn_timings -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn conv_small_cnn_timings() {
        let spec = Conv2dSpec {
            padding: Padding::Same,
            ..Conv2dSpec::default()
        };
        let best = |f: &dyn Fn()| {
            (0..10)
                .map(|_| {
                    let t = std::time::Instant::now();
                    f();
                    t.elapsed().as_secs_f64()
                })
                .fold(f64::INFINITY, f64::min)
        };
        for cin in [32, 64] {
            let x = seq(&[64, 14, 14, cin], 0.01);
            let w = seq(&[3, 3, cin, 64], 0.02);
            let dy = seq(&[64, 14, 14, 64], 0.03);
            let flops = 2.0 * (64 * 14 * 14 * 9 * cin * 64) as f64;
            let fwd = best(&|| drop(conv2d(&x, &w, None, &spec).unwrap()));
            let bwd =
                best(&|| drop(conv2d_backward(&x, &w, &dy, &spec, true, true, false).unwrap()));
            println!(
                "{cin}->64 on 14x14: forward {:.2} ms ({:.0} GFLOP/s), backward {:.2} ms ({:.0} GFLOP/s)",
                fwd * 1e3,
                flops / fwd / 1e9,
                bwd * 1e3,
                2.0 * flops / bwd / 1e9
            );
        }
    }
}
