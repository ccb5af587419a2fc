//! `krust bench`: GEMM and convolution GFLOP/s, training throughput of the benchmark models and
//! zoo inference latency, each the counterpart of a script in `bench/`, with peak memory.

use clap::{Args, ValueEnum};
use krust::autograd::Var;
use krust::data::batches::{epoch_permutation, fill_batch};
use krust::data::fashion_mnist::{load_fashion_mnist, SYSTEM_DIR};
use krust::data::Dataset;
use krust::nn::layers::{
    ActivationLayer, BatchNormalization, Conv2D, Dense, DepthwiseConv2D, Flatten,
    GlobalAveragePooling2D, Input, MaxPooling2D,
};
use krust::nn::losses::{Loss, SparseCategoricalCrossentropy, Targets};
use krust::nn::optimizers::{Adam, Optimizer, Sgd};
use krust::nn::{Activation, Layer, Sequential};
use krust::tensor::conv::{conv2d, conv2d_backward};
use krust::tensor::{Conv2dSpec, Padding, Tensor};
use rand::SeedableRng;
use std::path::PathBuf;
use std::time::Instant;

type BenchResult<T = ()> = Result<T, Box<dyn std::error::Error>>;
type Rng = rand_chacha::ChaCha8Rng;

/// One benchmark of `krust bench --workload`; the names match `bench/*.py --workload`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Workload {
    /// float32 2048x2048x2048 matrix product (bench/pytorch_gemm.py).
    Gemm,
    /// The VGG block's 3x3 64->64 convolution on 64x32x32, forward and backward.
    Conv,
    /// MobileNet v2's 3x3 depthwise layers at batch 16 (bench/pytorch_depthwise.py).
    Depthwise,
    /// LeNet-5 training steps, batch 64, Adam (bench/pytorch_lenet.py).
    Lenet5,
    /// The seed CNN's training steps on Fashion-MNIST, batch 64, Adam
    /// (bench/pytorch_training.py --workload seed_cnn).
    #[value(name = "seed_cnn", alias = "seed-cnn")]
    SeedCnn,
    /// The zoo's small_cnn training steps on Fashion-MNIST, batch 64, Adam
    /// (bench/pytorch_training.py --workload small_cnn).
    #[value(name = "small_cnn", alias = "small-cnn")]
    SmallCnn,
    /// The VGG block's training steps on 32x32x3, batch 64, SGD with momentum
    /// (bench/pytorch_training.py --workload vgg_block).
    #[value(name = "vgg_block", alias = "vgg-block")]
    VggBlock,
    /// ResNet-18, MobileNet v2 and EfficientNet-Lite0 inference at batch 1 and 16
    /// (bench/pytorch_inference.py); not part of the default run.
    Inference,
}

/// What a run without `--workload` measures (about a minute on two cores).
const DEFAULT_WORKLOADS: &[Workload] = &[
    Workload::Gemm,
    Workload::Conv,
    Workload::Depthwise,
    Workload::Lenet5,
    Workload::SeedCnn,
    Workload::SmallCnn,
    Workload::VggBlock,
];

/// Images per training step in every training workload, as in the peers.
const BATCH: usize = 64;

#[derive(Args)]
pub struct BenchArgs {
    /// Worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// The machine's float32 peak in GFLOP/s to compare against (default: ONNX Runtime's
    /// best 2048³ MatMul on the project machine, the practical peak in performance.md).
    #[arg(long, default_value_t = 449.0)]
    peak: f64,
    /// Workloads to run, comma-separated or repeated (default: all but inference). Run one
    /// at a time for a peak memory figure that belongs to that workload alone.
    #[arg(long, value_enum, value_delimiter = ',')]
    workload: Vec<Workload>,
    /// Timed training steps of every training workload (default: lenet5 200, seed_cnn 50,
    /// small_cnn 20, vgg_block 10).
    #[arg(long, conflicts_with = "epoch")]
    steps: Option<usize>,
    /// Time one whole epoch of the Fashion-MNIST training set (938 steps) for lenet5,
    /// seed_cnn and small_cnn, like the PyTorch peers; vgg_block keeps its steps.
    #[arg(long)]
    epoch: bool,
    /// Fashion-MNIST directory for the Fashion-MNIST workloads (default: the system copy
    /// when installed, otherwise random images of the same shape).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Same as `--workload inference`.
    #[arg(long)]
    inference: bool,
    /// Timed runs per GEMM, convolution and inference figure (the median is reported).
    #[arg(long, default_value_t = 10)]
    reps: usize,
}

/// Sorted seconds of `reps` calls of `f`, after one warm-up call.
fn timings(reps: usize, mut f: impl FnMut()) -> Vec<f64> {
    f();
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times
}

/// The median of sorted, non-empty `times`.
fn median(times: &[f64]) -> f64 {
    let n = times.len();
    if n % 2 == 1 {
        times[n / 2]
    } else {
        (times[n / 2 - 1] + times[n / 2]) / 2.0
    }
}

/// The process's peak resident memory in bytes (`VmHWM`), where the system reports it.
fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The vector extensions this CPU offers that float32 kernels can use.
fn cpu_features() -> String {
    #[cfg(target_arch = "x86_64")]
    {
        let found: Vec<&str> = [
            ("avx512f", std::arch::is_x86_feature_detected!("avx512f")),
            ("avx2", std::arch::is_x86_feature_detected!("avx2")),
            ("fma", std::arch::is_x86_feature_detected!("fma")),
        ]
        .into_iter()
        .filter_map(|(name, present)| present.then_some(name))
        .collect();
        if found.is_empty() {
            "x86-64 without AVX2".into()
        } else {
            found.join(", ")
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        std::env::consts::ARCH.into()
    }
}

pub fn run(args: BenchArgs) -> BenchResult {
    if args.reps == 0 {
        return Err("invalid --reps 0: must be at least 1".into());
    }
    if args.steps == Some(0) {
        return Err("invalid --steps 0: must be at least 1".into());
    }
    if !(args.peak.is_finite() && args.peak > 0.0) {
        return Err(format!("invalid --peak {}: must be a positive GFLOP/s", args.peak).into());
    }
    let threads = super::set_threads(args.threads)?;
    let mut workloads = args.workload.clone();
    if args.inference && !workloads.contains(&Workload::Inference) {
        workloads.push(Workload::Inference);
    }
    if workloads.is_empty() {
        workloads = DEFAULT_WORKLOADS.to_vec();
    }
    let fashion = load_fashion(args.data_dir.clone(), args.epoch, &workloads)?;
    let mut rng = Rng::seed_from_u64(0);
    println!(
        "krust bench: {threads} threads, CPU {}, GEMM on {}, peak {:.0} GFLOP/s, median of {} runs",
        cpu_features(),
        krust::tensor::sgemm::isa().describe(),
        args.peak,
        args.reps
    );
    for &workload in &workloads {
        match workload {
            Workload::Gemm => gemm(&args, &mut rng),
            Workload::Conv => conv(&args, &mut rng)?,
            Workload::Depthwise => {
                // MobileNet v2's depthwise 3x3 convolutions (batch 16): the stride-2 one of
                // block 3 and the stride-1 one of blocks 4-5.
                depthwise_layer(16, 112, 96, 2, &mut rng)?;
                depthwise_layer(16, 56, 144, 1, &mut rng)?;
            }
            Workload::Inference => {
                for (label, name) in [
                    ("ResNet-18", "resnet18"),
                    ("MobileNet v2", "mobilenet_v2"),
                    ("EfficientNet-Lite0", "efficientnet_lite0"),
                ] {
                    inference_latency(label, name, args.reps, &mut rng)?;
                }
            }
            Workload::Lenet5 | Workload::SeedCnn | Workload::SmallCnn | Workload::VggBlock => {
                training(workload, &args, fashion.as_ref(), &mut rng)?;
            }
        }
    }
    let peak =
        peak_memory_bytes().map_or("n/a".to_string(), |b| format!("{:.0} MB", b as f64 / 1e6));
    let names: Vec<String> = workloads
        .iter()
        .filter_map(|w| w.to_possible_value().map(|v| v.get_name().to_string()))
        .collect();
    println!(
        "peak memory (VmHWM) of this run [{}]: {peak}",
        names.join(", ")
    );
    Ok(())
}

/// One GFLOP/s row: median time, GFLOP/s at the median and at the best run, % of the peak.
fn report_gflops(name: &str, times: &[f64], flops: f64, peak: f64) {
    let g = flops / median(times) / 1e9;
    let best = flops / times[0] / 1e9;
    println!(
        "{name:<44}{:>10.2} ms  {g:>7.1} GFLOP/s (best {best:.1}){:>7.1}% of peak",
        median(times) * 1e3,
        100.0 * g / peak
    );
}

fn gemm(args: &BenchArgs, rng: &mut Rng) {
    let n = 2048;
    let a = Tensor::randn([n, n], 0.0, 1.0, rng);
    let b = Tensor::randn([n, n], 0.0, 1.0, rng);
    let times = timings(args.reps, || {
        a.matmul(&b).map(drop).ok();
    });
    report_gflops(
        "GEMM 2048x2048x2048",
        &times,
        2.0 * (n * n * n) as f64,
        args.peak,
    );
}

/// The VGG block's second convolution: 64 -> 64 channels, 3x3 same, on 32x32, batch 64.
fn conv(args: &BenchArgs, rng: &mut Rng) -> BenchResult {
    let x = Tensor::randn([64, 32, 32, 64], 0.0, 1.0, rng);
    let w = Tensor::randn([3, 3, 64, 64], 0.0, 0.1, rng);
    let spec = Conv2dSpec {
        strides: (1, 1),
        padding: Padding::Same,
        dilation: (1, 1),
    };
    // Fail loudly once rather than timing an error path.
    conv2d(&x, &w, None, &spec)?;
    let flops = 2.0 * (64 * 32 * 32) as f64 * (9 * 64 * 64) as f64;
    let fwd = timings(args.reps, || {
        conv2d(&x, &w, None, &spec).map(drop).ok();
    });
    report_gflops(
        "conv 3x3 64->64 on 64x32x32 forward",
        &fwd,
        flops,
        args.peak,
    );
    let dy = Tensor::randn([64, 32, 32, 64], 0.0, 1.0, rng);
    conv2d_backward(&x, &w, &dy, &spec, true, true, true)?;
    let bwd = timings(args.reps, || {
        conv2d_backward(&x, &w, &dy, &spec, true, true, true)
            .map(drop)
            .ok();
    });
    report_gflops(
        "conv 3x3 64->64 backward (input + kernel)",
        &bwd,
        2.0 * flops,
        args.peak,
    );
    Ok(())
}

/// Times a `DepthwiseConv2D` 3x3 "same" layer with bias (multiplier 1) on a batch of
/// `n` `size`x`size`x`c` images: forward alone, and the input + kernel + bias gradients
/// (forward plus backward, less the forward), each the best of 5 runs.
fn depthwise_layer(n: usize, size: usize, c: usize, stride: usize, rng: &mut Rng) -> BenchResult {
    let mut layer = DepthwiseConv2D::new((3, 3), 1)
        .with_strides((stride, stride))
        .with_padding(Padding::Same);
    let out = layer.build(&[size, size, c])?;
    let x = Var::parameter(Tensor::randn([n, size, size, c], 0.0, 1.0, rng));
    let dy = Tensor::randn([n, out[0], out[1], out[2]], 0.0, 1.0, rng);
    let fwd = timings(5, || {
        layer.forward(&x, false).map(drop).ok();
    })[0];
    let both = timings(5, || {
        if let Ok(y) = layer.forward(&x, true) {
            y.backward_with(dy.clone()).ok();
        }
        // Accumulated gradients would add one more sum per call.
        x.zero_grad();
        layer.weights().iter().for_each(|(_, w)| w.zero_grad());
    })[0];
    let label = format!("depthwise 3x3/{stride} on {n}x{size}x{size}x{c}");
    println!(
        "{:<44}{:>10.2} ms\n{:<44}{:>10.2} ms",
        format!("{label} forward"),
        fwd * 1e3,
        format!("{label} backward"),
        (both - fwd).max(0.0) * 1e3
    );
    Ok(())
}

/// Median latency of zoo model `name`'s inference (no tape, dropout off) on random 224x224x3
/// images at batch 1 and 16, after one warm-up run.
fn inference_latency(label: &str, name: &str, reps: usize, rng: &mut Rng) -> BenchResult {
    krust::tensor::random::set_seed(0);
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
            median(&times) * 1e3
        );
    }
    Ok(())
}

/// The seed CNN: conv 32@5x5 relu, max pool 2, conv 64@5x5 relu, max pool 2, flatten,
/// dense 1000 relu, dense 10 (logits); "valid" convolutions, as PyTorch's and Keras's default.
fn seed_cnn() -> krust::nn::Result<Sequential> {
    let mut m = Sequential::new();
    m.add(Input::new(&[28, 28, 1]))?;
    m.add(Conv2D::new(32, (5, 5)).with_activation(Activation::Relu))?;
    m.add(MaxPooling2D::new((2, 2)))?;
    m.add(Conv2D::new(64, (5, 5)).with_activation(Activation::Relu))?;
    m.add(MaxPooling2D::new((2, 2)))?;
    m.add(Flatten::new())?;
    m.add(Dense::new(1000).with_activation(Activation::Relu))?;
    m.add(Dense::new(10))?;
    Ok(m)
}

/// The VGG block on 32x32x3: (conv 3x3 same with bias, batch normalization, relu) twice at 64
/// and twice at 128 channels, a 2x2 max pool after each pair, global average pooling, dense 10.
fn vgg_block() -> krust::nn::Result<Sequential> {
    let mut m = Sequential::new();
    m.add(Input::new(&[32, 32, 3]))?;
    for filters in [64, 128] {
        for _ in 0..2 {
            m.add(Conv2D::new(filters, (3, 3)).with_padding(Padding::Same))?;
            m.add(BatchNormalization::new())?;
            m.add(ActivationLayer::new(Activation::Relu))?;
        }
        m.add(MaxPooling2D::new((2, 2)))?;
    }
    m.add(GlobalAveragePooling2D::new())?;
    m.add(Dense::new(10))?;
    Ok(m)
}

/// Fashion-MNIST's training images when a requested workload trains on them and they are
/// installed (or given with `--data-dir`); `None` when random images of the same shape stand in.
fn load_fashion(
    dir: Option<PathBuf>,
    epoch: bool,
    workloads: &[Workload],
) -> BenchResult<Option<Dataset>> {
    if !workloads.iter().any(|w| w.reads_fashion_mnist()) {
        return Ok(None);
    }
    let dir = dir.or_else(|| {
        let system = PathBuf::from(SYSTEM_DIR);
        system.is_dir().then_some(system)
    });
    let Some(dir) = dir else {
        if epoch {
            return Err(format!(
                "--epoch needs Fashion-MNIST: {SYSTEM_DIR} is missing \
                 (`apt-get install dataset-fashion-mnist`, or give --data-dir)"
            )
            .into());
        }
        return Ok(None);
    };
    let ds = load_fashion_mnist(&dir)
        .map_err(|e| format!("--data-dir {}: {e}", dir.display()))?
        .train;
    if ds.sample_shape() != [28, 28, 1] || ds.labels().is_none() {
        return Err(format!(
            "--data-dir {}: expected 28x28 grey images with class labels, got samples of \
             shape {:?}",
            dir.display(),
            ds.sample_shape()
        )
        .into());
    }
    Ok(Some(ds))
}

impl Workload {
    fn reads_fashion_mnist(self) -> bool {
        matches!(
            self,
            Workload::Lenet5 | Workload::SeedCnn | Workload::SmallCnn
        )
    }

    fn default_steps(self) -> usize {
        match self {
            Workload::Lenet5 => 200,
            Workload::SeedCnn => 50,
            Workload::SmallCnn => 20,
            _ => 10,
        }
    }
}

/// Where a training workload's batches come from: a shuffled pass over Fashion-MNIST
/// (assembled from its bytes every step, as `krust train` does), or one random batch reused.
enum Batches<'a> {
    Fashion {
        ds: &'a Dataset,
        order: Vec<usize>,
        next: usize,
        epoch: usize,
    },
    Random {
        images: Tensor,
        labels: Vec<u32>,
    },
}

impl Batches<'_> {
    /// The next batch of at most `BATCH` images (the epoch's last one may be smaller) and
    /// its labels; a pass over the data starts again, reshuffled, when it runs out.
    fn next_batch(&mut self) -> BenchResult<(Tensor, Vec<u32>)> {
        match self {
            Batches::Random { images, labels } => Ok((images.clone(), labels.clone())),
            Batches::Fashion {
                ds,
                order,
                next,
                epoch,
            } => {
                if *next >= order.len() {
                    *epoch += 1;
                    *order = epoch_permutation(ds.len(), 0, *epoch);
                    *next = 0;
                }
                let end = (*next + BATCH).min(order.len());
                let (mut inputs, mut labels, mut values) = (Vec::new(), Vec::new(), Vec::new());
                fill_batch(
                    ds,
                    &order[*next..end],
                    &mut inputs,
                    &mut labels,
                    &mut values,
                );
                *next = end;
                let n = labels.len();
                Ok((Tensor::from_vec([n, 28, 28, 1], inputs)?, labels))
            }
        }
    }
}

/// One batch of `shape` uniform random images with labels 0, 1, ..., 9, 0, 1, ...
fn random_batch(shape: [usize; 4], rng: &mut Rng) -> Batches<'static> {
    Batches::Random {
        images: Tensor::rand_uniform(shape, 0.0, 1.0, rng),
        labels: (0..shape[0] as u32).map(|i| i % 10).collect(),
    }
}

/// Times training steps (forward, loss, backward, optimizer update) of a training workload
/// after one untimed warm-up step, and prints the median step, images/s and the epoch time.
fn training(
    workload: Workload,
    args: &BenchArgs,
    data: Option<&Dataset>,
    rng: &mut Rng,
) -> BenchResult {
    krust::tensor::random::set_seed(0);
    let (label, model, mut opt): (&str, Sequential, Box<dyn Optimizer>) = match workload {
        Workload::Lenet5 => (
            "LeNet-5 training, batch 64, Adam",
            krust::zoo::build("lenet5", &[28, 28, 1], 10)?,
            Box::new(Adam::new(1e-3)?),
        ),
        Workload::SeedCnn => (
            "seed CNN training, batch 64, Adam",
            seed_cnn()?,
            Box::new(Adam::new(1e-3)?),
        ),
        Workload::SmallCnn => (
            "small_cnn training, batch 64, Adam",
            krust::zoo::build("small_cnn", &[28, 28, 1], 10)?,
            Box::new(Adam::new(1e-3)?),
        ),
        _ => (
            "VGG block training, batch 64, SGD",
            vgg_block()?,
            Box::new(Sgd::new(0.01, 0.9, false)?),
        ),
    };
    let fashion = data.filter(|_| workload.reads_fashion_mnist());
    let epoch_steps = fashion.map(|ds| ds.len().div_ceil(BATCH));
    let steps = match (args.epoch, epoch_steps) {
        (true, Some(n)) => n,
        _ => args.steps.unwrap_or(workload.default_steps()),
    };
    let shape = if workload == Workload::VggBlock {
        [BATCH, 32, 32, 3]
    } else {
        [BATCH, 28, 28, 1]
    };
    let (mut batches, source) = match fashion {
        Some(ds) => (
            Batches::Fashion {
                ds,
                order: epoch_permutation(ds.len(), 0, 0),
                next: 0,
                epoch: 0,
            },
            format!("Fashion-MNIST ({} images)", ds.len()),
        ),
        None => (random_batch(shape, rng), "random images".to_string()),
    };
    let params = model.parameters();
    let loss_fn = SparseCategoricalCrossentropy { from_logits: true };
    let mut step = |batches: &mut Batches| -> BenchResult<usize> {
        let (images, labels) = batches.next_batch()?;
        let out = model.forward(&Var::constant(images), true)?;
        loss_fn
            .compute(&out, &Targets::Sparse(&labels))?
            .backward()?;
        opt.step(&params)?;
        params.iter().for_each(Var::zero_grad);
        Ok(labels.len())
    };
    // The warm-up step comes from a throwaway random batch so that a timed epoch sees every
    // training image exactly once.
    let mut warm_up = random_batch(shape, rng);
    step(&mut warm_up)?;
    let mut times = Vec::with_capacity(steps);
    let mut images = 0;
    for _ in 0..steps {
        let t = Instant::now();
        images += step(&mut batches)?;
        times.push(t.elapsed().as_secs_f64());
    }
    let total: f64 = times.iter().sum();
    times.sort_by(f64::total_cmp);
    let mid = median(&times);
    let per_second = images as f64 / total;
    println!(
        "{:<44}{:>10.2} ms median step, {:.0} img/s; {steps} steps on {source}: {:.0} img/s, \
         {:.2} s per 60,000 images",
        label,
        mid * 1e3,
        BATCH as f64 / mid,
        per_second,
        60_000.0 / per_second,
    );
    Ok(())
}
