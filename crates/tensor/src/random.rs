//! Randomness. Every random value krust draws comes from a seeded [`Generator`]:
//!
//! - [`Generator::next_rng`]: a fresh ChaCha generator per consumer, for host-side work done
//!   once or per sample (weight initialization, shuffling, augmentation).
//! - [`RandomStream`]: a counter-based generator (Philox4x32-10, Salmon et al., SC 2011) for
//!   the random tensors a training step draws (dropout and noise masks). Element `i` of a draw
//!   is a pure function of (key, position + i), so the values do not depend on how the work is
//!   split over threads, and a GPU backend computes the same tensor with one thread per block
//!   of four elements and no generator state to copy.
//!
//! Layers take their randomness from the generator of the thread that builds them, which
//! [`set_seed`] seeds (like `torch.manual_seed` or `keras.utils.set_random_seed`, but per
//! thread): tests running side by side on their threads never disturb each other, and
//! [`with_seed`] builds a model from a generator of its own without touching the thread's.

use crate::shape::numel;
use crate::{Device, Tensor};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::Cell;

/// A seed and the number of generators handed out since it was set: the n-th consumer gets
/// ChaCha stream n + 1 under the seed, so a seed reproduces a whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generator {
    seed: u64,
    handed_out: u64,
}

impl Generator {
    pub const fn new(seed: u64) -> Generator {
        Generator {
            seed,
            handed_out: 0,
        }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// A fresh generator: the n-th one handed out since this one was seeded.
    pub fn next_rng(&mut self) -> ChaCha8Rng {
        self.handed_out += 1;
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(self.handed_out);
        rng
    }
}

thread_local! {
    /// The generator of this thread (seed 0 until `set_seed`).
    static THREAD_GENERATOR: Cell<Generator> = const { Cell::new(Generator::new(0)) };
}

/// Seeds this thread's generator and restarts its sequence of derived generators.
pub fn set_seed(seed: u64) {
    THREAD_GENERATOR.with(|g| g.set(Generator::new(seed)));
}

/// The seed this thread's generator was last given.
pub fn current_seed() -> u64 {
    THREAD_GENERATOR.with(|g| g.get().seed())
}

/// A fresh generator from this thread's generator: the n-th one handed out since its seed.
pub fn next_rng() -> ChaCha8Rng {
    THREAD_GENERATOR.with(|g| {
        let mut generator = g.get();
        let rng = generator.next_rng();
        g.set(generator);
        rng
    })
}

/// Runs `f` with this thread's generator seeded with `seed`, then puts the thread's own
/// generator back where it was: a model built inside draws from its own sequence and leaves
/// the caller's untouched.
pub fn with_seed<T>(seed: u64, f: impl FnOnce() -> T) -> T {
    /// Restores the saved generator even if `f` panics.
    struct Restore(Generator);
    impl Drop for Restore {
        fn drop(&mut self) {
            THREAD_GENERATOR.with(|g| g.set(self.0));
        }
    }
    let _restore = Restore(THREAD_GENERATOR.with(|g| g.replace(Generator::new(seed))));
    f()
}

/// Philox4x32's round multipliers and key increments (the Weyl sequence's golden-ratio and
/// sqrt(3)-1 constants), as published with the algorithm.
const PHILOX_M: [u32; 2] = [0xD251_1F53, 0xCD9E_8D57];
const PHILOX_W: [u32; 2] = [0x9E37_79B9, 0xBB67_AE85];

/// Philox4x32-10: four random words from a 128-bit counter and a 64-bit key.
pub fn philox4x32(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let (mut c, mut k) = (counter, key);
    for round in 0..10 {
        if round > 0 {
            k = [
                k[0].wrapping_add(PHILOX_W[0]),
                k[1].wrapping_add(PHILOX_W[1]),
            ];
        }
        let p0 = u64::from(PHILOX_M[0]) * u64::from(c[0]);
        let p1 = u64::from(PHILOX_M[1]) * u64::from(c[2]);
        let (hi0, lo0) = ((p0 >> 32) as u32, p0 as u32);
        let (hi1, lo1) = ((p1 >> 32) as u32, p1 as u32);
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
    }
    c
}

/// The distribution a random tensor's elements are drawn from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RandomOp {
    /// Uniform on [low, high).
    Uniform { low: f32, high: f32 },
    /// Gaussian (Box-Muller on two uniforms).
    Normal { mean: f32, std: f32 },
    /// `one` with probability `p`, otherwise `zero`: a dropout mask is
    /// `Bernoulli { p: keep, one: 1/keep, zero: 0 }`.
    Bernoulli { p: f32, one: f32, zero: f32 },
}

impl RandomOp {
    /// Uniform on [0, 1).
    pub const UNIT: RandomOp = RandomOp::Uniform {
        low: 0.0,
        high: 1.0,
    };

    /// An inverted-dropout mask: 1/keep with probability `keep`, otherwise 0, so the mask's
    /// mean is 1 and inference needs no rescaling.
    pub fn inverted_dropout(keep: f32) -> RandomOp {
        RandomOp::Bernoulli {
            p: keep,
            one: 1.0 / keep,
            zero: 0.0,
        }
    }
}

/// A uniform float on [0, 1) from the top 24 bits of a word (every value exactly representable).
fn unit(word: u32) -> f32 {
    (word >> 8) as f32 * (1.0 / (1u32 << 24) as f32)
}

impl RandomOp {
    /// The value at stream position `position` under `key`. Positions come in blocks of four
    /// (one Philox call); a normal pairs lanes (0, 1) and (2, 3) for Box-Muller's cosine and sine.
    pub(crate) fn value(self, key: u64, position: u64) -> f32 {
        let key = [key as u32, (key >> 32) as u32];
        let block = position / 4;
        let lane = (position % 4) as usize;
        let words = philox4x32([block as u32, (block >> 32) as u32, 0, 0], key);
        match self {
            RandomOp::Uniform { low, high } => low + (high - low) * unit(words[lane]),
            RandomOp::Bernoulli { p, one, zero } => {
                if unit(words[lane]) < p {
                    one
                } else {
                    zero
                }
            }
            RandomOp::Normal { mean, std } => {
                let pair = lane & !1;
                // (0, 1]: the logarithm stays finite.
                let u1 = ((words[pair] >> 8) + 1) as f32 * (1.0 / (1u32 << 24) as f32);
                let u2 = unit(words[pair + 1]);
                let radius = (-2.0 * u1.ln()).sqrt();
                let angle = std::f32::consts::TAU * u2;
                let z = if lane.is_multiple_of(2) {
                    angle.cos()
                } else {
                    angle.sin()
                };
                mean + std * radius * z
            }
        }
    }
}

/// A random tensor of `shape` on the CPU: element `i` drawn by `op` at stream position
/// `position + i` under `key`, computed by the backend from (key, position) alone.
pub fn random_tensor(op: RandomOp, shape: &[usize], key: u64, position: u64) -> Tensor {
    crate::backend::random(op, shape, key, position, Device::Cpu)
}

/// A layer's source of random tensors: a key fixed when the layer is made (from the thread's
/// generator) and a position that each draw advances, so consecutive draws never share values.
#[derive(Debug, Clone)]
pub struct RandomStream {
    key: Cell<u64>,
    /// The seed the key came from, when the stream was made from one (Keras's `seed`
    /// argument of Dropout and the noise layers).
    seed: Option<u64>,
    position: Cell<u64>,
}

impl RandomStream {
    /// A stream whose key is drawn from this thread's generator.
    pub fn new() -> RandomStream {
        RandomStream::with_key(next_rng().next_u64())
    }

    pub fn with_key(key: u64) -> RandomStream {
        RandomStream {
            key: Cell::new(key),
            seed: None,
            position: Cell::new(0),
        }
    }

    /// A stream that depends on `seed` alone, not on the thread's generator: a layer given a
    /// seed draws the same masks wherever and whenever it is built.
    pub fn seeded(seed: u64) -> RandomStream {
        RandomStream {
            key: Cell::new(ChaCha8Rng::seed_from_u64(seed).next_u64()),
            seed: Some(seed),
            position: Cell::new(0),
        }
    }

    /// The seed given to [`RandomStream::seeded`]; None for a stream keyed by the thread's
    /// generator.
    pub fn seed(&self) -> Option<u64> {
        self.seed
    }

    /// Goes back to the stream's first position, so the next draws repeat the first ones
    /// (gradient checks replay the same dropout masks this way).
    pub fn rewind(&self) {
        self.position.set(0);
    }

    /// The next random tensor of `shape`; positions advance by whole Philox blocks.
    pub fn draw(&self, op: RandomOp, shape: &[usize]) -> Tensor {
        let at = self.position.get();
        let n = numel(shape) as u64;
        self.position.set(at.wrapping_add(n.next_multiple_of(4)));
        random_tensor(op, shape, self.key.get(), at)
    }

    /// The stream's key and position: what a training state saves so that a resumed run
    /// draws the masks an uninterrupted one would.
    pub fn state(&self) -> [u64; 2] {
        [self.key.get(), self.position.get()]
    }

    /// Puts the stream back at a `state()` taken earlier (of this stream or its twin in the
    /// same layer of a saved model).
    pub fn set_state(&self, [key, position]: [u64; 2]) {
        self.key.set(key);
        self.position.set(position);
    }
}

impl Default for RandomStream {
    fn default() -> Self {
        RandomStream::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_word() -> u64 {
        next_rng().next_u64()
    }

    #[test]
    fn a_seed_reproduces_the_sequence_and_with_seed_leaves_the_thread_alone() {
        set_seed(5);
        let (a, b) = (first_word(), first_word());
        assert_ne!(a, b, "each consumer gets its own stream");
        set_seed(5);
        let a_again = first_word();
        // A model built in its own scope draws its own sequence...
        let scoped = with_seed(9, first_word);
        assert_eq!(scoped, with_seed(9, first_word));
        // ...and the thread's sequence continues as if nothing happened.
        assert_eq!((a_again, first_word()), (a, b));
        assert_eq!(current_seed(), 5);
        let mut g = Generator::new(5);
        assert_eq!(g.next_rng().next_u64(), a);
    }

    #[test]
    fn threads_seeded_alike_draw_alike_whatever_runs_beside_them() {
        let draws = |seed: u64, noise: usize| {
            std::thread::spawn(move || {
                set_seed(seed);
                let mine = first_word();
                // Another thread drawing meanwhile must not shift this one's sequence.
                let other = std::thread::spawn(move || {
                    for _ in 0..noise {
                        first_word();
                    }
                });
                other.join().unwrap();
                (mine, first_word())
            })
            .join()
            .unwrap()
        };
        assert_eq!(draws(3, 0), draws(3, 1000));
    }

    #[test]
    fn philox_matches_the_published_known_answers() {
        // Random123's kat_vectors for philox4x32 with 10 rounds.
        let cases = [
            (
                [0, 0, 0, 0],
                [0, 0],
                [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
            ),
            (
                [u32::MAX; 4],
                [u32::MAX; 2],
                [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
            ),
            (
                [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                [0xa4093822, 0x299f31d0],
                [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
            ),
        ];
        for (counter, key, want) in cases {
            assert_eq!(philox4x32(counter, key), want, "counter {counter:x?}");
        }
    }

    #[test]
    fn a_draw_depends_on_key_and_position_only() {
        let op = RandomOp::Uniform {
            low: -1.0,
            high: 1.0,
        };
        let whole = random_tensor(op, &[100_000], 7, 0).to_vec();
        // The same positions drawn as a slice starting later agree element for element.
        let tail = random_tensor(op, &[50_000], 7, 50_000).to_vec();
        assert_eq!(&whole[50_000..], &tail[..]);
        // Serial and parallel evaluation agree (the big draw is split over threads).
        let serial: Vec<f32> = (0..1000).map(|i| op.value(7, i as u64)).collect();
        assert_eq!(&whole[..1000], &serial[..]);
        // Another key gives other values.
        let other = random_tensor(op, &[1000], 8, 0).to_vec();
        assert!(other.iter().zip(&whole).filter(|(a, b)| a == b).count() < 5);
    }

    #[test]
    fn streams_advance_and_distributions_have_their_moments() {
        let stream = RandomStream::with_key(42);
        let n = 200_000;
        let mask = stream.draw(
            RandomOp::Bernoulli {
                p: 0.8,
                one: 1.25,
                zero: 0.0,
            },
            &[n],
        );
        let kept = mask.to_vec().iter().filter(|&&v| v == 1.25).count() as f64 / n as f64;
        assert!((kept - 0.8).abs() < 0.005, "kept fraction {kept}");
        let normal = stream
            .draw(
                RandomOp::Normal {
                    mean: 1.0,
                    std: 2.0,
                },
                &[n],
            )
            .to_vec();
        let mean = normal.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
        let var = normal
            .iter()
            .map(|&v| (v as f64 - mean).powi(2))
            .sum::<f64>()
            / n as f64;
        assert!((mean - 1.0).abs() < 0.02, "mean {mean}");
        assert!((var.sqrt() - 2.0).abs() < 0.02, "std {}", var.sqrt());
        assert!(normal.iter().all(|v| v.is_finite()));
        let uniform = stream
            .draw(
                RandomOp::Uniform {
                    low: 2.0,
                    high: 3.0,
                },
                &[n],
            )
            .to_vec();
        assert!(uniform.iter().all(|&v| (2.0..3.0).contains(&v)));
        let mean = uniform.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
        assert!((mean - 2.5).abs() < 0.005, "uniform mean {mean}");
        // Two draws of one stream differ; a stream with the same key replays them.
        let a = stream.draw(RandomOp::UNIT, &[10]).to_vec();
        let b = stream.draw(RandomOp::UNIT, &[10]).to_vec();
        assert_ne!(a, b);
        let replay = RandomStream::with_key(42);
        replay.draw(RandomOp::UNIT, &[3 * n]);
        assert_eq!(
            replay
                .draw(
                    RandomOp::Uniform {
                        low: 0.0,
                        high: 1.0
                    },
                    &[10]
                )
                .to_vec(),
            a
        );
    }
}
