//! Direct convolution on per-channel planes, for stride-1 convolutions whose im2col rows are
//! too short for GEMM to pay (few input channels, e.g. a network's first layer on grey or RGB
//! images).
//!
//! Each image is de-interleaved into zero-padded planes of width `pw`. The output is computed
//! on the same row pitch `pw` (the `pw - ow` extra columns are scratch), which turns every
//! kernel tap into one long contiguous axpy: `acc[j] += w · plane[j + ky·dh·pw + kx·dw]` for
//! all j at once. Long unit-stride loops are what the vectorizer needs.

use super::Geometry;
use crate::elementwise::dot;
use rayon::prelude::*;

impl Geometry {
    /// True when the planar kernels beat im2col + GEMM: a spatial kernel over very few input
    /// channels (a 1×1 convolution is a plain GEMM however short its rows).
    pub(super) fn prefers_planar(&self) -> bool {
        self.is_flat()
            && !self.is_pointwise()
            && self.sh == 1
            && self.sw == 1
            && self.k() <= 32
            && self.ow >= 8
    }

    /// Padded plane size: every tap of every output pixel lands inside it.
    fn plane_dims(&self) -> (usize, usize) {
        (
            self.oh + (self.kh - 1) * self.dh,
            self.ow + (self.kw - 1) * self.dw,
        )
    }

    /// Elements of one padded plane, with slack so the last tap's run stays in bounds.
    fn plane_len(&self) -> usize {
        let (ph, pw) = self.plane_dims();
        ph * pw + (self.kw - 1) * self.dw
    }

    /// Output elements per channel on the padded row pitch.
    fn wide_len(&self) -> usize {
        self.oh * self.plane_dims().1
    }

    /// Copies one channels-last image into zero-padded planes (cin, plane_len).
    fn fill_planes(&self, img: &[f32], planes: &mut [f32]) {
        let (ph, pw) = self.plane_dims();
        let len = self.plane_len();
        planes.fill(0.0);
        for y in 0..self.h.min(ph - self.top) {
            for x in 0..self.w.min(pw - self.left) {
                let px = &img[(y * self.w + x) * self.cin..][..self.cin];
                for (c, &v) in px.iter().enumerate() {
                    planes[c * len + (y + self.top) * pw + x + self.left] = v;
                }
            }
        }
    }

    /// Offset of tap (ky, kx) inside a plane.
    fn tap_offset(&self, ky: usize, kx: usize) -> usize {
        ky * self.dh * self.plane_dims().1 + kx * self.dw
    }

    fn images_per_task(&self) -> usize {
        self.n.div_ceil(4 * rayon::current_num_threads()).max(1)
    }
}

/// y = conv(x, w) + bias, image by image.
pub(super) fn forward(g: &Geometry, x: &[f32], w: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
    let (_, pw) = g.plane_dims();
    let (plane, wide) = (g.plane_len(), g.wide_len());
    let (img_in, img_out) = (g.h * g.w * g.cin, g.oh * g.ow * g.cout);
    let per_task = g.images_per_task();
    // Tap offsets in the planes, and the weights regrouped per output channel, both in
    // (ci, ky, kx) order.
    let mut offsets = Vec::new();
    let mut weights = vec![Vec::new(); g.cout];
    for ci in 0..g.cin {
        for ky in 0..g.kh {
            for kx in 0..g.kw {
                offsets.push(ci * plane + g.tap_offset(ky, kx));
                for (co, wc) in weights.iter_mut().enumerate() {
                    wc.push(w[((ky * g.kw + kx) * g.cin + ci) * g.cout + co]);
                }
            }
        }
    }
    y.par_chunks_mut(img_out * per_task)
        .enumerate()
        .for_each(|(t, ys)| {
            let mut planes = vec![0.0; g.cin * plane];
            let mut acc = vec![0.0; g.cout * wide];
            for (i, y_img) in ys.chunks_mut(img_out).enumerate() {
                let b = t * per_task + i;
                g.fill_planes(&x[b * img_in..(b + 1) * img_in], &mut planes);
                for (co, wc) in weights.iter().enumerate() {
                    let b0 = bias.map_or(0.0, |b| b[co]);
                    accumulate_channel(
                        &planes,
                        &offsets,
                        wc,
                        b0,
                        &mut acc[co * wide..(co + 1) * wide],
                    );
                }
                for oy in 0..g.oh {
                    for ox in 0..g.ow {
                        let out = &mut y_img[(oy * g.ow + ox) * g.cout..][..g.cout];
                        for (co, o) in out.iter_mut().enumerate() {
                            *o = acc[co * wide + oy * pw + ox];
                        }
                    }
                }
            }
        });
}

/// Pixels accumulated in registers at once: eight AVX2 vectors.
const BLOCK: usize = 64;

/// One output channel on the padded pitch: out[j] = bias + Σ_taps w[t] · planes[offsets[t] + j].
/// A block of BLOCK outputs stays in registers across all taps, so each input vector is
/// loaded once per tap and the output is stored once.
fn accumulate_channel(
    planes: &[f32],
    offsets: &[usize],
    weights: &[f32],
    bias: f32,
    out: &mut [f32],
) {
    let wide = out.len();
    let mut j = 0;
    while j + BLOCK <= wide {
        let mut acc = [bias; BLOCK];
        for (&off, &wv) in offsets.iter().zip(weights) {
            let src: &[f32; BLOCK] = planes[off + j..off + j + BLOCK]
                .try_into()
                .expect("BLOCK long");
            for p in 0..BLOCK {
                acc[p] = src[p].mul_add(wv, acc[p]);
            }
        }
        out[j..j + BLOCK].copy_from_slice(&acc);
        j += BLOCK;
    }
    for (jj, o) in out.iter_mut().enumerate().skip(j) {
        *o = offsets
            .iter()
            .zip(weights)
            .fold(bias, |a, (&off, &wv)| planes[off + jj].mul_add(wv, a));
    }
}

/// Gradients with respect to the input (if `dx` is given) and the kernel (returned).
pub(super) fn backward(
    g: &Geometry,
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    need_kernel: bool,
    dx: Option<&mut [f32]>,
) -> Option<Vec<f32>> {
    let (ph, pw) = g.plane_dims();
    let (plane, wide) = (g.plane_len(), g.wide_len());
    let (img_in, img_out) = (g.h * g.w * g.cin, g.oh * g.ow * g.cout);
    let per_task = g.images_per_task();
    let n_tasks = g.n.div_ceil(per_task);
    let wlen = g.kh * g.kw * g.cin * g.cout;

    let task = |t: usize, mut dx_task: Option<&mut [f32]>| -> Vec<f32> {
        let mut dw = vec![0.0; if need_kernel { wlen } else { 0 }];
        let mut planes = vec![0.0; if need_kernel { g.cin * plane } else { 0 }];
        let mut dplanes = vec![0.0; if dx_task.is_some() { g.cin * plane } else { 0 }];
        // dy on the padded pitch; the scratch columns stay zero so they add nothing.
        let mut grad = vec![0.0; g.cout * wide];
        let images = per_task.min(g.n - t * per_task);
        for i in 0..images {
            let b = t * per_task + i;
            let dy_img = &dy[b * img_out..(b + 1) * img_out];
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    let src = &dy_img[(oy * g.ow + ox) * g.cout..][..g.cout];
                    for (co, &v) in src.iter().enumerate() {
                        grad[co * wide + oy * pw + ox] = v;
                    }
                }
            }
            if need_kernel {
                g.fill_planes(&x[b * img_in..(b + 1) * img_in], &mut planes);
            }
            dplanes.fill(0.0);
            for ci in 0..g.cin {
                for ky in 0..g.kh {
                    for kx in 0..g.kw {
                        let off = ci * plane + g.tap_offset(ky, kx);
                        let tap = ((ky * g.kw + kx) * g.cin + ci) * g.cout;
                        for co in 0..g.cout {
                            let gr = &grad[co * wide..(co + 1) * wide];
                            if need_kernel {
                                dw[tap + co] += dot(&planes[off..off + wide], gr);
                            }
                            if !dplanes.is_empty() {
                                let wv = w[tap + co];
                                dplanes[off..off + wide]
                                    .iter_mut()
                                    .zip(gr)
                                    .for_each(|(d, s)| *d = s.mul_add(wv, *d));
                            }
                        }
                    }
                }
            }
            if let Some(dxt) = dx_task.as_deref_mut() {
                let d_img = &mut dxt[i * img_in..(i + 1) * img_in];
                for y in 0..g.h.min(ph - g.top) {
                    for x in 0..g.w.min(pw - g.left) {
                        let px = &mut d_img[(y * g.w + x) * g.cin..][..g.cin];
                        for (c, d) in px.iter_mut().enumerate() {
                            *d = dplanes[c * plane + (y + g.top) * pw + x + g.left];
                        }
                    }
                }
            }
        }
        dw
    };

    let parts: Vec<Vec<f32>> = match dx {
        Some(dx) => dx
            .par_chunks_mut(per_task * img_in)
            .enumerate()
            .map(|(t, d)| task(t, Some(d)))
            .collect(),
        None => (0..n_tasks)
            .into_par_iter()
            .map(|t| task(t, None))
            .collect(),
    };
    need_kernel.then(|| {
        let mut dw = vec![0.0; wlen];
        for p in &parts {
            dw.iter_mut().zip(p).for_each(|(d, v)| *d += v);
        }
        dw
    })
}
