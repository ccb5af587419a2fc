//! Grouped and depthwise 2-D and 3-D convolution, channels-last: forward and both backward
//! passes.
//!
//! A direct channel-vector loop when every group holds one input channel (depthwise), one GEMM
//! per group on grouped im2col rows otherwise. Kernel layout is Keras's ([kd,] kh, kw,
//! cin / groups, cout): input channels `g·cin_g..` meet output channels `g·cout_g..`. As in
//! `conv2d`, a 2-D convolution is the depth-1 case of the 3-D loops. A depthwise kernel (kh, kw, cin, m) is the same memory as the
//! grouped kernel (kh, kw, 1, cin·m) with `groups = cin`, output channel `c·m + j` being filter
//! j of channel c. In channels-last memory one pixel's channels, one kernel tap's weights and
//! one output pixel's channels are all contiguous and line up, so the depthwise kernels are
//! unit-stride loops over channels that the compiler vectorizes, with no im2col at all.

use super::Conv3dSpec;
use super::{with_scratch, Conv2dGrads, Epilogue, Geometry, CHUNK_BYTES, SCRATCH, SCRATCH_GRAD};
use crate::matmul::{gemm_into, MatRef};
use crate::shape::numel;
use crate::{Conv2dSpec, Result, Tensor, TensorError};
use rayon::prelude::*;

/// Multiply-adds one depthwise weight-gradient task aims for: enough to amortize its partial
/// sum, fixed so that the summation order (and so the result) does not depend on the threads.
const DEPTHWISE_TASK_WORK: usize = 1 << 18;

impl Geometry {
    /// Geometry of a 2-D convolution with `groups` groups of `x` with `pad` zeros around it
    /// (see `Geometry::padded`); `cin` is the full input depth.
    pub(super) fn grouped(
        x: &[usize],
        k: &[usize],
        spec: &Conv2dSpec,
        groups: usize,
        pad: [(usize, usize); 2],
    ) -> Result<Geometry> {
        check_groups("conv2d_grouped", x, k, groups)?;
        Geometry::padded(x, &[k[0], k[1], x[3], k[3]], spec, pad)
    }

    /// Geometry of a 3-D convolution with `groups` groups; `cin` is the full input depth.
    fn grouped_3d(x: &[usize], k: &[usize], spec: &Conv3dSpec, groups: usize) -> Result<Geometry> {
        check_groups("conv3d_grouped", x, k, groups)?;
        Geometry::new_3d(x, &[k[0], k[1], k[2], x[4], k[4]], spec)
    }

    /// Kernel taps, kd·kh·kw.
    fn taps(&self) -> usize {
        self.kd * self.kh * self.kw
    }

    /// (image, output depth, output row) of output row `r` counted over the batch.
    #[inline]
    fn output_row(&self, r: usize) -> (usize, usize, usize) {
        let (plane, oy) = (r / self.oh, r % self.oh);
        (plane / self.od, plane % self.od, oy)
    }

    /// Output index along one axis that kernel tap `k` maps input index `i` to, if any: the
    /// inverse of `tap`, so the input gradient can gather instead of scatter.
    #[inline]
    fn source(
        i: usize,
        stride: usize,
        k: usize,
        dil: usize,
        pad: usize,
        out: usize,
    ) -> Option<usize> {
        let t = (i + pad) as isize - (k * dil) as isize;
        if t < 0 || !(t as usize).is_multiple_of(stride) {
            return None;
        }
        let o = t as usize / stride;
        (o < out).then_some(o)
    }

    /// Like `im2col`, for input channels `c0..c0 + cc` only: rows of length kd·kh·kw·cc.
    fn im2col_channels(
        &self,
        x: &[f32],
        r0: usize,
        rows: usize,
        c0: usize,
        cc: usize,
        cols: &mut [f32],
    ) {
        let k = self.taps() * cc;
        let plane = self.kh * self.kw * cc;
        for r in 0..rows {
            let (row, ox) = ((r0 + r) / self.ow, (r0 + r) % self.ow);
            let (b, oz, oy) = self.output_row(row);
            let dst = &mut cols[r * k..(r + 1) * k];
            for kz in 0..self.kd {
                let slab = &mut dst[kz * plane..(kz + 1) * plane];
                let Some(iz) = Self::tap(oz, self.sd, kz, self.dd, self.front, self.d) else {
                    slab.fill(0.0);
                    continue;
                };
                let base = (b * self.d + iz) * self.h;
                for ky in 0..self.kh {
                    let iy = Self::tap(oy, self.sh, ky, self.dh, self.top, self.h);
                    for kx in 0..self.kw {
                        let cell = &mut slab[(ky * self.kw + kx) * cc..][..cc];
                        let ix = Self::tap(ox, self.sw, kx, self.dw, self.left, self.w);
                        match (iy, ix) {
                            (Some(iy), Some(ix)) => {
                                let at = ((base + iy) * self.w + ix) * self.cin + c0;
                                cell.copy_from_slice(&x[at..at + cc]);
                            }
                            _ => cell.fill(0.0),
                        }
                    }
                }
            }
        }
    }

    /// Like `col2im`, for input channels `c0..c0 + cc` only.
    fn col2im_channels(&self, dcols: &[f32], images: usize, c0: usize, cc: usize, dx: &mut [f32]) {
        let k = self.taps() * cc;
        let plane = self.kh * self.kw * cc;
        for r in 0..images * self.out_pixels() {
            let (row, ox) = (r / self.ow, r % self.ow);
            let (b, oz, oy) = self.output_row(row);
            let src = &dcols[r * k..(r + 1) * k];
            for kz in 0..self.kd {
                let Some(iz) = Self::tap(oz, self.sd, kz, self.dd, self.front, self.d) else {
                    continue;
                };
                let (slab, base) = (
                    &src[kz * plane..(kz + 1) * plane],
                    (b * self.d + iz) * self.h,
                );
                for ky in 0..self.kh {
                    let Some(iy) = Self::tap(oy, self.sh, ky, self.dh, self.top, self.h) else {
                        continue;
                    };
                    for kx in 0..self.kw {
                        if let Some(ix) = Self::tap(ox, self.sw, kx, self.dw, self.left, self.w) {
                            let at = ((base + iy) * self.w + ix) * self.cin + c0;
                            let s = &slab[(ky * self.kw + kx) * cc..][..cc];
                            dx[at..at + cc].iter_mut().zip(s).for_each(|(d, v)| *d += v);
                        }
                    }
                }
            }
        }
    }
}

/// Checks that input (n, [d,] h, w, c) and kernel ([kd,] kh, kw, c / groups, filters) have the
/// same rank (4 or 5 for `op`'s dimensionality) and that groups divide c and filters.
fn check_groups(op: &'static str, x: &[usize], k: &[usize], groups: usize) -> Result<()> {
    let rank = if op.starts_with("conv3d") { 5 } else { 4 };
    let fits = x.len() == rank
        && k.len() == rank
        && groups > 0
        && k[rank - 2] * groups == x[rank - 1]
        && k[rank - 1].is_multiple_of(groups);
    if fits {
        return Ok(());
    }
    let layout = if rank == 5 {
        "input (n, d, h, w, c) and kernel (kd, kh, kw, c / groups, filters)"
    } else {
        "input (n, h, w, c) and kernel (kh, kw, c / groups, filters)"
    };
    Err(TensorError::mismatch(
        op,
        x,
        k,
        format!("expects {layout} with c and filters divisible by groups = {groups}"),
    ))
}

fn check_bias(g: &Geometry, kernel: &Tensor, bias: Option<&Tensor>) -> Result<()> {
    match bias {
        Some(b) if b.shape() != [g.cout] => Err(TensorError::mismatch(
            "conv2d_grouped",
            kernel.shape(),
            b.shape(),
            "bias must be (filters,)",
        )),
        _ => Ok(()),
    }
}

/// Grouped convolution forward: `y = conv(x, kernel, groups) + bias`, shape (n, oh, ow, cout).
/// One group is `conv2d`; one input channel per group is a depthwise convolution.
pub fn conv2d_grouped(
    x: &Tensor,
    kernel: &Tensor,
    bias: Option<&Tensor>,
    spec: &Conv2dSpec,
    groups: usize,
) -> Result<Tensor> {
    conv2d_fused(x, kernel, bias, spec, groups, Epilogue::Identity)
}

/// `activation(conv(x, kernel, groups) + bias)` in one pass over the output: the inference
/// path's convolution, with a BatchNormalization already folded into `kernel` and `bias`.
pub fn conv2d_fused(
    x: &Tensor,
    kernel: &Tensor,
    bias: Option<&Tensor>,
    spec: &Conv2dSpec,
    groups: usize,
    epilogue: Epilogue,
) -> Result<Tensor> {
    if groups == 1 {
        return super::conv2d_with(x, kernel, None, bias, spec, epilogue);
    }
    let g = Geometry::grouped(x.shape(), kernel.shape(), spec, groups, [(0, 0); 2])?;
    grouped_forward_any(&g, x, kernel, bias, groups, None, epilogue)
}

/// Grouped 3-D convolution forward: input (n, d, h, w, cin), kernel (kd, kh, kw,
/// cin / groups, cout), output (n, od, oh, ow, cout). One group is `conv3d`; one input
/// channel per group is a depthwise 3-D convolution.
pub fn conv3d_grouped(
    x: &Tensor,
    kernel: &Tensor,
    bias: Option<&Tensor>,
    spec: &Conv3dSpec,
    groups: usize,
) -> Result<Tensor> {
    if groups == 1 {
        return super::conv3d(x, kernel, bias, spec);
    }
    let g = Geometry::grouped_3d(x.shape(), kernel.shape(), spec, groups)?;
    grouped_forward_any(&g, x, kernel, bias, groups, None, Epilogue::Identity)
}

/// The grouped forward shared by 2-D and 3-D convolutions (`groups` > 1), with `residual`
/// (the output's length) added before the epilogue.
pub(super) fn grouped_forward_any(
    g: &Geometry,
    x: &Tensor,
    kernel: &Tensor,
    bias: Option<&Tensor>,
    groups: usize,
    residual: Option<&[f32]>,
    epilogue: Epilogue,
) -> Result<Tensor> {
    let g = *g;
    check_bias(&g, kernel, bias)?;
    let shape = g.out_shape(x.rank() == 5);
    let mut out = crate::buffer::dirty(numel(&shape));
    if !out.is_empty() {
        let (xs, ws, bs) = (x.as_slice(), kernel.as_slice(), bias.map(|b| b.as_slice()));
        if g.cin == groups {
            depthwise_forward(&g, xs, ws, bs, residual, epilogue, &mut out);
        } else {
            grouped_forward(&g, groups, xs, ws, bs, &mut out);
            crate::parallel::for_each_chunk_mut(&mut out, |start, y| {
                epilogue.apply_fused(y, None, residual.map(|r| &r[start..start + y.len()]))
            });
        }
    }
    Ok(Tensor::from_parts(shape, out))
}

/// Grouped convolution backward: the input, kernel and bias gradients that were asked for,
/// given dy (n, oh, ow, cout).
#[allow(clippy::too_many_arguments)]
pub fn conv2d_grouped_backward(
    x: &Tensor,
    kernel: &Tensor,
    dy: &Tensor,
    spec: &Conv2dSpec,
    groups: usize,
    need_input: bool,
    need_kernel: bool,
    need_bias: bool,
) -> Result<Conv2dGrads> {
    if groups == 1 {
        return super::conv2d_backward(x, kernel, dy, spec, need_input, need_kernel, need_bias);
    }
    let g = Geometry::grouped(x.shape(), kernel.shape(), spec, groups, [(0, 0); 2])?;
    let need = [need_input, need_kernel, need_bias];
    grouped_backward_any(&g, x, kernel, dy, groups, need)
}

/// Grouped 3-D convolution backward: the input, kernel and bias gradients that were asked
/// for, given dy (n, od, oh, ow, cout).
#[allow(clippy::too_many_arguments)]
pub fn conv3d_grouped_backward(
    x: &Tensor,
    kernel: &Tensor,
    dy: &Tensor,
    spec: &Conv3dSpec,
    groups: usize,
    need_input: bool,
    need_kernel: bool,
    need_bias: bool,
) -> Result<Conv2dGrads> {
    if groups == 1 {
        return super::conv3d_backward(x, kernel, dy, spec, need_input, need_kernel, need_bias);
    }
    let g = Geometry::grouped_3d(x.shape(), kernel.shape(), spec, groups)?;
    let need = [need_input, need_kernel, need_bias];
    grouped_backward_any(&g, x, kernel, dy, groups, need)
}

/// The grouped backward shared by 2-D and 3-D convolutions (`groups` > 1); `need` says which
/// of the input, kernel and bias gradients to compute.
fn grouped_backward_any(
    g: &Geometry,
    x: &Tensor,
    kernel: &Tensor,
    dy: &Tensor,
    groups: usize,
    [need_input, need_kernel, need_bias]: [bool; 3],
) -> Result<Conv2dGrads> {
    let g = *g;
    let out_shape = g.out_shape(x.rank() == 5);
    if dy.shape() != out_shape {
        let op = if x.rank() == 5 {
            "conv3d_grouped_backward"
        } else {
            "conv2d_grouped_backward"
        };
        return Err(TensorError::mismatch(
            op,
            &out_shape,
            dy.shape(),
            "output gradient has the wrong shape",
        ));
    }
    let (xs, ws, dys) = (x.as_slice(), kernel.as_slice(), dy.as_slice());
    let bias = need_bias
        .then(|| Tensor::from_parts(vec![g.cout], crate::reduce::column_sums(dys, g.cout)));
    let (input, kernel_grad) = if g.cin == groups {
        (
            need_input.then(|| depthwise_input_grad(&g, ws, dys)),
            need_kernel.then(|| depthwise_kernel_grad(&g, xs, dys)),
        )
    } else {
        grouped_backward(&g, groups, xs, ws, dys, need_input, need_kernel)
    };
    Ok(Conv2dGrads {
        input: input.map(|d| Tensor::from_parts(x.shape().to_vec(), d)),
        kernel: kernel_grad.map(|d| Tensor::from_parts(kernel.shape().to_vec(), d)),
        bias,
    })
}

/// `acc[c·m + j] += x[c] · w[c·m + j]` for one pixel and one tap.
#[inline]
fn depthwise_tap(acc: &mut [f32], xp: &[f32], wp: &[f32], m: usize) {
    if m == 1 {
        for ((a, &xv), &wv) in acc.iter_mut().zip(xp).zip(wp) {
            *a = xv.mul_add(wv, *a);
        }
    } else {
        for ((a, &xv), w) in acc.chunks_exact_mut(m).zip(xp).zip(wp.chunks_exact(m)) {
            for (a, &wv) in a.iter_mut().zip(w) {
                *a = xv.mul_add(wv, *a);
            }
        }
    }
}

/// Kernel taps the register-blocked depthwise path handles (7×7 and 3×3×3 and below).
const MAX_TAPS: usize = 49;
/// Channels accumulated in registers at once by the depthwise path.
const LANES: usize = 16;

/// One output pixel `[b, oz, oy, ox]` of a depthwise convolution with multiplier 1: the
/// channel vector is summed over every valid tap in blocks of `LANES` channels held in
/// registers, so each block is loaded from and stored to `acc` once instead of once per tap.
#[inline]
fn depthwise_pixel(
    g: &Geometry,
    x: &[f32],
    w: &[f32],
    [b, oz, oy, ox]: [usize; 4],
    acc: &mut [f32],
) {
    let c = g.cin;
    // (input offset, weight offset) of each tap inside the image.
    let mut taps = [(0usize, 0usize); MAX_TAPS];
    let mut n = 0;
    for kz in 0..g.kd {
        let Some(iz) = Geometry::tap(oz, g.sd, kz, g.dd, g.front, g.d) else {
            continue;
        };
        for ky in 0..g.kh {
            let Some(iy) = Geometry::tap(oy, g.sh, ky, g.dh, g.top, g.h) else {
                continue;
            };
            for kx in 0..g.kw {
                let Some(ix) = Geometry::tap(ox, g.sw, kx, g.dw, g.left, g.w) else {
                    continue;
                };
                taps[n] = (
                    (((b * g.d + iz) * g.h + iy) * g.w + ix) * c,
                    ((kz * g.kh + ky) * g.kw + kx) * c,
                );
                n += 1;
            }
        }
    }
    let taps = &taps[..n];
    let blocks = c / LANES * LANES;
    for c0 in (0..blocks).step_by(LANES) {
        let mut sum = [0.0f32; LANES];
        sum.copy_from_slice(&acc[c0..c0 + LANES]);
        for &(xo, wo) in taps {
            let xv = &x[xo + c0..xo + c0 + LANES];
            let wv = &w[wo + c0..wo + c0 + LANES];
            for l in 0..LANES {
                sum[l] = xv[l].mul_add(wv[l], sum[l]);
            }
        }
        acc[c0..c0 + LANES].copy_from_slice(&sum);
    }
    for ch in blocks..c {
        let mut sum = acc[ch];
        for &(xo, wo) in taps {
            sum = x[xo + ch].mul_add(w[wo + ch], sum);
        }
        acc[ch] = sum;
    }
}

/// Depthwise forward, one task per output row: every output pixel's channel vector is
/// accumulated over the kernel taps in place (it stays in L1).
fn depthwise_forward(
    g: &Geometry,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    residual: Option<&[f32]>,
    epilogue: Epilogue,
    y: &mut [f32],
) {
    let (cin, cout) = (g.cin, g.cout);
    let m = cout / cin;
    y.par_chunks_mut(g.ow * cout)
        .enumerate()
        .for_each(|(r, row)| {
            let (b, oz, oy) = g.output_row(r);
            for (ox, acc) in row.chunks_exact_mut(cout).enumerate() {
                match bias {
                    Some(bs) => acc.copy_from_slice(bs),
                    None => acc.fill(0.0),
                }
                if m == 1 && g.taps() <= MAX_TAPS {
                    depthwise_pixel(g, x, w, [b, oz, oy, ox], acc);
                    continue;
                }
                for kz in 0..g.kd {
                    let Some(iz) = Geometry::tap(oz, g.sd, kz, g.dd, g.front, g.d) else {
                        continue;
                    };
                    for ky in 0..g.kh {
                        let Some(iy) = Geometry::tap(oy, g.sh, ky, g.dh, g.top, g.h) else {
                            continue;
                        };
                        for kx in 0..g.kw {
                            let Some(ix) = Geometry::tap(ox, g.sw, kx, g.dw, g.left, g.w) else {
                                continue;
                            };
                            let xp = &x[(((b * g.d + iz) * g.h + iy) * g.w + ix) * cin..][..cin];
                            let wp = &w[((kz * g.kh + ky) * g.kw + kx) * cout..][..cout];
                            depthwise_tap(acc, xp, wp, m);
                        }
                    }
                }
            }
            let start = r * row.len();
            epilogue.apply_fused(
                row,
                None,
                residual.map(|res| &res[start..start + row.len()]),
            );
        });
}

/// Depthwise input gradient, one task per input row: each input pixel gathers
/// `Σ_j dy[c·m + j] · w[c·m + j]` from the output pixels whose windows cover it, so rows never
/// write to each other and the batch need not be large to keep every thread busy.
fn depthwise_input_grad(g: &Geometry, w: &[f32], dy: &[f32]) -> Vec<f32> {
    let (cin, cout) = (g.cin, g.cout);
    let m = cout / cin;
    let mut dx = crate::buffer::zeroed(g.n * g.image_len());
    if dx.is_empty() {
        return dx;
    }
    dx.par_chunks_mut(g.w * cin)
        .enumerate()
        .for_each(|(r, row)| {
            let (plane, iy) = (r / g.h, r % g.h);
            let (b, iz) = (plane / g.d, plane % g.d);
            for kz in 0..g.kd {
                let Some(oz) = Geometry::source(iz, g.sd, kz, g.dd, g.front, g.od) else {
                    continue;
                };
                for ky in 0..g.kh {
                    let Some(oy) = Geometry::source(iy, g.sh, ky, g.dh, g.top, g.oh) else {
                        continue;
                    };
                    let out_row = ((b * g.od + oz) * g.oh + oy) * g.ow;
                    for (ix, d) in row.chunks_exact_mut(cin).enumerate() {
                        for kx in 0..g.kw {
                            let Some(ox) = Geometry::source(ix, g.sw, kx, g.dw, g.left, g.ow)
                            else {
                                continue;
                            };
                            let gp = &dy[(out_row + ox) * cout..][..cout];
                            let wp = &w[((kz * g.kh + ky) * g.kw + kx) * cout..][..cout];
                            if m == 1 {
                                for ((d, &gv), &wv) in d.iter_mut().zip(gp).zip(wp) {
                                    *d = gv.mul_add(wv, *d);
                                }
                            } else {
                                for ((d, gc), wc) in
                                    d.iter_mut().zip(gp.chunks_exact(m)).zip(wp.chunks_exact(m))
                                {
                                    *d += gc.iter().zip(wc).map(|(a, b)| a * b).sum::<f32>();
                                }
                            }
                        }
                    }
                }
            }
        });
    dx
}

/// Depthwise kernel gradient `dw[tap, c·m + j] = Σ_pixels dy[c·m + j] · x[c]`: tasks over
/// fixed blocks of output rows each sum into their own (kd·kh·kw, cout) partial, added up in
/// block order afterwards (deterministic whatever the thread count).
fn depthwise_kernel_grad(g: &Geometry, x: &[f32], dy: &[f32]) -> Vec<f32> {
    let (cin, cout) = (g.cin, g.cout);
    let m = cout / cin;
    let taps = g.taps();
    let rows = g.n * g.od * g.oh;
    let rows_per_task = (DEPTHWISE_TASK_WORK / (g.ow * cout * taps).max(1)).max(1);
    let parts: Vec<Vec<f32>> = (0..rows.div_ceil(rows_per_task))
        .into_par_iter()
        .map(|t| {
            let mut dw = vec![0.0; taps * cout];
            for r in t * rows_per_task..((t + 1) * rows_per_task).min(rows) {
                let (b, oz, oy) = g.output_row(r);
                for kz in 0..g.kd {
                    let Some(iz) = Geometry::tap(oz, g.sd, kz, g.dd, g.front, g.d) else {
                        continue;
                    };
                    for ky in 0..g.kh {
                        let Some(iy) = Geometry::tap(oy, g.sh, ky, g.dh, g.top, g.h) else {
                            continue;
                        };
                        let in_row = ((b * g.d + iz) * g.h + iy) * g.w;
                        for ox in 0..g.ow {
                            let gp = &dy[(r * g.ow + ox) * cout..][..cout];
                            for kx in 0..g.kw {
                                let Some(ix) = Geometry::tap(ox, g.sw, kx, g.dw, g.left, g.w)
                                else {
                                    continue;
                                };
                                let xp = &x[(in_row + ix) * cin..][..cin];
                                let tap = (kz * g.kh + ky) * g.kw + kx;
                                let acc = &mut dw[tap * cout..][..cout];
                                depthwise_tap(acc, xp, gp, m);
                            }
                        }
                    }
                }
            }
            dw
        })
        .collect();
    let mut dw = vec![0.0; taps * cout];
    for p in &parts {
        dw.iter_mut().zip(p).for_each(|(d, v)| *d += v);
    }
    dw
}

/// Splits the ([kd,] kh, kw, cin_g, cout) kernel into `groups` contiguous (taps·cin_g, cout_g)
/// matrices, the right-hand sides of the per-group GEMMs.
fn split_kernel(w: &[f32], cout: usize, groups: usize) -> Vec<Vec<f32>> {
    let cout_g = cout / groups;
    (0..groups)
        .map(|gi| {
            w.chunks_exact(cout)
                .flat_map(|row| &row[gi * cout_g..(gi + 1) * cout_g])
                .copied()
                .collect()
        })
        .collect()
}

/// Grouped forward: chunks of output rows on the rayon pool; per chunk and group, im2col
/// of that group's channels and a single-threaded GEMM with that group's kernel block.
fn grouped_forward(
    g: &Geometry,
    groups: usize,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
) {
    let (cin_g, cout_g, cout) = (g.cin / groups, g.cout / groups, g.cout);
    let kg = g.taps() * cin_g;
    let blocks = split_kernel(w, cout, groups);
    let chunk_rows = (CHUNK_BYTES / (4 * kg.max(1))).clamp(16, 4096);
    y.par_chunks_mut(chunk_rows * cout)
        .enumerate()
        .for_each(|(c, yc)| {
            let (r0, n_rows) = (c * chunk_rows, yc.len() / cout);
            let mut yg = vec![0.0; n_rows * cout_g];
            for (gi, wg) in blocks.iter().enumerate() {
                with_scratch(&SCRATCH, n_rows * kg, |cols| {
                    g.im2col_channels(x, r0, n_rows, gi * cin_g, cin_g, cols);
                    gemm_into(
                        MatRef::new(cols, n_rows, kg),
                        MatRef::new(wg, kg, cout_g),
                        &mut yg,
                        false,
                        1,
                    );
                });
                let b = bias.map(|b| &b[gi * cout_g..(gi + 1) * cout_g]);
                for (dst, src) in yc.chunks_exact_mut(cout).zip(yg.chunks_exact(cout_g)) {
                    let dst = &mut dst[gi * cout_g..(gi + 1) * cout_g];
                    match b {
                        Some(b) => dst
                            .iter_mut()
                            .zip(src.iter().zip(b))
                            .for_each(|(d, (s, b))| *d = s + b),
                        None => dst.copy_from_slice(src),
                    }
                }
            }
        });
}

/// Grouped backward: chunks of whole images (so col2im never writes across tasks); per chunk
/// and group, that group's output-gradient columns give `col2im(dy_g · W_gᵀ)` and
/// `im2col_g(x)ᵀ · dy_g`. Kernel partials are summed in chunk order (deterministic).
fn grouped_backward(
    g: &Geometry,
    groups: usize,
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    need_input: bool,
    need_kernel: bool,
) -> (Option<Vec<f32>>, Option<Vec<f32>>) {
    let (cin_g, cout_g, cout) = (g.cin / groups, g.cout / groups, g.cout);
    let kg = g.taps() * cin_g;
    let blocks = split_kernel(w, cout, groups);
    let rows_per_image = g.out_pixels();
    let img = g.image_len();
    let images_per_chunk =
        (CHUNK_BYTES / (4 * kg.max(1) * rows_per_image.max(1))).clamp(1, g.n.max(1));
    let n_chunks = g.n.div_ceil(images_per_chunk);
    let mut dx = if need_input {
        crate::buffer::zeroed(g.n * img)
    } else {
        Vec::new()
    };

    let task = |c: usize, mut dx_chunk: Option<&mut [f32]>| -> Option<Vec<Vec<f32>>> {
        let b0 = c * images_per_chunk;
        let images = images_per_chunk.min(g.n - b0);
        let (r0, n_rows) = (b0 * rows_per_image, images * rows_per_image);
        let dy_c = &dy[r0 * cout..(r0 + n_rows) * cout];
        let mut dy_g = vec![0.0; n_rows * cout_g];
        let mut dw_parts = need_kernel.then(Vec::new);
        for (gi, wg) in blocks.iter().enumerate() {
            for (dst, src) in dy_g.chunks_exact_mut(cout_g).zip(dy_c.chunks_exact(cout)) {
                dst.copy_from_slice(&src[gi * cout_g..(gi + 1) * cout_g]);
            }
            let dy_m = MatRef::new(&dy_g, n_rows, cout_g);
            if let Some(parts) = dw_parts.as_mut() {
                let mut dw = vec![0.0; kg * cout_g];
                with_scratch(&SCRATCH, n_rows * kg, |cols| {
                    g.im2col_channels(x, r0, n_rows, gi * cin_g, cin_g, cols);
                    gemm_into(MatRef::new(cols, n_rows, kg).t(), dy_m, &mut dw, false, 1);
                });
                parts.push(dw);
            }
            if let Some(dx_c) = dx_chunk.as_deref_mut() {
                with_scratch(&SCRATCH_GRAD, n_rows * kg, |dcols| {
                    gemm_into(dy_m, MatRef::new(wg, kg, cout_g).t(), dcols, false, 1);
                    g.col2im_channels(dcols, images, gi * cin_g, cin_g, dx_c);
                });
            }
        }
        dw_parts
    };
    let parts: Vec<Option<Vec<Vec<f32>>>> = super::run_batch_chunks(
        &mut dx,
        images_per_chunk * img,
        n_chunks,
        need_input,
        need_kernel,
        task,
    );

    let kernel_grad = need_kernel.then(|| {
        // Back from per-group (taps·cin_g, cout_g) blocks to ([kd,] kh, kw, cin_g, cout).
        let mut dw = vec![0.0; kg * cout];
        for chunk in parts.iter().flatten() {
            for (gi, block) in chunk.iter().enumerate() {
                for (row, src) in dw.chunks_exact_mut(cout).zip(block.chunks_exact(cout_g)) {
                    row[gi * cout_g..(gi + 1) * cout_g]
                        .iter_mut()
                        .zip(src)
                        .for_each(|(d, v)| *d += v);
                }
            }
        }
        dw
    });
    (need_input.then_some(dx), kernel_grad)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::Padding;

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

    /// Direct-loop grouped convolution and its gradients (of sum(y ⊙ dy)): the definition
    /// both fast paths must agree with.
    fn naive(
        x: &Tensor,
        w: &Tensor,
        dy: &Tensor,
        spec: &Conv2dSpec,
        groups: usize,
    ) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let g = Geometry::grouped(x.shape(), w.shape(), spec, groups, [(0, 0); 2]).unwrap();
        let (cin_g, cout_g) = (g.cin / groups, g.cout / groups);
        let (xs, ws, gs) = (x.as_slice(), w.as_slice(), dy.as_slice());
        let mut y = vec![0.0; g.n * g.oh * g.ow * g.cout];
        let (mut dx, mut dw) = (vec![0.0; xs.len()], vec![0.0; ws.len()]);
        for b in 0..g.n {
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    for co in 0..g.cout {
                        let yi = ((b * g.oh + oy) * g.ow + ox) * g.cout + co;
                        for ky in 0..g.kh {
                            for kx in 0..g.kw {
                                let Some(iy) = Geometry::tap(oy, g.sh, ky, g.dh, g.top, g.h) else {
                                    continue;
                                };
                                let Some(ix) = Geometry::tap(ox, g.sw, kx, g.dw, g.left, g.w)
                                else {
                                    continue;
                                };
                                for ci in 0..cin_g {
                                    let c = co / cout_g * cin_g + ci;
                                    let xi = ((b * g.h + iy) * g.w + ix) * g.cin + c;
                                    let wi = ((ky * g.kw + kx) * cin_g + ci) * g.cout + co;
                                    y[yi] += xs[xi] * ws[wi];
                                    dx[xi] += ws[wi] * gs[yi];
                                    dw[wi] += xs[xi] * gs[yi];
                                }
                            }
                        }
                    }
                }
            }
        }
        (y, dx, dw)
    }

    fn spec(s: usize, padding: Padding, d: usize) -> Conv2dSpec {
        Conv2dSpec {
            strides: (s, s),
            padding,
            dilation: (d, d),
        }
    }

    fn assert_close(got: &[f32], want: &[f32], what: &str) {
        assert_eq!(got.len(), want.len(), "{what}");
        for (i, (a, b)) in got.iter().zip(want).enumerate() {
            assert!(
                (a - b).abs() <= 1e-4 * (1.0 + b.abs()),
                "{what} [{i}]: {a} vs {b}"
            );
        }
    }

    #[test]
    fn depthwise_and_grouped_paths_agree_with_direct_loops_forward_and_backward() {
        use Padding::{Same, Valid};
        let cases = [
            // Depthwise (one input channel per group), multipliers 1 and 3.
            ([2, 7, 9, 5], [3, 3, 1, 5], 5, spec(1, Same, 1)),
            ([2, 8, 7, 4], [3, 3, 1, 8], 4, spec(2, Same, 1)),
            ([1, 9, 9, 3], [3, 3, 1, 9], 3, spec(1, Valid, 2)),
            ([2, 11, 10, 6], [3, 2, 1, 6], 6, spec(2, Valid, 1)),
            ([1, 10, 11, 2], [3, 3, 1, 4], 2, spec(1, Same, 2)),
            // Grouped with several channels per group.
            ([2, 7, 6, 4], [3, 3, 2, 6], 2, spec(1, Same, 1)),
            ([2, 9, 8, 8], [3, 3, 2, 8], 4, spec(2, Same, 1)),
            ([1, 9, 9, 6], [3, 3, 3, 4], 2, spec(1, Valid, 2)),
            ([3, 5, 5, 8], [1, 1, 2, 12], 4, Conv2dSpec::default()),
        ];
        for (xs, ws, groups, spec) in cases {
            let what = format!("{xs:?} {ws:?} groups {groups} {spec:?}");
            let (x, w) = (seq(&xs, 0.1), seq(&ws, 0.05));
            let g = Geometry::grouped(&xs, &ws, &spec, groups, [(0, 0); 2]).unwrap();
            let dy = seq(&[g.n, g.oh, g.ow, g.cout], 0.07);
            let bias = seq(&[g.cout], 0.3);
            let (y, dx, dw) = naive(&x, &w, &dy, &spec, groups);
            let got = conv2d_grouped(&x, &w, Some(&bias), &spec, groups).unwrap();
            let grads =
                conv2d_grouped_backward(&x, &w, &dy, &spec, groups, true, true, true).unwrap();
            // Kernel gradient alone takes the other task split.
            let only_w =
                conv2d_grouped_backward(&x, &w, &dy, &spec, groups, false, true, false).unwrap();
            check_against_loops(&what, (&y, &dx, &dw), &dy, &bias, &got, grads, only_w);
        }
    }

    /// Checks a grouped convolution against its direct loops: the output (with `bias`), the
    /// input, kernel and bias gradients, and the kernel gradient asked for alone.
    fn check_against_loops(
        what: &str,
        (y, dx, dw): (&[f32], &[f32], &[f32]),
        dy: &Tensor,
        bias: &Tensor,
        got: &Tensor,
        grads: Conv2dGrads,
        only_w: Conv2dGrads,
    ) {
        let cout = bias.numel();
        let want: Vec<f32> = y
            .iter()
            .enumerate()
            .map(|(i, v)| v + bias.as_slice()[i % cout])
            .collect();
        assert_close(got.as_slice(), &want, &format!("y {what}"));
        assert_close(grads.input.unwrap().as_slice(), dx, &format!("dx {what}"));
        assert_close(grads.kernel.unwrap().as_slice(), dw, &format!("dw {what}"));
        let db: Vec<f32> = (0..cout)
            .map(|c| dy.as_slice().iter().skip(c).step_by(cout).sum())
            .collect();
        assert_close(grads.bias.unwrap().as_slice(), &db, &format!("db {what}"));
        assert!(only_w.input.is_none());
        assert_close(
            only_w.kernel.unwrap().as_slice(),
            dw,
            &format!("dw alone {what}"),
        );
    }

    #[test]
    fn one_group_is_the_plain_convolution() {
        let (x, w) = (seq(&[2, 6, 6, 3], 0.1), seq(&[3, 3, 3, 4], 0.05));
        let s = spec(1, Padding::Same, 1);
        let a = conv2d_grouped(&x, &w, None, &s, 1).unwrap();
        let b = super::super::conv2d(&x, &w, None, &s).unwrap();
        assert_eq!(a.as_slice(), b.as_slice());
    }

    #[test]
    fn a_fused_epilogue_equals_the_activation_applied_afterwards() {
        // Plain (im2col and planar paths), grouped and depthwise, with a bias.
        for (xs, ws, groups, stride) in [
            ([2, 9, 9, 4], [3, 3, 4, 8], 1, 2),
            ([2, 9, 9, 1], [3, 3, 1, 3], 1, 1),
            ([2, 9, 9, 4], [3, 3, 2, 6], 2, 1),
            ([2, 9, 9, 4], [3, 3, 1, 8], 4, 2),
        ] {
            let (x, w) = (seq(&xs, 0.3), seq(&ws, 0.2));
            let b = seq(&[ws[3]], 0.5);
            let s = spec(stride, Padding::Same, 1);
            let plain = conv2d_grouped(&x, &w, Some(&b), &s, groups).unwrap();
            for (e, f) in [
                (Epilogue::Relu, plain.relu()),
                (Epilogue::Relu6, plain.unary(crate::UnaryOp::Relu6)),
                (Epilogue::Silu, plain.unary(crate::UnaryOp::Silu)),
            ] {
                let fused = conv2d_fused(&x, &w, Some(&b), &s, groups, e).unwrap();
                assert_close(fused.as_slice(), f.as_slice(), &format!("{e:?} {xs:?}"));
            }
        }
    }

    #[test]
    fn channels_not_divisible_by_groups_is_an_error_naming_groups() {
        let x = Tensor::zeros([1, 5, 5, 6]);
        let s = Conv2dSpec::default();
        let err = conv2d_grouped(&x, &Tensor::zeros([3, 3, 2, 4]), None, &s, 2).unwrap_err();
        assert!(err.to_string().contains("groups = 2"), "{err}");
        // Filters not divisible by groups.
        assert!(conv2d_grouped(&x, &Tensor::zeros([3, 3, 2, 4]), None, &s, 3).is_err());
        assert!(conv2d_grouped(&x, &Tensor::zeros([3, 3, 2, 6]), None, &s, 0).is_err());
        let bad_bias = Tensor::zeros([5]);
        assert!(conv2d_grouped(&x, &Tensor::zeros([3, 3, 1, 6]), Some(&bad_bias), &s, 6).is_err());
    }

    /// Direct-loop grouped 3-D convolution and its gradients (of sum(y ⊙ dy)); the plain
    /// convolution's tests use it with one group.
    pub(in crate::conv) fn naive_3d(
        x: &Tensor,
        w: &Tensor,
        dy: &Tensor,
        spec: &Conv3dSpec,
        groups: usize,
    ) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let g = Geometry::grouped_3d(x.shape(), w.shape(), spec, groups).unwrap();
        let (cin_g, cout_g) = (g.cin / groups, g.cout / groups);
        let (xs, ws, gs) = (x.as_slice(), w.as_slice(), dy.as_slice());
        let mut y = vec![0.0; g.n * g.out_pixels() * g.cout];
        let (mut dx, mut dw) = (vec![0.0; xs.len()], vec![0.0; ws.len()]);
        for b in 0..g.n {
            for oz in 0..g.od {
                for oy in 0..g.oh {
                    for ox in 0..g.ow {
                        let o = (((b * g.od + oz) * g.oh + oy) * g.ow + ox) * g.cout;
                        for kz in 0..g.kd {
                            let Some(iz) = Geometry::tap(oz, g.sd, kz, g.dd, g.front, g.d) else {
                                continue;
                            };
                            for ky in 0..g.kh {
                                let Some(iy) = Geometry::tap(oy, g.sh, ky, g.dh, g.top, g.h) else {
                                    continue;
                                };
                                for kx in 0..g.kw {
                                    let Some(ix) = Geometry::tap(ox, g.sw, kx, g.dw, g.left, g.w)
                                    else {
                                        continue;
                                    };
                                    let cell = ((b * g.d + iz) * g.h + iy) * g.w + ix;
                                    let tap = (kz * g.kh + ky) * g.kw + kx;
                                    for co in 0..g.cout {
                                        for ci in 0..cin_g {
                                            let xi = cell * g.cin + co / cout_g * cin_g + ci;
                                            let wi = (tap * cin_g + ci) * g.cout + co;
                                            y[o + co] += xs[xi] * ws[wi];
                                            dx[xi] += ws[wi] * gs[o + co];
                                            dw[wi] += xs[xi] * gs[o + co];
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        (y, dx, dw)
    }

    #[test]
    fn grouped_and_depthwise_3d_agree_with_direct_loops_forward_and_backward() {
        use Padding::{Same, Valid};
        let spec = |s: [usize; 3], padding, d: [usize; 3]| Conv3dSpec {
            strides: s,
            padding,
            dilation: d,
        };
        let cases = [
            // Grouped with several channels per group.
            (
                [2, 4, 5, 6, 4],
                [2, 3, 3, 2, 6],
                2,
                spec([1, 1, 1], Same, [1, 1, 1]),
            ),
            (
                [1, 6, 5, 5, 6],
                [3, 2, 2, 2, 6],
                3,
                spec([2, 1, 2], Valid, [1, 1, 1]),
            ),
            (
                [2, 5, 6, 5, 4],
                [2, 2, 2, 2, 4],
                2,
                spec([1, 2, 1], Same, [2, 1, 2]),
            ),
            // Depthwise, multipliers 1 (register-blocked and wide channels) and 2.
            (
                [2, 4, 5, 5, 3],
                [3, 3, 3, 1, 3],
                3,
                spec([1, 1, 1], Same, [1, 1, 1]),
            ),
            (
                [1, 5, 4, 6, 18],
                [2, 3, 2, 1, 18],
                18,
                spec([2, 1, 2], Same, [1, 1, 1]),
            ),
            (
                [2, 5, 5, 4, 2],
                [2, 2, 3, 1, 4],
                2,
                spec([1, 2, 1], Valid, [2, 1, 1]),
            ),
            // Too many taps for the register-blocked path.
            (
                [1, 5, 5, 5, 2],
                [4, 4, 4, 1, 2],
                2,
                spec([1, 1, 1], Same, [1, 1, 1]),
            ),
        ];
        for (xs, ws, groups, spec) in cases {
            let what = format!("{xs:?} {ws:?} groups {groups} {spec:?}");
            let (x, w) = (seq(&xs, 0.1), seq(&ws, 0.05));
            let g = Geometry::grouped_3d(&xs, &ws, &spec, groups).unwrap();
            let dy = seq(&[g.n, g.od, g.oh, g.ow, g.cout], 0.07);
            let bias = seq(&[g.cout], 0.3);
            let (y, dx, dw) = naive_3d(&x, &w, &dy, &spec, groups);
            let got = conv3d_grouped(&x, &w, Some(&bias), &spec, groups).unwrap();
            assert_eq!(got.shape(), &[g.n, g.od, g.oh, g.ow, g.cout], "{what}");
            let grads =
                conv3d_grouped_backward(&x, &w, &dy, &spec, groups, true, true, true).unwrap();
            let only_w =
                conv3d_grouped_backward(&x, &w, &dy, &spec, groups, false, true, false).unwrap();
            check_against_loops(&what, (&y, &dx, &dw), &dy, &bias, &got, grads, only_w);
        }
        // One group is the plain 3-D convolution; a bad split names groups and the layout.
        let (x, w) = (seq(&[1, 3, 4, 4, 2], 0.1), seq(&[2, 2, 2, 2, 3], 0.05));
        let s = spec([1, 1, 1], Same, [1, 1, 1]);
        assert_eq!(
            conv3d_grouped(&x, &w, None, &s, 1).unwrap().as_slice(),
            super::super::conv3d(&x, &w, None, &s).unwrap().as_slice()
        );
        let err = conv3d_grouped(&x, &w, None, &s, 2).unwrap_err().to_string();
        assert!(
            err.contains("groups = 2") && err.contains("kd, kh, kw"),
            "{err}"
        );
    }
}
