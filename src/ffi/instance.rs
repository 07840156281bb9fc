//! Instances in caller memory, shared by every sampler's C ABI.
//!
//! Layout of an instance (native endianness, no pointers inside, so a byte
//! copy is a checkpoint):
//!
//! ```text
//! offset 0            Head { magic, bytes, dim, busy, asked, state }
//! offset ws_offset    workspace: workspace_len(d) values of T
//! ```
//!
//! `ws_offset` is the header size rounded up to 64 bytes. Every call checks
//! the handle (non-NULL, aligned, magic number of this sampler and
//! precision, not busy, `bytes` consistent with `dim`) and then rebuilds the
//! Rust sampler with `from_parts`, which validates the state: O(1).

use core::ffi::c_void;
use core::mem::{align_of, size_of};
use core::ptr;

use super::smile_status::*;
use super::{Status, SMILE_ALIGN};

/// What the instance plumbing needs to know about a sampler in precision `T`.
pub(crate) trait Sampler<T> {
    /// The sampler's plain-data scalar state. Integers and floats only: any
    /// bit pattern read from a checkpoint must be a valid value (the sampler's
    /// `from_parts` then decides whether it is consistent).
    type State: Copy;
    /// Identifies sampler and precision; distinct for every pair.
    const MAGIC: u64;
    /// Smallest dimension the sampler accepts.
    const MIN_DIM: usize = 2;
    /// Workspace length in values of `T` for dimension `d ≥ MIN_DIM` (`None` if
    /// it does not fit in memory).
    fn workspace_len(d: usize) -> Option<usize>;
}

/// The fixed-size front of an instance.
#[repr(C)]
pub(crate) struct Head<S> {
    magic: u64,
    /// Total size of the instance in bytes.
    bytes: u64,
    dim: u64,
    /// Non-zero while a callback step runs.
    busy: u32,
    /// Non-zero while a request handed out by `ask` awaits its `tell`.
    asked: u32,
    state: S,
}

/// Largest dimension any sampler accepts: keeps every size computation far
/// from overflow (the workspace holds a small multiple of `d` values).
pub(crate) fn max_dim<T>() -> usize {
    (isize::MAX as usize) / 64 / size_of::<T>()
}

const fn round_up(n: usize, a: usize) -> usize {
    n.div_ceil(a) * a
}

fn ws_offset<S>() -> usize {
    round_up(size_of::<Head<S>>(), 64)
}

/// Bytes an instance of `K` needs for dimension `d`.
pub(crate) fn memory_size<K: Sampler<T>, T>(d: usize) -> Status<usize> {
    const { assert!(align_of::<Head<K::State>>() <= SMILE_ALIGN && align_of::<T>() <= SMILE_ALIGN) };
    if d < K::MIN_DIM {
        return Err(SMILE_ERR_DIMENSION_TOO_SMALL);
    }
    if d > max_dim::<T>() {
        return Err(SMILE_ERR_DIMENSION_TOO_LARGE);
    }
    K::workspace_len(d)
        .and_then(|n| n.checked_mul(size_of::<T>()))
        .and_then(|b| b.checked_add(ws_offset::<K::State>()))
        .filter(|&b| b <= isize::MAX as usize)
        .ok_or(SMILE_ERR_DIMENSION_TOO_LARGE)
}

/// A validated instance: its header and its workspace.
pub(crate) struct Open<'a, S, T> {
    pub hdr: Hdr<S>,
    pub ws: &'a mut [T],
}

/// The header of a validated instance (a copyable view; the workspace is
/// borrowed separately, so both can be used at once).
#[derive(Clone, Copy)]
pub(crate) struct Hdr<S> {
    head: *mut Head<S>,
    /// Dimension d.
    pub dim: usize,
    /// Start address and length in bytes of the whole instance.
    pub span: (usize, usize),
}

impl<S: Copy> Hdr<S> {
    pub fn state(&self) -> S {
        // SAFETY: `head` was validated by `open`/`create`; the header and the
        // workspace are disjoint.
        unsafe { ptr::addr_of!((*self.head).state).read() }
    }
    pub fn set_state(&self, s: S) {
        // SAFETY: as above.
        unsafe { ptr::addr_of_mut!((*self.head).state).write(s) }
    }
    pub fn set_busy(&self, busy: bool) {
        // SAFETY: as above.
        unsafe { ptr::addr_of_mut!((*self.head).busy).write(busy as u32) }
    }
    /// Whether a request from `ask` is pending (`tell` needs one).
    pub fn asked(&self) -> bool {
        // SAFETY: as above.
        unsafe { ptr::addr_of!((*self.head).asked).read() != 0 }
    }
    pub fn set_asked(&self, asked: bool) {
        // SAFETY: as above.
        unsafe { ptr::addr_of_mut!((*self.head).asked).write(asked as u32) }
    }
    /// Writes the whole header of a freshly created instance.
    pub fn publish(&self, magic: u64, state: S) {
        // SAFETY: as above; the header bytes belong to the instance.
        unsafe {
            self.head.write(Head { magic, bytes: self.span.1 as u64, dim: self.dim as u64, busy: 0, asked: 0, state });
        }
    }
}

fn misaligned(p: *const c_void, a: usize) -> bool {
    (p as usize) % a != 0
}

/// Validates a handle and maps its workspace.
///
/// # Safety
/// `h` is NULL or points to at least 8 readable bytes; if those hold this
/// sampler's magic number, `h` is an instance set up by `create` (or
/// restored) that nothing else is using.
pub(crate) unsafe fn open<'a, K: Sampler<T>, T>(h: *const c_void) -> Status<Open<'a, K::State, T>> {
    if h.is_null() {
        return Err(SMILE_ERR_NULL_POINTER);
    }
    if misaligned(h, SMILE_ALIGN) {
        return Err(SMILE_ERR_ALIGNMENT);
    }
    let head = h as *mut Head<K::State>;
    if ptr::addr_of!((*head).magic).read() != K::MAGIC {
        return Err(SMILE_ERR_NOT_AN_INSTANCE);
    }
    if ptr::addr_of!((*head).busy).read() != 0 {
        return Err(SMILE_ERR_BUSY);
    }
    let dim = ptr::addr_of!((*head).dim).read();
    let dim = usize::try_from(dim).map_err(|_| SMILE_ERR_INVALID_STATE)?;
    let bytes = memory_size::<K, T>(dim).map_err(|_| SMILE_ERR_INVALID_STATE)?;
    if ptr::addr_of!((*head).bytes).read() != bytes as u64 {
        return Err(SMILE_ERR_INVALID_STATE);
    }
    Ok(map::<K, T>(head, dim, bytes))
}

/// # Safety
/// `head` points to `memory_size::<K, T>(dim)` valid bytes, aligned.
unsafe fn map<'a, K: Sampler<T>, T>(head: *mut Head<K::State>, dim: usize, bytes: usize) -> Open<'a, K::State, T> {
    let off = ws_offset::<K::State>();
    let n = (bytes - off) / size_of::<T>();
    let ws = core::slice::from_raw_parts_mut((head as *mut u8).add(off) as *mut T, n);
    Open { hdr: Hdr { head, dim, span: (head as usize, bytes) }, ws }
}

/// Checks memory for a new instance of dimension `dim` and maps it, without
/// writing anything yet (call `publish` once the state is ready).
///
/// # Safety
/// `mem` is NULL or points to `mem_size` writable bytes not used by anything
/// else during the call.
pub(crate) unsafe fn create<'a, K: Sampler<T>, T>(mem: *mut c_void, mem_size: usize, dim: usize) -> Status<Open<'a, K::State, T>> {
    if mem.is_null() {
        return Err(SMILE_ERR_NULL_POINTER);
    }
    let bytes = memory_size::<K, T>(dim)?;
    if mem_size < bytes {
        return Err(SMILE_ERR_BUFFER_LENGTH);
    }
    if misaligned(mem, SMILE_ALIGN) {
        return Err(SMILE_ERR_ALIGNMENT);
    }
    Ok(map::<K, T>(mem as *mut Head<K::State>, dim, bytes))
}

/// Marks memory as no instance (after a failed restore).
fn retire<S>(head: *mut Head<S>) {
    // SAFETY: the caller's memory, checked by `create`.
    unsafe { ptr::addr_of_mut!((*head).magic).write(0) }
}

/// Copies an instance into a checkpoint buffer (any alignment).
///
/// # Safety
/// As for `open`; `buf` is NULL or points to `buf_size` writable bytes.
pub(crate) unsafe fn save<K: Sampler<T>, T>(h: *const c_void, buf: *mut c_void, buf_size: usize) -> Status {
    if h.is_null() || buf.is_null() {
        return Err(SMILE_ERR_NULL_POINTER);
    }
    let span = open::<K, T>(h)?.hdr.span;
    let (start, len) = span;
    if buf_size < len {
        return Err(SMILE_ERR_BUFFER_LENGTH);
    }
    if overlaps((buf as usize, len), span) {
        return Err(SMILE_ERR_OVERLAP);
    }
    ptr::copy_nonoverlapping(start as *const u8, buf as *mut u8, len);
    Ok(())
}

/// Restores a checkpoint into instance memory and validates it with `check`
/// (which rebuilds the sampler from the parts). On failure after the copy,
/// `mem` is marked as no instance.
///
/// # Safety
/// `mem` as for `create`; `buf` is NULL or points to `buf_size` readable
/// bytes (it may be `mem` itself or overlap it).
pub(crate) unsafe fn restore<K: Sampler<T>, T>(
    mem: *mut c_void,
    mem_size: usize,
    buf: *const c_void,
    buf_size: usize,
    check: impl FnOnce(K::State, &mut [T]) -> Status,
) -> Status {
    if mem.is_null() || buf.is_null() {
        return Err(SMILE_ERR_NULL_POINTER);
    }
    if buf_size < size_of::<Head<K::State>>() {
        return Err(SMILE_ERR_BUFFER_LENGTH);
    }
    let b = buf as *const u8;
    let rd = |off: usize| (b.add(off) as *const u64).read_unaligned();
    if rd(0) != K::MAGIC {
        return Err(SMILE_ERR_NOT_AN_INSTANCE);
    }
    // magic, bytes, dim are the first three u64 of `Head`.
    let (bytes, dim) = (rd(8), rd(16));
    let dim = usize::try_from(dim).map_err(|_| SMILE_ERR_INVALID_STATE)?;
    let need = memory_size::<K, T>(dim).map_err(|_| SMILE_ERR_INVALID_STATE)?;
    if bytes != need as u64 {
        return Err(SMILE_ERR_INVALID_STATE);
    }
    if buf_size < need {
        return Err(SMILE_ERR_BUFFER_LENGTH);
    }
    create::<K, T>(mem, mem_size, dim)?;
    // memmove: the checkpoint may overlap the destination.
    ptr::copy(b, mem as *mut u8, need);
    let head = mem as *mut Head<K::State>;
    ptr::addr_of_mut!((*head).busy).write(0);
    ptr::addr_of_mut!((*head).asked).write(0);
    let o = map::<K, T>(head, dim, need);
    let r = check(o.hdr.state(), o.ws);
    if r.is_err() {
        retire(head);
    }
    r
}

/// Whether two byte ranges `(start, len)` intersect.
pub(crate) fn overlaps(a: (usize, usize), b: (usize, usize)) -> bool {
    a.1 != 0 && b.1 != 0 && a.0 < b.0.saturating_add(b.1) && b.0 < a.0.saturating_add(a.1)
}

/// A caller array of `len` values that must hold exactly `dim` values, be
/// aligned for `T` and not overlap the instance `span`.
///
/// # Safety
/// `p` is NULL or points to `len` readable values.
pub(crate) unsafe fn in_slice<'b, T>(p: *const T, len: usize, dim: usize, span: (usize, usize)) -> Status<&'b [T]> {
    check_array(p as *const c_void, len, dim, span, align_of::<T>(), size_of::<T>())?;
    Ok(core::slice::from_raw_parts(p, len))
}

/// Mutable version of [`in_slice`], for outputs.
///
/// # Safety
/// `p` is NULL or points to `len` writable values.
pub(crate) unsafe fn out_slice<'b, T>(p: *mut T, len: usize, dim: usize, span: (usize, usize)) -> Status<&'b mut [T]> {
    check_array(p as *const c_void, len, dim, span, align_of::<T>(), size_of::<T>())?;
    Ok(core::slice::from_raw_parts_mut(p, len))
}

fn check_array(p: *const c_void, len: usize, dim: usize, span: (usize, usize), align: usize, size: usize) -> Status {
    if p.is_null() {
        return Err(SMILE_ERR_NULL_POINTER);
    }
    if len != dim {
        return Err(SMILE_ERR_BUFFER_LENGTH);
    }
    if misaligned(p, align) {
        return Err(SMILE_ERR_ALIGNMENT);
    }
    if overlaps((p as usize, len * size), span) {
        return Err(SMILE_ERR_OVERLAP);
    }
    Ok(())
}

/// Writes a value through a caller pointer of any alignment.
///
/// # Safety
/// `p` is NULL or points to writable memory for a `V`.
pub(crate) unsafe fn put<V>(p: *mut V, v: V) -> Status {
    if p.is_null() {
        return Err(SMILE_ERR_NULL_POINTER);
    }
    p.write_unaligned(v);
    Ok(())
}
