//! The one place every random thing takes its seed from: a global seed plus a counter, so the
//! same seed (and thread count) reproduces a whole run.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::sync::atomic::{AtomicU64, Ordering};

static GLOBAL_SEED: AtomicU64 = AtomicU64::new(0);
static STREAM_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Sets the global seed and restarts the sequence of derived generators.
pub fn set_global_seed(seed: u64) {
    GLOBAL_SEED.store(seed, Ordering::SeqCst);
    STREAM_COUNTER.store(0, Ordering::SeqCst);
}

pub fn global_seed() -> u64 {
    GLOBAL_SEED.load(Ordering::SeqCst)
}

/// A fresh generator: the n-th one handed out since the seed was set.
pub fn next_rng() -> ChaCha8Rng {
    let n = STREAM_COUNTER.fetch_add(1, Ordering::SeqCst);
    let mut rng = ChaCha8Rng::seed_from_u64(global_seed());
    rng.set_stream(n + 1);
    rng
}
