//! Transposed convolutions (`conv2d_transpose`, `conv3d_transpose`) against their definition:
//! every input cell scatters `x · kernel` into the output window it came from, at
//! out = in · stride + tap · dilation - front, front being the leading padding of the
//! convolution being inverted. One direct loop over (depth, height, width) serves both ops
//! (2-D is the depth-1 case).

use krust_autograd::{Tensor, Var};
use krust_tensor::conv::Conv3dSpec;
use krust_tensor::{Conv2dSpec, Padding};

/// Leading padding that a convolution of an axis of length `out` with window `k` (dilated
/// by `d`, stride `s`) uses to produce `input` positions, as Keras/TensorFlow place it.
fn front(out: usize, input: usize, k: usize, s: usize, d: usize, padding: Padding) -> isize {
    match padding {
        Padding::Valid => 0,
        Padding::Same => {
            let needed = (input - 1) * s + (k - 1) * d + 1;
            (needed.saturating_sub(out) / 2) as isize
        }
    }
}

/// The direct scatter loop: x (n, d, h, w, c), kernel (kd, kh, kw, f, c) → (n, out..., f).
fn reference(x: &Tensor, w: &Tensor, out: [usize; 3], spec: &Conv3dSpec) -> Vec<f32> {
    let (xs, ws) = (x.shape(), w.shape());
    let (n, c, f) = (xs[0], xs[4], ws[3]);
    let fronts: Vec<isize> = (0..3)
        .map(|a| {
            let (k, s, d) = (ws[a], spec.strides[a], spec.dilation[a]);
            front(out[a], xs[a + 1], k, s, d, spec.padding)
        })
        .collect();
    let (xv, wv) = (x.to_vec(), w.to_vec());
    let mut y = vec![0.0f32; n * out.iter().product::<usize>() * f];
    let position = |i: usize, t: usize, a: usize| {
        (i * spec.strides[a] + t * spec.dilation[a]) as isize - fronts[a]
    };
    for b in 0..n {
        for (i, (id, ih, iw)) in cells([xs[1], xs[2], xs[3]]).enumerate() {
            for (t, (td, th, tw)) in cells([ws[0], ws[1], ws[2]]).enumerate() {
                let o = [
                    position(id, td, 0),
                    position(ih, th, 1),
                    position(iw, tw, 2),
                ];
                if (0..3).any(|a| o[a] < 0 || o[a] as usize >= out[a]) {
                    continue;
                }
                let cell = (o[0] as usize * out[1] + o[1] as usize) * out[2] + o[2] as usize;
                for ff in 0..f {
                    for cc in 0..c {
                        let xi = (b * xs[1] * xs[2] * xs[3] + i) * c + cc;
                        let wi = (t * f + ff) * c + cc;
                        y[(b * out.iter().product::<usize>() + cell) * f + ff] += xv[xi] * wv[wi];
                    }
                }
            }
        }
    }
    y
}

/// (d, h, w) positions of a 3-D grid in row-major order.
fn cells(dims: [usize; 3]) -> impl Iterator<Item = (usize, usize, usize)> {
    (0..dims[0])
        .flat_map(move |d| (0..dims[1]).flat_map(move |h| (0..dims[2]).map(move |w| (d, h, w))))
}

fn assert_close(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-4 * (1.0 + w.abs()),
            "{what}[{i}]: {g} vs {w}"
        );
    }
}

/// (name, input (n, d, h, w, c), kernel (kd, kh, kw, f, c), output (d, h, w), spec).
type Case = (&'static str, [usize; 5], [usize; 5], [usize; 3], Conv3dSpec);

fn cases() -> Vec<Case> {
    let spec = |strides, padding, dilation| Conv3dSpec {
        strides,
        padding,
        dilation,
    };
    vec![
        (
            "valid stride 1",
            [2, 2, 3, 2, 3],
            [2, 2, 2, 2, 3],
            [3, 4, 3],
            spec([1; 3], Padding::Valid, [1; 3]),
        ),
        (
            "valid strides (2, 1, 2)",
            [1, 2, 2, 3, 2],
            [3, 2, 2, 3, 2],
            [5, 3, 6],
            spec([2, 1, 2], Padding::Valid, [1; 3]),
        ),
        (
            "same stride 2",
            [2, 2, 3, 2, 2],
            [3, 3, 2, 2, 2],
            [4, 6, 4],
            spec([2; 3], Padding::Same, [1; 3]),
        ),
        (
            "same stride 2 odd output",
            [1, 2, 2, 2, 1],
            [3, 2, 3, 2, 1],
            [3, 3, 4],
            spec([2; 3], Padding::Same, [1; 3]),
        ),
        (
            "valid dilated",
            [1, 2, 3, 2, 2],
            [2, 2, 2, 3, 2],
            [4, 5, 5],
            spec([1; 3], Padding::Valid, [2, 2, 3]),
        ),
    ]
}

#[test]
fn conv3d_transpose_matches_the_direct_scatter_loop() {
    for (i, (what, xs, ks, out, spec)) in cases().into_iter().enumerate() {
        let x = Tensor::randn(xs.to_vec(), 0.0, 1.0, &mut seeded(10 + i as u64));
        let w = Tensor::randn(ks.to_vec(), 0.0, 1.0, &mut seeded(20 + i as u64));
        let y = Var::constant(x.clone())
            .conv3d_transpose(&Var::constant(w.clone()), out, spec)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(
            y.shape(),
            [xs[0], out[0], out[1], out[2], ks[3]],
            "{what}: shape"
        );
        assert_close(what, &y.value().to_vec(), &reference(&x, &w, out, &spec));
    }
}

#[test]
fn conv2d_transpose_matches_the_depth_one_scatter_loop() {
    for (i, (what, xs, ks, out, spec)) in cases().into_iter().enumerate() {
        // Depth 1 everywhere: the 3-D loop is the 2-D definition.
        let (xs, ks, out) = (
            [xs[0], 1, xs[2], xs[3], xs[4]],
            [1, ks[1], ks[2], ks[3], ks[4]],
            [1, out[1], out[2]],
        );
        let x = Tensor::randn(xs.to_vec(), 0.0, 1.0, &mut seeded(30 + i as u64));
        let w = Tensor::randn(ks.to_vec(), 0.0, 1.0, &mut seeded(40 + i as u64));
        let spec2 = Conv2dSpec {
            strides: (spec.strides[1], spec.strides[2]),
            padding: spec.padding,
            dilation: (spec.dilation[1], spec.dilation[2]),
        };
        let x2 = x.reshape([xs[0], xs[2], xs[3], xs[4]]).unwrap();
        let w2 = w.reshape([ks[1], ks[2], ks[3], ks[4]]).unwrap();
        let y = Var::constant(x2)
            .conv2d_transpose(&Var::constant(w2), (out[1], out[2]), spec2)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let spec3 = Conv3dSpec {
            strides: [1, spec.strides[1], spec.strides[2]],
            dilation: [1, spec.dilation[1], spec.dilation[2]],
            ..spec
        };
        assert_close(what, &y.value().to_vec(), &reference(&x, &w, out, &spec3));
    }
}

fn seeded(seed: u64) -> rand_chacha::ChaCha8Rng {
    use rand::SeedableRng;
    rand_chacha::ChaCha8Rng::seed_from_u64(seed)
}
