//! A small thread-safe allocator over the (imported, possibly shared) linear
//! memory.
//!
//! Design: segregated free lists with four size classes per power of two
//! (so at most 25% internal waste) and a bump pointer that grows memory with
//! `memory.grow` when the free list of a class is empty. Blocks are never
//! split or coalesced; a freed block goes back to the list of its class and is
//! reused by the next allocation of the same class. `free` takes the size, so
//! blocks carry no header. Every block is 16-byte aligned; blocks of 1 KiB or
//! more start on a 64-byte (cache line) boundary.
//!
//! All state sits behind one spin lock (an `AtomicU32`, compiled to real wasm
//! atomics because the crate is built with `+atomics`), so several threads
//! that instantiate this module on one shared memory can allocate at once.
//! A spin lock rather than `memory.atomic.wait32` because the browser main
//! thread may not block; critical sections are a few dozen instructions.

use core::arch::wasm32;
use core::sync::atomic::{AtomicU32, Ordering};

const PAGE: usize = 65536;
const NUM_CLASSES: usize = 128;

struct Heap {
    /// Next unused byte for bump allocation (0 = not initialised yet).
    bump: usize,
    /// Free list heads, one per size class (0 = empty).
    free: [usize; NUM_CLASSES],
    /// Bytes currently handed out (rounded class sizes).
    live: usize,
}

static LOCK: AtomicU32 = AtomicU32::new(0);
static mut HEAP: Heap = Heap { bump: 0, free: [0; NUM_CLASSES], live: 0 };

extern "C" {
    /// First byte after static data and the main shadow stack; provided by wasm-ld.
    static __heap_base: u8;
}

struct Guard;

impl Guard {
    #[inline]
    fn lock() -> Guard {
        while LOCK
            .compare_exchange_weak(0, 1, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            core::hint::spin_loop();
        }
        Guard
    }
}

impl Drop for Guard {
    #[inline]
    fn drop(&mut self) {
        LOCK.store(0, Ordering::Release);
    }
}

/// Maps a request to (class index, rounded size). Sizes are first rounded up
/// to a multiple of 16 (minimum 16), then to the form m << shift with
/// m in {5,6,7,8}, i.e. four classes per octave.
#[inline]
fn size_class(bytes: usize) -> Option<(usize, usize)> {
    if bytes > 0xFFFF_0000 {
        return None;
    }
    let s = if bytes < 16 { 16 } else { (bytes + 15) & !15 };
    let bits = 32 - ((s - 1) as u32).leading_zeros() as usize; // >= 4 since s >= 16
    let shift = bits - 3;
    let m = ((s - 1) >> shift) + 1; // in 5..=8
    let rounded = m << shift;
    let idx = shift * 4 + (m - 5);
    if idx >= NUM_CLASSES || rounded < s {
        return None;
    }
    Some((idx, rounded))
}

/// Allocates `bytes` bytes; returns 0 when memory cannot grow any further.
pub fn alloc(bytes: usize) -> usize {
    let (idx, size) = match size_class(bytes) {
        Some(v) => v,
        None => return 0,
    };
    let _g = Guard::lock();
    // SAFETY: HEAP is only touched while LOCK is held.
    let heap = unsafe { &mut *core::ptr::addr_of_mut!(HEAP) };
    let head = heap.free[idx];
    if head != 0 {
        // SAFETY: a free block stores the next pointer in its first word.
        heap.free[idx] = unsafe { *(head as *const usize) };
        heap.live += size;
        return head;
    }
    if heap.bump == 0 {
        // SAFETY: taking the address of a linker-provided symbol.
        let base = unsafe { core::ptr::addr_of!(__heap_base) as usize };
        heap.bump = (base + 63) & !63;
    }
    let align = if size >= 1024 { 64 } else { 16 };
    let start = (heap.bump + align - 1) & !(align - 1);
    let end = match start.checked_add(size) {
        Some(e) => e,
        None => return 0,
    };
    let have = wasm32::memory_size::<0>() * PAGE;
    if end > have {
        let need = (end - have + PAGE - 1) / PAGE;
        if wasm32::memory_grow::<0>(need) == usize::MAX {
            return 0;
        }
    }
    heap.bump = end;
    heap.live += size;
    start
}

/// Returns a block obtained from `alloc(bytes)` (same `bytes`). `ptr == 0` is a no-op.
pub fn free(ptr: usize, bytes: usize) {
    if ptr == 0 {
        return;
    }
    let (idx, size) = match size_class(bytes) {
        Some(v) => v,
        None => return,
    };
    let _g = Guard::lock();
    // SAFETY: HEAP is only touched while LOCK is held; the block is ours again.
    let heap = unsafe { &mut *core::ptr::addr_of_mut!(HEAP) };
    unsafe { *(ptr as *mut usize) = heap.free[idx] };
    heap.free[idx] = ptr;
    heap.live -= size;
}

/// Bytes currently allocated (class-rounded), for leak checks in tests.
pub fn live_bytes() -> usize {
    let _g = Guard::lock();
    unsafe { (*core::ptr::addr_of!(HEAP)).live }
}

/// RAII scratch buffer of f32 from the allocator (freed on drop).
pub struct Scratch {
    pub ptr: *mut f32,
    bytes: usize,
}

impl Scratch {
    /// `None` when out of memory.
    pub fn new(floats: usize) -> Option<Scratch> {
        let bytes = floats.checked_mul(4)?;
        let p = alloc(bytes);
        if p == 0 {
            None
        } else {
            Some(Scratch { ptr: p as *mut f32, bytes })
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        free(self.ptr as usize, self.bytes);
    }
}
