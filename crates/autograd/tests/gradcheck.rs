//! Finite-difference gradient checks for every differentiable `Var` op: the gradients that
//! `backward` computes are compared with float32 central differences (`GradCheck`), including
//! broadcasting, middle axes, every conv2d/pooling padding mode and the fused loss. Inputs are
//! seeded here; the PyTorch reference values live in `fixtures.rs` (from tools/make_fixtures.py).
//!
//! Ops with kinks (relu, abs, maximum, max pooling, max_axes, ...) get inputs from
//! [`separated`], whose values are at least 0.05 apart and from zero, so no ±eps perturbation
//! crosses a kink or a tie.

use krust_autograd::gradcheck::GradCheck;
use krust_autograd::{Result, Tensor, Var};
use krust_tensor::{Conv2dSpec, Padding, Pool2dSpec, PoolSpec};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Every element of these small inputs is perturbed; tolerances are `GradCheck::default()`'s
/// (eps 1e-2, atol 2e-3, rtol 2e-2), ample for float32 central differences.
const CHECK: GradCheck = GradCheck {
    eps: 1e-2,
    atol: 2e-3,
    rtol: 2e-2,
    max_elements: 4096,
};

/// Standard-normal tensor from a fixed seed.
fn random(shape: &[usize], seed: u64) -> Tensor {
    Tensor::randn(
        shape.to_vec(),
        0.0,
        1.0,
        &mut ChaCha8Rng::seed_from_u64(seed),
    )
}

/// Uniform tensor in [low, high) from a fixed seed (for log, sqrt, powf and divisors).
fn uniform(shape: &[usize], low: f32, high: f32, seed: u64) -> Tensor {
    Tensor::rand_uniform(
        shape.to_vec(),
        low,
        high,
        &mut ChaCha8Rng::seed_from_u64(seed),
    )
}

/// A shuffled `0.1 * (arange(n) - n/2) + offset`: all values distinct by 0.1, so maxima are
/// unique by a margin far above the finite-difference step. With offset 0.05 no value lies
/// within 0.05 of zero; two tensors with offsets 0.0 and 0.05 never come within 0.05 of
/// each other.
fn separated(shape: &[usize], offset: f32, seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let half = (n / 2) as f32;
    let values = idx
        .iter()
        .map(|&i| 0.1 * (i as f32 - half) + offset)
        .collect();
    Tensor::from_vec(shape.to_vec(), values).unwrap()
}

/// Runs the finite-difference check and also asserts each gradient has its input's shape
/// (GradCheck itself only compares elements).
fn check(what: &str, inputs: &[Tensor], f: impl Fn(&[Var]) -> Result<Var>) {
    let params: Vec<Var> = inputs.iter().map(|t| Var::parameter(t.clone())).collect();
    let y = f(&params).unwrap_or_else(|e| panic!("{what}: forward failed: {e}"));
    y.sum()
        .and_then(|s| s.backward())
        .unwrap_or_else(|e| panic!("{what}: backward failed: {e}"));
    for (i, (p, t)) in params.iter().zip(inputs).enumerate() {
        if let Some(g) = p.grad() {
            assert_eq!(
                g.shape(),
                t.shape(),
                "{what}: gradient of input {i} has the wrong shape"
            );
        }
    }
    if let Err(e) = CHECK.run(inputs, f) {
        panic!("{what}: {e}");
    }
}

/// (lhs, rhs) shape pairs covering every broadcasting pattern the binary ops must undo.
const BROADCAST_CASES: &[(&[usize], &[usize])] = &[
    (&[2, 3, 4], &[2, 3, 4]),
    (&[2, 3, 4], &[4]),
    (&[4], &[2, 3, 4]),
    (&[2, 1, 4], &[3, 1]),
    (&[2, 3, 4], &[1]),
    (&[1], &[2, 3]),
    (&[], &[2, 3]),
    (&[2, 3, 1], &[1, 3, 4]),
];

/// Checks a binary op on every broadcasting case with smooth random inputs.
fn check_binary(name: &str, op: fn(&Var, &Var) -> Result<Var>, rhs_range: Option<(f32, f32)>) {
    for (k, (a, b)) in BROADCAST_CASES.iter().enumerate() {
        let lhs = random(a, 100 + k as u64);
        let rhs = match rhs_range {
            Some((lo, hi)) => uniform(b, lo, hi, 200 + k as u64),
            None => random(b, 200 + k as u64),
        };
        check(&format!("{name} {a:?} with {b:?}"), &[lhs, rhs], |v| {
            op(&v[0], &v[1])
        });
    }
}

#[test]
fn add_gradients_match_finite_differences_with_broadcasting() {
    check_binary("add", Var::add, None);
}

#[test]
fn sub_gradients_match_finite_differences_with_broadcasting() {
    check_binary("sub", Var::sub, None);
}

#[test]
fn mul_gradients_match_finite_differences_with_broadcasting() {
    check_binary("mul", Var::mul, None);
}

#[test]
fn div_gradients_match_finite_differences_with_broadcasting() {
    // Divisors stay in [0.8, 2) so the curvature of 1/b keeps the central difference accurate.
    check_binary("div", Var::div, Some((0.8, 2.0)));
}

#[test]
fn maximum_and_minimum_gradients_match_finite_differences_with_broadcasting() {
    for (k, (a, b)) in BROADCAST_CASES.iter().enumerate() {
        let lhs = separated(a, 0.0, 300 + k as u64);
        let rhs = separated(b, 0.05, 400 + k as u64);
        let inputs = [lhs, rhs];
        check(&format!("maximum {a:?} with {b:?}"), &inputs, |v| {
            v[0].maximum(&v[1])
        });
        check(&format!("minimum {a:?} with {b:?}"), &inputs, |v| {
            v[0].minimum(&v[1])
        });
    }
}

#[test]
fn neg_add_scalar_and_mul_scalar_gradients_match_finite_differences() {
    let x = [random(&[2, 3, 4], 1)];
    check("neg", &x, |v| Ok(v[0].neg()));
    check("add_scalar", &x, |v| Ok(v[0].add_scalar(1.5)));
    check("mul_scalar", &x, |v| Ok(v[0].mul_scalar(-2.5)));
}

#[test]
fn exp_log_and_sqrt_gradients_match_finite_differences() {
    check("exp", &[random(&[2, 3, 4], 2)], |v| Ok(v[0].exp()));
    let positive = [uniform(&[2, 3, 4], 0.5, 2.0, 3)];
    check("log", &positive, |v| Ok(v[0].log()));
    check("sqrt", &positive, |v| Ok(v[0].sqrt()));
}

#[test]
fn abs_and_square_gradients_match_finite_differences() {
    check("abs", &[separated(&[2, 3, 4], 0.05, 4)], |v| Ok(v[0].abs()));
    check("square", &[random(&[2, 3, 4], 5)], |v| Ok(v[0].square()));
}

#[test]
fn powf_gradients_match_finite_differences_for_several_exponents() {
    let x = [uniform(&[2, 3, 4], 0.5, 2.0, 6)];
    for p in [3.0, 2.5, 0.5, -0.5, -1.0] {
        check(&format!("powf {p}"), &x, |v| Ok(v[0].powf(p)));
    }
}

#[test]
fn relu_and_leaky_relu_gradients_match_finite_differences_away_from_zero() {
    let x = [separated(&[2, 3, 4], 0.05, 7)];
    check("relu", &x, |v| Ok(v[0].relu()));
    check("leaky_relu", &x, |v| Ok(v[0].leaky_relu(0.2)));
}

#[test]
fn sigmoid_and_tanh_gradients_match_finite_differences() {
    let x = [random(&[2, 3, 4], 8).mul_scalar(2.0)];
    check("sigmoid", &x, |v| Ok(v[0].sigmoid()));
    check("tanh", &x, |v| Ok(v[0].tanh()));
}

#[test]
fn softmax_gradients_match_finite_differences_along_every_axis() {
    let x = [random(&[2, 3, 4], 9)];
    for axis in [0, 1, 2, -1, -2] {
        check(&format!("softmax axis {axis}"), &x, |v| v[0].softmax(axis));
    }
}

#[test]
fn log_softmax_gradients_match_finite_differences_along_every_axis() {
    let x = [random(&[2, 3, 4], 10)];
    for axis in [0, 1, 2, -1, -2] {
        check(&format!("log_softmax axis {axis}"), &x, |v| {
            v[0].log_softmax(axis)
        });
    }
}

#[test]
fn reshape_and_flatten_gradients_match_finite_differences() {
    let x = [random(&[2, 3, 4, 2], 11)];
    check("reshape", &x, |v| {
        v[0].reshape(&[6, 8])?
            .mul(&Var::constant(random(&[6, 8], 12)))
    });
    check("flatten", &x, |v| {
        v[0].flatten()?.mul(&Var::constant(random(&[2, 24], 13)))
    });
}

#[test]
fn permute_gradients_match_finite_differences() {
    let x = [random(&[2, 3, 4, 5], 14)];
    for perm in [[0, 3, 1, 2], [3, 2, 1, 0], [1, 0, 3, 2], [0, 1, 2, 3]] {
        check(&format!("permute {perm:?}"), &x, |v| v[0].permute(&perm));
    }
}

#[test]
fn slice_gradients_match_finite_differences() {
    let x = [random(&[3, 5, 4], 15)];
    check("slice middle axis", &x, |v| v[0].slice(1, 1, 4));
    check("slice first axis", &x, |v| v[0].slice(0, 0, 1));
    check("slice negative axis", &x, |v| v[0].slice(-1, 2, 4));
    check("slice full range", &x, |v| v[0].slice(2, 0, 4));
}

#[test]
fn concat_gradients_match_finite_differences() {
    let parts = [
        random(&[2, 1, 3], 16),
        random(&[2, 4, 3], 17),
        random(&[2, 2, 3], 18),
    ];
    check("concat axis 1", &parts, |v| {
        Var::concat(&[&v[0], &v[1], &v[2]], 1)
    });
    let rows = [random(&[2, 3], 19), random(&[2, 5], 20)];
    check("concat axis -1", &rows, |v| {
        Var::concat(&[&v[0], &v[1]], -1)
    });
    // One operand used twice: both gradient slices must land on it.
    check("concat same var twice", &rows[..1], |v| {
        Var::concat(&[&v[0], &v[0]], 0)
    });
}

#[test]
fn pad_gradients_match_finite_differences() {
    let x = [random(&[2, 3, 4], 21)];
    check("pad", &x, |v| v[0].pad(&[(0, 1), (2, 0), (1, 3)], -1.5));
}

#[test]
fn sum_axes_and_mean_axes_gradients_match_finite_differences() {
    let x = [random(&[2, 3, 4], 22)];
    let axes_cases: [&[isize]; 5] = [&[0], &[1], &[-1], &[0, 2], &[0, 1, 2]];
    for axes in axes_cases {
        for keepdims in [false, true] {
            check(&format!("sum_axes {axes:?} keepdims {keepdims}"), &x, |v| {
                v[0].sum_axes(axes, keepdims)
            });
            check(
                &format!("mean_axes {axes:?} keepdims {keepdims}"),
                &x,
                |v| v[0].mean_axes(axes, keepdims),
            );
        }
    }
    check("sum", &x, |v| v[0].sum());
    check("mean", &x, |v| v[0].mean());
}

#[test]
fn max_axes_gradients_match_finite_differences_over_one_and_two_axes() {
    let x = [separated(&[2, 3, 4], 0.0, 23)];
    let axes_cases: [&[isize]; 6] = [&[0], &[1], &[-1], &[0, 2], &[-1, -2], &[0, 1, 2]];
    for axes in axes_cases {
        for keepdims in [false, true] {
            check(&format!("max_axes {axes:?} keepdims {keepdims}"), &x, |v| {
                v[0].max_axes(axes, keepdims)
            });
        }
    }
}

#[test]
fn matmul_gradients_match_finite_differences() {
    let w = random(&[4, 5], 25);
    check("matmul 2-D", &[random(&[3, 4], 24), w.clone()], |v| {
        v[0].matmul(&v[1])
    });
    check(
        "matmul 3-D lhs",
        &[random(&[2, 3, 4], 26), w.clone()],
        |v| v[0].matmul(&v[1]),
    );
    check("matmul vector lhs", &[random(&[4], 27), w], |v| {
        v[0].matmul(&v[1])
    });
}

#[test]
fn dense_gradients_match_finite_differences_with_and_without_bias() {
    let (x, w, b) = (random(&[4, 5], 28), random(&[5, 3], 29), random(&[3], 30));
    check("dense with bias", &[x.clone(), w.clone(), b], |v| {
        v[0].dense(&v[1], Some(&v[2]))
    });
    check("dense without bias", &[x, w], |v| v[0].dense(&v[1], None));
}

#[test]
fn dense_gradients_match_finite_differences_on_3d_input() {
    let (x, w, b) = (
        random(&[2, 3, 5], 31),
        random(&[5, 4], 32),
        random(&[4], 33),
    );
    check("dense 3-D with bias", &[x.clone(), w.clone(), b], |v| {
        v[0].dense(&v[1], Some(&v[2]))
    });
    check("dense 3-D without bias", &[x, w], |v| {
        v[0].dense(&v[1], None)
    });
}

fn conv_spec(strides: (usize, usize), padding: Padding, dilation: (usize, usize)) -> Conv2dSpec {
    Conv2dSpec {
        strides,
        padding,
        dilation,
    }
}

/// Checks input, kernel and bias gradients of one convolution `conv(x, kernel, bias)`, with
/// and without bias, and the kernel/bias-only backward path taken when the input is a constant.
/// The bias has the kernel's last dimension.
fn check_convolution(
    what: &str,
    x_shape: &[usize],
    k_shape: &[usize],
    seed: u64,
    conv: impl Fn(&Var, &Var, Option<&Var>) -> Result<Var>,
) {
    let x = random(x_shape, seed);
    let w = random(k_shape, seed + 1).mul_scalar(0.3);
    let filters = *k_shape.last().expect("a kernel shape");
    let b = random(&[filters], seed + 2).mul_scalar(0.3);
    check(
        &format!("{what} with bias"),
        &[x.clone(), w.clone(), b.clone()],
        |v| conv(&v[0], &v[1], Some(&v[2])),
    );
    check(
        &format!("{what} without bias"),
        &[x.clone(), w.clone()],
        |v| conv(&v[0], &v[1], None),
    );
    let input = Var::constant(x);
    check(&format!("{what}, constant input"), &[w, b], |v| {
        conv(&input, &v[0], Some(&v[1]))
    });
}

fn check_conv2d(what: &str, x_shape: &[usize], k_shape: &[usize], spec: Conv2dSpec, seed: u64) {
    check_convolution(what, x_shape, k_shape, seed, |x, w, b| x.conv2d(w, b, spec));
}

fn check_conv2d_grouped(
    what: &str,
    x_shape: &[usize],
    k_shape: &[usize],
    spec: Conv2dSpec,
    groups: usize,
    seed: u64,
) {
    check_convolution(what, x_shape, k_shape, seed, |x, w, b| {
        x.conv2d_grouped(w, b, spec, groups)
    });
}

#[test]
fn conv3d_gradients_match_finite_differences() {
    use krust_tensor::conv::Conv3dSpec;
    let cases = [
        (
            "conv3d valid",
            [2, 4, 5, 4, 2],
            [2, 3, 2, 2, 3],
            [1, 1, 1],
            Padding::Valid,
            [1, 1, 1],
        ),
        (
            "conv3d same stride 2",
            [1, 5, 4, 5, 3],
            [3, 2, 3, 3, 2],
            [2, 1, 2],
            Padding::Same,
            [1, 1, 1],
        ),
        (
            "conv3d dilated",
            [1, 6, 5, 5, 2],
            [2, 2, 2, 2, 2],
            [1, 1, 1],
            Padding::Same,
            [2, 1, 2],
        ),
    ];
    for (i, (what, xs, ks, strides, padding, dilation)) in cases.into_iter().enumerate() {
        let spec = Conv3dSpec {
            strides,
            padding,
            dilation,
        };
        check_convolution(what, &xs, &ks, 700 + 3 * i as u64, |x, w, b| {
            x.conv3d(w, b, spec)
        });
    }
}

#[test]
fn transposed_conv_gradients_match_finite_differences() {
    use krust_tensor::conv::Conv3dSpec;
    // (what, input (n, d, h, w, c), kernel (kd, kh, kw, filters, c), output (d, h, w), spec)
    let cases = [
        (
            "valid strides (2, 1, 2)",
            [1, 2, 2, 2, 2],
            [2, 2, 3, 2, 2],
            [4, 3, 5],
            [2, 1, 2],
            Padding::Valid,
            [1, 1, 1],
        ),
        (
            "same stride 2",
            [2, 2, 2, 2, 1],
            [3, 2, 3, 2, 1],
            [3, 4, 4],
            [2, 2, 2],
            Padding::Same,
            [1, 1, 1],
        ),
        (
            "valid dilated",
            [1, 2, 2, 2, 2],
            [2, 2, 2, 1, 2],
            [4, 3, 4],
            [1, 1, 1],
            Padding::Valid,
            [2, 1, 2],
        ),
    ];
    for (i, (what, xs, ks, out, strides, padding, dilation)) in cases.into_iter().enumerate() {
        let spec = Conv3dSpec {
            strides,
            padding,
            dilation,
        };
        let inputs = [
            random(&xs, 780 + 2 * i as u64),
            random(&ks, 781 + 2 * i as u64),
        ];
        check(&format!("conv3d_transpose {what}"), &inputs, |v| {
            v[0].conv3d_transpose(&v[1], out, spec)
        });
        // The same case without depth through the 2-D op.
        let spec2 = conv_spec(
            (strides[1], strides[2]),
            padding,
            (dilation[1], dilation[2]),
        );
        let inputs2 = [
            random(&[xs[0], xs[2], xs[3], xs[4]], 790 + 2 * i as u64),
            random(&[ks[1], ks[2], ks[3], ks[4]], 791 + 2 * i as u64),
        ];
        check(&format!("conv2d_transpose {what}"), &inputs2, |v| {
            v[0].conv2d_transpose(&v[1], (out[1], out[2]), spec2)
        });
    }
}

#[test]
fn grouped_and_depthwise_conv3d_gradients_match_finite_differences() {
    use krust_tensor::conv::Conv3dSpec;
    let spec = |strides, padding, dilation| Conv3dSpec {
        strides,
        padding,
        dilation,
    };
    let cases = [
        (
            "conv3d groups 2 same",
            [1, 4, 4, 5, 4],
            [2, 3, 2, 2, 6],
            2,
            spec([1, 1, 1], Padding::Same, [1, 1, 1]),
        ),
        (
            "conv3d groups 2 valid stride 2",
            [2, 5, 4, 5, 4],
            [3, 2, 3, 2, 4],
            2,
            spec([2, 1, 2], Padding::Valid, [1, 1, 1]),
        ),
        (
            "conv3d depthwise same",
            [1, 4, 5, 4, 3],
            [2, 3, 3, 1, 3],
            3,
            spec([1, 1, 1], Padding::Same, [1, 1, 1]),
        ),
        (
            "conv3d depthwise multiplier 2 stride 2 dilated",
            [1, 6, 5, 5, 2],
            [2, 2, 2, 1, 4],
            2,
            spec([2, 2, 1], Padding::Same, [2, 1, 2]),
        ),
    ];
    for (i, (what, xs, ks, groups, spec)) in cases.into_iter().enumerate() {
        check_convolution(what, &xs, &ks, 750 + 3 * i as u64, |x, w, b| {
            x.conv3d_grouped(w, b, spec, groups)
        });
    }
}

#[test]
fn depthwise_conv_gradients_match_finite_differences() {
    // groups = channels; kernel (kh, kw, 1, channels * multiplier). Odd sizes throughout.
    let cases = [
        (
            "depthwise m=1 same",
            1,
            conv_spec((1, 1), Padding::Same, (1, 1)),
        ),
        (
            "depthwise m=1 valid",
            1,
            conv_spec((1, 1), Padding::Valid, (1, 1)),
        ),
        (
            "depthwise m=1 same stride 2",
            1,
            conv_spec((2, 2), Padding::Same, (1, 1)),
        ),
        (
            "depthwise m=1 valid stride 2",
            1,
            conv_spec((2, 2), Padding::Valid, (1, 1)),
        ),
        (
            "depthwise m=1 same dilation 2",
            1,
            conv_spec((1, 1), Padding::Same, (2, 2)),
        ),
        (
            "depthwise m=2 same",
            2,
            conv_spec((1, 1), Padding::Same, (1, 1)),
        ),
        (
            "depthwise m=2 valid stride 2",
            2,
            conv_spec((2, 2), Padding::Valid, (1, 1)),
        ),
        (
            "depthwise m=2 same stride 2",
            2,
            conv_spec((2, 2), Padding::Same, (1, 1)),
        ),
        (
            "depthwise m=2 valid dilation 2",
            2,
            conv_spec((1, 1), Padding::Valid, (2, 2)),
        ),
    ];
    for (i, (what, m, spec)) in cases.into_iter().enumerate() {
        check_conv2d_grouped(
            what,
            &[2, 7, 9, 3],
            &[3, 3, 1, 3 * m],
            spec,
            3,
            60 + 3 * i as u64,
        );
    }
}

#[test]
fn grouped_conv_gradients_match_finite_differences() {
    let same = conv_spec((1, 1), Padding::Same, (1, 1));
    check_conv2d_grouped("groups 2 same", &[2, 5, 7, 4], &[3, 3, 2, 6], same, 2, 90);
    let valid2 = conv_spec((2, 2), Padding::Valid, (1, 1));
    check_conv2d_grouped(
        "groups 2 valid stride 2",
        &[1, 7, 9, 6],
        &[3, 3, 3, 4],
        valid2,
        2,
        93,
    );
    let same2 = conv_spec((2, 2), Padding::Same, (1, 1));
    check_conv2d_grouped(
        "groups 4 same stride 2",
        &[2, 7, 7, 8],
        &[3, 3, 2, 8],
        same2,
        4,
        96,
    );
    let dil = conv_spec((1, 1), Padding::Same, (2, 2));
    check_conv2d_grouped(
        "groups 4 same dilation 2",
        &[1, 9, 7, 8],
        &[3, 3, 2, 4],
        dil,
        4,
        99,
    );
}

#[test]
fn conv2d_valid_gradients_match_finite_differences() {
    check_conv2d(
        "conv2d valid 3x3",
        &[2, 6, 5, 3],
        &[3, 3, 3, 4],
        Conv2dSpec::default(),
        40,
    );
    let spec = conv_spec((2, 2), Padding::Valid, (1, 1));
    check_conv2d(
        "conv2d valid 3x3 stride 2",
        &[1, 8, 7, 2],
        &[3, 3, 2, 3],
        spec,
        41,
    );
}

#[test]
fn conv2d_same_stride2_gradients_match_finite_differences_for_odd_and_even_sizes() {
    let spec = conv_spec((2, 2), Padding::Same, (1, 1));
    // Odd input: pads 1/1. Even input: pads 0/1, the extra cell bottom/right.
    check_conv2d(
        "conv2d same stride 2 odd",
        &[2, 7, 7, 3],
        &[3, 3, 3, 2],
        spec,
        42,
    );
    check_conv2d(
        "conv2d same stride 2 even",
        &[1, 8, 6, 2],
        &[3, 3, 2, 3],
        spec,
        43,
    );
    // Even kernel: asymmetric pads 1/2 on the 9-row axis.
    check_conv2d(
        "conv2d same stride 2 k4",
        &[1, 9, 8, 2],
        &[4, 4, 2, 3],
        spec,
        44,
    );
    check_conv2d(
        "conv2d same stride 1",
        &[1, 5, 6, 2],
        &[3, 3, 2, 2],
        Conv2dSpec {
            padding: Padding::Same,
            ..Default::default()
        },
        45,
    );
}

#[test]
fn conv2d_dilation2_gradients_match_finite_differences() {
    let valid = conv_spec((1, 1), Padding::Valid, (2, 2));
    check_conv2d(
        "conv2d dilation 2 valid",
        &[1, 9, 8, 2],
        &[3, 3, 2, 3],
        valid,
        46,
    );
    let same = conv_spec((1, 1), Padding::Same, (2, 2));
    check_conv2d(
        "conv2d dilation 2 same",
        &[1, 9, 8, 2],
        &[3, 3, 2, 3],
        same,
        47,
    );
}

#[test]
fn conv2d_pointwise_1x1_gradients_match_finite_differences() {
    // Stride 1 takes the no-im2col fast path; stride 2 goes through im2col.
    check_conv2d(
        "conv2d 1x1",
        &[2, 4, 5, 3],
        &[1, 1, 3, 4],
        Conv2dSpec::default(),
        48,
    );
    let same = Conv2dSpec {
        padding: Padding::Same,
        ..Default::default()
    };
    check_conv2d("conv2d 1x1 same", &[2, 4, 5, 3], &[1, 1, 3, 4], same, 49);
    let strided = conv_spec((2, 2), Padding::Valid, (1, 1));
    check_conv2d(
        "conv2d 1x1 stride 2",
        &[2, 5, 5, 3],
        &[1, 1, 3, 2],
        strided,
        50,
    );
}

#[test]
fn conv2d_non_square_kernel_and_strides_gradients_match_finite_differences() {
    let spec = conv_spec((2, 1), Padding::Same, (1, 2));
    check_conv2d(
        "conv2d 2x3 kernel, strides (2, 1), dilation (1, 2)",
        &[1, 7, 8, 2],
        &[2, 3, 2, 3],
        spec,
        51,
    );
}

#[test]
fn conv2d_gradients_match_finite_differences_across_parallel_work_chunks() {
    // Large enough that both the forward (output rows) and the backward (whole images) are
    // split into several chunks, whose partial kernel gradients are summed.
    let spec = conv_spec((1, 1), Padding::Same, (1, 1));
    let x = random(&[5, 16, 16, 8], 52);
    let w = random(&[3, 3, 8, 4], 53).mul_scalar(0.2);
    let b = random(&[4], 54);
    let coarse = GradCheck {
        max_elements: 256,
        ..CHECK
    };
    coarse
        .run(&[x, w.clone(), b.clone()], |v| {
            v[0].conv2d(&v[1], Some(&v[2]), spec)
        })
        .unwrap_or_else(|e| panic!("chunked conv2d: {e}"));
    let input = Var::constant(random(&[5, 16, 16, 8], 55));
    coarse
        .run(&[w, b], |v| input.conv2d(&v[0], Some(&v[1]), spec))
        .unwrap_or_else(|e| panic!("chunked conv2d, constant input: {e}"));
}

fn pool_spec(pool: (usize, usize), strides: (usize, usize), padding: Padding) -> Pool2dSpec {
    Pool2dSpec {
        pool_size: pool,
        strides,
        padding,
        explicit_padding: None,
        ceil_mode: false,
    }
}

/// (description, input shape, spec) for both pooling ops: valid/same, odd/even sizes, stride
/// smaller than, equal to and larger than the pool, non-square windows.
fn pool_cases() -> Vec<(&'static str, Vec<usize>, Pool2dSpec)> {
    vec![
        (
            "pool 2 valid, odd width",
            vec![2, 6, 5, 3],
            Pool2dSpec::new(2),
        ),
        (
            "pool 3 stride 2 same, odd",
            vec![2, 7, 7, 3],
            pool_spec((3, 3), (2, 2), Padding::Same),
        ),
        (
            "pool 3 stride 2 same, even",
            vec![1, 8, 6, 2],
            pool_spec((3, 3), (2, 2), Padding::Same),
        ),
        (
            "pool 3 stride 2 valid",
            vec![1, 7, 8, 2],
            pool_spec((3, 3), (2, 2), Padding::Valid),
        ),
        (
            "pool 2 stride 1 same",
            vec![1, 5, 6, 2],
            pool_spec((2, 2), (1, 1), Padding::Same),
        ),
        (
            "pool 2 stride 3 valid",
            vec![1, 8, 7, 2],
            pool_spec((2, 2), (3, 3), Padding::Valid),
        ),
        (
            "pool 2x3 strides (1, 2) same",
            vec![1, 5, 7, 2],
            pool_spec((2, 3), (1, 2), Padding::Same),
        ),
        (
            "pool 3x2 strides (2, 1) valid",
            vec![2, 7, 5, 1],
            pool_spec((3, 2), (2, 1), Padding::Valid),
        ),
        (
            "pool 3 stride 2, PyTorch padding 1",
            vec![1, 8, 7, 2],
            Pool2dSpec {
                explicit_padding: Some(((1, 1), (1, 1))),
                ..pool_spec((3, 3), (2, 2), Padding::Valid)
            },
        ),
        (
            "pool 3 stride 2, PyTorch ceil mode",
            vec![1, 8, 9, 2],
            Pool2dSpec {
                ceil_mode: true,
                ..pool_spec((3, 3), (2, 2), Padding::Valid)
            },
        ),
        (
            "pool 2 stride 2, PyTorch padding 1 and ceil mode (last window dropped)",
            vec![1, 5, 5, 1],
            Pool2dSpec {
                explicit_padding: Some(((1, 1), (1, 1))),
                ceil_mode: true,
                ..pool_spec((2, 2), (2, 2), Padding::Valid)
            },
        ),
    ]
}

#[test]
fn max_pool2d_gradients_match_finite_differences() {
    for (k, (what, shape, spec)) in pool_cases().into_iter().enumerate() {
        let x = separated(&shape, 0.0, 60 + k as u64);
        check(&format!("max_pool2d {what}"), &[x], |v| {
            v[0].max_pool2d(spec)
        });
    }
}

#[test]
fn avg_pool2d_gradients_match_finite_differences() {
    for (k, (what, shape, spec)) in pool_cases().into_iter().enumerate() {
        let x = random(&shape, 70 + k as u64);
        check(&format!("avg_pool2d {what}"), &[x], |v| {
            v[0].avg_pool2d(spec)
        });
    }
}

/// (description, input shape, spec) for the N-d pooling ops in 1-D, 2-D and 3-D: valid and
/// same, strides smaller than, equal to and larger than the pool, odd and even lengths.
fn pool_nd_cases() -> Vec<(&'static str, Vec<usize>, PoolSpec)> {
    let spec = |pool: &[usize], strides: &[usize], padding| {
        PoolSpec::new(pool)
            .with_strides(strides)
            .with_padding(padding)
    };
    vec![
        (
            "1-D pool 2 valid",
            vec![2, 7, 3],
            spec(&[2], &[2], Padding::Valid),
        ),
        (
            "1-D pool 3 stride 2 same",
            vec![2, 8, 2],
            spec(&[3], &[2], Padding::Same),
        ),
        (
            "1-D pool 2 stride 3 same, odd",
            vec![1, 7, 2],
            spec(&[2], &[3], Padding::Same),
        ),
        (
            "2-D pool 3x2 strides (2, 1) same",
            vec![1, 5, 6, 2],
            spec(&[3, 2], &[2, 1], Padding::Same),
        ),
        (
            "3-D pool 2 valid",
            vec![1, 4, 5, 4, 2],
            spec(&[2, 2, 2], &[2, 2, 2], Padding::Valid),
        ),
        (
            "3-D pool (3, 2, 3) strides (2, 1, 2) same",
            vec![2, 5, 4, 5, 1],
            spec(&[3, 2, 3], &[2, 1, 2], Padding::Same),
        ),
        (
            "3-D pool (2, 3, 2) strides (1, 2, 3) valid",
            vec![1, 4, 6, 7, 2],
            spec(&[2, 3, 2], &[1, 2, 3], Padding::Valid),
        ),
    ]
}

#[test]
fn max_pool_nd_gradients_match_finite_differences() {
    for (k, (what, shape, spec)) in pool_nd_cases().into_iter().enumerate() {
        let x = separated(&shape, 0.0, 80 + k as u64);
        check(&format!("max_pool {what}"), &[x], |v| {
            v[0].max_pool(spec.clone())
        });
    }
}

#[test]
fn avg_pool_nd_gradients_match_finite_differences() {
    for (k, (what, shape, spec)) in pool_nd_cases().into_iter().enumerate() {
        let x = random(&shape, 90 + k as u64);
        check(&format!("avg_pool {what}"), &[x], |v| {
            v[0].avg_pool(spec.clone())
        });
    }
}

#[test]
fn softmax_cross_entropy_gradients_match_finite_differences() {
    let labels = [0u32, 3, 1, 1, 2];
    check(
        "softmax_cross_entropy",
        &[random(&[5, 4], 80).mul_scalar(2.0)],
        |v| v[0].softmax_cross_entropy(&labels),
    );
    // Large logits must not overflow the forward or the backward.
    let mut values = random(&[5, 4], 81).to_vec();
    values[8..12].copy_from_slice(&[50.0, -50.0, 49.0, 0.0]);
    let big = Tensor::from_vec(vec![5, 4], values).unwrap();
    check("softmax_cross_entropy with ±50 logits", &[big], |v| {
        v[0].softmax_cross_entropy(&labels)
    });
}

#[test]
fn small_cnn_gradients_match_finite_differences_end_to_end() {
    // conv -> tanh -> avg pool -> flatten -> dense -> cross-entropy: the chain a model builds.
    let spec = conv_spec((1, 1), Padding::Same, (1, 1));
    let inputs = [
        random(&[2, 6, 6, 2], 90),
        random(&[3, 3, 2, 3], 91).mul_scalar(0.3),
        random(&[3], 92).mul_scalar(0.1),
        random(&[27, 4], 93).mul_scalar(0.3),
        random(&[4], 94).mul_scalar(0.1),
    ];
    check("small cnn", &inputs, |v| {
        v[0].conv2d(&v[1], Some(&v[2]), spec)?
            .tanh()
            .avg_pool2d(pool_spec((2, 2), (2, 2), Padding::Valid))?
            .flatten()?
            .dense(&v[3], Some(&v[4]))?
            .softmax_cross_entropy(&[1, 3])
    });
}

#[test]
fn gradcheck_rejects_a_wrong_gradient() {
    // Treating x as a constant inside f hides part of d/dx from backward; the check must notice.
    let result = CHECK.run(&[random(&[3, 4], 95)], |v| {
        v[0].square()
            .add(&Var::constant(v[0].value().mul_scalar(2.0)))
    });
    assert!(
        result.is_err(),
        "GradCheck accepted a gradient that misses the 2x term"
    );
}

// ---------------------------------------------------------------------------------------------
// The Keras activation catalog and the per-element loss kernels. Inputs with kinks come from
// `separated` (values 0.05 + 0.1k, so every kink at 0, ±3, 6 or a threshold of 1.0/2.0 is at
// least 0.05 away, five finite-difference steps).

#[test]
fn relu6_hard_sigmoid_and_keras_relu_gradients_match_finite_differences_away_from_kinks() {
    // 200 values spread over [-10, 10): past 6 and -3/3 too.
    let x = [separated(&[8, 25], 0.05, 20)];
    check("relu6", &x, |v| Ok(v[0].relu6()));
    check("hard_sigmoid", &x, |v| Ok(v[0].hard_sigmoid()));
    for (slope, max, threshold) in [
        (0.1, None, 0.0),
        (0.0, Some(6.0), 0.0),
        (0.0, Some(4.5), 0.0),
        (0.0, None, 2.0),
        (0.3, Some(5.0), 1.0),
        (0.2, None, -1.0),
        (0.5, Some(3.0), -2.0),
    ] {
        check(
            &format!("relu_with slope {slope} max {max:?} threshold {threshold}"),
            &x,
            |v| Ok(v[0].relu_with(slope, max, threshold)),
        );
    }
}

#[test]
fn elu_and_selu_gradients_match_finite_differences_away_from_zero() {
    let x = [separated(&[2, 3, 4], 0.05, 21)];
    check("elu", &x, |v| Ok(v[0].elu(1.0)));
    check("elu alpha 0.5", &x, |v| Ok(v[0].elu(0.5)));
    check("selu", &x, |v| Ok(v[0].selu()));
}

#[test]
fn smooth_activation_gradients_match_finite_differences() {
    let x = [random(&[3, 4, 5], 22).mul_scalar(3.0)];
    check("gelu", &x, |v| Ok(v[0].gelu(false)));
    check("gelu approximate", &x, |v| Ok(v[0].gelu(true)));
    check("silu", &x, |v| Ok(v[0].silu()));
    check("softplus", &x, |v| Ok(v[0].softplus()));
    check("exponential", &x, |v| Ok(v[0].exponential()));
    check("softsign", &[separated(&[3, 4, 5], 0.05, 23)], |v| {
        Ok(v[0].softsign())
    });
}

#[test]
fn prelu_gradients_match_finite_differences_for_input_and_broadcast_alpha() {
    let x = separated(&[2, 3, 4], 0.05, 24);
    for alpha_shape in [&[2, 3, 4][..], &[4], &[1, 4], &[3, 1], &[1]] {
        let alpha = uniform(alpha_shape, 0.05, 0.5, 25);
        check(
            &format!("prelu alpha {alpha_shape:?}"),
            &[x.clone(), alpha],
            |v| v[0].prelu(&v[1]),
        );
    }
    let bad = Var::parameter(Tensor::zeros([5]));
    assert!(Var::parameter(x).prelu(&bad).is_err());
}

#[test]
fn binary_cross_entropy_gradients_match_finite_differences_on_probabilities_and_logits() {
    let targets = uniform(&[3, 4], 0.0, 1.0, 26);
    let probabilities = [uniform(&[3, 4], 0.2, 0.8, 27)];
    check("binary_cross_entropy", &probabilities, |v| {
        v[0].binary_cross_entropy(&targets, 1e-7)
    });
    let logits = [random(&[3, 4], 28).mul_scalar(3.0)];
    check("binary_cross_entropy_with_logits", &logits, |v| {
        v[0].binary_cross_entropy_with_logits(&targets)
    });
    assert!(Var::parameter(Tensor::zeros([4, 3]))
        .binary_cross_entropy(&targets, 1e-7)
        .is_err());
}

#[test]
fn huber_log_cosh_and_squared_log_error_gradients_match_finite_differences() {
    // Errors 0.05 + 0.1k never sit within a step of |e| = delta = 1.0 or 0.5.
    let errors = [separated(&[4, 6], 0.05, 29)];
    check("huber", &errors, |v| Ok(v[0].huber(1.0)));
    check("huber delta 0.5", &errors, |v| Ok(v[0].huber(0.5)));
    check("log_cosh", &[random(&[4, 6], 30).mul_scalar(3.0)], |v| {
        Ok(v[0].log_cosh())
    });
    let targets = uniform(&[4, 6], 0.0, 3.0, 31);
    check(
        "squared_log_error",
        &[uniform(&[4, 6], 0.1, 3.0, 32)],
        |v| v[0].squared_log_error(&targets, 1e-7),
    );
}

/// Inputs for every named unary op: `separated` values stretched to ±7 in steps of 0.3,
/// offset 0.15, so every kink the table's parameters place (0, ±0.5, 2, ±3, 6, ...) is at
/// least 0.05 from an input.
fn wide_separated(seed: u64) -> Tensor {
    separated(&[6, 8], 0.05, seed).mul_scalar(3.0)
}

/// Every `UnaryOp` (the ops behind `Var`'s math, activations and loss terms) through the one
/// generic rule `Var::apply_unary`, so each op's derivative formula is checked once.
#[test]
fn every_unary_op_derivative_matches_finite_differences() {
    use krust_autograd::UnaryOp::*;
    let wide = [wide_separated(11)];
    for op in [
        Neg,
        AddScalar(1.5),
        MulScalar(-2.5),
        Affine {
            scale: -0.5,
            shift: 2.0,
        },
        Exp,
        Abs,
        Sign,
        Square,
        MaximumScalar(0.5),
        MinimumScalar(-0.5),
        Sin,
        Cos,
        Clamp { lo: -0.5, hi: 2.0 },
        Relu,
        Relu6,
        LeakyRelu(0.2),
        ReluWith {
            negative_slope: 0.1,
            max_value: Some(2.0),
            threshold: 0.5,
        },
        ReluWith {
            negative_slope: 0.0,
            max_value: Some(4.0),
            threshold: -1.0,
        },
        ReluWith {
            negative_slope: 0.0,
            max_value: Some(6.0),
            threshold: 0.0,
        },
        Elu(1.5),
        Selu,
        GeluErf,
        GeluTanh,
        Silu,
        Softplus,
        Softsign,
        HardSigmoid,
        Sigmoid,
        Tanh,
        Huber(0.5),
        LogCosh,
    ] {
        check(&format!("{op:?}"), &wide, |v| Ok(v[0].apply_unary(op)));
    }
    let positive = [uniform(&[2, 3, 4], 0.5, 2.0, 12)];
    for op in [Log, Sqrt, Recip, PowScalar(2.5), PowScalar(-0.5)] {
        check(&format!("{op:?}"), &positive, |v| Ok(v[0].apply_unary(op)));
    }
}

/// Every `BinaryOp` through `Var::apply_binary` on every broadcasting case, both partials
/// (the targets' partial of the loss ops included), each op on inputs inside its domain.
#[test]
fn every_binary_op_derivative_matches_finite_differences_with_broadcasting() {
    use krust_autograd::BinaryOp::*;
    type Inputs = fn(&[usize], &[usize], u64) -> [Tensor; 2];
    let smooth: Inputs = |a, b, k| [random(a, 500 + k), random(b, 600 + k)];
    let unique: Inputs = |a, b, k| [separated(a, 0.0, 500 + k), separated(b, 0.05, 600 + k)];
    let positive: Inputs = |a, b, k| {
        [
            uniform(a, 0.5, 2.0, 500 + k),
            uniform(b, -1.0, 2.0, 600 + k),
        ]
    };
    let kinked_lhs: Inputs = |a, b, k| [separated(a, 0.05, 500 + k), random(b, 600 + k)];
    let probabilities: Inputs =
        |a, b, k| [uniform(a, 0.1, 0.9, 500 + k), uniform(b, 0.0, 1.0, 600 + k)];
    let magnitudes: Inputs =
        |a, b, k| [uniform(a, 0.1, 2.0, 500 + k), uniform(b, 0.1, 2.0, 600 + k)];
    let table: [(krust_autograd::BinaryOp, Inputs); 13] = [
        (Add, smooth),
        (Sub, smooth),
        (Mul, smooth),
        (Div, |a, b, k| {
            [random(a, 500 + k), uniform(b, 0.8, 2.0, 600 + k)]
        }),
        (Maximum, unique),
        (Minimum, unique),
        (Pow, positive),
        (Left, smooth),
        (Equal, unique),
        (Prelu, kinked_lhs),
        (BinaryCrossEntropy { epsilon: 1e-7 }, probabilities),
        (BinaryCrossEntropyWithLogits, smooth),
        (SquaredLogError { epsilon: 1e-7 }, magnitudes),
    ];
    for (op, inputs) in table {
        for (k, (a, b)) in BROADCAST_CASES.iter().enumerate() {
            let what = format!("{op:?} {a:?} with {b:?}");
            check(&what, &inputs(a, b, k as u64), |v| {
                v[0].apply_binary(op, &v[1])
            });
        }
    }
}
