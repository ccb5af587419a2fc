//! Batch-normalization kernels over one feature axis: batch statistics, the normalizing affine
//! map, and its backward pass through the batch statistics, each in one or two sweeps.
//!
//! An input is seen as (outer, channels, inner): `outer` counts everything before the feature
//! axis and `inner` everything after it, so channels-last (inner = 1) and channels-first
//! layouts share the code. Composing the same math from broadcasting ops costs about a dozen
//! full-size temporaries per layer; these kernels read the input two or three times instead.

use crate::shape::numel;
use crate::{Result, Tensor, TensorError};
use rayon::prelude::*;

/// Elements per parallel task: large enough that a task's per-channel partial sums are cheap
/// to combine, small enough that two threads share a 64×28×28×32 activation evenly.
const ELEMENTS_PER_TASK: usize = 1 << 16;

/// An input's layout around its feature axis.
#[derive(Debug, Clone, Copy)]
pub struct ChannelLayout {
    pub outer: usize,
    pub channels: usize,
    pub inner: usize,
}

impl ChannelLayout {
    /// The layout of `shape` with features on `axis` (already normalized to 0..rank).
    pub fn of(shape: &[usize], axis: usize) -> Result<ChannelLayout> {
        if axis >= shape.len() {
            return Err(TensorError::invalid(
                "batch_norm",
                format!("feature axis {axis} is out of range for shape {shape:?}"),
            ));
        }
        Ok(ChannelLayout {
            outer: numel(&shape[..axis]),
            channels: shape[axis],
            inner: numel(&shape[axis + 1..]),
        })
    }

    /// Values averaged per channel.
    pub fn count(&self) -> usize {
        self.outer * self.inner
    }

    fn block(&self) -> usize {
        self.channels * self.inner
    }

    /// Whole outer blocks per parallel task.
    fn blocks_per_task(&self) -> usize {
        (ELEMENTS_PER_TASK / self.block().max(1)).max(1)
    }
}

/// Up to four per-channel coefficients handed to a kernel's per-element closure. Kernels
/// index them with slices cut to the channel count, next to the data, so the channels-last
/// loops carry no bounds checks and vectorize (captured `Vec`s indexed inside the closure
/// kept them scalar).
type Coefficients<'a> = [&'a [f32]; 4];

/// Per-channel sums of `term(x, other, coefficients of the channel)` over every element;
/// `other` is a second array of the same layout (the upstream gradient) or empty when unused.
/// Tasks sum whole outer blocks and their partial sums are combined in task order, so results
/// do not depend on the thread count.
fn channel_sums<F>(
    layout: ChannelLayout,
    x: &[f32],
    other: &[f32],
    coefficients: Coefficients,
    term: F,
) -> Vec<f32>
where
    F: Fn(f32, f32, [f32; 4]) -> f32 + Sync,
{
    let (channels, inner) = (layout.channels, layout.inner);
    let block = layout.block();
    let span = layout.blocks_per_task() * block;
    let partial = |task: usize| -> Vec<f32> {
        let start = task * span;
        let end = (start + span).min(x.len());
        let xs = &x[start..end];
        let os = if other.is_empty() {
            xs
        } else {
            &other[start..end]
        };
        let mut acc = vec![0.0f32; channels];
        for (xb, ob) in xs.chunks_exact(block).zip(os.chunks_exact(block)) {
            if inner == 1 {
                // Channels-last: one row of `channels` values. Indexing slices cut to
                // `channels` lets the compiler drop the bounds checks and vectorize.
                let (acc, xb, ob) = (&mut acc[..channels], &xb[..channels], &ob[..channels]);
                let [p0, p1, p2, p3] = coefficients.map(|p| &p[..channels]);
                for c in 0..channels {
                    acc[c] += term(xb[c], ob[c], [p0[c], p1[c], p2[c], p3[c]]);
                }
            } else {
                for (c, (xr, or)) in xb
                    .chunks_exact(inner)
                    .zip(ob.chunks_exact(inner))
                    .enumerate()
                {
                    let p = coefficients.map(|p| p[c]);
                    acc[c] += xr.iter().zip(or).map(|(&v, &w)| term(v, w, p)).sum::<f32>();
                }
            }
        }
        acc
    };
    let tasks = x.len().div_ceil(span.max(1));
    let parts: Vec<Vec<f32>> = if tasks > 1 {
        (0..tasks).into_par_iter().map(partial).collect()
    } else if x.is_empty() {
        Vec::new()
    } else {
        vec![partial(0)]
    };
    let mut sums = vec![0.0f32; channels];
    for p in parts {
        sums.iter_mut().zip(p).for_each(|(s, v)| *s += v);
    }
    sums
}

/// Fills `out[i] = f(x[i], other[i], coefficients of i's channel)`, in parallel over whole
/// outer blocks.
fn channel_map<F>(
    layout: ChannelLayout,
    x: &[f32],
    other: &[f32],
    coefficients: Coefficients,
    f: F,
) -> Vec<f32>
where
    F: Fn(f32, f32, [f32; 4]) -> f32 + Sync,
{
    let (channels, inner) = (layout.channels, layout.inner);
    let block = layout.block();
    // Every value is written below; a pooled buffer avoids faulting in fresh pages.
    let mut out = crate::buffer::dirty(x.len());
    if block == 0 {
        return out;
    }
    let span = layout.blocks_per_task() * block;
    let fill = |(task, dst): (usize, &mut [f32])| {
        let start = task * span;
        let xs = &x[start..start + dst.len()];
        let os = if other.is_empty() {
            xs
        } else {
            &other[start..start + dst.len()]
        };
        for ((db, xb), ob) in dst
            .chunks_exact_mut(block)
            .zip(xs.chunks_exact(block))
            .zip(os.chunks_exact(block))
        {
            if inner == 1 {
                let (db, xb, ob) = (&mut db[..channels], &xb[..channels], &ob[..channels]);
                let [p0, p1, p2, p3] = coefficients.map(|p| &p[..channels]);
                for c in 0..channels {
                    db[c] = f(xb[c], ob[c], [p0[c], p1[c], p2[c], p3[c]]);
                }
            } else {
                let runs = db.chunks_exact_mut(inner).zip(xb.chunks_exact(inner));
                for (c, ((dr, xr), or)) in runs.zip(ob.chunks_exact(inner)).enumerate() {
                    let p = coefficients.map(|p| p[c]);
                    for ((d, &v), &w) in dr.iter_mut().zip(xr).zip(or) {
                        *d = f(v, w, p);
                    }
                }
            }
        }
    };
    if x.len() > span && channels > 0 {
        out.par_chunks_mut(span).enumerate().for_each(fill);
    } else {
        fill((0, &mut out));
    }
    out
}

/// The batch mean and biased variance of each channel. The variance is the mean squared
/// deviation from the mean (two passes), not E[x²] - E[x]², which cancels catastrophically
/// for inputs far from zero.
pub fn batch_statistics(x: &Tensor, layout: ChannelLayout) -> (Vec<f32>, Vec<f32>) {
    let n = layout.count().max(1) as f32;
    let xs = x.as_slice();
    let none = vec![0.0; layout.channels];
    let unused = [none.as_slice(); 4];
    let mean: Vec<f32> = channel_sums(layout, xs, &[], unused, |v, _, _| v)
        .into_iter()
        .map(|s| s / n)
        .collect();
    let with_mean = [mean.as_slice(), &none, &none, &none];
    let variance = channel_sums(layout, xs, &[], with_mean, |v, _, [m, ..]| {
        let d = v - m;
        d * d
    })
    .into_iter()
    .map(|s| s / n)
    .collect();
    (mean, variance)
}

/// y = (x - mean) · scale + shift per channel, where a caller passes scale = γ / √(var + ε)
/// and shift = β.
/// Every per-channel slice must hold `layout.channels` values.
pub fn normalize(
    x: &Tensor,
    layout: ChannelLayout,
    mean: &[f32],
    scale: &[f32],
    shift: &[f32],
) -> Tensor {
    let coefficients = [mean, scale, shift, shift];
    let y = channel_map(
        layout,
        x.as_slice(),
        &[],
        coefficients,
        |v, _, [m, a, b, _]| (v - m) * a + b,
    );
    Tensor::from_parts(x.shape().to_vec(), y)
}

/// Gradients of batch normalization with batch statistics, given the upstream gradient `g`.
/// With x̂ = (x - mean)·inv_std and N values per channel:
/// dβ = Σg, dγ = Σ g·x̂, and, because mean and variance depend on x,
/// dx = γ·inv_std · (g - Σg/N - x̂ · Σ(g·x̂)/N).
pub struct BatchNormGradients {
    pub x: Tensor,
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
}

pub fn batch_norm_backward(
    g: &Tensor,
    x: &Tensor,
    layout: ChannelLayout,
    mean: &[f32],
    inv_std: &[f32],
    gamma: &[f32],
) -> Result<BatchNormGradients> {
    if g.shape() != x.shape() {
        return Err(TensorError::mismatch(
            "batch_norm_backward",
            g.shape(),
            x.shape(),
            "the gradient must have the input's shape",
        ));
    }
    let (gs, xs) = (g.as_slice(), x.as_slice());
    let n = layout.count().max(1) as f32;
    let channels = layout.channels;
    let unused = [mean; 4];
    let sum_g = channel_sums(layout, gs, &[], unused, |v, _, _| v);
    // Σ g·(x - mean); times inv_std it is Σ g·x̂.
    let sum_g_centered = channel_sums(layout, gs, xs, unused, |gv, xv, [m, ..]| gv * (xv - m));
    let d_gamma: Vec<f32> = (0..channels)
        .map(|c| sum_g_centered[c] * inv_std[c])
        .collect();
    // dx = k·g - k·Σg/N - (x - mean) · k·inv_std·Σ(g·x̂)/N, with k = γ·inv_std.
    let k: Vec<f32> = (0..channels).map(|c| gamma[c] * inv_std[c]).collect();
    let offset: Vec<f32> = (0..channels).map(|c| k[c] * sum_g[c] / n).collect();
    let slope: Vec<f32> = (0..channels)
        .map(|c| k[c] * inv_std[c] * d_gamma[c] / n)
        .collect();
    let coefficients = [k.as_slice(), &offset, mean, &slope];
    let dx = channel_map(layout, gs, xs, coefficients, |gv, xv, [k, o, m, s]| {
        k * gv - o - (xv - m) * s
    });
    Ok(BatchNormGradients {
        x: Tensor::from_parts(x.shape().to_vec(), dx),
        gamma: d_gamma,
        beta: sum_g,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(shape: &[usize]) -> Tensor {
        let n = numel(shape);
        let v = (0..n)
            .map(|i| ((i * 37 % 23) as f32) * 0.25 - 2.0)
            .collect();
        Tensor::from_vec(shape.to_vec(), v).unwrap()
    }

    /// Straightforward per-channel loops in f64, the reference for both layouts.
    fn reference_statistics(x: &Tensor, axis: usize) -> (Vec<f64>, Vec<f64>) {
        let l = ChannelLayout::of(x.shape(), axis).unwrap();
        let xs = x.as_slice();
        let at = |o: usize, c: usize, i: usize| xs[(o * l.channels + c) * l.inner + i] as f64;
        let n = l.count() as f64;
        let mut mean = vec![0.0; l.channels];
        let mut var = vec![0.0; l.channels];
        for c in 0..l.channels {
            for o in 0..l.outer {
                for i in 0..l.inner {
                    mean[c] += at(o, c, i) / n;
                }
            }
            for o in 0..l.outer {
                for i in 0..l.inner {
                    var[c] += (at(o, c, i) - mean[c]).powi(2) / n;
                }
            }
        }
        (mean, var)
    }

    #[test]
    fn statistics_match_plain_loops_channels_last_and_first() {
        // The large shape spans several parallel tasks.
        for (shape, axis) in [
            (vec![5, 3, 4], 2),
            (vec![5, 3, 4], 1),
            (vec![64, 14, 14, 64], 3),
            (vec![6, 7], 1),
        ] {
            let x = ramp(&shape);
            let layout = ChannelLayout::of(&shape, axis).unwrap();
            let (mean, var) = batch_statistics(&x, layout);
            let (want_mean, want_var) = reference_statistics(&x, axis);
            for c in 0..layout.channels {
                assert!(
                    (mean[c] as f64 - want_mean[c]).abs() < 1e-4,
                    "{shape:?} mean"
                );
                assert!((var[c] as f64 - want_var[c]).abs() < 1e-4, "{shape:?} var");
            }
        }
    }

    #[test]
    fn backward_gradients_sum_to_zero_per_channel() {
        // Shifting every input of a channel leaves the normalized output unchanged, so the
        // input gradient of each channel sums to zero.
        let shape = [8, 5, 3];
        let x = ramp(&shape);
        let g = Tensor::from_vec(
            shape.to_vec(),
            (0..120).map(|i| ((i * 13 % 7) as f32) - 3.0).collect(),
        )
        .unwrap();
        let layout = ChannelLayout::of(&shape, 2).unwrap();
        let (mean, var) = batch_statistics(&x, layout);
        let inv_std: Vec<f32> = var.iter().map(|v| 1.0 / (v + 1e-3).sqrt()).collect();
        let grads = batch_norm_backward(&g, &x, layout, &mean, &inv_std, &[1.5, 0.5, 2.0]).unwrap();
        for c in 0..3 {
            let s: f32 = grads.x.as_slice().iter().skip(c).step_by(3).sum();
            assert!(s.abs() < 1e-4, "channel {c}: {s}");
        }
    }

    /// Timings on small_cnn's first activation (64×28×28×32):
    /// `cargo test --release -p krust-tensor norm_kernel_timings -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn norm_kernel_timings() {
        let shape = [64, 28, 28, 32];
        let x = ramp(&shape);
        let g = ramp(&shape).add_scalar(0.5);
        let layout = ChannelLayout::of(&shape, 3).unwrap();
        let best = |f: &dyn Fn()| {
            (0..20)
                .map(|_| {
                    let t = std::time::Instant::now();
                    f();
                    t.elapsed().as_secs_f64() * 1e3
                })
                .fold(f64::INFINITY, f64::min)
        };
        let (mean, var) = batch_statistics(&x, layout);
        let inv_std: Vec<f32> = var.iter().map(|v| 1.0 / (v + 1e-3).sqrt()).collect();
        let ones = vec![1.0; 32];
        let stats = best(&|| drop(batch_statistics(&x, layout)));
        let norm = best(&|| drop(normalize(&x, layout, &mean, &inv_std, &ones)));
        let back =
            best(&|| drop(batch_norm_backward(&g, &x, layout, &mean, &inv_std, &ones).unwrap()));
        println!("statistics {stats:.3} ms, normalize {norm:.3} ms, backward {back:.3} ms");
    }
}
