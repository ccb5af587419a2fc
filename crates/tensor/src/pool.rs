//! 1-, 2- and 3-D max and average pooling, channels-last, forward and backward: one kernel.
//!
//! Inputs are (n, [d,] [h,] w, c); fewer spatial axes are the 3-D case with leading axes of
//! length 1 and window 1, so 1-D, 2-D and 3-D pooling run the same loops.
//! Padding follows Keras: "same" pads so the output is ceil(in / stride) with the extra cell
//! at the end of each axis; padded cells never win a max and are not counted by an average.
//! PyTorch's explicit per-side padding and `ceil_mode` are available too (`explicit_padding`,
//! `ceil_mode`), so that torchvision's poolings can be reproduced exactly.

use crate::conv::{output_size, Padding};
use crate::{Result, Tensor, TensorError};
use rayon::prelude::*;

/// Spatial axes the kernel works on; lower ranks get leading axes of length 1.
const AXES: usize = 3;

/// Window, strides and padding of a pooling over 1, 2 or 3 spatial axes: one entry per
/// spatial axis, in (depth, height, width) order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSpec {
    pub pool_size: Vec<usize>,
    pub strides: Vec<usize>,
    pub padding: Padding,
    /// PyTorch-style explicit (before, after) padding per axis, used instead of `padding`
    /// when set. Each side must be smaller than the window, so that every window holds at
    /// least one real cell.
    pub explicit_padding: Option<Vec<(usize, usize)>>,
    /// PyTorch's `ceil_mode`: the output length rounds up, keeping a last partial window when
    /// it starts inside the input or the leading padding (one starting in the trailing
    /// padding is dropped). Only with valid or explicit padding.
    pub ceil_mode: bool,
}

impl PoolSpec {
    /// Keras default: strides equal to the pool size, valid padding.
    pub fn new(pool_size: &[usize]) -> Self {
        PoolSpec {
            pool_size: pool_size.to_vec(),
            strides: pool_size.to_vec(),
            padding: Padding::Valid,
            explicit_padding: None,
            ceil_mode: false,
        }
    }

    pub fn with_strides(mut self, strides: &[usize]) -> Self {
        self.strides = strides.to_vec();
        self
    }

    pub fn with_padding(mut self, padding: Padding) -> Self {
        self.padding = padding;
        self
    }

    /// Number of spatial axes.
    pub fn rank(&self) -> usize {
        self.pool_size.len()
    }

    /// Output length and leading padding of spatial axis `axis` for an input of length
    /// `input`.
    pub fn output_size(
        &self,
        op: &'static str,
        axis: usize,
        input: usize,
    ) -> Result<(usize, usize)> {
        let (Some(&kernel), Some(&stride)) = (self.pool_size.get(axis), self.strides.get(axis))
        else {
            return Err(TensorError::invalid(
                op,
                format!(
                    "axis {axis} has no pool size or stride (pool_size {:?}, strides {:?})",
                    self.pool_size, self.strides
                ),
            ));
        };
        let pads = match &self.explicit_padding {
            None => None,
            Some(p) => Some(*p.get(axis).ok_or_else(|| {
                TensorError::invalid(op, format!("explicit padding has no entry for axis {axis}"))
            })?),
        };
        axis_output_size(
            op,
            input,
            kernel,
            stride,
            pads,
            self.padding,
            self.ceil_mode,
        )
    }

    /// Checks that every per-axis list has one entry per spatial axis, 1 to 3 of them.
    fn check_rank(&self, op: &'static str) -> Result<()> {
        let rank = self.rank();
        let pads_fit = self
            .explicit_padding
            .as_ref()
            .is_none_or(|p| p.len() == rank);
        if !(1..=AXES).contains(&rank) || self.strides.len() != rank || !pads_fit {
            return Err(TensorError::invalid(
                op,
                format!(
                    "pool_size {:?}, strides {:?} and explicit padding {:?} must each have one \
                     entry per spatial axis (1 to 3)",
                    self.pool_size, self.strides, self.explicit_padding
                ),
            ));
        }
        Ok(())
    }
}

/// Output length and leading padding of one axis: Keras's valid/same through `output_size`,
/// or PyTorch's formula for explicit padding and `ceil_mode`.
fn axis_output_size(
    op: &'static str,
    input: usize,
    kernel: usize,
    stride: usize,
    pads: Option<(usize, usize)>,
    padding: Padding,
    ceil_mode: bool,
) -> Result<(usize, usize)> {
    let (before, after) = match (pads, padding, ceil_mode) {
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
    let extra = if ceil_mode { s - 1 } else { 0 };
    let mut out = (padded - k + extra).div_euclid(s) + 1;
    // The last window must start inside the input or the leading padding.
    if ceil_mode && out > 0 && (out - 1) * s >= (input + before) as isize {
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
    Ok((out as usize, before))
}

/// Window, strides and padding of a 2-D pooling: the (height, width) case of `PoolSpec`,
/// kept for the 2-D layers and callers that name two axes as tuples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool2dSpec {
    pub pool_size: (usize, usize),
    pub strides: (usize, usize),
    pub padding: Padding,
    /// PyTorch-style explicit ((top, bottom), (left, right)) padding, used instead of
    /// `padding` when set. Each side must be smaller than the window, so that every window
    /// holds at least one real cell.
    pub explicit_padding: Option<((usize, usize), (usize, usize))>,
    /// PyTorch's `ceil_mode` (see `PoolSpec::ceil_mode`). Only with valid or explicit padding.
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
        let pick = |(rows, cols): (usize, usize)| if axis == 0 { rows } else { cols };
        axis_output_size(
            op,
            input,
            pick(self.pool_size),
            pick(self.strides),
            self.explicit_padding
                .map(|(rows, cols)| if axis == 0 { rows } else { cols }),
            self.padding,
            self.ceil_mode,
        )
    }
}

impl From<Pool2dSpec> for PoolSpec {
    fn from(s: Pool2dSpec) -> PoolSpec {
        PoolSpec {
            pool_size: vec![s.pool_size.0, s.pool_size.1],
            strides: vec![s.strides.0, s.strides.1],
            padding: s.padding,
            explicit_padding: s.explicit_padding.map(|(rows, cols)| vec![rows, cols]),
            ceil_mode: s.ceil_mode,
        }
    }
}

/// Every size the kernels need, resolved once per call: the input as (n, d, h, w, c) with
/// leading spatial axes of length 1 for 1-D and 2-D pooling, and per axis the [start, end)
/// of the real input cells each output position's window covers, so the inner loops only
/// add and multiply.
#[derive(Debug, Clone)]
struct Windows {
    n: usize,
    /// Input lengths of the three spatial axes.
    dims: [usize; AXES],
    c: usize,
    /// Per axis and output position, the real input range of its window.
    spans: [Vec<(usize, usize)>; AXES],
    /// Spatial axes of the caller's tensors (1 to 3).
    rank: usize,
}

impl Windows {
    fn new(op: &'static str, shape: &[usize], spec: &PoolSpec) -> Result<Windows> {
        spec.check_rank(op)?;
        let rank = spec.rank();
        if shape.len() != rank + 2 {
            let axes = ["(n, w, c)", "(n, h, w, c)", "(n, d, h, w, c)"][rank - 1];
            return Err(TensorError::invalid(
                op,
                format!("a {rank}-D pooling expects input {axes}, got {shape:?}"),
            ));
        }
        let lead = AXES - rank;
        let mut dims = [1; AXES];
        let mut spans: [Vec<(usize, usize)>; AXES] = [vec![(0, 1)], vec![(0, 1)], vec![(0, 1)]];
        for axis in 0..rank {
            let len = shape[axis + 1];
            let (out, before) = spec.output_size(op, axis, len)?;
            let (k, s) = (spec.pool_size[axis], spec.strides[axis]);
            dims[lead + axis] = len;
            spans[lead + axis] = (0..out)
                .map(|o| {
                    let start = (o * s) as isize - before as isize;
                    let end = (start + k as isize).min(len as isize).max(0) as usize;
                    (start.max(0) as usize, end)
                })
                .collect();
        }
        Ok(Windows {
            n: shape[0],
            dims,
            c: shape[rank + 1],
            spans,
            rank,
        })
    }

    /// Values in one input image.
    fn image_len(&self) -> usize {
        self.dims.iter().product::<usize>() * self.c
    }

    /// Values in one output image.
    fn out_image_len(&self) -> usize {
        self.spans.iter().map(Vec::len).product::<usize>() * self.c
    }

    /// (n, [od,] [oh,] ow, c), with as many spatial axes as the input.
    fn out_shape(&self) -> Vec<usize> {
        let mut shape = vec![self.n];
        shape.extend(self.spans[AXES - self.rank..].iter().map(Vec::len));
        shape.push(self.c);
        shape
    }

    /// Calls `visit(output cell, window)` for every output cell of an image, in order.
    #[inline]
    fn for_each_window(&self, mut visit: impl FnMut(usize, Window)) {
        let mut at = 0;
        for &z in &self.spans[0] {
            for &y in &self.spans[1] {
                for &x in &self.spans[2] {
                    visit(at, Window { z, y, x });
                    at += 1;
                }
            }
        }
    }
}

/// The real input cells of one window: [start, end) along depth, height and width.
#[derive(Debug, Clone, Copy)]
struct Window {
    z: (usize, usize),
    y: (usize, usize),
    x: (usize, usize),
}

impl Window {
    /// Real cells in the window, the divisor of a Keras average.
    fn count(&self) -> usize {
        (self.z.1 - self.z.0) * (self.y.1 - self.y.0) * (self.x.1 - self.x.0)
    }

    /// The window's first real cell within an image of spatial size (_, h, w).
    fn first(&self, [_, h, w]: [usize; AXES]) -> usize {
        (self.z.0 * h + self.y.0) * w + self.x.0
    }

    /// Calls `visit(first cell, cells)` for each run of the window along the width axis (in
    /// channels-last memory `cells · c` contiguous values); cells count within an image of
    /// spatial size (_, h, w).
    #[inline]
    fn runs(&self, [_, h, w]: [usize; AXES], mut visit: impl FnMut(usize, usize)) {
        for iz in self.z.0..self.z.1 {
            for iy in self.y.0..self.y.1 {
                visit((iz * h + iy) * w + self.x.0, self.x.1 - self.x.0);
            }
        }
    }
}

/// Max pooling forward over 1, 2 or 3 spatial axes. Also returns, for every output cell, the
/// flat input index that won (first maximum in row-major window order), which the backward
/// pass routes gradient to.
pub fn max_pool(x: &Tensor, spec: &PoolSpec) -> Result<(Tensor, Vec<u32>)> {
    let g = Windows::new("max_pool", x.shape(), spec)?;
    if x.numel() > u32::MAX as usize {
        return Err(TensorError::invalid(
            "max_pool",
            "input has more than 2^32 elements",
        ));
    }
    let xs = x.as_slice();
    let img = g.out_image_len();
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
            .for_each(|(b, (o_img, a_img))| kernel(&g, xs, b, o_img, a_img));
    }
    Ok((Tensor::from_parts(g.out_shape(), out), arg))
}

/// `max_pool` with a 2-D spec.
pub fn max_pool2d(x: &Tensor, spec: &Pool2dSpec) -> Result<(Tensor, Vec<u32>)> {
    max_pool(x, &PoolSpec::from(*spec))
}

/// Max pooling of image `b`; `C` is the channel count, or 0 for "read it from `g`".
fn max_pool_image<const C: usize>(
    g: &Windows,
    xs: &[f32],
    b: usize,
    o_img: &mut [f32],
    a_img: &mut [u32],
) {
    let image = b * g.image_len();
    // NaN must win a window (as in PyTorch), but testing for it in the inner loop defeats the
    // branch-free update; only images that contain a NaN pay for it.
    if crate::elementwise::sum_lanes(&xs[image..image + g.image_len()]).is_nan() {
        max_pool_windows::<C, true>(g, xs, image, o_img, a_img)
    } else {
        max_pool_windows::<C, false>(g, xs, image, o_img, a_img)
    }
}

fn max_pool_windows<const C: usize, const NAN: bool>(
    g: &Windows,
    xs: &[f32],
    image: usize,
    o_img: &mut [f32],
    a_img: &mut [u32],
) {
    let c = if C == 0 { g.c } else { C };
    g.for_each_window(|at, window| {
        let (o, a) = (&mut o_img[at * c..][..c], &mut a_img[at * c..][..c]);
        // The window's first real cell (every window holds one) seeds the running maximum.
        let seed = image + window.first(g.dims) * c;
        for ch in 0..c {
            o[ch] = xs[seed + ch];
            a[ch] = (seed + ch) as u32;
        }
        window.runs(g.dims, |first, cells| {
            for cell in 0..cells {
                let base = image + (first + cell) * c;
                let values = &xs[base..base + c];
                for ch in 0..c {
                    let v = values[ch];
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
                        o[ch] = f32::from_bits((o[ch].to_bits() & !mask) | (v.to_bits() & mask));
                    }
                }
            }
        });
    });
}

/// Max pooling backward: each output gradient goes to the input cell that won its window.
pub fn max_pool_backward(input_shape: &[usize], argmax: &[u32], dy: &Tensor) -> Result<Tensor> {
    if argmax.len() != dy.numel() {
        return Err(TensorError::invalid(
            "max_pool_backward",
            "argmax and gradient sizes differ",
        ));
    }
    let mut dx = crate::buffer::zeroed(input_shape.iter().product());
    for (&i, &g) in argmax.iter().zip(dy.as_slice()) {
        let Some(d) = dx.get_mut(i as usize) else {
            return Err(TensorError::invalid(
                "max_pool_backward",
                format!("argmax index {i} is outside the input shape {input_shape:?}"),
            ));
        };
        *d += g;
    }
    Ok(Tensor::from_parts(input_shape.to_vec(), dx))
}

/// `max_pool_backward` under its 2-D name.
pub fn max_pool2d_backward(input_shape: &[usize], argmax: &[u32], dy: &Tensor) -> Result<Tensor> {
    max_pool_backward(input_shape, argmax, dy)
}

/// Average pooling forward over 1, 2 or 3 spatial axes; each window's divisor counts only
/// real (unpadded) cells, as Keras does with "same" padding.
pub fn avg_pool(x: &Tensor, spec: &PoolSpec) -> Result<Tensor> {
    let g = Windows::new("avg_pool", x.shape(), spec)?;
    let xs = x.as_slice();
    let c = g.c;
    let img = g.out_image_len();
    let mut out = crate::buffer::zeroed(g.n * img);
    if img > 0 {
        out.par_chunks_mut(img).enumerate().for_each(|(b, o_img)| {
            let image = b * g.image_len();
            g.for_each_window(|at, window| {
                let scale = 1.0 / window.count().max(1) as f32;
                let o = &mut o_img[at * c..][..c];
                window.runs(g.dims, |first, cells| {
                    let run = &xs[image + first * c..][..cells * c];
                    for values in run.chunks_exact(c) {
                        o.iter_mut().zip(values).for_each(|(d, v)| *d += v);
                    }
                });
                o.iter_mut().for_each(|d| *d *= scale);
            });
        });
    }
    Ok(Tensor::from_parts(g.out_shape(), out))
}

/// `avg_pool` with a 2-D spec.
pub fn avg_pool2d(x: &Tensor, spec: &Pool2dSpec) -> Result<Tensor> {
    avg_pool(x, &PoolSpec::from(*spec))
}

/// Average pooling backward: each output gradient is shared equally by its window's real
/// cells.
pub fn avg_pool_backward(input_shape: &[usize], dy: &Tensor, spec: &PoolSpec) -> Result<Tensor> {
    let g = Windows::new("avg_pool_backward", input_shape, spec)?;
    if dy.shape() != g.out_shape() {
        return Err(TensorError::mismatch(
            "avg_pool_backward",
            &g.out_shape(),
            dy.shape(),
            "wrong gradient shape",
        ));
    }
    let dys = dy.as_slice();
    let (c, img, out_img) = (g.c, g.image_len(), g.out_image_len());
    let mut dx = crate::buffer::zeroed(g.n * img);
    if img > 0 && out_img > 0 {
        // Windows overlap inside an image, so parallelize over images only.
        dx.par_chunks_mut(img).enumerate().for_each(|(b, d)| {
            let dy_img = &dys[b * out_img..][..out_img];
            g.for_each_window(|at, window| {
                let scale = 1.0 / window.count().max(1) as f32;
                let src = &dy_img[at * c..][..c];
                window.runs(g.dims, |first, cells| {
                    for cell in d[first * c..][..cells * c].chunks_exact_mut(c) {
                        cell.iter_mut().zip(src).for_each(|(d, v)| *d += v * scale);
                    }
                });
            });
        });
    }
    Ok(Tensor::from_parts(input_shape.to_vec(), dx))
}

/// `avg_pool_backward` with a 2-D spec.
pub fn avg_pool2d_backward(
    input_shape: &[usize],
    dy: &Tensor,
    spec: &Pool2dSpec,
) -> Result<Tensor> {
    avg_pool_backward(input_shape, dy, &PoolSpec::from(*spec))
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

    /// Direct-loop pooling over any number of spatial axes, straight from the definition:
    /// window o along an axis covers input cells o·stride - before + 0..pool, padded cells
    /// skipped. Returns the max and its first arg (row-major), the average over real cells,
    /// and the input gradients of Σ max·dy and Σ avg·dy.
    fn reference(x: &Tensor, spec: &PoolSpec, dy_seed: f32) -> Reference {
        let shape = x.shape();
        let rank = spec.pool_size.len();
        let (n, c) = (shape[0], shape[rank + 1]);
        let dims = &shape[1..=rank];
        let axes: Vec<(usize, usize)> = (0..rank)
            .map(|a| {
                let (out, before, _) = output_size(
                    "reference",
                    dims[a],
                    spec.pool_size[a],
                    spec.strides[a],
                    1,
                    spec.padding,
                )
                .unwrap();
                (out, before)
            })
            .collect();
        let outs: Vec<usize> = axes.iter().map(|a| a.0).collect();
        let mut out_shape = vec![n];
        out_shape.extend(&outs);
        out_shape.push(c);
        let out_cells: usize = outs.iter().product();
        let window_cells: usize = spec.pool_size.iter().product();
        let in_cells: usize = dims.iter().product();
        let xs = x.as_slice();
        let (mut max, mut arg, mut avg) = (vec![], vec![], vec![]);
        let (mut dmax, mut davg) = (vec![0.0; xs.len()], vec![0.0; xs.len()]);
        let mut k = 0;
        for b in 0..n {
            for o in 0..out_cells {
                // Unravel output cell o and window offset t (row-major) per axis.
                let unravel = |mut i: usize, sizes: &[usize]| {
                    let mut idx = vec![0; sizes.len()];
                    for a in (0..sizes.len()).rev() {
                        idx[a] = i % sizes[a];
                        i /= sizes[a];
                    }
                    idx
                };
                let oi = unravel(o, &outs);
                let real: Vec<usize> = (0..window_cells)
                    .filter_map(|t| {
                        let ti = unravel(t, &spec.pool_size);
                        let mut flat = 0;
                        for a in 0..rank {
                            let i = (oi[a] * spec.strides[a] + ti[a]) as isize - axes[a].1 as isize;
                            if i < 0 || i >= dims[a] as isize {
                                return None;
                            }
                            flat = flat * dims[a] + i as usize;
                        }
                        Some(flat)
                    })
                    .collect();
                for ch in 0..c {
                    let at = |cell: usize| (b * in_cells + cell) * c + ch;
                    let best = real
                        .iter()
                        .map(|&cell| at(cell))
                        .fold(None, |best: Option<usize>, i| match best {
                            Some(j) if xs[j] >= xs[i] => Some(j),
                            _ => Some(i),
                        })
                        .unwrap();
                    let mean =
                        real.iter().map(|&cell| xs[at(cell)]).sum::<f32>() / real.len() as f32;
                    let dy = dy_seed * ((k * 7 % 11) as f32 - 5.0);
                    k += 1;
                    max.push(xs[best]);
                    arg.push(best as u32);
                    avg.push(mean);
                    dmax[best] += dy;
                    for &cell in &real {
                        davg[at(cell)] += dy / real.len() as f32;
                    }
                }
            }
        }
        Reference {
            out_shape,
            max,
            arg,
            avg,
            dmax,
            davg,
        }
    }

    /// What `reference` computes: output shape, max and its arg, average, and the input
    /// gradients of the max and of the average.
    struct Reference {
        out_shape: Vec<usize>,
        max: Vec<f32>,
        arg: Vec<u32>,
        avg: Vec<f32>,
        dmax: Vec<f32>,
        davg: Vec<f32>,
    }

    /// (input shape, pool size, strides, padding).
    type Case = (
        &'static [usize],
        &'static [usize],
        &'static [usize],
        Padding,
    );

    fn assert_close(got: &[f32], want: &[f32], what: &str) {
        assert_eq!(got.len(), want.len(), "{what}");
        for (i, (a, b)) in got.iter().zip(want).enumerate() {
            assert!(
                (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
                "{what}[{i}]: {a} vs {b}"
            );
        }
    }

    #[test]
    fn one_kernel_agrees_with_direct_loops_in_1d_2d_and_3d_forward_and_backward() {
        use Padding::{Same, Valid};
        let cases: [Case; 12] = [
            // 1-D: (n, w, c).
            (&[2, 9, 3], &[2], &[2], Valid),
            (&[2, 9, 3], &[3], &[2], Same),
            (&[1, 10, 5], &[2], &[3], Same),
            (&[2, 8, 1], &[4], &[1], Valid),
            // 2-D: (n, h, w, c), channel counts on and off the unrolled list.
            (&[2, 7, 6, 4], &[3, 2], &[2, 1], Same),
            (&[1, 8, 9, 5], &[2, 3], &[3, 2], Valid),
            (&[2, 5, 5, 16], &[3, 3], &[2, 2], Same),
            (&[1, 6, 7, 2], &[2, 2], &[1, 3], Same),
            // 3-D: (n, d, h, w, c).
            (&[2, 5, 6, 7, 3], &[2, 2, 2], &[2, 2, 2], Valid),
            (&[1, 5, 6, 7, 2], &[3, 2, 3], &[2, 1, 2], Same),
            (&[2, 4, 5, 3, 8], &[2, 3, 2], &[3, 2, 1], Same),
            (&[1, 6, 4, 5, 1], &[3, 1, 2], &[1, 2, 3], Valid),
        ];
        for (shape, pool, strides, padding) in cases {
            let n: usize = shape.iter().product();
            // Distinct values in a scrambled order, so every window has one maximum.
            let x = Tensor::from_vec(
                shape.to_vec(),
                (0..n).map(|i| ((i * 37) % n) as f32 * 0.1 - 3.0).collect(),
            )
            .unwrap();
            let spec = PoolSpec::new(pool)
                .with_strides(strides)
                .with_padding(padding);
            let what = format!("{shape:?} pool {pool:?} strides {strides:?} {padding:?}");
            let Reference {
                out_shape,
                max,
                arg,
                avg,
                dmax,
                davg,
            } = reference(&x, &spec, 0.3);
            let (y, got_arg) = max_pool(&x, &spec).unwrap();
            assert_eq!(y.shape(), &out_shape[..], "max shape {what}");
            assert_close(y.as_slice(), &max, &format!("max {what}"));
            assert_eq!(got_arg, arg, "argmax {what}");
            let dy_values: Vec<f32> = (0..y.numel())
                .map(|k| 0.3 * ((k * 7 % 11) as f32 - 5.0))
                .collect();
            let dy = Tensor::from_vec(out_shape.clone(), dy_values).unwrap();
            let dx = max_pool_backward(shape, &got_arg, &dy).unwrap();
            assert_close(dx.as_slice(), &dmax, &format!("max backward {what}"));
            let y = avg_pool(&x, &spec).unwrap();
            assert_eq!(y.shape(), &out_shape[..], "avg shape {what}");
            assert_close(y.as_slice(), &avg, &format!("avg {what}"));
            let dx = avg_pool_backward(shape, &dy, &spec).unwrap();
            assert_close(dx.as_slice(), &davg, &format!("avg backward {what}"));
        }
    }

    #[test]
    fn the_2d_entry_points_are_the_two_axis_case_of_the_one_kernel() {
        let x = Tensor::from_vec(
            [2, 5, 6, 3],
            (0..180).map(|i| ((i * 37) % 180) as f32).collect(),
        )
        .unwrap();
        let spec2 = Pool2dSpec {
            pool_size: (3, 2),
            strides: (2, 2),
            padding: Padding::Same,
            explicit_padding: None,
            ceil_mode: false,
        };
        let spec = PoolSpec::from(spec2);
        let (a, arg_a) = max_pool2d(&x, &spec2).unwrap();
        let (b, arg_b) = max_pool(&x, &spec).unwrap();
        assert_eq!((a.as_slice(), arg_a), (b.as_slice(), arg_b));
        assert_eq!(
            avg_pool2d(&x, &spec2).unwrap().as_slice(),
            avg_pool(&x, &spec).unwrap().as_slice()
        );
    }

    #[test]
    fn spec_and_input_rank_mismatch_is_an_error_naming_the_expected_layout() {
        let x = Tensor::zeros([1, 4, 4, 2]);
        let err = max_pool(&x, &PoolSpec::new(&[2, 2, 2])).unwrap_err();
        assert!(err.to_string().contains("(n, d, h, w, c)"), "{err}");
        let uneven = PoolSpec::new(&[2, 2]).with_strides(&[2]);
        assert!(avg_pool(&x, &uneven)
            .unwrap_err()
            .to_string()
            .contains("strides"));
        assert!(max_pool(&x, &PoolSpec::new(&[])).is_err());
        assert!(max_pool(&x, &PoolSpec::new(&[2, 2, 2, 2])).is_err());
    }
}
