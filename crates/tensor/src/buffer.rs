//! Host buffers that go back to a bounded pool when their last tensor drops, so a training
//! step or an inference pass reuses the memory of the previous one instead of asking the
//! allocator (and the kernel's page-fault handler) for fresh pages every time.

use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

/// Buffers smaller than this many floats are left to the allocator (its own caches are fast).
const MIN_POOLED: usize = 16 * 1024;
/// Most bytes the pool holds; beyond that, freed buffers go back to the allocator.
const MAX_POOLED_BYTES: usize = 512 << 20;
/// Most buffers the pool holds.
const MAX_POOLED: usize = 256;

struct Pool {
    free: Vec<Vec<f32>>,
    bytes: usize,
}

static POOL: Mutex<Pool> = Mutex::new(Pool {
    free: Vec::new(),
    bytes: 0,
});

fn pool() -> std::sync::MutexGuard<'static, Pool> {
    // A panic while holding the lock leaves the pool consistent (push/remove are atomic).
    POOL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A pooled buffer with room for `len` floats, or None. Best fit within 2×, so a small
/// request never pins a huge buffer.
fn take(len: usize) -> Option<Vec<f32>> {
    if len < MIN_POOLED {
        return None;
    }
    let mut p = pool();
    let best = p
        .free
        .iter()
        .enumerate()
        .filter(|(_, v)| v.capacity() >= len && v.capacity() <= 2 * len)
        .min_by_key(|(_, v)| v.capacity())
        .map(|(i, _)| i)?;
    let v = p.free.swap_remove(best);
    p.bytes -= 4 * v.capacity();
    Some(v)
}

fn give_back(v: Vec<f32>) {
    let bytes = 4 * v.capacity();
    if v.capacity() < MIN_POOLED {
        return;
    }
    let mut p = pool();
    if p.free.len() >= MAX_POOLED || p.bytes + bytes > MAX_POOLED_BYTES {
        return;
    }
    p.bytes += bytes;
    p.free.push(v);
}

/// `len` floats of unspecified (but initialized) values, for kernels that write every one.
pub fn dirty(len: usize) -> Vec<f32> {
    match take(len) {
        Some(mut v) => {
            if v.len() >= len {
                v.truncate(len);
            } else {
                v.resize(len, 0.0);
            }
            v
        }
        None => vec![0.0; len],
    }
}

/// `len` zeros.
pub fn zeroed(len: usize) -> Vec<f32> {
    match take(len) {
        Some(mut v) => {
            v.clear();
            v.resize(len, 0.0);
            v
        }
        None => vec![0.0; len],
    }
}

/// `len` values computed by `f(i)`, written into a pooled buffer.
pub fn from_fn(len: usize, mut f: impl FnMut(usize) -> f32) -> Vec<f32> {
    let mut v = dirty(len);
    v.iter_mut().enumerate().for_each(|(i, x)| *x = f(i));
    v
}

/// Releases every pooled buffer to the allocator (for callers that need the memory back).
pub fn release_pool() {
    let mut p = pool();
    p.free.clear();
    p.bytes = 0;
}

/// Bytes the pool currently holds.
pub fn pooled_bytes() -> usize {
    pool().bytes
}

/// The storage of a CPU tensor: a vector that returns to the pool when dropped.
#[derive(Debug, Default)]
pub struct HostBuffer(Vec<f32>);

impl HostBuffer {
    pub fn new(v: Vec<f32>) -> HostBuffer {
        HostBuffer(v)
    }
}

impl Clone for HostBuffer {
    fn clone(&self) -> HostBuffer {
        let mut v = dirty(self.0.len());
        v.copy_from_slice(&self.0);
        HostBuffer(v)
    }
}

impl Drop for HostBuffer {
    fn drop(&mut self) {
        give_back(std::mem::take(&mut self.0));
    }
}

impl Deref for HostBuffer {
    type Target = Vec<f32>;
    fn deref(&self) -> &Vec<f32> {
        &self.0
    }
}

impl DerefMut for HostBuffer {
    fn deref_mut(&mut self) -> &mut Vec<f32> {
        &mut self.0
    }
}

/// `MemAvailable` from `/proc/meminfo`, where the system has one: what a size read from a file
/// or a flag is checked against before it is allocated.
pub fn available_memory_bytes() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_buffer_is_reused_and_zeroed_on_request() {
        // Distinctive sizes so parallel tests do not take each other's buffers.
        let len = MIN_POOLED * 3 + 17;
        let mut b = HostBuffer::new(dirty(len));
        b.fill(5.0);
        let addr = b.as_ptr() as usize;
        drop(b);
        let again = zeroed(len - 3);
        assert_eq!(again.len(), len - 3);
        assert!(again.iter().all(|&v| v == 0.0));
        assert_eq!(
            again.as_ptr() as usize,
            addr,
            "the pooled buffer was reused"
        );
        let small = dirty(10);
        assert_eq!(small.len(), 10);
    }

    #[test]
    fn a_small_request_never_takes_a_much_larger_buffer() {
        let big = MIN_POOLED * 40 + 5;
        let b = HostBuffer::new(dirty(big));
        let addr = b.as_ptr() as usize;
        drop(b);
        let small = dirty(MIN_POOLED + 1);
        assert_ne!(small.as_ptr() as usize, addr);
    }
}
