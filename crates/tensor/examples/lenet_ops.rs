//! Times each tensor kernel at LeNet-5's training shapes (batch 64), to see where a step goes.

use krust_tensor::conv::{conv2d, conv2d_backward};
use krust_tensor::pool::{max_pool2d, max_pool2d_backward};
use krust_tensor::{parallel, Conv2dSpec, Padding, Pool2dSpec, Tensor};
use rand::SeedableRng;
use std::time::Instant;

fn time(name: &str, reps: usize, mut f: impl FnMut()) {
    if let Some(filter) = std::env::args().nth(2) {
        if !name.contains(&filter) {
            return;
        }
    }
    f();
    let t = Instant::now();
    for _ in 0..reps {
        f();
    }
    println!(
        "{name:<40}{:>9.1} µs",
        t.elapsed().as_secs_f64() * 1e6 / reps as f64
    );
}

fn main() {
    parallel::set_num_threads(
        std::env::args()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(2),
    );
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let b = 64;
    let x = Tensor::rand_uniform([b, 28, 28, 1], 0.0, 1.0, &mut rng);
    let w1 = Tensor::randn([5, 5, 1, 6], 0.0, 0.2, &mut rng);
    let b1 = Tensor::zeros([6]);
    let same = Conv2dSpec {
        strides: (1, 1),
        padding: Padding::Same,
        dilation: (1, 1),
    };
    let valid = Conv2dSpec::default();
    let y1 = conv2d(&x, &w1, Some(&b1), &same).unwrap();
    time("conv1 forward", 200, || {
        drop(conv2d(&x, &w1, Some(&b1), &same).unwrap())
    });
    time("conv1 backward (kernel, bias)", 200, || {
        drop(conv2d_backward(&x, &w1, &y1, &same, false, true, true).unwrap())
    });
    time("relu1", 200, || drop(y1.relu()));
    let pool = Pool2dSpec::new(2);
    let (p1, arg1) = max_pool2d(&y1, &pool).unwrap();
    time("pool1 forward", 200, || {
        drop(max_pool2d(&y1, &pool).unwrap())
    });
    let r1 = Tensor::rand_uniform([b, 28, 28, 6], 0.0, 1.0, &mut rng);
    time("pool1 forward on uniform", 200, || {
        drop(max_pool2d(&r1, &pool).unwrap())
    });
    let r8 = Tensor::rand_uniform([b, 28, 28, 8], 0.0, 1.0, &mut rng);
    time("pool1 forward on 8 channels", 200, || {
        drop(max_pool2d(&r8, &pool).unwrap())
    });
    time("pool1 backward", 200, || {
        drop(max_pool2d_backward(y1.shape(), &arg1, &p1).unwrap())
    });
    let w2 = Tensor::randn([5, 5, 6, 16], 0.0, 0.2, &mut rng);
    let b2 = Tensor::zeros([16]);
    let y2 = conv2d(&p1, &w2, Some(&b2), &valid).unwrap();
    time("conv2 forward", 200, || {
        drop(conv2d(&p1, &w2, Some(&b2), &valid).unwrap())
    });
    time("conv2 backward (all)", 200, || {
        drop(conv2d_backward(&p1, &w2, &y2, &valid, true, true, true).unwrap())
    });
    let (p2, _) = max_pool2d(&y2, &pool).unwrap();
    let f = p2.reshape([b, 400]).unwrap();
    let w3 = Tensor::randn([400, 120], 0.0, 0.1, &mut rng);
    time("dense 400->120 forward", 200, || {
        drop(f.matmul(&w3).unwrap())
    });
    let g3 = Tensor::randn([b, 120], 0.0, 1.0, &mut rng);
    time("dense 400->120 dW", 200, || {
        drop(f.matmul_ex(true, &g3, false).unwrap())
    });
    time("dense 400->120 dX", 200, || {
        drop(g3.matmul_ex(false, &w3, true).unwrap())
    });
}

#[allow(dead_code)]
fn probe() {}
