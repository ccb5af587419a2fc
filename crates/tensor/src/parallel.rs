//! How kernels split work across threads: one rayon pool sized once, and a threshold below
//! which splitting costs more than it saves.

use rayon::prelude::*;

/// Below this many elements an elementwise kernel runs on the calling thread.
pub const MIN_PARALLEL_ELEMENTS: usize = 1 << 15;

/// Sizes the global rayon pool once; later calls keep the first size (rayon's pool is global).
pub fn set_num_threads(threads: usize) -> bool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .is_ok()
}

pub fn num_threads() -> usize {
    rayon::current_num_threads()
}

/// Applies `f(start_index, chunk)` to consecutive chunks of `out`, in parallel when large.
pub fn for_each_chunk_mut<F>(out: &mut [f32], f: F)
where
    F: Fn(usize, &mut [f32]) + Sync + Send,
{
    let n = out.len();
    if n < MIN_PARALLEL_ELEMENTS || num_threads() == 1 {
        f(0, out);
        return;
    }
    let chunk = n.div_ceil(num_threads() * 4).max(4096);
    out.par_chunks_mut(chunk)
        .enumerate()
        .for_each(|(i, c)| f(i * chunk, c));
}
