//! Times a square float32 GEMM (default 2048³) on the chosen instruction set: `cargo run
//! --release -p krust-tensor --example gemm_speed -- [n] [reps]`.

use krust_tensor::Tensor;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(2048);
    let reps: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(10);
    let a = Tensor::from_vec(
        vec![n, n],
        (0..n * n).map(|i| (i % 7) as f32 * 0.1).collect(),
    )
    .expect("square matrix");
    let b = a.clone();
    let _ = a.matmul(&b);
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            let _ = a.matmul(&b);
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let gflops = |t: f64| 2.0 * (n as f64).powi(3) / t / 1e9;
    println!(
        "GEMM {n}³ on {} with {} threads: median {:.1} GFLOP/s, best {:.1}",
        krust_tensor::sgemm::isa().describe(),
        krust_tensor::parallel::num_threads(),
        gflops(times[reps / 2]),
        gflops(times[0])
    );
}
