//! What `krust train` keeps in a run directory so that the run can be continued, and Ctrl-C.
//!
//! A run directory holds `run.json` (the command line that started the run, and where), the
//! training state `state.krust` (rewritten atomically after every epoch) and `history.csv`.
//! `krust train --resume RUN_DIR` reads the command line back, so the run continues with its
//! own model and hyper-parameters; a flag given again must agree with the recorded one, except
//! those in [`MAY_CHANGE`].

use super::train::TrainArgs;
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

type BoxError = Box<dyn std::error::Error>;

/// The run's record of how it was started.
pub const RECORD: &str = "run.json";
/// The training state after the last finished epoch.
pub const STATE: &str = "state.krust";

/// Flags a resumed run may set anew: how far to train, what it prints and logs, how many
/// threads.
const MAY_CHANGE: &[&str] = &[
    "resume",
    "epochs",
    "quiet",
    "threads",
    "loader_threads",
    "tensorboard_freq",
];

/// Flags that `--resume FILE` cannot honour: the file holds the model and its optimizer.
const RESTORED_FROM_FILE: &[&str] = &[
    "model",
    "weights",
    "freeze_base",
    "optimizer",
    "lr",
    "momentum",
    "weight_decay",
    "dropout",
    "normalize",
];

/// `krust train`'s arguments alone, to parse a recorded command line.
#[derive(Parser)]
#[command(name = "krust train")]
struct Recorded {
    #[command(flatten)]
    args: TrainArgs,
}

/// Writes `run.json` into a new run directory: the arguments after `krust train`, the
/// working directory they are relative to, and krust's version.
pub fn write_record(dir: &Path) -> Result<(), BoxError> {
    let arguments: Vec<String> = std::env::args().skip(2).collect();
    let directory = std::env::current_dir()?;
    let record = json!({
        "krust": env!("CARGO_PKG_VERSION"),
        "directory": directory.to_string_lossy(),
        "arguments": arguments,
    });
    krust::nn::saving::write_atomically(
        &dir.join(RECORD),
        serde_json::to_string_pretty(&record)?.as_bytes(),
    )?;
    Ok(())
}

/// The command that resumes the run in `dir`.
pub fn resume_command(dir: &Path) -> String {
    format!("krust train --resume {}", dir.display())
}

/// The arguments a run continues with. Without `--resume`, or with `--resume FILE`, they are
/// the command line's (and `--resume FILE` refuses the flags the file overrides). With
/// `--resume RUN_DIR` they are the recorded ones, with the flags of [`MAY_CHANGE`] given now,
/// and any other flag given now must agree with the record.
pub fn resolve(args: TrainArgs, given: &ArgMatches) -> Result<TrainArgs, BoxError> {
    let Some(resume) = args.resume.clone() else {
        return Ok(args);
    };
    let given_now = |id: &str| given.value_source(id) == Some(ValueSource::CommandLine);
    if !resume.is_dir() {
        if let Some(id) = RESTORED_FROM_FILE.iter().find(|id| given_now(id)) {
            return Err(format!(
                "--{}: --resume {} restores the model and its optimizer from that file, so --{} cannot change them (to train those weights with other settings, start a new run with --model {})",
                flag(id),
                resume.display(),
                flag(id),
                resume.display()
            )
            .into());
        }
        return Ok(args);
    }
    let record_path = resume.join(RECORD);
    let text = std::fs::read_to_string(&record_path).map_err(|e| {
        format!(
            "--resume {}: not a krust run directory ({}: {e}); --resume takes a run directory or a file written by --save",
            resume.display(),
            record_path.display()
        )
    })?;
    let corrupt = |why: String| format!("{}: {why}", record_path.display());
    let record: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
    let arguments: Vec<String> = record["arguments"]
        .as_array()
        .and_then(|a| a.iter().map(|v| v.as_str().map(String::from)).collect())
        .ok_or_else(|| corrupt("`arguments` is not a list of strings".into()))?;
    let recorded_matches = Recorded::command()
        .try_get_matches_from(std::iter::once("krust train".to_string()).chain(arguments))
        .map_err(|e| corrupt(format!("the recorded arguments do not parse: {e}")))?;
    let mut recorded = Recorded::from_arg_matches(&recorded_matches)
        .map_err(|e| corrupt(format!("the recorded arguments do not parse: {e}")))?
        .args;
    // The recorded paths (data, model files) are relative to where the run started.
    let started_in = record["directory"].as_str().map(PathBuf::from);
    for id in given.ids().map(|id| id.as_str()) {
        if MAY_CHANGE.contains(&id) || !given_now(id) {
            continue;
        }
        let (now, then) = (raw(given, id), raw(&recorded_matches, id));
        if !agree(&now, &then, started_in.as_deref()) {
            return Err(format!(
                "--{} {} contradicts the run's {} (recorded in {}): --resume continues the run with its own settings; start a new run to change them",
                flag(id),
                now.join(" "),
                if then.is_empty() {
                    "default (not given)".to_string()
                } else {
                    format!("--{} {}", flag(id), then.join(" "))
                },
                record_path.display()
            )
            .into());
        }
    }
    if given_now("epochs") {
        recorded.epochs = args.epochs;
    }
    if given_now("threads") {
        recorded.threads = args.threads;
    }
    if given_now("loader_threads") {
        recorded.loader_threads = args.loader_threads;
    }
    if given_now("tensorboard_freq") {
        recorded.tensorboard_freq = args.tensorboard_freq;
    }
    recorded.quiet = args.quiet;
    let resume = std::path::absolute(&resume)?;
    if let Some(directory) = started_in.filter(|d| d.is_dir()) {
        std::env::set_current_dir(&directory)?;
    }
    recorded.resume = Some(resume.clone());
    recorded.output = Some(resume);
    Ok(recorded)
}

/// A flag's command-line spelling from its argument id.
fn flag(id: &str) -> String {
    id.replace('_', "-")
}

/// An argument's values as written (a default counts as written).
fn raw(matches: &ArgMatches, id: &str) -> Vec<String> {
    match matches.try_get_raw(id) {
        Ok(Some(values)) => values.map(|v| v.to_string_lossy().into_owned()).collect(),
        _ => Vec::new(),
    }
}

/// Whether two spellings mean the same values: "0.001" and "1e-3" do, and a path given now
/// (from here) must name the file the recorded one names from where the run started
/// (`started_in`), whatever the spelling.
fn agree(now: &[String], then: &[String], started_in: Option<&Path>) -> bool {
    let real = |p: &Path| std::fs::canonicalize(p).ok();
    let same = |a: &str, b: &str| {
        if matches!((a.parse::<f64>(), b.parse::<f64>()), (Ok(x), Ok(y)) if x == y) {
            return true;
        }
        match real(Path::new(a)) {
            Some(here) => {
                let recorded = started_in.map_or_else(|| PathBuf::from(b), |dir| dir.join(b));
                Some(here) == real(&recorded)
            }
            None => a == b,
        }
    };
    now.len() == then.len() && now.iter().zip(then).all(|(a, b)| same(a, b))
}

/// Set by the first Ctrl-C: training stops after the step it is in.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Makes Ctrl-C (SIGINT) set [`INTERRUPTED`] instead of killing the process, so the run
/// finishes its step and writes its outputs; a second Ctrl-C quits at once.
pub fn catch_ctrl_c() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" fn on_interrupt(_: libc::c_int) {
            const MESSAGE: &[u8] =
                b"\nkrust: Ctrl-C: stopping after this step and saving the run (Ctrl-C again quits at once)\n";
            if INTERRUPTED.swap(true, Ordering::SeqCst) {
                // SAFETY: signal and raise are async-signal-safe; the default action ends the
                // process as an uncaught Ctrl-C does.
                unsafe {
                    libc::signal(libc::SIGINT, libc::SIG_DFL);
                    libc::raise(libc::SIGINT);
                }
            } else {
                // SAFETY: write(2) is async-signal-safe; the buffer outlives the call.
                unsafe {
                    libc::write(2, MESSAGE.as_ptr().cast(), MESSAGE.len());
                }
            }
        }
        // SAFETY: installs a handler that only touches an atomic and async-signal-safe calls.
        unsafe {
            libc::signal(
                libc::SIGINT,
                on_interrupt as extern "C" fn(libc::c_int) as libc::sighandler_t,
            );
        }
    }
}
