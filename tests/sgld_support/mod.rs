//! Test support for the SGLD family: a Bayesian linear regression with a
//! known Gaussian posterior, its mini-batch gradient oracle, and the exact
//! stationary covariance of the *discrete* SG chains on it.
//!
//! Why exact: on a linear-Gaussian model every SG sampler here is a linear
//! recursion with random coefficients, `z' = M_B z + w_B + noise`, where the
//! mini-batch B is drawn afresh each step, independently of z. Its
//! stationary mean is the posterior mean *exactly* (E[M_B] = F, E[w_B] = 0 at
//! the posterior mean), and its stationary covariance solves
//!
//! `Σ = F Σ Fᵀ + (N²/n) K (W(Σ_ee) + U) Kᵀ + Q`
//!
//! with `U = Cov_i(uᵢ)` the per-datum score covariance at the posterior mean,
//! `W(Σ) = mean_i(δSᵢ Σ δSᵢ)` the per-datum curvature fluctuation, K how the
//! gradient enters the state, Q the injected noise. So the tests can demand
//! agreement with the chain's own law to Monte Carlo precision, and separately
//! bound its O(h) distance to the posterior: a wrong noise scale (√h for
//! √(2h), ε vs ε/2, a missing √G) moves the variance by tens of percent.
//!
//! Monte Carlo errors: the lag-k autocovariance of the linear chain is
//! `F^k Σ`, so the variance of a time average of `e_j` over n samples is
//! `(Σ_jj + 2 Σ_k (F^kΣ)_jj)/n`, and of `e_j²` (Gaussian fourth moments)
//! `(2Σ_jj² + 4 Σ_k (F^kΣ)_jj²)/n`.

#![allow(dead_code)]

use smile::rng::fill_normals;
use smile::{Error, Fsgld, Progress, Psgld, Real, Request, Rng, Sghmc, Sgld};

/// Dense row-major square matrix helpers (tiny sizes).
pub type Mat = Vec<f64>;

pub fn eye(n: usize, s: f64) -> Mat {
    let mut m = vec![0.0; n * n];
    for i in 0..n {
        m[i * n + i] = s;
    }
    m
}

/// `a (r×k) · b (k×c)`.
pub fn mul(a: &[f64], b: &[f64], r: usize, k: usize, c: usize) -> Mat {
    let mut o = vec![0.0; r * c];
    for i in 0..r {
        for l in 0..k {
            let v = a[i * k + l];
            if v != 0.0 {
                for j in 0..c {
                    o[i * c + j] += v * b[l * c + j];
                }
            }
        }
    }
    o
}

pub fn transpose(a: &[f64], r: usize, c: usize) -> Mat {
    let mut o = vec![0.0; r * c];
    for i in 0..r {
        for j in 0..c {
            o[j * r + i] = a[i * c + j];
        }
    }
    o
}

/// Inverse of an SPD matrix by Gauss–Jordan (no pivoting needed for SPD).
pub fn inverse(a: &[f64], n: usize) -> Mat {
    let mut m = a.to_vec();
    let mut inv = eye(n, 1.0);
    for p in 0..n {
        let piv = m[p * n + p];
        for j in 0..n {
            m[p * n + j] /= piv;
            inv[p * n + j] /= piv;
        }
        for i in 0..n {
            if i != p {
                let f = m[i * n + p];
                for j in 0..n {
                    m[i * n + j] -= f * m[p * n + j];
                    inv[i * n + j] -= f * inv[p * n + j];
                }
            }
        }
    }
    inv
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `y = Xβ + ε`, `ε ~ N(0, σ²)`, rows `(1, t₁, …, t_{d−1})` with `t ~ N(0, 1)`;
/// prior `β ~ N(0, I/prior_prec)`; mini-batches of `batch` indices drawn
/// uniformly with replacement, a deterministic function of the step index.
pub struct Regression {
    pub n: usize,
    pub d: usize,
    pub batch: usize,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub noise_sd: f64,
    pub prior_prec: f64,
    pub batch_seed: u64,
}

impl Regression {
    pub fn new(n: usize, d: usize, batch: usize, seed: u64) -> Self {
        let mut rng = Rng::new(seed, 0);
        let mut t = vec![0.0f64; n * d];
        fill_normals(&mut rng, &mut t);
        let mut e = vec![0.0f64; n];
        fill_normals(&mut rng, &mut e);
        let beta: Vec<f64> = (0..d).map(|j| [0.5, 1.0, -1.0, 2.0, 0.3, -0.7, 1.5, 0.2][j % 8]).collect();
        let mut x = vec![0.0; n * d];
        let mut y = vec![0.0; n];
        for i in 0..n {
            x[i * d] = 1.0;
            for j in 1..d {
                x[i * d + j] = t[i * d + j];
            }
            y[i] = (0..d).map(|j| x[i * d + j] * beta[j]).sum::<f64>() + e[i];
        }
        Regression { n, d, batch, x, y, noise_sd: 1.0, prior_prec: 0.01, batch_seed: seed ^ 0xba7c }
    }

    /// Posterior precision A, mean μ and covariance A⁻¹.
    pub fn posterior(&self) -> (Mat, Vec<f64>, Mat) {
        let (n, d) = (self.n, self.d);
        let s2 = self.noise_sd * self.noise_sd;
        let mut a = eye(d, self.prior_prec);
        let mut b = vec![0.0; d];
        for i in 0..n {
            let r = &self.x[i * d..(i + 1) * d];
            for j in 0..d {
                b[j] += r[j] * self.y[i] / s2;
                for k in 0..d {
                    a[j * d + k] += r[j] * r[k] / s2;
                }
            }
        }
        let cov = inverse(&a, d);
        let mu = mul(&cov, &b, d, d, 1);
        (a, mu, cov)
    }

    /// Index of the k-th datum of the mini-batch of step `step`.
    #[inline]
    pub fn index(&self, step: u64, k: usize) -> usize {
        (splitmix(self.batch_seed ^ step.wrapping_mul(0x1000_0000_01b3) ^ (k as u64).wrapping_mul(0x9e37)) % self.n as u64) as usize
    }

    /// Mini-batch estimate of `∇ log p(θ | data)` (N/n applied here, by the
    /// caller, as the samplers' convention says) and of `log p`.
    pub fn grad<T: Real>(&self, theta: &[T], grad: &mut [T], step: u64) -> T {
        let d = self.d;
        let s2 = self.noise_sd * self.noise_sd;
        let w = self.n as f64 / self.batch as f64;
        let mut th = [0.0f64; 16];
        for j in 0..d {
            th[j] = theta[j].to_f64();
        }
        let mut g = [0.0f64; 16];
        let mut lp = 0.0;
        for j in 0..d {
            g[j] = -self.prior_prec * th[j];
            lp -= 0.5 * self.prior_prec * th[j] * th[j];
        }
        for k in 0..self.batch {
            let i = self.index(step, k);
            let r = &self.x[i * d..(i + 1) * d];
            let mut res = self.y[i];
            for j in 0..d {
                res -= r[j] * th[j];
            }
            let c = w * res / s2;
            for j in 0..d {
                g[j] += c * r[j];
            }
            lp -= 0.5 * w * res * res / s2;
        }
        for j in 0..d {
            grad[j] = T::from_f64(g[j]);
        }
        T::from_f64(lp)
    }

    /// `(S̄, U)`: mean per-datum curvature `S̄ = mean xxᵀ/σ²` and score
    /// covariance `U = Cov_i(x (y − xᵀμ)/σ²)`.
    pub fn datum_moments(&self, mu: &[f64]) -> (Mat, Mat) {
        let (n, d) = (self.n, self.d);
        let s2 = self.noise_sd * self.noise_sd;
        let mut sbar = vec![0.0; d * d];
        let mut uu = vec![0.0; d * d];
        let mut ubar = vec![0.0; d];
        for i in 0..n {
            let r = &self.x[i * d..(i + 1) * d];
            let res = self.y[i] - (0..d).map(|j| r[j] * mu[j]).sum::<f64>();
            for j in 0..d {
                let uj = r[j] * res / s2;
                ubar[j] += uj / n as f64;
                for k in 0..d {
                    sbar[j * d + k] += r[j] * r[k] / s2 / n as f64;
                    uu[j * d + k] += uj * r[k] * res / s2 / n as f64;
                }
            }
        }
        for j in 0..d {
            for k in 0..d {
                uu[j * d + k] -= ubar[j] * ubar[k];
            }
        }
        (sbar, uu)
    }

    /// `W(Σ) = mean_i(Sᵢ Σ Sᵢ) − S̄ Σ S̄`, `Sᵢ = xᵢxᵢᵀ/σ²`.
    pub fn curvature_fluctuation(&self, sigma: &[f64], sbar: &[f64]) -> Mat {
        let (n, d) = (self.n, self.d);
        let s4 = self.noise_sd.powi(4);
        let mut w = vec![0.0; d * d];
        for i in 0..n {
            let r = &self.x[i * d..(i + 1) * d];
            let mut q = 0.0;
            for j in 0..d {
                for k in 0..d {
                    q += r[j] * sigma[j * d + k] * r[k];
                }
            }
            for j in 0..d {
                for k in 0..d {
                    w[j * d + k] += r[j] * r[k] * q / s4 / n as f64;
                }
            }
        }
        let sss = mul(&mul(sbar, sigma, d, d, d), sbar, d, d, d);
        for (a, b) in w.iter_mut().zip(&sss) {
            *a -= b;
        }
        w
    }
}

/// A linear SG chain on the regression: state dimension `D = m·d` (the
/// position error first), mean map F (D×D), gradient coupling K (D×d),
/// injected-noise covariance Q (D×D).
pub struct LinearChain {
    pub dd: usize,
    pub f: Mat,
    pub k: Mat,
    pub q: Mat,
}

impl LinearChain {
    /// SGLD: `e' = e + h ĝ + sqrt(2Th) ξ`.
    pub fn sgld(a: &[f64], d: usize, h: f64, temp: f64) -> Self {
        Self::psgld(a, d, h, temp, &vec![1.0; d])
    }

    /// pSGLD with a frozen diagonal preconditioner G.
    pub fn psgld(a: &[f64], d: usize, h: f64, temp: f64, g: &[f64]) -> Self {
        let mut f = eye(d, 1.0);
        let mut k = vec![0.0; d * d];
        let mut q = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..d {
                f[i * d + j] -= h * g[i] * a[i * d + j];
            }
            k[i * d + i] = h * g[i];
            q[i * d + i] = 2.0 * h * temp * g[i];
        }
        LinearChain { dd: d, f, k, q }
    }

    /// SGHMC kick–drift: `p' = a p + h ĝ + c ξ`, `e' = e + h p'`, `a = 1 − αh`,
    /// `c² = 2αTh − h²β`.
    pub fn sghmc(a_mat: &[f64], d: usize, h: f64, temp: f64, alpha: f64, beta: f64) -> Self {
        let dd = 2 * d;
        let a = 1.0 - alpha * h;
        let c2 = 2.0 * alpha * temp * h - h * h * beta;
        let mut f = vec![0.0; dd * dd];
        let mut k = vec![0.0; dd * d];
        let mut q = vec![0.0; dd * dd];
        for i in 0..d {
            for j in 0..d {
                let aij = a_mat[i * d + j];
                f[i * dd + j] = if i == j { 1.0 } else { 0.0 } - h * h * aij;
                f[(d + i) * dd + j] = -h * aij;
            }
            f[i * dd + d + i] = h * a;
            f[(d + i) * dd + d + i] = a;
            k[i * d + i] = h * h;
            k[(d + i) * d + i] = h;
            q[i * dd + i] = c2 * h * h;
            q[i * dd + d + i] = c2 * h;
            q[(d + i) * dd + i] = c2 * h;
            q[(d + i) * dd + d + i] = c2;
        }
        LinearChain { dd, f, k, q }
    }

    /// Exact stationary covariance (fixed-point iteration of the equation in
    /// the module docs, to a relative change of 1e-13).
    pub fn stationary(&self, reg: &Regression, mu: &[f64]) -> Mat {
        let (dd, d) = (self.dd, reg.d);
        let (sbar, u) = reg.datum_moments(mu);
        let scale = (reg.n * reg.n) as f64 / reg.batch as f64;
        let ft = transpose(&self.f, dd, dd);
        let kt = transpose(&self.k, dd, d);
        let mut s = self.q.clone();
        for it in 0..2_000_000 {
            let see: Mat = (0..d * d).map(|ij| s[(ij / d) * dd + ij % d]).collect();
            let mut inner = reg.curvature_fluctuation(&see, &sbar);
            for (a, b) in inner.iter_mut().zip(&u) {
                *a = (*a + b) * scale;
            }
            let kik = mul(&mul(&self.k, &inner, dd, d, d), &kt, dd, d, dd);
            let fsf = mul(&mul(&self.f, &s, dd, dd, dd), &ft, dd, dd, dd);
            let next: Mat = (0..dd * dd).map(|i| fsf[i] + kik[i] + self.q[i]).collect();
            let big = next.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let change = next.iter().zip(&s).fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
            s = next;
            if change <= 1e-13 * big {
                return s;
            }
            assert!(it < 1_999_999, "stationary covariance did not converge");
        }
        s
    }

    /// Standard errors over `n` consecutive samples of the time averages of
    /// `z_j` and of `z_j²`, for each state coordinate j (see module docs).
    pub fn standard_errors(&self, s: &[f64], n: f64) -> (Vec<f64>, Vec<f64>) {
        let dd = self.dd;
        let mut sum1: Vec<f64> = (0..dd).map(|j| s[j * dd + j]).collect();
        let mut sum2: Vec<f64> = (0..dd).map(|j| 2.0 * s[j * dd + j].powi(2)).collect();
        let big = s.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let mut x = s.to_vec();
        for _ in 0..10_000_000 {
            x = mul(&self.f, &x, dd, dd, dd);
            for j in 0..dd {
                let c = x[j * dd + j];
                sum1[j] += 2.0 * c;
                sum2[j] += 4.0 * c * c;
            }
            if x.iter().fold(0.0f64, |m, v| m.max(v.abs())) < 1e-12 * big {
                break;
            }
        }
        (sum1.iter().map(|v| (v / n).sqrt()).collect(), sum2.iter().map(|v| (v.max(0.0) / n).sqrt()).collect())
    }
}

/// The ask/tell surface shared by the SG samplers, for generic drivers.
pub trait SgChain<T: Real> {
    fn ask(&mut self) -> Request<'_, T>;
    fn tell(&mut self, lp: T) -> Result<Progress<T>, Error>;
    fn position(&self) -> &[T];
}

macro_rules! impl_chain {
    ($t:ident) => {
        impl<T: Real> SgChain<T> for $t<'_, T> {
            fn ask(&mut self) -> Request<'_, T> {
                $t::ask(self)
            }
            fn tell(&mut self, lp: T) -> Result<Progress<T>, Error> {
                $t::tell(self, lp)
            }
            fn position(&self) -> &[T] {
                $t::position(self)
            }
        }
    };
}
impl_chain!(Sgld);
impl_chain!(Psgld);
impl_chain!(Sghmc);
impl_chain!(Fsgld);

/// Runs `burn` steps, then `n` steps accumulating the time averages of
/// `e = x − mu` and of `e²` per coordinate. Returns them and the divergences.
pub fn run_moments<T: Real, C: SgChain<T>>(chain: &mut C, reg: &Regression, mu: &[f64], burn: u64, n: u64) -> (Vec<f64>, Vec<f64>, u64) {
    let d = mu.len();
    let mut m1 = vec![0.0; d];
    let mut m2 = vec![0.0; d];
    let mut div = 0;
    for s in 0..burn + n {
        loop {
            let r = chain.ask();
            let lp = reg.grad(r.x, r.grad, r.step);
            match chain.tell(lp).unwrap() {
                Progress::Step(info) => {
                    div += info.diverged() as u64;
                    break;
                }
                _ => continue,
            }
        }
        if s >= burn {
            for (j, x) in chain.position().iter().enumerate() {
                let e = x.to_f64() - mu[j];
                m1[j] += e;
                m2[j] += e * e;
            }
        }
    }
    let nf = n as f64;
    (m1.iter().map(|v| v / nf).collect(), m2.iter().map(|v| v / nf).collect(), div)
}
