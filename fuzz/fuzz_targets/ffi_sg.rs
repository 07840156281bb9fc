//! Fuzzes the C entry points of SMILE (`smile_smile_*`) and of the SGLD
//! family (`smile_sgld_*`, `smile_psgld_*`, `smile_sghmc_*`, `smile_fsgld_*`,
//! `smile_schedule_step_size_*`, `smile_fsgld_coupled_sigma_*`), both
//! precisions: ten live chains (one per sampler and precision) driven by
//! arbitrary call sequences — every entry point, with valid and invalid
//! arguments (NULL, short/long/misaligned/overlapping arrays), arbitrary
//! config fields and struct sizes, NaN/inf values, mini-batch-like noisy
//! gradients and failing callbacks, corrupted checkpoints and instance
//! bytes, and handles of one sampler (or of MCLMC) passed to another's
//! functions. Buffers are allocated with exactly the length passed, so
//! AddressSanitizer sees any access outside them.
//!
//! The harness asserts the ABI's promises: no panic; request pointers
//! inside the instance; handles equal to the memory given (NULL on
//! failure); a foreign handle is `NOT_AN_INSTANCE`; the step info agrees
//! with the counters; a checkpoint restored elsewhere continues
//! bit-identically. As in `ffi.rs`, the size fields of an instance's header
//! (bytes 8..24) are never corrupted, and no buffer is claimed longer than
//! it is.
//!
//! Uses nightly's `${concat}` to name the 10 × 20 entry points.
#![no_main]
#![feature(macro_metavar_expr_concat)]

use core::ffi::{c_int, c_void};
use core::mem::{size_of, zeroed};
use core::ptr;
use libfuzzer_sys::fuzz_target;
use smile::ffi::mclmc::*;
use smile::ffi::sg::*;
use smile::ffi::smile_progress::*;
use smile::ffi::smile_sampler::*;
use smile::ffi::smile_status::{self, *};
use smile::ffi::*;

/// Reads the fuzz input; zeros once exhausted.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    fn u64(&mut self) -> u64 {
        (self.u32() as u64) << 32 | self.u32() as u64
    }
    fn done(&self) -> bool {
        self.0.is_empty()
    }
    /// Mostly meaningful values, sometimes any bit pattern.
    fn f64(&mut self) -> f64 {
        const SPECIAL: [f64; 16] = [
            0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 1e-300, 1e300, 5e-324, f64::MAX, f64::MIN_POSITIVE, f64::INFINITY,
            f64::NEG_INFINITY, f64::NAN, 3.0, -0.25,
        ];
        match self.u8() % 4 {
            0 => SPECIAL[(self.u8() % 16) as usize],
            1 => f64::from_bits(self.u64()),
            _ => (self.u8() as i8) as f64 / 16.0,
        }
    }
    /// A setting: usually in (0, 1), sometimes anything.
    fn setting(&mut self) -> f64 {
        if self.u8() % 4 == 0 {
            self.f64()
        } else {
            (1 + self.u8() as u32) as f64 / 257.0
        }
    }
    fn small(&mut self, n: u8) -> usize {
        (self.u8() % n) as usize
    }
}

/// A memory block of exactly `len` bytes at `base + off` (base 8-aligned).
struct Block {
    buf: Vec<u64>,
    off: usize,
    len: usize,
}

impl Block {
    fn new(len: usize, off: usize) -> Block {
        Block { buf: vec![0; (len + off).div_ceil(8).max(1)], off, len }
    }
    fn ptr(&mut self) -> *mut c_void {
        unsafe { (self.buf.as_mut_ptr() as *mut u8).add(self.off) as *mut c_void }
    }
    fn start(&self) -> usize {
        self.buf.as_ptr() as usize + self.off
    }
    fn contains(&self, p: *const c_void, bytes: usize) -> bool {
        (p as usize) >= self.start() && (p as usize) + bytes <= self.start() + self.len
    }
}

trait Fl: Copy + PartialEq + core::fmt::Debug + 'static {
    fn of(x: f64) -> Self;
    fn f(self) -> f64;
    fn bits(self) -> u64;
}
impl Fl for f64 {
    fn of(x: f64) -> Self {
        x
    }
    fn f(self) -> f64 {
        self
    }
    fn bits(self) -> u64 {
        self.to_bits()
    }
}
impl Fl for f32 {
    fn of(x: f64) -> Self {
        x as f32
    }
    fn f(self) -> f64 {
        self as f64
    }
    fn bits(self) -> u64 {
        self.to_bits() as u64
    }
}

/// Mirror of `smile_request_*`.
#[repr(C)]
struct Req<T> {
    x: *const T,
    grad: *mut T,
    dim: usize,
    step: u64,
    stage: u32,
    kind: u32,
}

type LogP<T> = unsafe extern "C" fn(*mut c_void, usize, *const T, *mut T, *mut T) -> c_int;

/// One sampler in one precision.
trait Api {
    type T: Fl;
    type C: Copy + core::fmt::Debug;
    type I: Copy + core::fmt::Debug;
    type H;
    const MIN_DIM: usize;
    unsafe fn memory_size(d: usize, c: *const Self::C, s: *mut usize, a: *mut usize) -> smile_status;
    unsafe fn init(m: *mut c_void, n: usize, d: usize, c: *const Self::C, x0: *const Self::T, seed: u64, stream: u64, out: *mut *mut Self::H) -> smile_status;
    unsafe fn ask(h: *mut Self::H, r: *mut Req<Self::T>) -> smile_status;
    unsafe fn tell(h: *mut Self::H, lp: Self::T, p: *mut smile_progress, i: *mut Self::I) -> smile_status;
    unsafe fn step(h: *mut Self::H, f: Option<LogP<Self::T>>, user: *mut c_void, i: *mut Self::I) -> smile_status;
    unsafe fn save(h: *const Self::H, buf: *mut c_void, n: usize) -> smile_status;
    unsafe fn restore(m: *mut c_void, n: usize, buf: *const c_void, bn: usize, out: *mut *mut Self::H) -> smile_status;
    unsafe fn dim(h: *const Self::H, out: *mut usize) -> smile_status;
    unsafe fn position(h: *const Self::H, out: *mut Self::T, len: usize) -> smile_status;
    unsafe fn logdensity(h: *const Self::H, out: *mut Self::T) -> smile_status;
    unsafe fn counters(h: *const Self::H, s: *mut u64, e: *mut u64, d: *mut u64) -> smile_status;
    unsafe fn get_config(h: *const Self::H, c: *mut Self::C, n: usize) -> smile_status;
    unsafe fn set_config(h: *mut Self::H, c: *const Self::C) -> smile_status;
    unsafe fn set_position(h: *mut Self::H, x: *const Self::T, len: usize) -> smile_status;
    /// (step, grad_evals, divergences) of a step info.
    fn info_counts(i: &Self::I) -> [u64; 3];
    /// A config buffer of `struct_size` bytes (at least a `usize`) with fuzzed fields.
    fn config(inp: &mut Input) -> Vec<u8>;
    /// The sampler's own entry points (accessors, setters, `config_default`).
    fn extra(inp: &mut Input, c: &mut Chain<Self>)
    where
        Self: Sized;
}

/// The entry points `chain_ffi!` stamps out, for sampler `$s` in precision `$p`.
macro_rules! common_fns {
    ($s:ident, $p:ident, $t:ty, $info:ty) => {
        type T = $t;
        type C = ${concat(smile_, $s, _config_, $p)};
        type I = $info;
        type H = ${concat(smile_, $s, _, $p)};
        unsafe fn memory_size(d: usize, c: *const Self::C, s: *mut usize, a: *mut usize) -> smile_status {
            ${concat(smile_, $s, _memory_size_, $p)}(d, c, s, a)
        }
        unsafe fn init(m: *mut c_void, n: usize, d: usize, c: *const Self::C, x0: *const $t, seed: u64, stream: u64, out: *mut *mut Self::H) -> smile_status {
            ${concat(smile_, $s, _init_, $p)}(m, n, d, c, x0, seed, stream, out)
        }
        unsafe fn ask(h: *mut Self::H, r: *mut Req<$t>) -> smile_status {
            ${concat(smile_, $s, _ask_, $p)}(h, r as *mut _)
        }
        unsafe fn tell(h: *mut Self::H, lp: $t, p: *mut smile_progress, i: *mut Self::I) -> smile_status {
            ${concat(smile_, $s, _tell_, $p)}(h, lp, p, i)
        }
        unsafe fn step(h: *mut Self::H, f: Option<LogP<$t>>, user: *mut c_void, i: *mut Self::I) -> smile_status {
            ${concat(smile_, $s, _step_, $p)}(h, f, user, i)
        }
        unsafe fn save(h: *const Self::H, buf: *mut c_void, n: usize) -> smile_status {
            ${concat(smile_, $s, _save_, $p)}(h, buf, n)
        }
        unsafe fn restore(m: *mut c_void, n: usize, buf: *const c_void, bn: usize, out: *mut *mut Self::H) -> smile_status {
            ${concat(smile_, $s, _restore_, $p)}(m, n, buf, bn, out)
        }
        unsafe fn dim(h: *const Self::H, out: *mut usize) -> smile_status {
            ${concat(smile_, $s, _dim_, $p)}(h, out)
        }
        unsafe fn position(h: *const Self::H, out: *mut $t, len: usize) -> smile_status {
            ${concat(smile_, $s, _position_, $p)}(h, out, len)
        }
        unsafe fn logdensity(h: *const Self::H, out: *mut $t) -> smile_status {
            ${concat(smile_, $s, _logdensity_, $p)}(h, out)
        }
        unsafe fn counters(h: *const Self::H, s: *mut u64, e: *mut u64, d: *mut u64) -> smile_status {
            ${concat(smile_, $s, _counters_, $p)}(h, s, e, d)
        }
        unsafe fn get_config(h: *const Self::H, c: *mut Self::C, n: usize) -> smile_status {
            ${concat(smile_, $s, _get_config_, $p)}(h, c, n)
        }
        unsafe fn set_config(h: *mut Self::H, c: *const Self::C) -> smile_status {
            ${concat(smile_, $s, _set_config_, $p)}(h, c)
        }
        unsafe fn set_position(h: *mut Self::H, x: *const $t, len: usize) -> smile_status {
            ${concat(smile_, $s, _set_position_, $p)}(h, x, len)
        }
        fn info_counts(i: &Self::I) -> [u64; 3] {
            [i.step, i.grad_evals, i.divergences]
        }
    };
}

/// `struct_size` for a config: mostly right, sometimes short, long or junk.
fn struct_size(inp: &mut Input, full: usize) -> usize {
    match inp.u8() % 8 {
        0 => inp.small(64),
        1 => full + 1 + inp.small(16),
        2 => full - 4 * (1 + inp.small(4)),
        _ => full,
    }
}

/// The bytes of `c` with `struct_size` = `size`, cut or padded to `size`.
fn config_bytes<C>(c: &mut C, size: usize) -> Vec<u8> {
    unsafe { (c as *mut C as *mut usize).write(size) };
    let bytes = unsafe { core::slice::from_raw_parts(c as *const C as *const u8, size_of::<C>()) };
    let mut v = bytes.to_vec();
    v.resize(size.max(size_of::<usize>()), 0);
    v
}

/// Calls a vector accessor with a fuzzed output array: right length, wrong
/// length, NULL, misaligned, or inside the instance.
fn vec_out<T: Fl>(inp: &mut Input, d: usize, mem: &mut Block, f: impl FnOnce(*mut T, usize) -> smile_status) {
    let len = if inp.u8() % 4 == 0 { inp.small(30) } else { d };
    let sz = size_of::<T>();
    let mut raw = vec![0u8; len * sz + 8];
    let (p, expect) = match inp.u8() % 16 {
        0 => (ptr::null_mut(), Some(SMILE_ERR_NULL_POINTER)),
        1 if len == d => (unsafe { raw.as_mut_ptr().add(raw.as_ptr().align_offset(sz) + 1) } as *mut T, Some(SMILE_ERR_ALIGNMENT)),
        2 if len == d && len * sz <= mem.len => (mem.ptr() as *mut T, Some(SMILE_ERR_OVERLAP)),
        _ => (unsafe { raw.as_mut_ptr().add(raw.as_ptr().align_offset(sz)) } as *mut T, None),
    };
    let st = f(p, len);
    if let Some(e) = expect {
        assert!(st != SMILE_OK, "bad output array accepted: {e:?}");
    }
}

/// As [`vec_out`] for an input array of fuzzed values.
fn vec_in<T: Fl>(inp: &mut Input, d: usize, mem: &mut Block, f: impl FnOnce(*const T, usize) -> smile_status) {
    let len = if inp.u8() % 4 == 0 { inp.small(30) } else { d };
    let sz = size_of::<T>();
    let mut raw = vec![0u8; len * sz + 8];
    let a = raw.as_ptr().align_offset(sz);
    let mode = inp.u8() % 4;
    for i in 0..len {
        let v = match mode {
            0 => T::of(inp.f64()),
            1 => T::of(0.0),
            _ => T::of((inp.u8() as i8) as f64 / 32.0),
        };
        unsafe { (raw.as_mut_ptr().add(a) as *mut T).add(i).write(v) };
    }
    let (p, expect) = match inp.u8() % 16 {
        0 => (ptr::null(), Some(SMILE_ERR_NULL_POINTER)),
        1 if len == d => (unsafe { raw.as_ptr().add(a + 1) } as *const T, Some(SMILE_ERR_ALIGNMENT)),
        2 if len == d && len * sz <= mem.len => (mem.ptr() as *const T, Some(SMILE_ERR_OVERLAP)),
        _ => (unsafe { raw.as_ptr().add(a) } as *const T, None),
    };
    let st = f(p, len);
    if let Some(e) = expect {
        assert!(st != SMILE_OK, "bad input array accepted: {e:?}");
    }
}

// ---------------------------------------------------------------- SMILE

macro_rules! smile_api {
    ($name:ident, $p:ident, $t:ty) => {
        struct $name;
        impl Api for $name {
            const MIN_DIM: usize = 2;
            common_fns!(smile, $p, $t, ${concat(smile_smile_step_info_, $p)});

            fn config(inp: &mut Input) -> Vec<u8> {
                let mut c: Self::C = unsafe { zeroed() };
                let full = size_of::<Self::C>();
                let preset = if inp.u8() % 8 == 0 { inp.u32() } else { inp.small(3) as u32 };
                let eps = if inp.u8() % 4 == 0 { inp.f64() } else { 0.05 + inp.setting() };
                unsafe { ${concat(smile_smile_config_default_, $p)}(&mut c, full, preset, eps as $t) };
                if inp.u8() % 3 == 0 {
                    c.step_size = inp.setting() as $t;
                }
                if inp.u8() % 3 == 0 {
                    c.reset_prob = if inp.u8() % 2 == 0 { 1.0 } else { inp.setting() as $t };
                }
                if inp.u8() % 3 == 0 {
                    c.adaption_prob = inp.setting() as $t;
                }
                if inp.u8() % 3 == 0 {
                    c.adaption_strength = inp.setting() as $t;
                }
                if inp.u8() % 3 == 0 {
                    c.smoothing_factor = inp.setting() as $t;
                }
                if inp.u8() % 3 == 0 {
                    c.decoherence_length = if inp.u8() % 2 == 0 { inp.f64() } else { 1.0 + 4.0 * inp.setting() } as $t;
                }
                if inp.u8() % 3 == 0 {
                    c.grad_clip = if inp.u8() % 2 == 0 { inp.f64() } else { 10.0 * inp.setting() } as $t;
                }
                if inp.u8() % 3 == 0 {
                    c.integrator = if inp.u8() % 4 == 0 { inp.u32() } else { inp.small(5) as u32 };
                }
                if inp.u8() % 3 == 0 {
                    c.precondition = inp.small(3) as u32;
                }
                if inp.u8() % 3 == 0 {
                    c.mode = inp.small(3) as u32;
                }
                if inp.u8() % 3 == 0 {
                    c.zero_nan_gradients = inp.small(3) as u32;
                }
                let size = struct_size(inp, full);
                config_bytes(&mut c, size)
            }

            fn extra(inp: &mut Input, c: &mut Chain<Self>) {
                let h = c.h;
                let d = c.dim;
                match inp.u8() % 8 {
                    0 | 1 => {
                        let which = inp.u8() % 3;
                        vec_out::<$t>(inp, d, &mut c.mem, |o, n| unsafe {
                        match which {
                            0 => ${concat(smile_smile_momentum_, $p)}(h, o, n),
                            1 => ${concat(smile_smile_gradient_, $p)}(h, o, n),
                            _ => ${concat(smile_smile_preconditioner_, $p)}(h, o, n),
                        }
                    })
                    }
                    2 => vec_in::<$t>(inp, d, &mut c.mem, |v, n| unsafe { ${concat(smile_smile_set_momentum_, $p)}(h, v, n) }),
                    3 => {
                        let eps = if inp.u8() % 2 == 0 { inp.f64() } else { inp.setting() };
                        let st = unsafe { ${concat(smile_smile_set_step_size_, $p)}(h, eps as $t) };
                        if st == SMILE_OK {
                            let mut e: $t = 0.0;
                            assert_eq!(unsafe { ${concat(smile_smile_step_size_, $p)}(h, &mut e) }, SMILE_OK);
                            assert_eq!(e.to_bits(), (eps as $t).to_bits(), "set_step_size not kept");
                        }
                    }
                    4 => {
                        let (mut m, mut s, mut t) = (0.0 as $t, 0.0 as $t, 0u64);
                        let nul = inp.u8() % 8;
                        unsafe {
                            ${concat(smile_smile_tuner_, $p)}(h, if nul == 1 { ptr::null_mut() } else { &mut m }, if nul == 2 { ptr::null_mut() } else { &mut s }, if nul == 3 { ptr::null_mut() } else { &mut t });
                            ${concat(smile_smile_step_size_, $p)}(h, if nul == 4 { ptr::null_mut() } else { &mut m });
                        }
                    }
                    5 => {
                        let (mut r, mut f) = (0u64, 0u64);
                        let nul = inp.u8() % 4;
                        unsafe { ${concat(smile_smile_resets_, $p)}(h, if nul == 1 { ptr::null_mut() } else { &mut r }, if nul == 2 { ptr::null_mut() } else { &mut f }) };
                    }
                    _ => {
                        // config_default with any size, preset, step size, or NULL
                        let size = if inp.u8() % 2 == 0 { size_of::<Self::C>() } else { inp.small(96) };
                        let mut buf = vec![0xA5u8; size.max(1)];
                        let p = if inp.u8() % 16 == 0 { ptr::null_mut() } else { buf.as_mut_ptr() as *mut Self::C };
                        let (preset, eps) = (if inp.u8() % 2 == 0 { inp.small(4) as u32 } else { inp.u32() }, inp.f64());
                        let st = unsafe { ${concat(smile_smile_config_default_, $p)}(p, size, preset, eps as $t) };
                        if st != SMILE_OK {
                            assert!(buf.iter().all(|&b| b == 0xA5), "config_default wrote on failure");
                        }
                    }
                }
            }
        }
    };
}

smile_api!(Smile64, f64, f64);
smile_api!(Smile32, f32, f32);

// ---------------------------------------------------------------- SGLD family

/// A fuzzed `smile_schedule_*` (any kind, any field).
macro_rules! schedule {
    ($inp:ident, $s:expr, $t:ty) => {{
        let s = &mut $s;
        if $inp.u8() % 2 == 0 {
            s.kind = if $inp.u8() % 8 == 0 { $inp.u32() } else { $inp.small(4) as u32 };
            s.scale = if $inp.u8() % 3 == 0 { $inp.f64() } else { $inp.setting() } as $t;
            s.offset = if $inp.u8() % 3 == 0 { $inp.f64() } else { 1.0 + 100.0 * $inp.setting() } as $t;
            s.power = if $inp.u8() % 3 == 0 { $inp.f64() } else { $inp.setting() } as $t;
            s.floor = if $inp.u8() % 3 == 0 { $inp.f64() } else { 0.1 * $inp.setting() } as $t;
            s.explore = if $inp.u8() % 3 == 0 { $inp.f64() } else { $inp.setting() - 0.01 } as $t;
            s.period = match $inp.u8() % 4 {
                0 => $inp.u64(),
                _ => $inp.small(20) as u64,
            };
        }
    }};
}

/// An SG sampler: `$s` its name, `$def` how `config_default` is called,
/// `$fields` fuzzes its own config fields, `$extra` its own entry points.
macro_rules! sg_api {
    ($name:ident, $s:ident, $p:ident, $t:ty,
     default: |$di:ident, $dc:ident, $dn:ident| $def:expr,
     fields: |$fi:ident, $fc:ident| $fields:block,
     extra: |$ei:ident, $ec:ident| $extra:block) => {
        struct $name;
        impl Api for $name {
            const MIN_DIM: usize = 1;
            common_fns!($s, $p, $t, ${concat(smile_step_info_, $p)});

            fn config($fi: &mut Input) -> Vec<u8> {
                let mut $fc: Self::C = unsafe { zeroed() };
                let full = size_of::<Self::C>();
                {
                    let ($di, $dc, $dn) = (&mut *$fi, &mut $fc as *mut Self::C, full);
                    unsafe { $def };
                }
                schedule!($fi, $fc.schedule, $t);
                if $fi.u8() % 3 == 0 {
                    $fc.temperature = if $fi.u8() % 2 == 0 { $fi.f64() } else { $fi.setting() } as $t;
                }
                $fields
                let size = struct_size($fi, full);
                config_bytes(&mut $fc, size)
            }

            #[allow(unused_variables)]
            fn extra($ei: &mut Input, $ec: &mut Chain<Self>) {
                match $ei.u8() % 4 {
                    0 => {
                        let size = if $ei.u8() % 2 == 0 { size_of::<Self::C>() } else { $ei.small(96) };
                        let mut buf = vec![0xA5u8; size.max(1)];
                        let p = if $ei.u8() % 16 == 0 { ptr::null_mut() } else { buf.as_mut_ptr() as *mut Self::C };
                        let st = {
                            let ($di, $dc, $dn) = (&mut *$ei, p, size);
                            unsafe { $def }
                        };
                        if st != SMILE_OK {
                            assert!(buf.iter().all(|&b| b == 0xA5), "config_default wrote on failure");
                        }
                    }
                    _ => $extra,
                }
            }
        }
    };
}

fn step_arg(inp: &mut Input) -> f64 {
    if inp.u8() % 4 == 0 {
        inp.f64()
    } else {
        0.2 * inp.setting()
    }
}

macro_rules! sg_precision {
    ($p:ident, $t:ty, $sgld:ident, $psgld:ident, $sghmc:ident, $fsgld:ident) => {
        sg_api!($sgld, sgld, $p, $t,
            default: |i, c, n| ${concat(smile_sgld_config_default_, $p)}(c, n, step_arg(i) as $t),
            fields: |i, c| {},
            extra: |i, c| {});
        sg_api!($psgld, psgld, $p, $t,
            default: |i, c, n| ${concat(smile_psgld_config_default_, $p)}(c, n, step_arg(i) as $t),
            fields: |i, c| {
                if i.u8() % 3 == 0 {
                    c.alpha = i.setting() as $t;
                }
                if i.u8() % 3 == 0 {
                    c.lambda = if i.u8() % 2 == 0 { i.f64() } else { 1e-3 * i.setting() } as $t;
                }
            },
            extra: |i, c| {
                let (h, d) = (c.h, c.dim);
                vec_out::<$t>(i, d, &mut c.mem, |o, n| unsafe { ${concat(smile_psgld_second_moment_, $p)}(h, o, n) })
            });
        sg_api!($sghmc, sghmc, $p, $t,
            default: |i, c, n| ${concat(smile_sghmc_config_default_, $p)}(c, n, step_arg(i) as $t, i.setting() as $t),
            fields: |i, c| {
                if i.u8() % 3 == 0 {
                    c.friction = if i.u8() % 2 == 0 { i.f64() } else { i.setting() } as $t;
                }
                if i.u8() % 3 == 0 {
                    c.noise_estimate = if i.u8() % 2 == 0 { i.f64() } else { i.setting() } as $t;
                }
                if i.u8() % 3 == 0 {
                    c.refresh_every = if i.u8() % 4 == 0 { i.u32() } else { i.small(12) as u32 };
                }
            },
            extra: |i, c| {
                let (h, d) = (c.h, c.dim);
                if i.u8() % 2 == 0 {
                    vec_out::<$t>(i, d, &mut c.mem, |o, n| unsafe { ${concat(smile_sghmc_momentum_, $p)}(h, o, n) })
                } else {
                    vec_in::<$t>(i, d, &mut c.mem, |v, n| unsafe { ${concat(smile_sghmc_set_momentum_, $p)}(h, v, n) })
                }
            });
        sg_api!($fsgld, fsgld, $p, $t,
            default: |i, c, n| ${concat(smile_fsgld_config_default_, $p)}(c, n, step_arg(i) as $t, if i.u8() % 4 == 0 { i.f64() } else { i.setting() } as $t),
            fields: |i, c| {
                if i.u8() % 3 == 0 {
                    c.sigma = if i.u8() % 2 == 0 { i.f64() } else { i.setting() } as $t;
                }
                if i.u8() % 3 == 0 {
                    c.n_perturbations = match i.u8() % 8 {
                        0 => i.u32(),
                        1 => 0,
                        2 => 65537,
                        _ => 1 + i.small(6) as u32,
                    };
                }
            },
            extra: |i, c| {});
    };
}

sg_precision!(f64, f64, Sgld64, Psgld64, Sghmc64, Fsgld64);
sg_precision!(f32, f32, Sgld32, Psgld32, Sghmc32, Fsgld32);

// ---------------------------------------------------------------- generic driver

struct Chain<A: Api> {
    mem: Block,
    h: *mut A::H,
    dim: usize,
    /// Bytes of the instance (`memory_size`; the block may be longer).
    size: usize,
    /// Instance bytes were corrupted (or restored from a corrupted checkpoint).
    dirty: bool,
}

/// A live instance of another sampler, for the foreign-handle checks.
#[derive(Clone, Copy)]
struct Foreign {
    h: *mut c_void,
    /// Index of its sampler/precision (10 = MCLMC).
    kind: usize,
    dirty: bool,
}

/// What the density callback sees: mini-batch-like noise per step.
struct Feed {
    /// Noise values, used in turn; NaN/inf among them.
    noise: Vec<f64>,
    scale: f64,
    /// Log density values, used in turn.
    lps: Vec<f64>,
    /// Return codes, used in turn (non-zero fails).
    rcs: Vec<u8>,
    calls: usize,
    block: (usize, usize),
    /// Evaluations before it gives up (bounds fSGLD's M per step).
    limit: usize,
}

impl Feed {
    fn new(inp: &mut Input, block: (usize, usize)) -> Feed {
        let n = inp.small(24);
        let scale = match inp.u8() % 4 {
            0 => 0.0,
            1 => inp.f64(),
            _ => inp.setting() * 4.0,
        };
        let m = inp.small(8);
        Feed {
            noise: (0..n).map(|_| inp.f64()).collect(),
            scale,
            lps: (0..m).map(|_| inp.f64()).collect(),
            rcs: (0..m).map(|_| inp.u8()).collect(),
            calls: 0,
            block,
            limit: 4096,
        }
    }
}

unsafe extern "C" fn logp<T: Fl>(user: *mut c_void, d: usize, x: *const T, g: *mut T, lp: *mut T) -> c_int {
    let feed = &mut *(user as *mut Feed);
    let (start, len) = feed.block;
    let bytes = d * size_of::<T>();
    assert!(x as usize >= start && x as usize + bytes <= start + len, "x outside the instance");
    assert!(g as usize >= start && g as usize + bytes <= start + len, "grad outside the instance");
    assert!(x as usize % core::mem::align_of::<T>() == 0 && g as usize % core::mem::align_of::<T>() == 0);
    let k = feed.calls;
    feed.calls += 1;
    if k >= feed.limit {
        return 1;
    }
    let mut s = 0.0;
    for i in 0..d {
        let xi = (*x.add(i)).f();
        let nz = if feed.noise.is_empty() { 0.0 } else { feed.noise[(k * 7 + i) % feed.noise.len()] };
        // a mini-batch estimate of a Gaussian's gradient: −x plus noise
        *g.add(i) = T::of(-xi + feed.scale * nz);
        s += xi * xi;
    }
    *lp = match feed.lps.get(k % 8) {
        Some(&v) if k % 3 == 2 => T::of(v),
        _ => T::of(-0.5 * s),
    };
    if trace() {
        let xs: Vec<f64> = (0..d).map(|i| (*x.add(i)).f()).collect();
        let gs: Vec<f64> = (0..d).map(|i| (*g.add(i)).f()).collect();
        eprintln!("    logp call {k}: x {xs:?} g {gs:?} lp {:?}", *lp);
    }
    feed.rcs.get(k % 8).map_or(0, |&r| (r % 16 == 0) as c_int)
}

fn ok(st: smile_status) -> bool {
    st == SMILE_OK
}

fn dim_of<A: Api>(inp: &mut Input) -> usize {
    let sz = size_of::<A::T>();
    match inp.u8() % 16 {
        0 => 0,
        1 => 1,
        2 => usize::MAX - inp.small(8),
        3 => (isize::MAX as usize) / 64 / sz + inp.small(3),
        4 => usize::MAX / 8 / sz + inp.small(4),
        _ => 2 + inp.small(24),
    }
}

fn counts<A: Api>(h: *const A::H) -> Option<[u64; 3]> {
    let (mut a, mut b, mut e) = (0, 0, 0);
    ok(unsafe { A::counters(h, &mut a, &mut b, &mut e) }).then_some([a, b, e])
}

/// Dimension and instance size of a restored chain.
fn dim_size<A: Api>(h: *const A::H) -> (usize, usize) {
    let (mut d, mut s, mut a) = (0, 0, 0);
    assert_eq!(unsafe { A::dim(h, &mut d) }, SMILE_OK);
    assert_eq!(unsafe { A::memory_size(d, ptr::null(), &mut s, &mut a) }, SMILE_OK);
    (d, s)
}

fn init<A: Api>(inp: &mut Input) -> Option<Chain<A>> {
    let d = dim_of::<A>(inp);
    let (mut size, mut align) = (0usize, 0usize);
    let st = unsafe { A::memory_size(d, ptr::null(), &mut size, &mut align) };
    if ok(st) {
        assert_eq!(align, SMILE_ALIGN);
        if size > 1 << 24 {
            return None; // valid, but too big to allocate here
        }
    } else {
        assert!(d < A::MIN_DIM || d > 1 << 40, "memory_size refused dimension {d}: {st:?}");
    }
    let need = if ok(st) { size } else { 256 + 12 * 8 * 26 };
    let mem_size = match inp.u8() % 6 {
        0 => need.saturating_sub(1 + inp.small(64)),
        1 => need + inp.small(64),
        _ => need,
    };
    let off = if inp.u8() % 8 == 0 { 1 + inp.small(7) } else { 0 };
    let mut mem = Block::new(mem_size, off);
    let xd = if d <= 64 { d } else { 0 };
    let x0: Vec<A::T> = if inp.u8() % 4 == 0 {
        (0..xd).map(|_| A::T::of(inp.f64())).collect()
    } else {
        (0..xd).map(|i| A::T::of(0.5 - i as f64 * 0.1)).collect()
    };
    let cfg = A::config(inp);
    let cfgp = if inp.u8() % 16 == 0 { ptr::null() } else { cfg.as_ptr() as *const A::C };
    let x0p = if d > 64 || inp.u8() % 32 == 0 { ptr::null() } else { x0.as_ptr() };
    let mut h: *mut A::H = 1 as *mut A::H;
    let outp = if inp.u8() % 64 == 0 { ptr::null_mut() } else { &mut h as *mut _ };
    let st = unsafe { A::init(mem.ptr(), mem_size, d, cfgp, x0p, inp.u64(), inp.u64(), outp) };
    if outp.is_null() {
        assert_eq!(st, SMILE_ERR_NULL_POINTER);
        return None;
    }
    if ok(st) {
        assert_eq!(h as *mut c_void, mem.ptr());
        assert_eq!(counts::<A>(h), Some([0, 0, 0]));
        if trace() {
            let mut cfg: A::C = unsafe { zeroed() };
            let st = unsafe { A::get_config(h, &mut cfg, size_of::<A::C>()) };
            eprintln!("init {} d {d}: {st:?} {cfg:?} x0 {x0:?}", core::any::type_name::<A>());
        }
        Some(Chain { mem, h, dim: d, size, dirty: false })
    } else {
        assert!(h.is_null(), "failed init left a handle");
        None
    }
}

/// Checks a finished step's info against the counters.
fn check_info<A: Api>(c: &Chain<A>, info: &A::I) {
    let [s, e, dv] = A::info_counts(info);
    if let Some(k) = counts::<A>(c.h) {
        assert_eq!([s, e, dv], k, "step info disagrees with the counters");
    }
    // (a corrupted counter that `from_parts` lets through is not checked:
    // the SG samplers' state check does not compare the counters)
    assert!(c.dirty || dv <= s, "more divergences than steps");
}

/// Saves `c` and restores the checkpoint into a fresh block (at another
/// alignment, 8 or 64), then runs the same steps with the same gradients
/// on both: they must stay bit-identical.
fn twin<A: Api>(inp: &mut Input, c: &mut Chain<A>) {
    let size = c.size;
    let mut buf = vec![0u8; size];
    if !ok(unsafe { A::save(c.h, buf.as_mut_ptr() as *mut c_void, size) }) {
        return;
    }
    let off = [0, 8, 16, 32][inp.small(4)];
    let mut mem = Block::new(size + 128, 0);
    let base = mem.ptr() as usize;
    let off = (64 - base % 64) % 64 + off;
    let mut mem = Block { buf: mem.buf, off, len: size };
    let mut h2: *mut A::H = ptr::null_mut();
    let st = unsafe { A::restore(mem.ptr(), size, buf.as_ptr() as *const c_void, size, &mut h2) };
    if !ok(st) {
        assert!(c.dirty, "a clean checkpoint failed to restore: {st:?}");
        return;
    }
    let c2 = Chain::<A> { mem, h: h2, dim: c.dim, size, dirty: c.dirty };
    let n = 1 + inp.small(16);
    let seed_inp: Vec<u8> = (0..24 + n).map(|_| inp.u8()).collect();
    for k in 0..n {
        let mut feeds = [c.mem.start(), c2.mem.start()].map(|s| Feed::new(&mut Input(&seed_inp[k..]), (s, size)));
        let mut infos: [A::I; 2] = unsafe { zeroed() };
        let r1 = unsafe { A::step(c.h, Some(logp::<A::T>), &mut feeds[0] as *mut Feed as *mut c_void, &mut infos[0]) };
        let r2 = unsafe { A::step(c2.h, Some(logp::<A::T>), &mut feeds[1] as *mut Feed as *mut c_void, &mut infos[1]) };
        if trace() {
            eprintln!("  twin step: {r1:?} {r2:?} after {} calls; {:?}", feeds[0].calls, infos[0]);
        }
        assert_eq!(r1, r2, "restored chain answered differently");
        assert_eq!(feeds[0].calls, feeds[1].calls, "restored chain asked differently");
        if ok(r1) {
            assert_eq!(A::info_counts(&infos[0]), A::info_counts(&infos[1]));
        }
    }
    let d = c.dim;
    let (mut x1, mut x2) = (vec![A::T::of(0.0); d], vec![A::T::of(0.0); d]);
    let s1 = unsafe { A::position(c.h, x1.as_mut_ptr(), d) };
    let s2 = unsafe { A::position(c2.h, x2.as_mut_ptr(), d) };
    assert_eq!(s1, s2);
    assert!(x1.iter().zip(&x2).all(|(a, b)| a.bits() == b.bits()), "restored chain diverged: {x1:?} vs {x2:?}");
    if inp.u8() % 2 == 0 {
        *c = c2;
    }
}

/// `FUZZ_TRACE=1` prints the operations (to read a crash).
fn trace() -> bool {
    static T: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *T.get_or_init(|| std::env::var_os("FUZZ_TRACE").is_some())
}

fn op<A: Api>(inp: &mut Input, c: &mut Chain<A>, foreign: &[Foreign], me: usize) {
    let d = c.dim;
    let h = c.h;
    let k = inp.u8() % 20;
    if trace() {
        let (mut lp, mut dd) = (A::T::of(0.0), 0);
        let st = unsafe { (A::logdensity(h, &mut lp), A::dim(h, &mut dd)) };
        eprintln!("{}: op {k} (d {d}, dirty {}; logdensity {lp:?}, dim {st:?}, counters {:?})", core::any::type_name::<A>(), c.dirty, counts::<A>(h));
    }
    match k {
        0 | 1 => {
            let mut r: Req<A::T> = unsafe { zeroed() };
            let rp = if inp.u8() % 32 == 0 { ptr::null_mut() } else { &mut r as *mut _ };
            let st = unsafe { A::ask(h, rp) };
            if rp.is_null() {
                assert_eq!(st, SMILE_ERR_NULL_POINTER);
            } else if ok(st) {
                let bytes = d * size_of::<A::T>();
                if trace() {
                    eprintln!("  ask: step {} stage {}", r.step, r.stage);
                }
                assert!(c.mem.contains(r.x as *const c_void, bytes) && c.mem.contains(r.grad as *const c_void, bytes), "request outside the instance");
                assert_eq!(r.dim, d);
                assert_eq!(r.kind, 1, "SG/SMILE requests are stages");
                assert!(r.step >= 1 && r.stage >= 1, "step {} stage {}", r.step, r.stage);
                let scale = inp.setting();
                for i in 0..d {
                    unsafe {
                        let xi = (*r.x.add(i)).f();
                        *r.grad.add(i) = A::T::of(match inp.u8() % 8 {
                            0 => inp.f64(),
                            1 | 2 => -xi + scale * ((inp.u8() as i8) as f64 / 16.0),
                            _ => -xi,
                        });
                    }
                }
            }
        }
        2 | 3 => {
            let mut p = SMILE_PROGRESS_INITIALIZED;
            let mut info: A::I = unsafe { zeroed() };
            let infop = if inp.u8() % 2 == 0 { ptr::null_mut() } else { &mut info as *mut A::I };
            let pp = if inp.u8() % 32 == 0 { ptr::null_mut() } else { &mut p as *mut _ };
            let lp = if inp.u8() % 3 == 0 { inp.f64() } else { -1.0 };
            let st = unsafe { A::tell(h, A::T::of(lp), pp, infop) };
            if trace() {
                eprintln!("  tell({lp}): {st:?} {p:?}");
            }
            if pp.is_null() {
                assert_eq!(st, SMILE_ERR_NULL_POINTER);
            } else if ok(st) {
                assert!(p == SMILE_PROGRESS_NEED_EVAL || p == SMILE_PROGRESS_STEP_DONE, "tell progress {p:?}");
                if p == SMILE_PROGRESS_STEP_DONE && !infop.is_null() {
                    check_info(c, &info);
                }
            }
        }
        4..=6 => {
            // one or more callback steps, a new mini-batch each
            let n = if inp.u8() % 4 == 0 { 1 + inp.small(48) } else { 1 };
            for _ in 0..n {
                let mut feed = Feed::new(inp, (c.mem.start(), c.mem.len));
                let mut info: A::I = unsafe { zeroed() };
                let infop = if inp.u8() % 8 == 0 { ptr::null_mut() } else { &mut info as *mut A::I };
                let f = if inp.u8() % 64 == 0 { None } else { Some(logp::<A::T> as LogP<A::T>) };
                let st = unsafe { A::step(h, f, &mut feed as *mut Feed as *mut c_void, infop) };
                if trace() {
                    eprintln!("  step: {st:?} after {} calls", feed.calls);
                }
                if f.is_none() {
                    assert_eq!(st, SMILE_ERR_NULL_POINTER);
                }
                if ok(st) {
                    assert!(feed.calls >= 1);
                    if !infop.is_null() {
                        check_info(c, &info);
                    }
                }
            }
        }
        7 => vec_out::<A::T>(inp, d, &mut c.mem, |o, n| unsafe { A::position(h, o, n) }),
        8 => vec_in::<A::T>(inp, d, &mut c.mem, |v, n| unsafe { A::set_position(h, v, n) }),
        9 => {
            let cfg = A::config(inp);
            let p = if inp.u8() % 32 == 0 { ptr::null() } else { cfg.as_ptr() as *const A::C };
            let st = unsafe { A::set_config(h, p) };
            if ok(st) {
                // what was set reads back
                let full = size_of::<A::C>();
                let mut back = vec![0u8; full];
                assert_eq!(unsafe { A::get_config(h, back.as_mut_ptr() as *mut A::C, full) }, SMILE_OK);
                assert_eq!(unsafe { (back.as_ptr() as *const usize).read_unaligned() }, full);
            }
        }
        10 => {
            let size = if inp.u8() % 2 == 0 { size_of::<A::C>() } else { inp.small(96) };
            let mut buf = vec![0u8; size.max(1)];
            let p = if inp.u8() % 32 == 0 { ptr::null_mut() } else { buf.as_mut_ptr() as *mut A::C };
            let st = unsafe { A::get_config(h, p, size) };
            if ok(st) && !c.dirty {
                // a config read back is accepted again
                let mut s = 0;
                let mut a = 0;
                assert_eq!(unsafe { A::memory_size(d.max(A::MIN_DIM), buf.as_ptr() as *const A::C, &mut s, &mut a) }, SMILE_OK, "get_config wrote a config memory_size refuses");
            }
        }
        11 => {
            let nul = inp.u8() % 8;
            let (mut a, mut b, mut e) = (0u64, 0u64, 0u64);
            let mut lp = A::T::of(0.0);
            let mut dd = 0usize;
            unsafe {
                A::counters(h, if nul == 1 { ptr::null_mut() } else { &mut a }, if nul == 2 { ptr::null_mut() } else { &mut b }, &mut e);
                A::logdensity(h, if nul == 3 { ptr::null_mut() } else { &mut lp });
                let st = A::dim(h, if nul == 4 { ptr::null_mut() } else { &mut dd });
                if ok(st) {
                    assert_eq!(dd, d);
                }
                if nul == 5 {
                    assert_eq!(A::dim(ptr::null(), &mut dd), SMILE_ERR_NULL_POINTER);
                    assert_eq!(A::dim((h as *const u8).add(4) as *const A::H, &mut dd), SMILE_ERR_ALIGNMENT);
                }
            }
        }
        12 | 13 => {
            // checkpoint, corrupt, restore into fresh (or the same) memory
            let size = c.size;
            let buf_size = if inp.u8() % 4 == 0 { size.saturating_sub(inp.small(16)) } else { size };
            let in_place = inp.u8() % 4 == 0;
            let mut buf = vec![0u8; buf_size.max(1)];
            let st = unsafe { A::save(h, buf.as_mut_ptr() as *mut c_void, buf_size) };
            if buf_size < size {
                assert!(!ok(st));
            }
            if !ok(st) {
                return;
            }
            let flips = inp.small(4);
            for _ in 0..flips {
                let i = inp.u32() as usize % buf_size;
                buf[i] ^= inp.u8() | 1;
            }
            let dirty = c.dirty || flips > 0;
            if in_place {
                // the checkpoint copied into instance memory, restored onto itself
                let mut mem = Block::new(size, 0);
                unsafe { ptr::copy_nonoverlapping(buf.as_ptr(), mem.ptr() as *mut u8, size) };
                let mut h2: *mut A::H = ptr::null_mut();
                let st = unsafe { A::restore(mem.ptr(), size, mem.ptr(), size, &mut h2) };
                if ok(st) {
                    assert_eq!(h2 as *mut c_void, mem.ptr());
                    let (dim, size) = dim_size::<A>(h2);
                    *c = Chain { mem, h: h2, dim, size, dirty };
                } else {
                    assert!(dirty, "clean in-place restore failed: {st:?}");
                    assert!(h2.is_null());
                }
                return;
            }
            let mem_size = if inp.u8() % 4 == 0 { inp.u32() as usize % (size + 8) } else { size };
            let off = if inp.u8() % 16 == 0 { 4 } else { 0 };
            let mut mem = Block::new(mem_size, off);
            let mut h2: *mut A::H = ptr::null_mut();
            let st = unsafe { A::restore(mem.ptr(), mem_size, buf.as_ptr() as *const c_void, buf_size, &mut h2) };
            if ok(st) {
                assert_eq!(h2 as *mut c_void, mem.ptr());
                let (dim, size) = dim_size::<A>(h2);
                *c = Chain { mem, h: h2, dim, size, dirty };
            } else {
                assert!(h2.is_null());
                if !dirty && mem_size >= size && off == 0 {
                    panic!("clean restore failed: {st:?}");
                }
            }
        }
        14 => {
            // corrupt the live instance anywhere but its size fields
            let len = c.size;
            for _ in 0..1 + inp.small(3) {
                let i = inp.u32() as usize % len;
                if (8..24).contains(&i) {
                    continue;
                }
                unsafe { *(c.mem.ptr() as *mut u8).add(i) ^= inp.u8() | 1 };
                c.dirty = true;
            }
        }
        15 => {
            // this sampler's functions on another's instance
            if foreign.is_empty() {
                return;
            }
            let f = foreign[inp.small(foreign.len() as u8)];
            if f.kind == me {
                return;
            }
            let fh = f.h as *mut A::H;
            let mut dd = 0usize;
            let mut r: Req<A::T> = unsafe { zeroed() };
            let mut p = SMILE_PROGRESS_INITIALIZED;
            let mut buf = vec![0u8; 64];
            let mut out = vec![A::T::of(0.0); 64];
            let st = unsafe {
                match inp.u8() % 8 {
                    0 => A::dim(fh, &mut dd),
                    1 => A::ask(fh, &mut r),
                    2 => A::tell(fh, A::T::of(0.0), &mut p, ptr::null_mut()),
                    3 => {
                        let mut feed = Feed::new(inp, (0, usize::MAX));
                        A::step(fh, Some(logp::<A::T>), &mut feed as *mut Feed as *mut c_void, ptr::null_mut())
                    }
                    4 => A::save(fh, buf.as_mut_ptr() as *mut c_void, 64),
                    5 => A::position(fh, out.as_mut_ptr(), dd),
                    6 => A::get_config(fh, buf.as_mut_ptr() as *mut A::C, size_of::<A::C>().min(64)),
                    _ => {
                        let cfg = A::config(inp);
                        A::set_config(fh, cfg.as_ptr() as *const A::C)
                    }
                }
            };
            if !f.dirty {
                assert_eq!(st, SMILE_ERR_NOT_AN_INSTANCE, "foreign handle accepted");
            }
            // and other samplers' (and MCLMC's) dim on this one
            if !c.dirty {
                let mut dd = 0;
                let others = unsafe {
                    [
                        smile_mclmc_dim_f64(h as *const _, &mut dd),
                        smile_mclmc_dim_f32(h as *const _, &mut dd),
                        smile_smile_dim_f64(h as *const _, &mut dd),
                        smile_smile_dim_f32(h as *const _, &mut dd),
                        smile_sgld_dim_f64(h as *const _, &mut dd),
                        smile_sgld_dim_f32(h as *const _, &mut dd),
                        smile_psgld_dim_f64(h as *const _, &mut dd),
                        smile_psgld_dim_f32(h as *const _, &mut dd),
                        smile_sghmc_dim_f64(h as *const _, &mut dd),
                        smile_sghmc_dim_f32(h as *const _, &mut dd),
                        smile_fsgld_dim_f64(h as *const _, &mut dd),
                        smile_fsgld_dim_f32(h as *const _, &mut dd),
                    ]
                };
                let accepted = others.iter().filter(|&&s| s != SMILE_ERR_NOT_AN_INSTANCE).count();
                assert!(accepted <= 1, "handle accepted by {accepted} samplers: {others:?}");
            }
        }
        16 => {
            let cfg = A::config(inp);
            let p = if inp.u8() % 4 == 0 { ptr::null() } else { cfg.as_ptr() as *const A::C };
            let (mut s, mut a) = (0usize, 0usize);
            let nul = inp.u8() % 16 == 0;
            unsafe { A::memory_size(dim_of::<A>(inp), p, if nul { ptr::null_mut() } else { &mut s }, &mut a) };
        }
        17 => twin(inp, c),
        _ => A::extra(inp, c),
    }
}

/// The helpers that need no instance: schedules and fSGLD's σ.
fn global(inp: &mut Input) {
    let exploring_null = inp.u8() % 4 == 0;
    let t = match inp.u8() % 4 {
        0 => inp.u64(),
        _ => inp.small(64) as u64,
    };
    let mut e = 7u32;
    let ep = if exploring_null { ptr::null_mut() } else { &mut e as *mut u32 };
    macro_rules! sched {
        ($sched:ident, $fun:ident, $cs:ident, $t:ty) => {{
            let mut s: $sched = unsafe { zeroed() };
            s.scale = 0.1;
            schedule!(inp, s, $t);
            // any alignment: the library reads it unaligned
            let mut raw = vec![0u8; size_of::<$sched>() + 8];
            let off = inp.small(8);
            unsafe { (raw.as_mut_ptr().add(off) as *mut $sched).write_unaligned(s) };
            let sp = if inp.u8() % 32 == 0 { ptr::null() } else { unsafe { raw.as_ptr().add(off) as *const $sched } };
            let mut hv: $t = -1.0;
            let st = unsafe { $fun(sp, t, &mut hv, ep) };
            if ok(st) {
                assert!(hv >= 0.0 && !hv.is_nan(), "schedule gave h = {hv} ({s:?}, t = {t})");
                assert!(exploring_null || e <= 1);
            }
            let (beta, eta) = (inp.f64() as $t, inp.f64() as $t);
            let mut sg: $t = -1.0;
            let sgp = if inp.u8() % 32 == 0 { ptr::null_mut() } else { &mut sg as *mut $t };
            let st = unsafe { $cs(beta, eta, sgp) };
            if ok(st) {
                assert!(sg >= 0.0, "coupled sigma {sg} for beta {beta} eta {eta}");
            }
        }};
    }
    if inp.u8() % 2 == 0 {
        sched!(smile_schedule_f64, smile_schedule_step_size_f64, smile_fsgld_coupled_sigma_f64, f64);
    } else {
        sched!(smile_schedule_f32, smile_schedule_step_size_f32, smile_fsgld_coupled_sigma_f32, f32);
    }
}

/// An MCLMC instance, so that its handle can be passed to the others.
fn mclmc(mem: &mut Block) -> Option<Foreign> {
    let d = 3;
    let mut c: smile_mclmc_config_f64 = unsafe { zeroed() };
    let x0 = [0.1f64, 0.2, 0.3];
    let mut h = ptr::null_mut();
    let st = unsafe {
        smile_mclmc_config_default_f64(&mut c, size_of::<smile_mclmc_config_f64>(), d);
        smile_mclmc_init_f64(mem.ptr(), mem.len, d, &c, x0.as_ptr(), 1, 2, &mut h)
    };
    ok(st).then_some(Foreign { h: h as *mut c_void, kind: 10, dirty: false })
}

macro_rules! slots {
    ($($f:ident: $a:ty),*) => {
        #[derive(Default)]
        struct Slots { $($f: Option<Chain<$a>>),* }
        impl Slots {
            #[allow(unused_assignments)]
            fn foreign(&self, out: &mut Vec<Foreign>) {
                let mut k = 0;
                $(
                    if let Some(c) = &self.$f {
                        out.push(Foreign { h: c.h as *mut c_void, kind: k, dirty: c.dirty });
                    }
                    k += 1;
                )*
            }
            #[allow(unused_assignments)]
            fn drive(&mut self, inp: &mut Input, which: usize, fresh: bool, foreign: &[Foreign]) {
                let mut k = 0;
                $(
                    if which == k {
                        match &mut self.$f {
                            Some(c) if !fresh => op(inp, c, foreign, k),
                            _ => self.$f = init::<$a>(inp).or(self.$f.take()),
                        }
                        return;
                    }
                    k += 1;
                )*
            }
        }
    };
}

slots!(smile64: Smile64, smile32: Smile32, sgld64: Sgld64, sgld32: Sgld32, psgld64: Psgld64, psgld32: Psgld32,
       sghmc64: Sghmc64, sghmc32: Sghmc32, fsgld64: Fsgld64, fsgld32: Fsgld32);

fuzz_target!(|data: &[u8]| {
    let mut inp = Input(data);
    let mut slots = Slots::default();
    let (mut msize, mut malign) = (0, 0);
    unsafe { smile_mclmc_memory_size_f64(3, ptr::null(), &mut msize, &mut malign) };
    let mut mmem = Block::new(msize, 0);
    let mc = mclmc(&mut mmem);
    let mut foreign = Vec::with_capacity(11);
    let mut steps = 0;
    while !inp.done() && steps < 300 {
        steps += 1;
        let sel = inp.u8();
        let which = (sel % 11) as usize;
        if which == 10 {
            global(&mut inp);
            continue;
        }
        foreign.clear();
        slots.foreign(&mut foreign);
        foreign.extend(mc);
        slots.drive(&mut inp, which, sel / 11 == 0, &foreign);
    }
});
