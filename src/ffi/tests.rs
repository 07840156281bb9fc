//! Unit tests of the C ABI called from Rust: the same numbers as the Rust
//! API, bit for bit; versions and status strings in sync.

extern crate std;
use std::vec;
use std::vec::Vec;

use core::ffi::{c_int, c_void, CStr};
use core::mem::size_of;
use core::ptr;

use super::mclmc::*;
use super::smile_progress::*;
use super::smile_status::*;
use super::*;
use crate::{Mclmc, MclmcConfig};

/// 64-byte aligned scratch memory.
#[repr(C, align(64))]
#[derive(Clone, Copy)]
struct Line([u8; 64]);

fn mem(bytes: usize) -> Vec<Line> {
    vec![Line([0; 64]); bytes.div_ceil(64)]
}

unsafe extern "C" fn gauss64(_: *mut c_void, d: usize, x: *const f64, g: *mut f64, lp: *mut f64) -> c_int {
    let mut s = 0.0;
    for i in 0..d {
        let v = *x.add(i);
        *g.add(i) = -v;
        s += v * v;
    }
    *lp = -0.5 * s;
    0
}

unsafe extern "C" fn gauss32(_: *mut c_void, d: usize, x: *const f32, g: *mut f32, lp: *mut f32) -> c_int {
    let mut s = 0.0f32;
    for i in 0..d {
        let v = *x.add(i);
        *g.add(i) = -v;
        s += v * v;
    }
    *lp = -0.5 * s;
    0
}

fn cfg64(d: usize) -> smile_mclmc_config_f64 {
    let mut c: smile_mclmc_config_f64 = unsafe { core::mem::zeroed() };
    let st = unsafe { smile_mclmc_config_default_f64(&mut c, size_of::<smile_mclmc_config_f64>(), d) };
    assert_eq!(st, SMILE_OK);
    c.step_size = 0.9;
    c.decoherence_length = 2.5;
    c
}

fn new64(d: usize, seed: u64, m: &mut [Line]) -> *mut smile_mclmc_f64 {
    let c = cfg64(d);
    let x0: Vec<f64> = (0..d).map(|i| 1.0 + i as f64 * 0.1).collect();
    let mut h = ptr::null_mut();
    let st = unsafe { smile_mclmc_init_f64(m.as_mut_ptr() as *mut c_void, m.len() * 64, d, &c, x0.as_ptr(), seed, 3, &mut h) };
    assert_eq!(st, SMILE_OK);
    h
}

fn size64(d: usize) -> usize {
    let (mut s, mut a) = (0, 0);
    assert_eq!(unsafe { smile_mclmc_memory_size_f64(d, ptr::null(), &mut s, &mut a) }, SMILE_OK);
    assert_eq!(a, SMILE_ALIGN);
    s
}

#[test]
fn versions_in_sync() {
    let v = env!("CARGO_PKG_VERSION");
    assert_eq!(std::format!("{SMILE_VERSION_MAJOR}.{SMILE_VERSION_MINOR}.{SMILE_VERSION_PATCH}"), v);
    assert_eq!(unsafe { CStr::from_ptr(smile_version()) }.to_str().unwrap(), v);
    assert_eq!(smile_version_number(), SMILE_VERSION_NUMBER);
    let header = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/smile.h")).unwrap();
    for (name, val) in [
        ("SMILE_VERSION_MAJOR", SMILE_VERSION_MAJOR.to_string()),
        ("SMILE_VERSION_MINOR", SMILE_VERSION_MINOR.to_string()),
        ("SMILE_VERSION_PATCH", SMILE_VERSION_PATCH.to_string()),
        ("SMILE_VERSION_STRING", std::format!("\"{v}\"")),
        ("SMILE_ALIGN", SMILE_ALIGN.to_string()),
    ] {
        let line = std::format!("#define {name} {val}\n");
        assert!(header.contains(&line), "include/smile.h lacks `{}`", line.trim());
    }
}

use std::string::ToString;

#[test]
fn status_strings() {
    use crate::Error::*;
    for e in [
        NullPointer,
        DimensionTooSmall,
        BufferLength,
        InvalidStepSize,
        InvalidDecoherenceLength,
        InvalidSetting,
        OutOfOrder,
        NonFiniteInitialPoint,
        InvalidValue,
        InvalidState,
        CallbackFailed,
    ] {
        let s: smile_status = e.into();
        assert_eq!(s as u32, e as u32, "C codes 1-31 mirror smile::Error");
        let m = unsafe { CStr::from_ptr(smile_status_str(s as c_int)) };
        assert_eq!(m.to_str().unwrap(), e.message());
    }
    let unknown = unsafe { CStr::from_ptr(smile_status_str(-5)) }.to_str().unwrap();
    for c in [0, 32, 33, 34, 35, 36, 37] {
        let m = unsafe { CStr::from_ptr(smile_status_str(c)) }.to_str().unwrap();
        assert_ne!(m, unknown, "status {c} has no description");
    }
    assert_eq!(unsafe { CStr::from_ptr(smile_status_str(c_int::MAX)) }.to_str().unwrap(), unknown);
}

/// The C ABI (callback and ask/tell) gives the Rust API's chain bit for bit.
#[test]
fn same_chain_as_rust_api_f64() {
    let d = 7;
    let n = 60;
    // Rust API
    let c = cfg64(d);
    let rc = MclmcConfig { step_size: c.step_size, decoherence_length: c.decoherence_length, ..MclmcConfig::for_dim(d) };
    let mut ws = vec![0.0f64; Mclmc::<f64>::workspace_len(d)];
    let x0: Vec<f64> = (0..d).map(|i| 1.0 + i as f64 * 0.1).collect();
    let mut chain = Mclmc::new(rc, &x0, &mut ws, 11, 3).unwrap();
    let mut f = |x: &[f64], g: &mut [f64]| {
        let mut s = 0.0;
        for (g, x) in g.iter_mut().zip(x) {
            *g = -x;
            s += x * x;
        }
        -0.5 * s
    };
    let mut want = Vec::new();
    for _ in 0..n {
        chain.step_with(&mut f).unwrap();
        want.extend_from_slice(chain.position());
    }
    // C ABI, callback
    let mut m1 = mem(size64(d));
    let h1 = new64(d, 11, &mut m1);
    let mut got = vec![0.0; d];
    for k in 0..n {
        let mut info: smile_step_info_f64 = unsafe { core::mem::zeroed() };
        assert_eq!(unsafe { smile_mclmc_step_f64(h1, Some(gauss64), ptr::null_mut(), &mut info) }, SMILE_OK);
        assert_eq!(info.step, k as u64 + 1);
        assert_eq!(unsafe { smile_mclmc_position_f64(h1, got.as_mut_ptr(), d) }, SMILE_OK);
        assert_eq!(got[..], want[k * d..(k + 1) * d]);
    }
    // C ABI, ask/tell
    let mut m2 = mem(size64(d));
    let h2 = new64(d, 11, &mut m2);
    let mut steps = 0;
    while steps < n {
        let mut r: smile_request_f64 = unsafe { core::mem::zeroed() };
        assert_eq!(unsafe { smile_mclmc_ask_f64(h2, &mut r) }, SMILE_OK);
        assert_eq!(r.dim, d);
        let mut lp = 0.0;
        unsafe { gauss64(ptr::null_mut(), d, r.x, r.grad, &mut lp) };
        let mut p = SMILE_PROGRESS_INITIALIZED;
        assert_eq!(unsafe { smile_mclmc_tell_f64(h2, lp, &mut p, ptr::null_mut()) }, SMILE_OK);
        if p == SMILE_PROGRESS_STEP_DONE {
            assert_eq!(unsafe { smile_mclmc_position_f64(h2, got.as_mut_ptr(), d) }, SMILE_OK);
            assert_eq!(got[..], want[steps * d..(steps + 1) * d]);
            steps += 1;
        }
    }
    // Same bytes in both instances.
    let b = size64(d);
    let (a1, a2) = (m1.as_ptr() as *const u8, m2.as_ptr() as *const u8);
    assert!(unsafe { core::slice::from_raw_parts(a1, b) == core::slice::from_raw_parts(a2, b) });
}

/// A checkpoint taken mid-run (even mid-step) continues bit-identically.
#[test]
fn checkpoint_resumes_bit_identically() {
    let d = 5;
    let b = size64(d);
    let mut m = mem(b);
    let h = new64(d, 5, &mut m);
    for _ in 0..10 {
        assert_eq!(unsafe { smile_mclmc_step_f64(h, Some(gauss64), ptr::null_mut(), ptr::null_mut()) }, SMILE_OK);
    }
    // leave a step pending
    let mut r: smile_request_f64 = unsafe { core::mem::zeroed() };
    assert_eq!(unsafe { smile_mclmc_ask_f64(h, &mut r) }, SMILE_OK);
    let mut ck = vec![0u8; b + 3];
    // unaligned checkpoint buffer
    assert_eq!(unsafe { smile_mclmc_save_f64(h, ck.as_mut_ptr().add(3) as *mut c_void, b) }, SMILE_OK);
    let mut m2 = mem(b);
    let mut h2 = ptr::null_mut();
    assert_eq!(unsafe { smile_mclmc_restore_f64(m2.as_mut_ptr() as *mut c_void, b, ck.as_ptr().add(3) as *const c_void, b, &mut h2) }, SMILE_OK);
    let (mut x1, mut x2) = (vec![0.0; d], vec![0.0; d]);
    for _ in 0..20 {
        unsafe {
            assert_eq!(smile_mclmc_step_f64(h, Some(gauss64), ptr::null_mut(), ptr::null_mut()), SMILE_OK);
            assert_eq!(smile_mclmc_step_f64(h2, Some(gauss64), ptr::null_mut(), ptr::null_mut()), SMILE_OK);
            smile_mclmc_position_f64(h, x1.as_mut_ptr(), d);
            smile_mclmc_position_f64(h2, x2.as_mut_ptr(), d);
        }
        assert_eq!(x1, x2);
    }
    // a corrupted checkpoint is refused and leaves no instance behind
    ck[3 + 8] ^= 1; // `bytes` field
    let mut h3 = h2;
    let st = unsafe { smile_mclmc_restore_f64(m2.as_mut_ptr() as *mut c_void, b, ck.as_ptr().add(3) as *const c_void, b, &mut h3) };
    assert_eq!(st, SMILE_ERR_INVALID_STATE);
    assert!(h3.is_null());
    ck[3 + 8] ^= 1;
    // a checkpoint of the first layout (its magic's last byte the plain
    // digit) is not an instance of this one
    assert_eq!(ck[3 + 7], b'4' + super::common::LAYOUT_VERSION - 1);
    ck[3 + 7] = b'4';
    let st = unsafe { smile_mclmc_restore_f64(m2.as_mut_ptr() as *mut c_void, b, ck.as_ptr().add(3) as *const c_void, b, &mut h3) };
    assert_eq!(st, SMILE_ERR_NOT_AN_INSTANCE);
    assert!(h3.is_null());
}

#[test]
fn f32_runs_and_is_not_an_f64_instance() {
    let d = 4;
    let (mut s, mut a) = (0, 0);
    assert_eq!(unsafe { smile_mclmc_memory_size_f32(d, ptr::null(), &mut s, &mut a) }, SMILE_OK);
    let mut m = mem(s);
    let x0 = [0.5f32; 4];
    let mut h = ptr::null_mut();
    assert_eq!(unsafe { smile_mclmc_init_f32(m.as_mut_ptr() as *mut c_void, s, d, ptr::null(), x0.as_ptr(), 1, 0, &mut h) }, SMILE_OK);
    let mut info: smile_step_info_f32 = unsafe { core::mem::zeroed() };
    for _ in 0..20 {
        assert_eq!(unsafe { smile_mclmc_step_f32(h, Some(gauss32), ptr::null_mut(), &mut info) }, SMILE_OK);
    }
    assert_eq!(info.step, 20);
    let mut dim = 0;
    assert_eq!(unsafe { smile_mclmc_dim_f64(h as *const smile_mclmc_f64, &mut dim) }, SMILE_ERR_NOT_AN_INSTANCE);
    assert_eq!(unsafe { smile_mclmc_dim_f32(h, &mut dim) }, SMILE_OK);
    assert_eq!(dim, d);
}

#[test]
fn config_struct_sizes() {
    let full = size_of::<smile_mclmc_config_f64>();
    let mut c = cfg64(3);
    let mut s = 0;
    let mut a = 0;
    for (size, ok) in [(0, false), (8, false), (12, false), (16, true), (24, true), (32, true), (36, true), (40, true), (48, false)] {
        c.struct_size = size;
        let st = unsafe { smile_mclmc_memory_size_f64(3, &c, &mut s, &mut a) };
        assert_eq!(st == SMILE_OK, ok, "struct_size {size} (full {full})");
        if !ok {
            assert_eq!(st, SMILE_ERR_STRUCT_SIZE);
        }
    }
    // Writing a short (older) struct touches no byte past its size.
    let mut buf = [0xAAu8; 64];
    let st = unsafe { smile_mclmc_config_default_f64(buf.as_mut_ptr() as *mut smile_mclmc_config_f64, 16, 4) };
    assert_eq!(st, SMILE_OK);
    assert!(buf[16..].iter().all(|&b| b == 0xAA));
    assert_eq!(f64::from_ne_bytes(buf[8..16].try_into().unwrap()), 0.5); // 0.25 * sqrt(4)
}

/// A callback that re-enters the instance gets BUSY; the step goes on.
#[test]
fn reentrant_callback_is_refused() {
    unsafe extern "C" fn reenter(user: *mut c_void, d: usize, x: *const f64, g: *mut f64, lp: *mut f64) -> c_int {
        let h = user as *mut smile_mclmc_f64;
        let mut dim = 0;
        let mut st = SMILE_OK;
        if smile_mclmc_dim_f64(h, &mut dim) == SMILE_ERR_BUSY {
            st = SMILE_ERR_BUSY;
        }
        assert_eq!(st, SMILE_ERR_BUSY);
        gauss64(ptr::null_mut(), d, x, g, lp)
    }
    let d = 3;
    let mut m = mem(size64(d));
    let h = new64(d, 1, &mut m);
    assert_eq!(unsafe { smile_mclmc_step_f64(h, Some(reenter), h as *mut c_void, ptr::null_mut()) }, SMILE_OK);
    let mut dim = 0;
    assert_eq!(unsafe { smile_mclmc_dim_f64(h, &mut dim) }, SMILE_OK);
}

/// SMILE through the C ABI (callback and ask/tell) follows the Rust API bit
/// for bit, on a mini-batch-like noisy gradient that depends on the step.
#[test]
fn smile_same_chain_as_rust_api() {
    use super::smile_sampler::*;
    use crate::{Smile, SmileConfig};
    unsafe extern "C" fn noisy(user: *mut c_void, d: usize, x: *const f64, g: *mut f64, lp: *mut f64) -> c_int {
        let step = *(user as *const u64);
        gauss64(user, d, x, g, lp);
        *g += 0.1 * ((step % 7) as f64 - 3.0);
        0
    }
    let d = 5;
    let mut c: smile_smile_config_f64 = unsafe { core::mem::zeroed() };
    assert_eq!(unsafe { smile_smile_config_default_f64(&mut c, size_of::<smile_smile_config_f64>(), 2, 0.3) }, SMILE_OK);
    c.decoherence_length = 2.0;
    let (mut size, mut align) = (0, 0);
    assert_eq!(unsafe { smile_smile_memory_size_f64(d, &c, &mut size, &mut align) }, SMILE_OK);
    let x0: Vec<f64> = (0..d).map(|i| 0.5 - i as f64 * 0.2).collect();
    let (mut m1, mut m2) = (mem(size), mem(size));
    let (mut h1, mut h2) = (ptr::null_mut(), ptr::null_mut());
    unsafe {
        assert_eq!(smile_smile_init_f64(m1.as_mut_ptr() as *mut c_void, size, d, &c, x0.as_ptr(), 4, 2, &mut h1), SMILE_OK);
        assert_eq!(smile_smile_init_f64(m2.as_mut_ptr() as *mut c_void, size, d, &c, x0.as_ptr(), 4, 2, &mut h2), SMILE_OK);
    }
    let mut ws = vec![0.0; Smile::<f64>::workspace_len(d)];
    let cfg = SmileConfig { decoherence_length: 2.0, ..SmileConfig::psmile(0.3) };
    let mut r = Smile::new(cfg, &x0, &mut ws, 4, 2).unwrap();
    for k in 1..=200u64 {
        let mut step = k;
        let mut i1: smile_smile_step_info_f64 = unsafe { core::mem::zeroed() };
        assert_eq!(unsafe { smile_smile_step_f64(h1, Some(noisy), &mut step as *mut u64 as *mut c_void, &mut i1) }, SMILE_OK);
        // ask/tell on the second instance
        let mut p = SMILE_PROGRESS_NEED_EVAL;
        let mut i2: smile_smile_step_info_f64 = unsafe { core::mem::zeroed() };
        while p != SMILE_PROGRESS_STEP_DONE {
            let mut q: smile_request_f64 = unsafe { core::mem::zeroed() };
            assert_eq!(unsafe { smile_smile_ask_f64(h2, &mut q) }, SMILE_OK);
            assert_eq!(q.step, k);
            let mut lp = 0.0;
            unsafe { noisy(&mut step as *mut u64 as *mut c_void, d, q.x, q.grad, &mut lp) };
            assert_eq!(unsafe { smile_smile_tell_f64(h2, lp, &mut p, &mut i2) }, SMILE_OK);
        }
        let info = r
            .step_with(&mut |x: &[f64], g: &mut [f64]| {
                let mut lp = 0.0;
                unsafe { noisy(&mut step as *mut u64 as *mut c_void, d, x.as_ptr(), g.as_mut_ptr(), &mut lp) };
                lp
            })
            .unwrap();
        assert_eq!((i1.step, i1.resets, i1.energy_change, i1.next_step_size), (info.step, info.resets, info.energy_change, info.next_step_size));
        assert_eq!((i2.step, i2.energy_change, i2.energy_mean), (info.step, info.energy_change, info.energy_mean));
        assert_eq!(i1.reset, info.reset() as u32);
        let (mut a, mut b) = (vec![0.0; d], vec![0.0; d]);
        unsafe {
            assert_eq!(smile_smile_position_f64(h1, a.as_mut_ptr(), d), SMILE_OK);
            assert_eq!(smile_smile_position_f64(h2, b.as_mut_ptr(), d), SMILE_OK);
        }
        assert_eq!(a, r.position());
        assert_eq!(b, r.position());
    }
}

/// A SMILE instance keeps the tuner's cache (`TunerLevels`, after the
/// workspace) across calls, and it changes no decision: ask/tell through C
/// against a Rust chain that drops its cache every step, bit for bit. Then
/// the cache bytes are overwritten (all ones, all zeros): the chain goes on,
/// still step for step with the Rust one (inconsistent levels are not used).
#[test]
fn smile_instance_keeps_the_tuner_cache() {
    use super::smile_sampler::*;
    use crate::tune::TunerLevels;
    use crate::{Smile, SmileConfig};
    let d = 6;
    let mut c: smile_smile_config_f64 = unsafe { core::mem::zeroed() };
    assert_eq!(unsafe { smile_smile_config_default_f64(&mut c, size_of::<smile_smile_config_f64>(), 0, 0.4) }, SMILE_OK);
    let (mut size, mut align) = (0, 0);
    assert_eq!(unsafe { smile_smile_memory_size_f64(d, &c, &mut size, &mut align) }, SMILE_OK);
    let x0: Vec<f64> = (0..d).map(|i| 0.3 + i as f64 * 0.1).collect();
    let mut m = mem(size);
    let mut h = ptr::null_mut();
    assert_eq!(unsafe { smile_smile_init_f64(m.as_mut_ptr() as *mut c_void, size, d, &c, x0.as_ptr(), 8, 1, &mut h) }, SMILE_OK);
    let mut ws = vec![0.0; Smile::<f64>::workspace_len(d)];
    let mut r = Smile::new(SmileConfig::smile(0.4), &x0, &mut ws, 8, 1).unwrap();
    // The levels are the instance's last bytes.
    let at = size - size_of::<TunerLevels>().div_ceil(8) * 8;
    let levels = |m: &[Line]| unsafe { ((m.as_ptr() as *const u8).add(at) as *const TunerLevels).read() };
    let noisy = |step: u64, i: usize, x: f64| -x + 0.3 * (((step * 13 + i as u64 * 7) % 11) as f64 - 5.0) / 5.0;
    let mut hits_before = 0;
    for k in 1..=6000u64 {
        match k {
            4001 => unsafe { core::ptr::write_bytes((m.as_mut_ptr() as *mut u8).add(at), 0xff, size - at) },
            5001 => unsafe { core::ptr::write_bytes((m.as_mut_ptr() as *mut u8).add(at), 0, size - at) },
            _ => {}
        }
        let mut p = SMILE_PROGRESS_NEED_EVAL;
        let mut info: smile_smile_step_info_f64 = unsafe { core::mem::zeroed() };
        while p != SMILE_PROGRESS_STEP_DONE {
            let mut q: smile_request_f64 = unsafe { core::mem::zeroed() };
            assert_eq!(unsafe { smile_smile_ask_f64(h, &mut q) }, SMILE_OK);
            let mut lp = 0.0;
            for i in 0..d {
                let x = unsafe { *q.x.add(i) };
                unsafe { *q.grad.add(i) = noisy(k, i, x) };
                lp += -0.5 * x * x + (noisy(k, i, x) + x) * x;
            }
            assert_eq!(unsafe { smile_smile_tell_f64(h, lp, &mut p, &mut info) }, SMILE_OK);
        }
        r.drop_derived();
        let want = r
            .step_with(&mut |x: &[f64], g: &mut [f64]| {
                let mut lp = 0.0;
                for i in 0..d {
                    g[i] = noisy(k, i, x[i]);
                    lp += -0.5 * x[i] * x[i] + (g[i] + x[i]) * x[i];
                }
                lp
            })
            .unwrap();
        assert_eq!(
            (info.energy_change, info.next_step_size, info.energy_mean, info.reset),
            (want.energy_change, want.next_step_size, want.energy_mean, want.reset() as u32),
            "step {k}"
        );
        if k == 4000 {
            hits_before = levels(&m).cache_balance();
        }
    }
    // Answers minus 48 per build (a cache made afresh every call never
    // builds and never answers: 0); 1258 with 8 cells per octave.
    assert!(hits_before > 1000, "the cache's answers minus builds over 4000 decisions: {hits_before}");
    // Decisions that fired, or the comparison above tested little.
    assert!(r.step_size() != 0.4 && r.state().resets() > 0);
}

/// The SGLD family through the C ABI follows the Rust API bit for bit.
#[test]
fn sgld_family_same_chain_as_rust_api() {
    use super::sg::*;
    use crate::{Fsgld, FsgldConfig, Sghmc, SghmcConfig};
    let d = 3;
    let x0 = [1.0f64, -0.5, 0.25];
    // SGHMC
    let mut c: smile_sghmc_config_f64 = unsafe { core::mem::zeroed() };
    assert_eq!(unsafe { smile_sghmc_config_default_f64(&mut c, size_of::<smile_sghmc_config_f64>(), 0.05, 2.0) }, SMILE_OK);
    c.refresh_every = 5;
    let (mut size, mut align) = (0, 0);
    assert_eq!(unsafe { smile_sghmc_memory_size_f64(d, &c, &mut size, &mut align) }, SMILE_OK);
    let mut m = mem(size);
    let mut h = ptr::null_mut();
    assert_eq!(unsafe { smile_sghmc_init_f64(m.as_mut_ptr() as *mut c_void, size, d, &c, x0.as_ptr(), 9, 1, &mut h) }, SMILE_OK);
    let mut ws = vec![0.0; Sghmc::<f64>::workspace_len(d)];
    let mut r = Sghmc::new(SghmcConfig { refresh_every: 5, ..SghmcConfig::constant(0.05, 2.0) }, &x0, &mut ws, 9, 1).unwrap();
    for _ in 0..100 {
        let mut i: smile_step_info_f64 = unsafe { core::mem::zeroed() };
        assert_eq!(unsafe { smile_sghmc_step_f64(h, Some(gauss64), ptr::null_mut(), &mut i) }, SMILE_OK);
        let info = r.step_with(&mut crate::targets::StdGaussian).unwrap();
        assert_eq!((i.step, i.step_size, i.logdensity), (info.step, info.step_size, info.logdensity));
        let mut a = vec![0.0; d];
        assert_eq!(unsafe { smile_sghmc_position_f64(h, a.as_mut_ptr(), d) }, SMILE_OK);
        assert_eq!(a, r.position());
    }
    // fSGLD with 3 perturbations and a cyclical schedule
    let mut c: smile_fsgld_config_f64 = unsafe { core::mem::zeroed() };
    assert_eq!(unsafe { smile_fsgld_config_default_f64(&mut c, size_of::<smile_fsgld_config_f64>(), 0.1, 0.3) }, SMILE_OK);
    c.n_perturbations = 3;
    c.schedule = smile_schedule_f64 { period: 10, scale: 0.1, offset: 0.0, power: 0.0, floor: 0.01, explore: 0.3, kind: 2 };
    assert_eq!(unsafe { smile_fsgld_memory_size_f64(d, &c, &mut size, &mut align) }, SMILE_OK);
    let mut m = mem(size);
    assert_eq!(
        unsafe { smile_fsgld_init_f64(m.as_mut_ptr() as *mut c_void, size, d, &c, x0.as_ptr(), 9, 1, &mut h as *mut _ as *mut *mut smile_fsgld_f64) },
        SMILE_OK
    );
    let h = h as *mut smile_fsgld_f64;
    let mut ws = vec![0.0; Fsgld::<f64>::workspace_len(d)];
    let cfg = FsgldConfig { n_perturbations: 3, schedule: crate::Schedule::cyclical(0.1, 0.01, 10, 0.3), ..FsgldConfig::constant(0.1, 0.3) };
    let mut r = Fsgld::new(cfg, &x0, &mut ws, 9, 1).unwrap();
    for _ in 0..100 {
        assert_eq!(unsafe { smile_fsgld_step_f64(h, Some(gauss64), ptr::null_mut(), ptr::null_mut()) }, SMILE_OK);
        r.step_with(&mut crate::targets::StdGaussian).unwrap();
        let mut a = vec![0.0; d];
        assert_eq!(unsafe { smile_fsgld_position_f64(h, a.as_mut_ptr(), d) }, SMILE_OK);
        assert_eq!(a, r.position());
    }
}

/// Fuzz regression (`ffi_sg`): a decoherence length tiny next to ε made the
/// refresh at the start of a SMILE step overflow the momentum, and the
/// non-finite `‖u‖²` stored by `ask` failed the state check, so every later
/// call — `tell` and `save` included — returned `INVALID_STATE` for ever.
/// The step now diverges at `tell` (momentum zeroed) and the chain goes on.
#[test]
fn smile_refresh_overflow_diverges_instead_of_bricking() {
    use super::smile_sampler::*;
    for precondition in [0, 1] {
        let d = 7;
        let mut c: smile_smile_config_f64 = unsafe { core::mem::zeroed() };
        assert_eq!(unsafe { smile_smile_config_default_f64(&mut c, size_of::<smile_smile_config_f64>(), 0, 0.35) }, SMILE_OK);
        c.decoherence_length = 1.5e-18;
        c.precondition = precondition;
        let (mut size, mut align) = (0, 0);
        assert_eq!(unsafe { smile_smile_memory_size_f64(d, &c, &mut size, &mut align) }, SMILE_OK);
        let x0: Vec<f64> = (0..d).map(|i| 0.5 - i as f64 * 0.1).collect();
        let mut m = mem(size);
        let mut h = ptr::null_mut();
        assert_eq!(unsafe { smile_smile_init_f64(m.as_mut_ptr() as *mut c_void, size, d, &c, x0.as_ptr(), 1, 2, &mut h) }, SMILE_OK);
        let mut q: smile_request_f64 = unsafe { core::mem::zeroed() };
        assert_eq!(unsafe { smile_smile_ask_f64(h, &mut q) }, SMILE_OK);
        // still a valid instance mid-step: it can be checkpointed and read
        let mut buf = vec![0u8; size];
        let mut dd = 0;
        assert_eq!(unsafe { smile_smile_save_f64(h, buf.as_mut_ptr() as *mut c_void, size) }, SMILE_OK);
        assert_eq!(unsafe { smile_smile_dim_f64(h, &mut dd) }, SMILE_OK);
        let mut lp = 0.0;
        unsafe { gauss64(ptr::null_mut(), d, q.x, q.grad, &mut lp) };
        let mut p = SMILE_PROGRESS_NEED_EVAL;
        let mut info: smile_smile_step_info_f64 = unsafe { core::mem::zeroed() };
        assert_eq!(unsafe { smile_smile_tell_f64(h, lp, &mut p, &mut info) }, SMILE_OK);
        assert_eq!(p, SMILE_PROGRESS_STEP_DONE);
        assert_eq!((info.step, info.divergences, info.divergence), (1, 1, smile_divergence::SMILE_DIVERGENCE_NON_FINITE as u32));
        let mut x = vec![0.0; d];
        assert_eq!(unsafe { smile_smile_position_f64(h, x.as_mut_ptr(), d) }, SMILE_OK);
        assert_eq!(x, x0);
        // the callback path keeps going too
        assert_eq!(unsafe { smile_smile_step_f64(h, Some(gauss64), ptr::null_mut(), &mut info) }, SMILE_OK);
        assert_eq!(info.step, 2);
    }
}

/// Fuzz regression (`ffi_sg`): gradients at the clip (1e6) overflowed
/// Omelyan's momentum update at a stage before the last; `tell` stored the
/// non-finite `‖u‖²` and asked for the next stage, and the chain failed its
/// state check from then on (`INVALID_STATE` for ever). It is now a
/// divergence, and the chain goes on.
#[test]
fn smile_momentum_overflow_mid_step_diverges() {
    use super::smile_sampler::*;
    let d = 7;
    let mut c: smile_smile_config_f64 = unsafe { core::mem::zeroed() };
    assert_eq!(unsafe { smile_smile_config_default_f64(&mut c, size_of::<smile_smile_config_f64>(), 0, 0.3535) }, SMILE_OK);
    c.integrator = smile_integrator::SMILE_INTEGRATOR_OMELYAN as u32;
    c.decoherence_length = 2.2;
    let (mut size, mut align) = (0, 0);
    assert_eq!(unsafe { smile_smile_memory_size_f64(d, &c, &mut size, &mut align) }, SMILE_OK);
    let x0: Vec<f64> = (0..d).map(|i| 0.5 - i as f64 * 0.1).collect();
    let mut m = mem(size);
    let mut h = ptr::null_mut();
    assert_eq!(unsafe { smile_smile_init_f64(m.as_mut_ptr() as *mut c_void, size, d, &c, x0.as_ptr(), 1, 2, &mut h) }, SMILE_OK);
    let big: [&[usize]; 2] = [&[3, 4], &[1, 2, 6]];
    let mut info: smile_smile_step_info_f64 = unsafe { core::mem::zeroed() };
    let mut p = SMILE_PROGRESS_NEED_EVAL;
    for stage in big {
        let mut q: smile_request_f64 = unsafe { core::mem::zeroed() };
        assert_eq!(unsafe { smile_smile_ask_f64(h, &mut q) }, SMILE_OK);
        for i in 0..d {
            unsafe { *q.grad.add(i) = if stage.contains(&i) { 5.6e299 } else { -*q.x.add(i) } };
        }
        assert_eq!(unsafe { smile_smile_tell_f64(h, -0.3, &mut p, &mut info) }, SMILE_OK);
        let mut dd = 0;
        assert_eq!(unsafe { smile_smile_dim_f64(h, &mut dd) }, SMILE_OK, "chain unusable after a tell");
        if p == SMILE_PROGRESS_STEP_DONE {
            break;
        }
    }
    assert_eq!(p, SMILE_PROGRESS_STEP_DONE);
    assert_eq!((info.step, info.divergence), (1, smile_divergence::SMILE_DIVERGENCE_NON_FINITE as u32));
    let mut x = vec![0.0; d];
    assert_eq!(unsafe { smile_smile_position_f64(h, x.as_mut_ptr(), d) }, SMILE_OK);
    assert_eq!(x, x0);
    assert_eq!(unsafe { smile_smile_step_f64(h, Some(gauss64), ptr::null_mut(), &mut info) }, SMILE_OK);
    assert_eq!(info.step, 2);
}

/// Byte offsets of `S` that no field covers: flipping one leaves the value
/// (its `Debug` text, which shows every field) unchanged. Starts from all
/// zero bytes, a valid value of every instance state (plain data).
fn padding_of<S: Copy + core::fmt::Debug>() -> Vec<usize> {
    let n = size_of::<S>();
    let show = |at: Option<usize>| {
        let mut v = core::mem::MaybeUninit::<S>::zeroed();
        if let Some(i) = at {
            // SAFETY: i < size_of::<S>(); states are plain data, so any bytes are a valid S.
            unsafe { (v.as_mut_ptr() as *mut u8).add(i).write(1) };
        }
        // SAFETY: as above.
        std::format!("{:?}", unsafe { v.assume_init() })
    };
    let base = show(None);
    (0..n).filter(|&i| show(Some(i)) == base).collect()
}

/// Instance memory is a checkpoint copied byte for byte: a state with
/// padding would carry stack garbage into it (two instances of the same
/// chain would differ in those bytes, and a checkpoint would leak them).
#[test]
fn instance_states_have_no_padding() {
    use crate::samplers::*;
    use crate::tune::MclmcAdaptState;
    let mut bad = Vec::new();
    let mut check = |name: &str, size: usize, pad: Vec<usize>| {
        if !pad.is_empty() {
            bad.push(std::format!("{name}: {size} bytes, padding at {pad:?}"));
        }
    };
    macro_rules! both {
        ($($t:ident),*) => {$(
            check(concat!(stringify!($t), "<f32>"), size_of::<$t<f32>>(), padding_of::<$t<f32>>());
            check(concat!(stringify!($t), "<f64>"), size_of::<$t<f64>>(), padding_of::<$t<f64>>());
        )*};
    }
    use super::adapter::AdapterState;
    both!(MclmcState, SmileState, MclmcAdaptState, AdapterState, SgldState, PsgldState, SghmcState, FsgldState);
    // Kept after a SMILE instance's workspace.
    use crate::tune::TunerLevels;
    check("TunerLevels", size_of::<TunerLevels>(), padding_of::<TunerLevels>());
    assert!(bad.is_empty(), "padding in instance states: {bad:#?}");
}
