//! The `krust` binary: thin commands over the library.

mod commands;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
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
    Train(Box<commands::train::TrainArgs>),
    /// Test metrics of a saved model, with the confusion matrix and misclassified images.
    Evaluate(commands::evaluate::EvaluateArgs),
    /// Print a saved or zoo model's layers, output shapes and parameter counts.
    Summary(commands::summary::SummaryArgs),
    /// Run a model file, or a zoo model with PyTorch/safetensors weights, on .npy inputs.
    Predict(commands::predict::PredictArgs),
    /// Top-k classes of JPEG/PNG photos under a pretrained zoo model.
    Classify(commands::classify::ClassifyArgs),
    /// Measure GEMM and convolution GFLOP/s and training throughput on this machine.
    Bench(commands::bench::BenchArgs),
    /// Run a course demo: normalization, losses, activations or pretrained.
    Demo(commands::demo::DemoArgs),
}

/// `krust ... | head` should end quietly like other command-line tools: restore the default
/// SIGPIPE action (Rust ignores it, which turns a closed pipe into a failed print).
fn exit_quietly_on_closed_pipe() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: resetting a signal disposition to its default, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    exit_quietly_on_closed_pipe();
    // A panic is a krust bug, never a user's fault: say so in one line instead of a backtrace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("krust: internal error (please report): {info}");
    }));
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let done = |result: Result<(), Box<dyn std::error::Error>>| result.map(|()| ExitCode::SUCCESS);
    let result = match cli.command {
        // `krust train` needs to know which flags were given (for --resume), and exits 130
        // when Ctrl-C stopped it.
        Command::Train(args) => {
            let given = matches.subcommand_matches("train").cloned();
            commands::train::run(*args, &given.unwrap_or_default())
        }
        Command::Evaluate(args) => done(commands::evaluate::run(args)),
        Command::Bench(args) => done(commands::bench::run(args)),
        Command::Summary(args) => done(commands::summary::run(args)),
        Command::Predict(args) => done(commands::predict::run(args)),
        Command::Classify(args) => done(commands::classify::run(args)),
        Command::Demo(args) => done(commands::demo::run(args)),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
