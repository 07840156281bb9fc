//! Fuzzes the C entry points (both precisions) with arbitrary call
//! sequences, configs, struct sizes, dimensions, memory sizes, alignments,
//! values, callback results, corrupted checkpoints and corrupted instance
//! memory. Buffers are allocated with exactly the length passed, so
//! AddressSanitizer sees any access outside them. The harness asserts the
//! ABI's promises: no panic, request pointers inside the instance, handles
//! equal to the memory given, documented statuses only.
//!
//! The one thing a C caller can do that no library can check — claim a
//! buffer longer than it is — the harness never does; it also leaves the
//! size fields of an instance's header alone when corrupting it (changing
//! `bytes` and `dim` consistently would describe memory that is not there).
#![no_main]

use core::ffi::{c_int, c_void};
use core::ptr;
use libfuzzer_sys::fuzz_target;
use smile::ffi::mclmc::*;
use smile::ffi::smile_progress::*;
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
    fn small(&mut self, n: u8) -> usize {
        (self.u8() % n) as usize
    }
}

/// A memory block of exactly `len` bytes, 8-aligned at `base`.
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
    fn contains(&self, p: *const c_void, bytes: usize) -> bool {
        let start = self.buf.as_ptr() as usize + self.off;
        (p as usize) >= start && (p as usize) + bytes <= start + self.len
    }
}

/// Values fed to the density callback.
struct Feed {
    vals: Vec<f64>,
    rcs: Vec<u8>,
    calls: usize,
    block: (usize, usize),
}

macro_rules! precision {
    ($m:ident, $t:ty, $other_dim:ident, $cfg:ident, $req:ident, $info:ident, $h:ident,
     $config_default:ident, $memory_size:ident, $init:ident, $ask:ident, $tell:ident, $step:ident,
     $save:ident, $restore:ident, $dim:ident, $position:ident, $momentum:ident, $gradient:ident,
     $logdensity:ident, $counters:ident, $get_config:ident, $set_config:ident, $set_position:ident,
     $set_momentum:ident, $set_preconditioner:ident) => {
        mod $m {
            use super::*;

            pub struct Chain {
                pub mem: Block,
                pub h: *mut $h,
                pub dim: usize,
            }

            fn ok(st: smile_status) -> bool {
                st == SMILE_OK
            }

            fn vals(inp: &mut Input, n: usize) -> Vec<$t> {
                (0..n).map(|_| inp.f64() as $t).collect()
            }

            fn dim(inp: &mut Input) -> usize {
                match inp.u8() % 16 {
                    0 => 0,
                    1 => 1,
                    2 => usize::MAX - inp.small(8),
                    3 => usize::MAX / 6 / core::mem::size_of::<$t>() + inp.small(4),
                    _ => 2 + inp.small(24),
                }
            }

            /// A config buffer of `struct_size` bytes with fuzzed fields.
            fn config(inp: &mut Input, d: usize) -> (Vec<u8>, usize) {
                let full = core::mem::size_of::<$cfg>();
                let mut c: $cfg = unsafe { core::mem::zeroed() };
                let size = match inp.u8() % 8 {
                    0 => inp.small(64),
                    1 => full + 1 + inp.small(16),
                    2..=4 => full - 4 * inp.small(4),
                    _ => full,
                };
                unsafe { $config_default(&mut c, full, d.max(2)) };
                if inp.u8() % 2 == 0 {
                    c.step_size = inp.f64() as $t;
                }
                if inp.u8() % 2 == 0 {
                    c.decoherence_length = inp.f64() as $t;
                }
                if inp.u8() % 3 == 0 {
                    c.max_energy_change = inp.f64() as $t;
                }
                if inp.u8() % 3 == 0 {
                    c.integrator = if inp.u8() % 2 == 0 { inp.small(5) as u32 } else { inp.u32() };
                }
                c.struct_size = size;
                let bytes = unsafe { core::slice::from_raw_parts(&c as *const $cfg as *const u8, full) };
                let mut v = bytes.to_vec();
                v.resize(size.max(core::mem::size_of::<usize>()), 0);
                (v, size)
            }

            pub unsafe extern "C" fn logp(user: *mut c_void, d: usize, x: *const $t, g: *mut $t, lp: *mut $t) -> c_int {
                let feed = &mut *(user as *mut Feed);
                let (start, len) = feed.block;
                let bytes = d * core::mem::size_of::<$t>();
                assert!(x as usize >= start && x as usize + bytes <= start + len, "x outside the instance");
                assert!(g as usize >= start && g as usize + bytes <= start + len, "grad outside the instance");
                let k = feed.calls;
                feed.calls += 1;
                let mut s = 0.0;
                for i in 0..d {
                    let xi = *x.add(i);
                    let v = feed.vals.get(k * 7 + i).copied().unwrap_or(-(xi as f64));
                    *g.add(i) = v as $t;
                    s += (xi as f64) * (xi as f64);
                }
                if let Some(&v) = feed.vals.get(k) {
                    if v.is_nan() || k % 5 == 4 {
                        *lp = v as $t;
                    } else {
                        *lp = (-0.5 * s) as $t;
                    }
                } else {
                    *lp = (-0.5 * s) as $t;
                }
                feed.rcs.get(k).map_or(0, |&r| (r % 8 == 0) as c_int)
            }

            pub fn init(inp: &mut Input) -> Option<Chain> {
                let d = dim(inp);
                let (mut size, mut align) = (0usize, 0usize);
                let st = unsafe { $memory_size(d, ptr::null(), &mut size, &mut align) };
                let need = if ok(st) { size } else { 64 + 6 * 8 * 26 };
                let mem_size = match inp.u8() % 6 {
                    0 => need.saturating_sub(1 + inp.small(64)),
                    1 => need + inp.small(64),
                    _ => need,
                };
                let off = if inp.u8() % 8 == 0 { 1 + inp.small(7) } else { 0 };
                let mut mem = Block::new(mem_size, off);
                let xd = if d <= 64 { d } else { 0 };
                let x0 = if inp.u8() % 4 == 0 { vals(inp, xd) } else { vec![0.5 as $t; xd] };
                let (cfg, _) = config(inp, d);
                let cfgp = match inp.u8() % 3 {
                    0 => ptr::null(),
                    _ => cfg.as_ptr() as *const $cfg,
                };
                let x0p = if d > 64 || inp.u8() % 32 == 0 { ptr::null() } else { x0.as_ptr() };
                let mut h: *mut $h = 1 as *mut $h;
                let st = unsafe { $init(mem.ptr(), mem_size, d, cfgp, x0p, inp.u64(), inp.u64(), &mut h) };
                if ok(st) {
                    assert_eq!(h as *mut c_void, mem.ptr());
                    Some(Chain { mem, h, dim: d })
                } else {
                    assert!(h.is_null(), "failed init left a handle");
                    None
                }
            }

            pub fn op(inp: &mut Input, c: &mut Chain, other: *mut c_void) {
                let d = c.dim;
                let h = c.h;
                match inp.u8() % 16 {
                    0 => {
                        let mut r: $req = unsafe { core::mem::zeroed() };
                        if ok(unsafe { $ask(h, &mut r) }) {
                            let bytes = d * core::mem::size_of::<$t>();
                            assert!(c.mem.contains(r.x as *const c_void, bytes) && c.mem.contains(r.grad as *const c_void, bytes));
                            assert_eq!(r.dim, d);
                            for i in 0..d {
                                unsafe { *r.grad.add(i) = if inp.u8() % 4 == 0 { inp.f64() as $t } else { -*r.x.add(i) } };
                            }
                        }
                    }
                    1 | 2 => {
                        let mut p = SMILE_PROGRESS_INITIALIZED;
                        let mut info: $info = unsafe { core::mem::zeroed() };
                        let infop = if inp.u8() % 2 == 0 { ptr::null_mut() } else { &mut info as *mut $info };
                        let lp = if inp.u8() % 3 == 0 { inp.f64() as $t } else { -1.0 };
                        unsafe { $tell(h, lp, &mut p, infop) };
                    }
                    3 | 4 => {
                        let n = inp.small(32);
                        let mut feed = Feed {
                            vals: (0..n).map(|_| inp.f64()).collect(),
                            rcs: (0..n).map(|_| inp.u8()).collect(),
                            calls: 0,
                            block: (c.mem.ptr() as usize, c.mem.len),
                        };
                        let mut info: $info = unsafe { core::mem::zeroed() };
                        let f = if inp.u8() % 32 == 0 { None } else { Some(logp as _) };
                        unsafe { $step(h, f, &mut feed as *mut Feed as *mut c_void, &mut info) };
                    }
                    5 => {
                        let len = if inp.u8() % 4 == 0 { inp.small(30) } else { d };
                        let mut out = vec![0 as $t; len.max(1)];
                        let o = if inp.u8() % 16 == 0 { ptr::null_mut() } else { out.as_mut_ptr() };
                        unsafe {
                            match inp.u8() % 3 {
                                0 => $position(h, o, len),
                                1 => $momentum(h, o, len),
                                _ => $gradient(h, o, len),
                            }
                        };
                    }
                    6 => {
                        let len = if inp.u8() % 4 == 0 { inp.small(30) } else { d };
                        let v = vals(inp, len.max(1));
                        let p = if inp.u8() % 16 == 0 { ptr::null() } else { v.as_ptr() };
                        unsafe {
                            match inp.u8() % 3 {
                                0 => $set_position(h, p, len),
                                1 => $set_momentum(h, p, len),
                                _ => $set_preconditioner(h, p, len),
                            }
                        };
                    }
                    7 => {
                        let (cfg, _) = config(inp, d);
                        unsafe { $set_config(h, cfg.as_ptr() as *const $cfg) };
                    }
                    8 => {
                        let size = if inp.u8() % 2 == 0 { core::mem::size_of::<$cfg>() } else { inp.small(64) };
                        let mut buf = vec![0u8; size.max(1)];
                        unsafe { $get_config(h, buf.as_mut_ptr() as *mut $cfg, size) };
                    }
                    9 => {
                        let (mut a, mut b, mut e) = (0u64, 0u64, 0u64);
                        let mut lp = 0 as $t;
                        let mut dd = 0usize;
                        unsafe {
                            $counters(h, &mut a, &mut b, &mut e);
                            $logdensity(h, &mut lp);
                            if ok($dim(h, &mut dd)) {
                                assert_eq!(dd, d);
                            }
                        }
                    }
                    10 | 11 => {
                        // checkpoint, corrupt, restore into fresh memory
                        let size = c.mem.len;
                        let buf_size = if inp.u8() % 4 == 0 { size.saturating_sub(inp.small(16)) } else { size };
                        let mut buf = vec![0u8; buf_size.max(1)];
                        if ok(unsafe { $save(h, buf.as_mut_ptr() as *mut c_void, buf_size) }) {
                            for _ in 0..inp.small(4) {
                                let i = inp.u32() as usize % buf_size;
                                buf[i] ^= inp.u8();
                            }
                            let mem_size = if inp.u8() % 4 == 0 { inp.u32() as usize % (size + 8) } else { size };
                            let mut mem = Block::new(mem_size, 0);
                            let mut h2: *mut $h = ptr::null_mut();
                            let st = unsafe { $restore(mem.ptr(), mem_size, buf.as_ptr() as *const c_void, buf_size, &mut h2) };
                            if ok(st) {
                                assert_eq!(h2 as *mut c_void, mem.ptr());
                                let mut dd = 0;
                                unsafe { $dim(h2, &mut dd) };
                                *c = Chain { mem, h: h2, dim: dd };
                            } else {
                                assert!(h2.is_null());
                            }
                        }
                    }
                    12 => {
                        // corrupt the live instance anywhere but its size fields
                        let len = c.mem.len;
                        for _ in 0..1 + inp.small(3) {
                            let i = inp.u32() as usize % len;
                            if (8..24).contains(&i) {
                                continue;
                            }
                            unsafe { *(c.mem.ptr() as *mut u8).add(i) ^= inp.u8() | 1 };
                        }
                    }
                    13 => {
                        // the other precision's functions on this instance
                        let mut dd = 0;
                        assert_eq!(unsafe { $other_dim(h as *const _, &mut dd) }, SMILE_ERR_NOT_AN_INSTANCE);
                        let _ = other;
                    }
                    14 => {
                        let (cfg, _) = config(inp, d);
                        let (mut s, mut a) = (0usize, 0usize);
                        unsafe { $memory_size(dim(inp), cfg.as_ptr() as *const $cfg, &mut s, &mut a) };
                    }
                    _ => {
                        let size = inp.small(64);
                        let mut buf = vec![0u8; size.max(1)];
                        unsafe { $config_default(buf.as_mut_ptr() as *mut $cfg, size, dim(inp)) };
                    }
                }
            }
        }
    };
}

precision!(p64, f64, smile_mclmc_dim_f32, smile_mclmc_config_f64, smile_request_f64, smile_step_info_f64, smile_mclmc_f64,
    smile_mclmc_config_default_f64, smile_mclmc_memory_size_f64, smile_mclmc_init_f64, smile_mclmc_ask_f64,
    smile_mclmc_tell_f64, smile_mclmc_step_f64, smile_mclmc_save_f64, smile_mclmc_restore_f64, smile_mclmc_dim_f64,
    smile_mclmc_position_f64, smile_mclmc_momentum_f64, smile_mclmc_gradient_f64, smile_mclmc_logdensity_f64,
    smile_mclmc_counters_f64, smile_mclmc_get_config_f64, smile_mclmc_set_config_f64, smile_mclmc_set_position_f64,
    smile_mclmc_set_momentum_f64, smile_mclmc_set_preconditioner_f64);
precision!(p32, f32, smile_mclmc_dim_f64, smile_mclmc_config_f32, smile_request_f32, smile_step_info_f32, smile_mclmc_f32,
    smile_mclmc_config_default_f32, smile_mclmc_memory_size_f32, smile_mclmc_init_f32, smile_mclmc_ask_f32,
    smile_mclmc_tell_f32, smile_mclmc_step_f32, smile_mclmc_save_f32, smile_mclmc_restore_f32, smile_mclmc_dim_f32,
    smile_mclmc_position_f32, smile_mclmc_momentum_f32, smile_mclmc_gradient_f32, smile_mclmc_logdensity_f32,
    smile_mclmc_counters_f32, smile_mclmc_get_config_f32, smile_mclmc_set_config_f32, smile_mclmc_set_position_f32,
    smile_mclmc_set_momentum_f32, smile_mclmc_set_preconditioner_f32);

fuzz_target!(|data: &[u8]| {
    let mut inp = Input(data);
    let mut c64: Option<p64::Chain> = None;
    let mut c32: Option<p32::Chain> = None;
    // a few global calls
    let _ = unsafe { core::ffi::CStr::from_ptr(smile_status_str(inp.u32() as c_int)) };
    let mut steps = 0;
    while !inp.done() && steps < 400 {
        steps += 1;
        let sel = inp.u8();
        if sel % 2 == 0 {
            match (&mut c64, sel % 16) {
                (_, 0) | (None, _) => c64 = p64::init(&mut inp).or(c64.take()),
                (Some(c), _) => p64::op(&mut inp, c, ptr::null_mut()),
            }
        } else {
            match (&mut c32, sel % 16) {
                (_, 1) | (None, _) => c32 = p32::init(&mut inp).or(c32.take()),
                (Some(c), _) => p32::op(&mut inp, c, ptr::null_mut()),
            }
        }
    }
});
