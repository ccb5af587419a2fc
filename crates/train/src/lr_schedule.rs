//! The per-epoch learning-rate schedules `krust train --lr-schedule` names, as callbacks.

use crate::callbacks::{Callback, LearningRateScheduler, ReduceLROnPlateau};
use crate::{Result, TrainError};

/// What `schedule_from_spec` accepts.
pub const SCHEDULE_SPECS: &str =
    "step:EVERY:FACTOR, exponential:RATE, cosine or plateau:PATIENCE:FACTOR";

/// The callback a schedule spec names, starting from `base_lr` over `epochs` epochs:
/// - `step:EVERY:FACTOR`: the rate times FACTOR every EVERY epochs;
/// - `exponential:RATE`: the rate times RATE^epoch;
/// - `cosine`: half a cosine from `base_lr` down to 0 at the last epoch;
/// - `plateau:PATIENCE:FACTOR`: Keras's `ReduceLROnPlateau` on `val_loss`.
pub fn schedule_from_spec(spec: &str, base_lr: f64, epochs: usize) -> Result<Box<dyn Callback>> {
    let bad = || TrainError::Argument {
        argument: "--lr-schedule",
        why: format!("{spec:?}: expected {SCHEDULE_SPECS}"),
    };
    let number = |s: &str| s.parse::<f64>().map_err(|_| bad());
    let count = |s: &str| s.parse::<usize>().map_err(|_| bad());
    let parts: Vec<&str> = spec.split(':').collect();
    Ok(match parts[..] {
        ["step", every, factor] => {
            let (every, factor) = (count(every)?, number(factor)?);
            if every == 0 {
                return Err(bad());
            }
            Box::new(LearningRateScheduler::new(move |epoch, _| {
                base_lr * factor.powi((epoch / every) as i32)
            }))
        }
        ["exponential", rate] => {
            let rate = number(rate)?;
            Box::new(LearningRateScheduler::new(move |epoch, _| {
                base_lr * rate.powi(epoch as i32)
            }))
        }
        ["cosine"] => Box::new(LearningRateScheduler::new(move |epoch, _| {
            let progress = epoch as f64 / epochs.max(1) as f64;
            base_lr * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
        })),
        ["plateau", patience, factor] => Box::new(ReduceLROnPlateau::new(
            "val_loss",
            number(factor)?,
            count(patience)?,
        )?),
        _ => return Err(bad()),
    })
}
