//! `krust bench`: GEMM and convolution GFLOP/s against the machine's peak, and the training
//! throughput of the standard models (LeNet-5, small_cnn) on synthetic data.

use clap::Args;
use krust::autograd::Var;
use krust::nn::layers::DepthwiseConv2D;
use krust::nn::losses::{Loss, SparseCategoricalCrossentropy, Targets};
use krust::nn::optimizers::{Adam, Optimizer};
use krust::nn::Layer;
use krust::tensor::conv::{conv2d, conv2d_backward};
use krust::tensor::{Conv2dSpec, Padding, Tensor};
use rand::SeedableRng;
use std::time::Instant;

#[derive(Args)]
pub struct BenchArgs {
    /// Worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// The machine's float32 peak in GFLOP/s to compare against (default: PyTorch/MKL's
    /// 2048³ GEMM measured on the project machine, performance.md).
    #[arg(long, default_value_t = 428.0)]
    peak: f64,
    /// Training steps to time for the end-to-end figure.
    #[arg(long, default_value_t = 200)]
    steps: usize,
    /// Only the zoo's inference latencies (ResNet-18, MobileNet v2, EfficientNet-Lite0 on
    /// 224x224x3 at batch 1 and 16), the peer of bench/pytorch_inference.py.
    #[arg(long)]
    inference: bool,
    /// Timed runs per inference figure (the median is reported).
    #[arg(long, default_value_t = 10)]
    reps: usize,
}

/// Best-of-`reps` seconds of `f`, after one warm-up call.
fn best_of(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

pub fn run(args: BenchArgs) -> Result<(), Box<dyn std::error::Error>> {
    let threads = super::set_threads(args.threads)?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    if args.reps == 0 {
        return Err("invalid --reps 0: must be at least 1".into());
    }
    if args.inference {
        println!(
            "krust bench --inference: {threads} threads, median of {} runs",
            args.reps
        );
        for (label, name) in [
            ("ResNet-18", "resnet18"),
            ("MobileNet v2", "mobilenet_v2"),
            ("EfficientNet-Lite0", "efficientnet_lite0"),
        ] {
            inference_latency(label, name, args.reps, &mut rng)?;
        }
        return Ok(());
    }
    println!(
        "krust bench: {threads} threads, peak {:.0} GFLOP/s",
        args.peak
    );
    println!(
        "{:<44}{:>12}{:>12}{:>10}",
        "workload", "time", "GFLOP/s", "% peak"
    );
    let report = |name: &str, secs: f64, flops: f64| {
        let g = flops / secs / 1e9;
        println!(
            "{name:<44}{:>10.2}ms{g:>12.1}{:>9.1}%",
            secs * 1e3,
            100.0 * g / args.peak
        );
    };

    let n = 2048;
    let a = Tensor::randn([n, n], 0.0, 1.0, &mut rng);
    let b = Tensor::randn([n, n], 0.0, 1.0, &mut rng);
    let t = best_of(3, || {
        a.matmul(&b).map(drop).ok();
    });
    report("GEMM 2048x2048x2048", t, 2.0 * (n * n * n) as f64);

    // The VGG block's second conv: 64 -> 64 channels, 3x3 same, on 32x32, batch 64.
    let x = Tensor::randn([64, 32, 32, 64], 0.0, 1.0, &mut rng);
    let w = Tensor::randn([3, 3, 64, 64], 0.0, 0.1, &mut rng);
    let spec = Conv2dSpec {
        strides: (1, 1),
        padding: Padding::Same,
        dilation: (1, 1),
    };
    let flops = 2.0 * (64 * 32 * 32) as f64 * (9 * 64 * 64) as f64;
    let fwd = best_of(3, || {
        conv2d(&x, &w, None, &spec).map(drop).ok();
    });
    report("conv 3x3 64->64 on 64x32x32 forward", fwd, flops);
    let dy = Tensor::randn([64, 32, 32, 64], 0.0, 1.0, &mut rng);
    let bwd = best_of(3, || {
        conv2d_backward(&x, &w, &dy, &spec, true, true, true)
            .map(drop)
            .ok();
    });
    report(
        "conv 3x3 64->64 backward (input + kernel)",
        bwd,
        2.0 * flops,
    );

    // MobileNet v2's depthwise 3x3 convolutions (batch 16): the stride-2 one of block 3 and
    // the stride-1 one of blocks 4-5. bench/pytorch_depthwise.py times PyTorch on the same.
    depthwise_layer(16, 112, 96, 2, &mut rng)?;
    depthwise_layer(16, 56, 144, 1, &mut rng)?;

    // End-to-end training steps of the standard models on random images, batch 64, Adam.
    // small_cnn's step costs about 20 of LeNet-5's, so it gets a tenth of the steps.
    train_steps("LeNet-5", "lenet5", args.steps, &mut rng)?;
    train_steps("small_cnn", "small_cnn", (args.steps / 10).max(5), &mut rng)?;
    Ok(())
}

/// Times a `DepthwiseConv2D` 3x3 "same" layer with bias (multiplier 1) on a batch of
/// `n` `size`x`size`x`c` images: forward alone, and the input + kernel + bias gradients
/// (forward plus backward, less the forward).
fn depthwise_layer(
    n: usize,
    size: usize,
    c: usize,
    stride: usize,
    rng: &mut rand_chacha::ChaCha8Rng,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut layer = DepthwiseConv2D::new((3, 3), 1)
        .with_strides((stride, stride))
        .with_padding(Padding::Same);
    let out = layer.build(&[size, size, c])?;
    let x = Var::parameter(Tensor::randn([n, size, size, c], 0.0, 1.0, rng));
    let dy = Tensor::randn([n, out[0], out[1], out[2]], 0.0, 1.0, rng);
    let fwd = best_of(5, || {
        layer.forward(&x, false).map(drop).ok();
    });
    let both = best_of(5, || {
        if let Ok(y) = layer.forward(&x, true) {
            y.backward_with(dy.clone()).ok();
        }
        // Accumulated gradients would add one more sum per call.
        x.zero_grad();
        layer.weights().iter().for_each(|(_, w)| w.zero_grad());
    });
    let label = format!("depthwise 3x3/{stride} on {n}x{size}x{size}x{c}");
    println!(
        "{:<44}{:>10.2}ms\n{:<44}{:>10.2}ms",
        format!("{label} forward"),
        fwd * 1e3,
        format!("{label} backward"),
        (both - fwd).max(0.0) * 1e3
    );
    Ok(())
}

/// Median latency of zoo model `name`'s inference (no tape, dropout off) on random 224x224x3
/// images at batch 1 and 16, after one warm-up run.
fn inference_latency(
    label: &str,
    name: &str,
    reps: usize,
    rng: &mut rand_chacha::ChaCha8Rng,
) -> Result<(), Box<dyn std::error::Error>> {
    krust::tensor::random::set_global_seed(0);
    let model = krust::zoo::build_model(name, &[224, 224, 3], 1000)?;
    for batch in [1, 16] {
        let x = Tensor::randn([batch, 224, 224, 3], 0.0, 1.0, rng);
        model.predict(std::slice::from_ref(&x))?;
        let mut times = Vec::with_capacity(reps);
        for _ in 0..reps {
            let t = Instant::now();
            model.predict(std::slice::from_ref(&x))?;
            times.push(t.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{:<20} batch {batch:>2}: {:8.2} ms",
            label,
            times[times.len() / 2] * 1e3
        );
    }
    Ok(())
}

/// Times `steps` training steps (forward, loss, backward, Adam) of zoo model `model` on one
/// batch of 64 random 28x28x1 images and prints the step time and images/s.
fn train_steps(
    label: &str,
    model: &str,
    steps: usize,
    rng: &mut rand_chacha::ChaCha8Rng,
) -> Result<(), Box<dyn std::error::Error>> {
    krust::tensor::random::set_global_seed(0);
    let model = krust::zoo::build(model, &[28, 28, 1], 10)?;
    let params = model.parameters();
    let mut opt = Adam::new(1e-3)?;
    let loss_fn = SparseCategoricalCrossentropy { from_logits: true };
    let images = Tensor::rand_uniform([64, 28, 28, 1], 0.0, 1.0, rng);
    let labels: Vec<u32> = (0..64).map(|i| i % 10).collect();
    let mut step = || -> Result<(), Box<dyn std::error::Error>> {
        let out = model.forward(&Var::constant(images.clone()), true)?;
        loss_fn
            .compute(&out, &Targets::Sparse(&labels))?
            .backward()?;
        opt.step(&params)?;
        params.iter().for_each(Var::zero_grad);
        Ok(())
    };
    step()?;
    let start = Instant::now();
    for _ in 0..steps {
        step()?;
    }
    let secs = start.elapsed().as_secs_f64();
    let ips = (steps * 64) as f64 / secs;
    println!(
        "{:<44}{:>10.2}ms{:>12}{:>10}\n  -> {:.0} images/s, a 60,000-image epoch in {:.2}s",
        format!("{label} train step, batch 64 (Adam)"),
        secs * 1e3 / steps as f64,
        "",
        "",
        ips,
        60_000.0 / ips
    );
    Ok(())
}
