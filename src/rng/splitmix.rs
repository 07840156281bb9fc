//! Bulk random words for the normal generator: SplitMix64 streams split off
//! the chain's PCG stream, computed eight lanes at a time.
//!
//! Why not PCG words directly: PCG-64 needs three 64-bit multiplies per
//! word on the scalar integer unit, and at one word per `f32` normal they
//! were the generator's bottleneck (about 9 ns per 8 words on the reference
//! machine, more than the Box–Muller arithmetic). SplitMix64's output
//! function vectorises (two 64-bit lane multiplies per word, native with
//! AVX-512DQ), and words at different positions are independent
//! computations, so a block of 16 is produced in registers where it is used.
//!
//! A [`WordBlocks`] source is one SplitMix64 stream (Steele, Lea & Flood,
//! OOPSLA 2014; `java.util.SplittableRandom`) made the way SplitMix64's own
//! `split()` makes one: its seed is one word of the parent stream and its
//! increment γ another word passed through `mixGamma` (odd, with enough bit
//! transitions). Word `j` (from 0) is `mix64(seed + (j+1)·γ)`. Every call
//! that needs normals (one refresh, one `fill_normals`) splits a new source
//! off the PCG stream, consuming exactly two PCG words: the PCG stream stays
//! the whole state of a chain, and checkpoints stay bit-identical.

use super::Rng;
use wide::u64x8;

/// SplitMix64's finaliser (Stafford's variant 13), as its `mix64`.
#[inline(always)]
fn mix64(mut z: u64x8) -> u64x8 {
    z = (z ^ (z >> 30)) * u64x8::splat(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)) * u64x8::splat(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// SplitMix64's `mixGamma`: an odd increment whose bits change often enough
/// (at least 24 transitions) for the Weyl sequence to feed `mix64` well.
const fn mix_gamma(mut z: u64) -> u64 {
    z = (z ^ (z >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
    z = (z ^ (z >> 33)).wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    z = (z ^ (z >> 33)) | 1;
    if (z ^ (z >> 1)).count_ones() < 24 {
        z ^ 0xaaaa_aaaa_aaaa_aaaa
    } else {
        z
    }
}

/// A SplitMix64 stream read 16 words at a time (see the module docs).
#[derive(Clone, Copy, Debug)]
pub struct WordBlocks {
    /// The seed before the next block's first word.
    seed: u64,
    gamma: u64,
    /// `(1..=8)·γ`: the lane offsets of a block's first 8 words.
    lanes: u64x8,
}

impl WordBlocks {
    /// A new stream split off `rng` (two words of it).
    #[inline]
    pub fn split_from(rng: &mut Rng) -> Self {
        let seed = rng.next_u64();
        let gamma = mix_gamma(rng.next_u64());
        let lanes = u64x8::new(core::array::from_fn(|k| gamma.wrapping_mul(k as u64 + 1)));
        WordBlocks { seed, gamma, lanes }
    }

    /// The next 16 words: words `16b .. 16b+8` and `16b+8 .. 16b+16` of the
    /// stream, for the `b`-th call.
    #[inline(always)]
    pub fn next16(&mut self) -> (u64x8, u64x8) {
        let lo = u64x8::splat(self.seed) + self.lanes;
        let hi = lo + u64x8::splat(self.gamma.wrapping_mul(8));
        self.seed = self.seed.wrapping_add(self.gamma.wrapping_mul(16));
        (mix64(lo), mix64(hi))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SplitMix64 as published, one word at a time.
    struct Scalar {
        seed: u64,
        gamma: u64,
    }
    impl Scalar {
        fn next(&mut self) -> u64 {
            self.seed = self.seed.wrapping_add(self.gamma);
            let mut z = self.seed;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
    }

    #[test]
    fn blocks_are_the_scalar_stream() {
        let mut rng = Rng::new(7, 1);
        let mut probe = rng;
        let mut w = WordBlocks::split_from(&mut rng);
        let seed = probe.next_u64();
        let gamma = mix_gamma(probe.next_u64());
        // The source consumed exactly two PCG words.
        assert_eq!(rng, probe);
        assert_eq!(gamma & 1, 1);
        let mut s = Scalar { seed, gamma };
        for _ in 0..5 {
            let (a, b) = w.next16();
            for x in a.to_array().into_iter().chain(b.to_array()) {
                assert_eq!(x, s.next());
            }
        }
    }

    #[test]
    fn gamma_is_odd_with_enough_transitions() {
        // XOR with 0xaa… turns n < 24 transitions into about 63 − n.
        let mut rng = Rng::new(3, 3);
        let edge = [0u64, 1, 2, u64::MAX, 1 << 63, 0x5555_5555_5555_5555];
        for z in edge.into_iter().chain((0..10_000).map(|_| rng.next_u64())) {
            let g = mix_gamma(z);
            assert_eq!(g & 1, 1);
            assert!((g ^ (g >> 1)).count_ones() >= 24, "{z:x} -> {g:x}");
        }
    }
}
