//! Effective sample size (Geyer's initial monotone sequence) and Gelman–Rubin
//! R̂, with BlackJAX 1.7.1's exact conventions (ALGORITHMS.md §1.8.4 and the
//! golden README, kind `ess`), so results match it to rounding.
//!
//! The autocovariance is computed directly, lag by lag, only up to the lag
//! where Geyer's sequence stops: O(c·n·K) time for K lags, no FFT and no
//! buffer (the FFT of the reference gives the same numbers).

use crate::error::Error;
use crate::real::Real;

/// A read-only view of `chains × n` draws of one scalar quantity inside a
/// larger array: draw `t` of chain `c` is `data[(c·n + t)·stride + offset]`.
/// For draws stored row-major as `chains × n × d`, coordinate `j` is
/// `stride = d, offset = j`.
#[derive(Clone, Copy, Debug)]
pub struct Draws<'a, T> {
    pub data: &'a [T],
    pub chains: usize,
    pub n: usize,
    pub stride: usize,
    pub offset: usize,
}

impl<T: Real> Draws<'_, T> {
    fn validate(&self) -> Result<(), Error> {
        if self.chains == 0 || self.n < 2 || self.stride == 0 || self.offset >= self.stride {
            return Err(Error::InvalidSetting);
        }
        let need = self.chains.checked_mul(self.n).and_then(|v| v.checked_mul(self.stride));
        match need {
            Some(k) if k <= self.data.len() => Ok(()),
            _ => Err(Error::BufferLength),
        }
    }

    #[inline]
    fn at(&self, c: usize, t: usize) -> f64 {
        self.data[(c * self.n + t) * self.stride + self.offset].to_f64()
    }

    fn chain_mean(&self, c: usize) -> f64 {
        (0..self.n).map(|t| self.at(c, t)).sum::<f64>() / self.n as f64
    }

    /// Mean over chains of the biased (÷n) autocovariance at `lag`.
    fn mean_autocov(&self, lag: usize) -> f64 {
        let n = self.n;
        let mut total = 0.0;
        for c in 0..self.chains {
            let m = self.chain_mean(c);
            let mut s = 0.0;
            for t in 0..n - lag {
                s += (self.at(c, t) - m) * (self.at(c, t + lag) - m);
            }
            total += s / n as f64;
        }
        total / self.chains as f64
    }

    /// Sample variance (ddof 1) of the chain means; 0 for one chain.
    fn between_var(&self) -> f64 {
        let c = self.chains;
        if c < 2 {
            return 0.0;
        }
        let mut sum = 0.0;
        let mut sum2 = 0.0;
        for k in 0..c {
            let m = self.chain_mean(k);
            sum += m;
            sum2 += m * m;
        }
        let mean = sum / c as f64;
        ((sum2 - c as f64 * mean * mean) / (c - 1) as f64).max(0.0)
    }
}

/// Effective sample size of the combined `chains·n` draws.
///
/// Conventions (BlackJAX 1.7.1): `ρ̂_t = 1 − (var₀ − acov_t)/var₊` with the
/// chain-averaged biased autocovariance, `var₀ = acov₀·n/(n−1)`,
/// `var₊ = var₀(n−1)/n + Var(chain means)`; Geyer's initial positive sequence
/// on pairs `ρ̂_{2k} + ρ̂_{2k+1}` over lags below `n − n mod 2`, the
/// even term after the last positive pair kept if positive, made monotone;
/// `τ̂ = −1 + 2Σ − ρ̂_even[stop]` (the last pair's even term when no pair is
/// non-positive, as the reference's clamped index does), floored at
/// `1/log₁₀(c·n)`. Draws without variation give 0, any NaN gives NaN.
/// Errors: `InvalidSetting` (no chain, n < 2, offset ≥ stride), `BufferLength`.
pub fn effective_sample_size<T: Real>(d: Draws<'_, T>) -> Result<f64, Error> {
    d.validate()?;
    let n = d.n;
    let mut any_nan = false;
    let first = d.at(0, 0);
    let mut varies = false;
    for c in 0..d.chains {
        for t in 0..n {
            let v = d.at(c, t);
            any_nan |= v.is_nan();
            varies |= v != first;
        }
    }
    if any_nan {
        return Ok(f64::NAN);
    }
    let nf = n as f64;
    let acov0 = d.mean_autocov(0);
    let var0 = acov0 * nf / (nf - 1.0);
    if var0.is_finite() && (!varies || var0 <= 0.0) {
        return Ok(0.0);
    }
    let weighted = var0 * (nf - 1.0) / nf + d.between_var();
    let rho = |lag: usize| if lag == 0 { 1.0 } else { 1.0 - (var0 - d.mean_autocov(lag)) / weighted };
    let pairs = (n - n % 2) / 2;
    // Walk the pairs while they stay positive, applying the monotone rule.
    let mut sum = 0.0; // Σ (even_final + odd_final)
    let mut carry = 0.0; // running minimum of the pair sums
    let mut last_even_final = 0.0; // even_final at the index subtracted in τ̂
    let mut k = 0;
    let mut stopped = false;
    while k < pairs {
        let (re, ro) = (rho(2 * k), rho(2 * k + 1));
        let p = re + ro;
        if !(p > 0.0) {
            stopped = true;
            break;
        }
        if k == 0 || p <= carry {
            carry = p;
            sum += p;
            last_even_final = re;
        } else {
            sum += carry;
            last_even_final = carry / 2.0;
        }
        k += 1;
    }
    if stopped {
        // The reference records the last positive pair as max_t (0 when the
        // very first pair is non-positive, and then nothing is kept at all)
        // and keeps the even term at max_t + 1 if it is positive, subject to
        // the monotone rule.
        let idx = if k == 0 { 1 } else { k };
        last_even_final = 0.0;
        if idx < pairs && k > 0 {
            let re = rho(2 * idx);
            let kept = if re > 0.0 { re } else { 0.0 };
            if kept > carry {
                sum += carry;
                last_even_final = carry / 2.0;
            } else {
                sum += kept;
                last_even_final = kept;
            }
        }
    }
    // Not stopped: the index max_t + 1 is past the end and the reference's
    // gather clamps it to the last pair, whose even term `last_even_final` holds.
    let ess_raw = (d.chains * n) as f64;
    let tau = (-1.0 + 2.0 * sum - last_even_final).max(1.0 / libm::log10(ess_raw));
    Ok(ess_raw / tau)
}

/// Classic Gelman–Rubin potential scale reduction
/// `sqrt(((n−1)/n · W + B/n) / W)`, `W` the mean within-chain variance
/// (ddof 1), `B = n·Var(chain means)` (ddof 1). Needs at least 2 chains.
/// Errors: as [`effective_sample_size`], and `InvalidSetting` for one chain.
pub fn potential_scale_reduction<T: Real>(d: Draws<'_, T>) -> Result<f64, Error> {
    d.validate()?;
    if d.chains < 2 {
        return Err(Error::InvalidSetting);
    }
    let nf = d.n as f64;
    let mut w = 0.0;
    for c in 0..d.chains {
        let m = d.chain_mean(c);
        w += (0..d.n).map(|t| (d.at(c, t) - m) * (d.at(c, t) - m)).sum::<f64>() / (nf - 1.0);
    }
    w /= d.chains as f64;
    let b = nf * d.between_var();
    Ok(((b / w + nf - 1.0) / nf).sqrt())
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::rng::{fill_normals, Rng};
    use std::vec;

    #[test]
    fn iid_draws_have_ess_near_n_and_ar1_near_theory() {
        let n = 20_000;
        let mut z = vec![0.0f64; n];
        fill_normals(&mut Rng::new(4, 0), &mut z);
        let d = Draws { data: &z, chains: 1, n, stride: 1, offset: 0 };
        let e = effective_sample_size(d).unwrap();
        assert!((e / n as f64 - 1.0).abs() < 0.1, "iid ess {e}");
        // AR(1) with φ = 0.9: ESS/n → (1−φ)/(1+φ) = 0.0526.
        let mut x = vec![0.0f64; n];
        for t in 1..n {
            x[t] = 0.9 * x[t - 1] + (1.0f64 - 0.81).sqrt() * z[t];
        }
        let e = effective_sample_size(Draws { data: &x, chains: 1, n, stride: 1, offset: 0 }).unwrap();
        assert!((e / n as f64 / 0.0526 - 1.0).abs() < 0.25, "ar1 ess/n {}", e / n as f64);
    }

    #[test]
    fn degenerate_and_bad_input() {
        let c = [2.0f64; 10];
        assert_eq!(effective_sample_size(Draws { data: &c, chains: 2, n: 5, stride: 1, offset: 0 }), Ok(0.0));
        let mut v = [0.0f64, 1.0, 2.0, 0.5];
        v[2] = f64::NAN;
        assert!(effective_sample_size(Draws { data: &v, chains: 1, n: 4, stride: 1, offset: 0 }).unwrap().is_nan());
        assert_eq!(effective_sample_size(Draws { data: &v, chains: 1, n: 5, stride: 1, offset: 0 }), Err(Error::BufferLength));
        assert_eq!(effective_sample_size(Draws { data: &v, chains: 1, n: 1, stride: 1, offset: 0 }), Err(Error::InvalidSetting));
        assert_eq!(effective_sample_size(Draws { data: &v, chains: 1, n: 2, stride: 2, offset: 2 }), Err(Error::InvalidSetting));
        assert_eq!(potential_scale_reduction(Draws { data: &v, chains: 1, n: 4, stride: 1, offset: 0 }), Err(Error::InvalidSetting));
    }
}
