//! The AVX-512 micro-kernel: a 14×32 block of C kept in 28 zmm registers while one packed
//! A panel (14 rows) and one packed B panel (32 columns) stream through it.
//!
//! A panel comes in one of two layouts, a compile-time choice so every address is a constant
//! offset from one pointer: interleaved (`ROW = 1`, `STEP = MR`: the 14 row values of one k
//! are adjacent, what a transposed A packs into cheaply) or row-major (`ROW = KC`, `STEP = 1`:
//! each row's k values are contiguous, what a plain A or a convolution's im2col rows are
//! copied into with whole-row copies).

use super::{MR, NR};
use std::arch::x86_64::*;

/// `C[..mr, ..nr] (+)= A_panel · B_panel` over `kc` steps of k.
///
/// Row `r`'s value at step `kk` is `a[r·ROW + kk·STEP]`; `b` holds `kc` groups of `NR`
/// column values (both zero-padded past `mr` / `nr`); `c` is row-major with row stride `ldc`. With `load_c` the
/// product is added to what C holds, otherwise it overwrites it.
///
/// # Safety
/// The CPU must support AVX-512F; `a` must be readable at every `r·ROW + kk·STEP` for
/// `r < MR`, `kk < kc`; `b` for `kc·NR` floats,
/// and `c` writable for `mr` rows of `nr` floats at stride `ldc`; `mr ≤ MR`, `nr ≤ NR`.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn kernel<const ROW: usize, const STEP: usize>(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    mr: usize,
    nr: usize,
    load_c: bool,
) {
    // C's tile is read only after the loop: ask for its lines now, so they arrive while the
    // loop runs instead of stalling the stores.
    if load_c {
        for r in 0..mr {
            let p = c.add(r * ldc) as *const i8;
            _mm_prefetch::<_MM_HINT_T0>(p);
            _mm_prefetch::<_MM_HINT_T0>(p.add(64));
        }
    }
    let mut acc = [[_mm512_setzero_ps(); 2]; MR];
    let (mut a, mut b) = (a, b);
    for _ in 0..kc {
        let b0 = _mm512_loadu_ps(b);
        let b1 = _mm512_loadu_ps(b.add(16));
        // B eight steps ahead (a hint: past the panel's end it is harmless, and the address
        // is formed without `add`'s in-bounds requirement).
        _mm_prefetch::<_MM_HINT_T0>(b.wrapping_add(8 * NR) as *const i8);
        _mm_prefetch::<_MM_HINT_T0>(b.wrapping_add(8 * NR + 16) as *const i8);
        for (r, row) in acc.iter_mut().enumerate() {
            let av = _mm512_set1_ps(*a.add(r * ROW));
            row[0] = _mm512_fmadd_ps(av, b0, row[0]);
            row[1] = _mm512_fmadd_ps(av, b1, row[1]);
        }
        a = a.add(STEP);
        b = b.add(NR);
    }
    let m0: __mmask16 = if nr >= 16 { 0xffff } else { (1u16 << nr) - 1 };
    let m1: __mmask16 = if nr >= NR {
        0xffff
    } else if nr > 16 {
        (1u16 << (nr - 16)) - 1
    } else {
        0
    };
    for (r, row) in acc.iter().enumerate().take(mr) {
        let p = c.add(r * ldc);
        let (mut v0, mut v1) = (row[0], row[1]);
        if load_c {
            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, p));
            v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, p.add(16)));
        }
        _mm512_mask_storeu_ps(p, m0, v0);
        _mm512_mask_storeu_ps(p.add(16), m1, v1);
    }
}
