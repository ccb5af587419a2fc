//! The `krust` binary: thin commands over the library.

mod commands;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "krust",
    version,
    about = "Keras-style deep learning for computer vision, in Rust"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model (LeNet-5 on Fashion-MNIST by default) and report test accuracy.
    Train(commands::train::TrainArgs),
    /// Measure GEMM and convolution GFLOP/s and training throughput on this machine.
    Bench(commands::bench::BenchArgs),
}

fn main() -> ExitCode {
    // A panic is a krust bug, never a user's fault: say so in one line instead of a backtrace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("krust: internal error (please report): {info}");
    }));
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => commands::train::run(args),
        Command::Bench(args) => commands::bench::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
