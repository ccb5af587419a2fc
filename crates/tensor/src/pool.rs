//! 2-D max and average pooling, channels-last, forward and backward.
//!
//! Padding follows Keras: "same" pads so the output is ceil(in / stride) with the extra cell
//! bottom/right; padded cells never win a max and are not counted by an average. PyTorch's
//! explicit per-side padding and `ceil_mode` are available too (`explicit_padding`,
//! `ceil_mode`), so that torchvision's poolings can be reproduced exactly.

use crate::conv::{output_size, Padding};
use crate::{Result, Tensor, TensorError};
use rayon::prelude::*;

/// Window, strides and padding of a 2-D pooling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool2dSpec {
    pub pool_size: (usize, usize),
    pub strides: (usize, usize),
    pub padding: Padding,
    /// PyTorch-style explicit ((top, bottom), (left, right)) padding, used instead of
    /// `padding` when set. Each side must be smaller than the window, so that every window
    /// holds at least one real cell.
    pub explicit_padding: Option<((usize, usize), (usize, usize))>,
    /// PyTorch's `ceil_mode`: the output length rounds up, keeping a last partial window when
    /// it starts inside the input or the top/left padding (one starting in the bottom/right
    /// padding is dropped). Only with valid or explicit padding.
    pub ceil_mode: bool,
}

impl Pool2dSpec {
    /// Keras default: strides equal to the pool size, valid padding.
    pub fn new(pool: usize) -> Self {
        Pool2dSpec {
            pool_size: (pool, pool),
            strides: (pool, pool),
            padding: Padding::Valid,
            explicit_padding: None,
            ceil_mode: false,
        }
    }

    /// Output length and leading padding of spatial axis `axis` (0 rows, 1 columns) for an
    /// input of length `input`.
    pub fn output_size(
        &self,
        op: &'static str,
        axis: usize,
        input: usize,
    ) -> Result<(usize, usize)> {
        let (kernel, stride) = if axis == 0 {
            (self.pool_size.0, self.strides.0)
        } else {
            (self.pool_size.1, self.strides.1)
        };
        let pads = self
            .explicit_padding
            .map(|(rows, cols)| if axis == 0 { rows } else { cols });
        let (before, after) = match (pads, self.padding, self.ceil_mode) {
            (None, padding, false) => {
                let (out, before, _) = output_size(op, input, kernel, stride, 1, padding)?;
                return Ok((out, before));
            }
            (None, Padding::Same, true) => {
                return Err(TensorError::invalid(
                    op,
                    "ceil_mode applies to valid or explicit padding, not \"same\"",
                ))
            }
            (None, Padding::Valid, true) => (0, 0),
            (Some(p), _, _) => p,
        };
        if kernel == 0 || stride == 0 {
            return Err(TensorError::invalid(
                op,
                "pool size and strides must be at least 1",
            ));
        }
        if before >= kernel || after >= kernel {
            return Err(TensorError::invalid(
                op,
                format!(
                    "explicit padding ({before}, {after}) must be smaller than the window {kernel} on each side"
                ),
            ));
        }
        if input == 0 {
            return Err(TensorError::invalid(op, "cannot pool an empty axis"));
        }
        // PyTorch's formula: floor((padded - kernel [+ stride - 1 in ceil mode]) / stride) + 1,
        // which in ceil mode also accepts a window larger than the padded input.
        let padded = (input + before + after) as isize;
        let (k, s) = (kernel as isize, stride as isize);
        let extra = if self.ceil_mode { s - 1 } else { 0 };
        let mut out = (padded - k + extra).div_euclid(s) + 1;
        // The last window must start inside the input or the leading padding.
        if self.ceil_mode && out > 0 && (out - 1) * s >= (input + before) as isize {
            out -= 1;
        }
        if out < 1 {
            return Err(TensorError::invalid(
                op,
                format!(
                    "input length {input} with padding ({before}, {after}) is smaller than the window {kernel}"
                ),
            ));
        }
        let out = out as usize;
        Ok((out, before))
    }
}

/// Per output row and per output column, the [start, end) of real input cells it covers.
type Spans = (Vec<(usize, usize)>, Vec<(usize, usize)>);

#[derive(Debug, Clone, Copy)]
struct Windows {
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    oh: usize,
    ow: usize,
    top: usize,
    left: usize,
    spec: Pool2dSpec,
}

impl Windows {
    fn new(op: &'static str, shape: &[usize], spec: &Pool2dSpec) -> Result<Windows> {
        if shape.len() != 4 {
            return Err(TensorError::invalid(
                op,
                format!("expects input (n, h, w, c), got {shape:?}"),
            ));
        }
        let (oh, top) = spec.output_size(op, 0, shape[1])?;
        let (ow, left) = spec.output_size(op, 1, shape[2])?;
        Ok(Windows {
            n: shape[0],
            h: shape[1],
            w: shape[2],
            c: shape[3],
            oh,
            ow,
            top,
            left,
            spec: *spec,
        })
    }

    /// Real (unpadded) input rows and columns covered by window (oy, ox).
    fn bounds(&self, oy: usize, ox: usize) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
        let y0 = (oy * self.spec.strides.0) as isize - self.top as isize;
        let x0 = (ox * self.spec.strides.1) as isize - self.left as isize;
        let ys = y0.max(0) as usize
            ..((y0 + self.spec.pool_size.0 as isize).min(self.h as isize)).max(0) as usize;
        let xs = x0.max(0) as usize
            ..((x0 + self.spec.pool_size.1 as isize).min(self.w as isize)).max(0) as usize;
        (ys, xs)
    }

    /// The real input rows of every output row and the real columns of every output column,
    /// computed once per call instead of once per window.
    fn spans(&self) -> Spans {
        let rows = (0..self.oh).map(|oy| {
            let r = self.bounds(oy, 0).0;
            (r.start, r.end)
        });
        let cols = (0..self.ow).map(|ox| {
            let c = self.bounds(0, ox).1;
            (c.start, c.end)
        });
        (rows.collect(), cols.collect())
    }

    fn out_shape(&self) -> Vec<usize> {
        vec![self.n, self.oh, self.ow, self.c]
    }
}

/// Max pooling forward. Also returns, for every output cell, the flat input index that won
/// (first maximum in row-major window order), which the backward pass routes gradient to.
pub fn max_pool2d(x: &Tensor, spec: &Pool2dSpec) -> Result<(Tensor, Vec<u32>)> {
    let g = Windows::new("max_pool2d", x.shape(), spec)?;
    if x.numel() > u32::MAX as usize {
        return Err(TensorError::invalid(
            "max_pool2d",
            "input has more than 2^32 elements",
        ));
    }
    let xs = x.as_slice();
    let spans = g.spans();
    let img = g.oh * g.ow * g.c;
    let mut out = crate::buffer::zeroed(g.n * img);
    let mut arg = vec![0u32; out.len()];
    if img > 0 {
        // A compile-time channel count lets the compiler unroll the per-cell channel loop
        // into branch-free vector code; other counts take the generic loop.
        let kernel = match g.c {
            1 => max_pool_image::<1>,
            2 => max_pool_image::<2>,
            3 => max_pool_image::<3>,
            4 => max_pool_image::<4>,
            6 => max_pool_image::<6>,
            8 => max_pool_image::<8>,
            16 => max_pool_image::<16>,
            32 => max_pool_image::<32>,
            64 => max_pool_image::<64>,
            _ => max_pool_image::<0>,
        };
        out.par_chunks_mut(img)
            .zip(arg.par_chunks_mut(img))
            .enumerate()
            .for_each(|(b, (o_img, a_img))| kernel(&g, &spans, xs, b, o_img, a_img));
    }
    Ok((Tensor::from_parts(g.out_shape(), out), arg))
}

/// Max pooling of image `b`; `C` is the channel count, or 0 for "read it from `g`".
fn max_pool_image<const C: usize>(
    g: &Windows,
    spans: &Spans,
    xs: &[f32],
    b: usize,
    o_img: &mut [f32],
    a_img: &mut [u32],
) {
    let image = b * g.h * g.w * g.c;
    // NaN must win a window (as in PyTorch), but testing for it in the inner loop defeats the
    // branch-free update; only images that contain a NaN pay for it.
    if crate::elementwise::sum_lanes(&xs[image..image + g.h * g.w * g.c]).is_nan() {
        max_pool_windows::<C, true>(g, spans, xs, image, o_img, a_img)
    } else {
        max_pool_windows::<C, false>(g, spans, xs, image, o_img, a_img)
    }
}

fn max_pool_windows<const C: usize, const NAN: bool>(
    g: &Windows,
    (rows, cols): &Spans,
    xs: &[f32],
    image: usize,
    o_img: &mut [f32],
    a_img: &mut [u32],
) {
    let c = if C == 0 { g.c } else { C };
    for (oy, &(y0, y1)) in rows.iter().enumerate() {
        for (ox, &(x0, x1)) in cols.iter().enumerate() {
            let at = (oy * g.ow + ox) * c;
            let (o, a) = (&mut o_img[at..at + c], &mut a_img[at..at + c]);
            // The window's first real cell seeds the running maximum.
            let first = image + (y0 * g.w + x0) * c;
            for ch in 0..c {
                o[ch] = xs[first + ch];
                a[ch] = (first + ch) as u32;
            }
            for iy in y0..y1 {
                for ix in x0..x1 {
                    let base = image + (iy * g.w + ix) * c;
                    let cell = &xs[base..base + c];
                    for ch in 0..c {
                        let v = cell[ch];
                        if NAN {
                            if v > o[ch] || v.is_nan() {
                                o[ch] = v;
                                a[ch] = (base + ch) as u32;
                            }
                        } else {
                            // Which cell wins is data-dependent: a bit-mask update instead of
                            // a branch is several times faster on real data.
                            let mask = ((v > o[ch]) as u32).wrapping_neg();
                            a[ch] = (a[ch] & !mask) | ((base + ch) as u32 & mask);
                            o[ch] =
                                f32::from_bits((o[ch].to_bits() & !mask) | (v.to_bits() & mask));
                        }
                    }
                }
            }
        }
    }
}

/// Max pooling backward: each output gradient goes to the input cell that won its window.
pub fn max_pool2d_backward(input_shape: &[usize], argmax: &[u32], dy: &Tensor) -> Result<Tensor> {
    if argmax.len() != dy.numel() {
        return Err(TensorError::invalid(
            "max_pool2d_backward",
            "argmax and gradient sizes differ",
        ));
    }
    let mut dx = crate::buffer::zeroed(input_shape.iter().product());
    for (&i, &g) in argmax.iter().zip(dy.as_slice()) {
        dx[i as usize] += g;
    }
    Ok(Tensor::from_parts(input_shape.to_vec(), dx))
}

/// Average pooling forward; each window's divisor counts only real (unpadded) cells.
pub fn avg_pool2d(x: &Tensor, spec: &Pool2dSpec) -> Result<Tensor> {
    let g = Windows::new("avg_pool2d", x.shape(), spec)?;
    let xs = x.as_slice();
    let (rows, cols) = g.spans();
    let c = g.c;
    let img = g.oh * g.ow * c;
    let mut out = crate::buffer::zeroed(g.n * img);
    if img > 0 {
        out.par_chunks_mut(img).enumerate().for_each(|(b, o_img)| {
            let image = b * g.h * g.w * c;
            for (oy, &(y0, y1)) in rows.iter().enumerate() {
                for (ox, &(x0, x1)) in cols.iter().enumerate() {
                    let scale = 1.0 / ((y1 - y0) * (x1 - x0)).max(1) as f32;
                    let o = &mut o_img[(oy * g.ow + ox) * c..][..c];
                    for iy in y0..y1 {
                        for ix in x0..x1 {
                            let base = image + (iy * g.w + ix) * c;
                            o.iter_mut()
                                .zip(&xs[base..base + c])
                                .for_each(|(d, v)| *d += v);
                        }
                    }
                    o.iter_mut().for_each(|d| *d *= scale);
                }
            }
        });
    }
    Ok(Tensor::from_parts(g.out_shape(), out))
}

/// Average pooling backward: each output gradient is shared equally by its window's real cells.
pub fn avg_pool2d_backward(
    input_shape: &[usize],
    dy: &Tensor,
    spec: &Pool2dSpec,
) -> Result<Tensor> {
    let g = Windows::new("avg_pool2d_backward", input_shape, spec)?;
    if dy.shape() != g.out_shape() {
        return Err(TensorError::mismatch(
            "avg_pool2d_backward",
            &g.out_shape(),
            dy.shape(),
            "wrong gradient shape",
        ));
    }
    let dys = dy.as_slice();
    let img = g.h * g.w * g.c;
    let mut dx = crate::buffer::zeroed(g.n * img);
    if img > 0 {
        // Windows overlap inside an image, so parallelize over images only.
        dx.par_chunks_mut(img).enumerate().for_each(|(b, d)| {
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    let (ys, xr) = g.bounds(oy, ox);
                    let scale = 1.0 / (ys.len() * xr.len()).max(1) as f32;
                    let src = &dys[((b * g.oh + oy) * g.ow + ox) * g.c..][..g.c];
                    for iy in ys.clone() {
                        for ix in xr.clone() {
                            let base = (iy * g.w + ix) * g.c;
                            d[base..base + g.c]
                                .iter_mut()
                                .zip(src)
                                .for_each(|(d, v)| *d += v * scale);
                        }
                    }
                }
            }
        });
    }
    Ok(Tensor::from_parts(input_shape.to_vec(), dx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_pool_same_padding_never_picks_padding() {
        let x = Tensor::from_vec(
            [1, 3, 3, 1],
            vec![-5., -4., -3., -2., -1., -6., -7., -8., -9.],
        )
        .unwrap();
        let spec = Pool2dSpec {
            pool_size: (2, 2),
            strides: (2, 2),
            padding: Padding::Same,
            explicit_padding: None,
            ceil_mode: false,
        };
        let (y, arg) = max_pool2d(&x, &spec).unwrap();
        assert_eq!(y.shape(), &[1, 2, 2, 1]);
        assert_eq!(y.to_vec(), vec![-1., -3., -7., -9.]);
        assert_eq!(arg, vec![4, 2, 6, 8]);
    }

    #[test]
    fn average_pool_same_padding_excludes_padded_cells() {
        let x = Tensor::from_vec([1, 3, 3, 1], (1..=9).map(|v| v as f32).collect()).unwrap();
        let spec = Pool2dSpec {
            pool_size: (2, 2),
            strides: (2, 2),
            padding: Padding::Same,
            explicit_padding: None,
            ceil_mode: false,
        };
        let y = avg_pool2d(&x, &spec).unwrap();
        // Windows: {1,2,4,5}, {3,6}, {7,8}, {9}.
        assert_eq!(y.to_vec(), vec![3.0, 4.5, 7.5, 9.0]);
        let dx = avg_pool2d_backward(x.shape(), &Tensor::ones([1, 2, 2, 1]), &spec).unwrap();
        assert_eq!(
            dx.to_vec(),
            vec![0.25, 0.25, 0.5, 0.25, 0.25, 0.5, 0.5, 0.5, 1.0]
        );
    }
}
