//! One module per `krust` subcommand.

pub mod bench;
pub mod classify;
mod data_args;
pub mod demo;
pub mod evaluate;
mod explain;
mod model_inputs;
pub mod predict;
mod report;
mod resume;
pub mod summary;
pub mod train;

/// Sizes the thread pool from `--threads` (0 or absent: one per core).
pub fn set_threads(threads: Option<usize>) -> Result<usize, String> {
    let n = match threads {
        Some(0) => return Err("invalid --threads 0: must be at least 1".into()),
        Some(n) => n,
        None => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
    };
    krust::tensor::parallel::set_num_threads(n);
    Ok(krust::tensor::parallel::num_threads())
}
