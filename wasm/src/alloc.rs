//! The thread-safe allocator of the (imported, possibly shared) linear
//! memory: every array buffer of the wasm backend and every kernel scratch
//! buffer comes from here.
//!
//! Why this design. A wasm memory can grow but never shrink, so whatever the
//! allocator cannot reuse stays in the process for good. The previous design
//! (segregated free lists, four classes per octave, blocks never split or
//! coalesced) let each size class keep the pages of its own peak: eager code
//! over ever-new array sizes (one-op programs over [n, 8], n up to 3,090,
//! bench/wasm_heap.ts) grew the memory to 101 MB for a 16 MB peak of live
//! bytes when each step awaited its result (finalizers free the dead arrays
//! as the loop goes), and to 636 MB, 76 MB past its peak, run synchronously.
//! Here a freed block merges with free neighbours and a large free block is
//! split to serve a smaller request, so freed memory serves any size, and a
//! free block that reaches the top of the heap goes back to the bump pointer:
//! 18 MB for a 15 MB peak, and 524 MB for a 512 MB peak (the residency limit
//! that the synchronous loop's garbage reaches).
//!
//! * Free blocks sit in TLSF-style two-level segregated lists (Masmano et al.,
//!   "TLSF: a new dynamic memory allocator for real-time systems"): the first
//!   level is the power of two of the size, the second splits each octave in
//!   32 (blocks under 512 bytes: one list per 16-byte size). Two levels of
//!   bitmaps of non-empty lists find a large enough block with two
//!   count-trailing-zeros: allocation and free are O(1), whatever the heap.
//! * Blocks carry no header (`free` gets the size, as before), so neighbours
//!   are found through two side bitmaps with one bit per 16-byte granule:
//!   "a free block starts here" and "a free block ends here". A free block
//!   keeps its size in its first and last words and its list links in the
//!   second and third (16 bytes, the smallest block, is enough). The bitmaps
//!   cost 1/64 of the heap, are grown with it (one 16 KiB leaf per MiB, taken
//!   from the bump pointer and never freed), and leave allocated memory free
//!   of allocator data: a block keeps the bytes it asked for rounded up to
//!   its size class (below), with no per-block overhead.
//! * Invariants: free blocks are maximal (no two are adjacent, and none ends
//!   at the bump pointer), and every block is in the list of its size.
//! * Size classes: a request is rounded up to the lower bound of a free
//!   list (a 16-byte multiple under 512 bytes, then a 32nd of its octave: at
//!   most 3% more, ~1.5% on average), so every block freed into a list's
//!   class has the same size, and any later request of that class reuses it
//!   exactly. Without the rounding, mixed sizes almost never met a block of
//!   their exact size: each alloc+free pair then split a free block and
//!   merged one, a dozen cache lines at random places in the heap, ~110-230
//!   ns a pair against ~36 for a reuse (measured in one process, warmed up,
//!   2-core machine under load). The 32 lists per octave (16 before) halve
//!   the rounding's cost in memory: bench/wasm_heap.ts's figures moved by
//!   -5% to +2% (eager 524 -> 530 MB, eager-await 20.1 -> 19.1 MB, jit 55.9 ->
//!   57.1 MB, mixed 563 -> 568 MB).
//! * Same-size reuse is exact and O(1), as cheap as a plain size-class
//!   allocator's: `free` pushes the block on a "quick" list of its class
//!   without coalescing (its bits still say "in use", so neighbours do not
//!   merge with it), and `alloc` first takes a block of exactly its size
//!   from there (the head or the one after it). Coalescing is deferred, not
//!   dropped: when neither the quick list nor the free lists hold a block for
//!   a request, every quick block is released (merged with its free
//!   neighbours, given back to the bump pointer at the top) before the bump
//!   pointer is used, so the memory grows only when the fully coalesced heap
//!   has no room; each freed block is merged once, so the cost stays O(1)
//!   amortised. Measured from JS (alloc+free pair, warmed up, one thread):
//!   a training loop's sizes ~37 ns, random sizes of 16 B-64 KiB ~39 ns, a
//!   window of random sizes up to 1 MiB over a 25 MB heap ~80-95 ns (57% of
//!   its requests reuse a quick block; the others split and merge), where the
//!   old never-coalescing allocator took ~36 ns for all three.
//! * An aligned request also first tries the head of its own free list (a
//!   block of its size or a little more, e.g. after a flush) before TLSF's
//!   good fit, which looks one list up and would split a larger block.
//! * Alignment: every block starts on 16 bytes; blocks of 1 KiB or more start
//!   on 64 (a cache line; the SIMD kernels rely on it) and their sizes are
//!   multiples of 64, so large blocks tile without leftover slivers.
//!
//! All state sits behind one spin lock (an `AtomicU32`, compiled to real wasm
//! atomics because the crate is built with `+atomics`), so several threads
//! that instantiate this module on one shared memory can allocate at once.
//! A spin lock rather than `memory.atomic.wait32` because the browser main
//! thread may not block; critical sections are a few dozen instructions,
//! plus a flush of the quick lists now and then (each block once) and one
//! `memory.fill` of a 16 KiB bitmap leaf per new MiB of heap.
//!
//! `alloc` and `free` must not use the shadow stack: a worker instance calls
//! `alloc` for its own stack before it has one (see lib.rs). Everything here
//! lives in wasm locals and globals; check the built module after a change
//! (`wasm-dis` of the `alloc`/`free` exports shows no `__stack_pointer`).

use core::arch::wasm32;
use core::sync::atomic::{AtomicU32, Ordering};

const PAGE: usize = 65536;
/// Bytes per granule of the side bitmaps; every block size is a multiple.
const GRAIN: usize = 16;
/// Blocks of this many bytes or more are 64-byte aligned with 64-multiple sizes.
const BIG: usize = 1024;
/// Second-level lists per octave: 2^SL_LOG.
const SL_LOG: u32 = 5;
const SL_COUNT: usize = 1 << SL_LOG;
/// Sizes below this (32 × 16 = 512) get one list per 16-byte size (first level 0).
const SMALL: usize = SL_COUNT * GRAIN;
/// log2(SMALL): first level f >= 1 holds sizes in [2^(f + SMALL_LOG - 1), 2^(f + SMALL_LOG)).
const SMALL_LOG: u32 = 9;
/// First levels: 0 for < 512 bytes, then one per octave up to 2^32.
const FL_COUNT: usize = 32 - SMALL_LOG as usize + 1;
/// Largest request served (as before; a wasm32 memory holds at most 4 GiB).
const MAX_REQUEST: usize = 0xFFFF_0000;
/// Address space covered by one leaf of the side bitmaps (1 MiB).
const REGION_LOG: u32 = 20;
const REGIONS: usize = 1 << (32 - REGION_LOG);
/// Bytes of one bitmap of a leaf (one bit per granule of its region).
const LEAF_HALF: usize = (1 << REGION_LOG) / GRAIN / 8;
/// A leaf holds the "starts" bitmap, then the "ends" bitmap.
const LEAF_BYTES: usize = 2 * LEAF_HALF;

/// Lists indexed by (first level f, second level s), and which are non-empty.
struct Lists {
    /// Bit f set when first level f has a non-empty list.
    fl_map: u32,
    /// Bit s of sl_map[f] set when list (f, s) is non-empty.
    sl_map: [u32; FL_COUNT],
    /// List heads (0 = empty), index f * SL_COUNT + s.
    heads: [usize; FL_COUNT * SL_COUNT],
}

const EMPTY_LISTS: Lists = Lists { fl_map: 0, sl_map: [0; FL_COUNT], heads: [0; FL_COUNT * SL_COUNT] };

struct Heap {
    /// First byte of the heap (0 = not initialised yet).
    base: usize,
    /// Next unused byte for bump allocation; everything from here up is free.
    bump: usize,
    /// Regions below this index have their bitmap leaf (or lie below the heap).
    covered: usize,
    /// Free blocks (coalesced, in the bitmaps), doubly linked, by size.
    free: Lists,
    /// Freed blocks not coalesced yet (the bitmaps still say "in use"),
    /// singly linked, by size: the quick path of same-size reuse.
    quick: Lists,
    /// Bitmap leaf of each 1 MiB region of the address space (0 = none yet).
    leaves: [usize; REGIONS],
    /// Bytes currently handed out (rounded sizes).
    live: usize,
}

static LOCK: AtomicU32 = AtomicU32::new(0);
static mut HEAP: Heap = Heap {
    base: 0,
    bump: 0,
    covered: 0,
    free: EMPTY_LISTS,
    quick: EMPTY_LISTS,
    leaves: [0; REGIONS],
    live: 0,
};

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

/// The block size for a request: a multiple of 16 (at least 16) under 512
/// bytes, and from 512 up the lower bound of a free list, i.e. the size
/// rounded up to a 32nd of its octave (at most 3% more; then to a multiple of
/// 64 from 1 KiB). `None` when too large.
#[inline]
fn block_size(bytes: usize) -> Option<usize> {
    if bytes > MAX_REQUEST {
        None
    } else if bytes >= SMALL {
        let top = 31 - (bytes as u32).leading_zeros();
        let step = 1usize << (top - SL_LOG);
        // In u64: near 4 GiB the rounding overflows u32; there, 64 bytes.
        let up = (bytes as u64 + step as u64 - 1) & !(step as u64 - 1);
        if up > MAX_REQUEST as u64 {
            Some((bytes + 63) & !63)
        } else if up >= BIG as u64 {
            Some((up as usize + 63) & !63)
        } else {
            Some(up as usize)
        }
    } else if bytes <= GRAIN {
        Some(GRAIN)
    } else {
        Some((bytes + GRAIN - 1) & !(GRAIN - 1))
    }
}

#[inline]
fn align_of(size: usize) -> usize {
    if size >= BIG {
        64
    } else {
        GRAIN
    }
}

/// The list a free block of `size` bytes belongs to: every block in list
/// (f, s) is at least the list's lower bound.
#[inline]
fn list_of(size: usize) -> (usize, usize) {
    if size < SMALL {
        (0, size / GRAIN)
    } else {
        let top = 31 - (size as u32).leading_zeros(); // >= SMALL_LOG
        let f = (top - SMALL_LOG + 1) as usize;
        let s = (size >> (top - SL_LOG)) & (SL_COUNT - 1);
        (f, s)
    }
}

/// The first list whose every block holds `size` bytes (the size rounded up
/// to the next list boundary). Computed in u64: near 4 GiB the rounding overflows u32.
#[inline]
fn first_list_holding(size: usize) -> (usize, usize) {
    if size < SMALL {
        return (0, size / GRAIN);
    }
    let top = 31 - (size as u32).leading_zeros();
    let up = size as u64 + (1u64 << (top - SL_LOG)) - 1;
    let top2 = 63 - up.leading_zeros();
    let f = (top2 - SMALL_LOG + 1) as usize;
    let s = ((up >> (top2 - SL_LOG)) as usize) & (SL_COUNT - 1);
    (f, s)
}

// SAFETY (for everything below that takes the heap): HEAP is only touched
// while LOCK is held, and a free block's words and the bitmap leaves belong
// to the allocator. Tables are indexed unchecked (a bounds check would bring
// in a panic path that touches the shadow stack): `list_of` of a size below
// 2^32 gives f <= 23 < FL_COUNT and s < SL_COUNT, `find_from` checks its f,
// and an address >> REGION_LOG is below REGIONS.

#[inline]
unsafe fn word(addr: usize) -> usize {
    *(addr as *const usize)
}

#[inline]
unsafe fn set_word(addr: usize, v: usize) {
    *(addr as *mut usize) = v;
}

/// The byte and bit of a granule in its leaf's bitmap `half` (0 starts, 1 ends).
#[inline]
unsafe fn bit_of(heap: &Heap, addr: usize, half: usize) -> (usize, u8) {
    let leaf = *heap.leaves.get_unchecked(addr >> REGION_LOG);
    let g = (addr & ((1 << REGION_LOG) - 1)) / GRAIN;
    (leaf + half * LEAF_HALF + g / 8, 1u8 << (g % 8))
}

#[inline]
unsafe fn get_bit(heap: &Heap, addr: usize, half: usize) -> bool {
    let (byte, mask) = bit_of(heap, addr, half);
    *(byte as *const u8) & mask != 0
}

#[inline]
unsafe fn put_bit(heap: &Heap, addr: usize, half: usize, on: bool) {
    let (byte, mask) = bit_of(heap, addr, half);
    let p = byte as *mut u8;
    *p = if on { *p | mask } else { *p & !mask };
}

impl Lists {
    #[inline]
    unsafe fn head(&self, f: usize, s: usize) -> usize {
        *self.heads.get_unchecked(f * SL_COUNT + s)
    }

    /// Sets the head of list (f, s) and its bits in the maps.
    #[inline]
    unsafe fn set_head(&mut self, f: usize, s: usize, b: usize) {
        *self.heads.get_unchecked_mut(f * SL_COUNT + s) = b;
        let sl = self.sl_map.get_unchecked_mut(f);
        if b != 0 {
            *sl |= 1 << s;
            self.fl_map |= 1 << f;
        } else {
            *sl &= !(1 << s);
            if *sl == 0 {
                self.fl_map &= !(1 << f);
            }
        }
    }

    /// The head of the first non-empty list at or after (f, s), or 0.
    #[inline]
    unsafe fn first_from(&self, f: usize, s: usize) -> usize {
        if f >= FL_COUNT {
            return 0;
        }
        let mut f = f;
        let mut sl = *self.sl_map.get_unchecked(f) & (u32::MAX << s);
        if sl == 0 {
            // f + 1 <= FL_COUNT = 24 < 32: the shift is defined.
            let fl = self.fl_map & (u32::MAX << (f + 1));
            if fl == 0 {
                return 0;
            }
            f = fl.trailing_zeros() as usize;
            sl = *self.sl_map.get_unchecked(f);
        }
        self.head(f, sl.trailing_zeros() as usize)
    }
}

/// Makes [b, b + size) a free block: size words, bitmaps, head of its list.
unsafe fn insert(heap: &mut Heap, b: usize, size: usize) {
    let (f, s) = list_of(size);
    let next = heap.free.head(f, s);
    set_word(b, size);
    set_word(b + 4, next);
    set_word(b + 8, 0);
    set_word(b + size - 4, size);
    if next != 0 {
        set_word(next + 8, b);
    }
    heap.free.set_head(f, s, b);
    put_bit(heap, b, 0, true);
    put_bit(heap, b + size - GRAIN, 1, true);
}

/// Takes the free block at `b` (of `size` bytes) out of its list and bitmaps.
unsafe fn remove(heap: &mut Heap, b: usize, size: usize) {
    let next = word(b + 4);
    let prev = word(b + 8);
    if prev != 0 {
        set_word(prev + 4, next);
    } else {
        let (f, s) = list_of(size);
        heap.free.set_head(f, s, next);
    }
    if next != 0 {
        set_word(next + 8, prev);
    }
    put_bit(heap, b, 0, false);
    put_bit(heap, b + size - GRAIN, 1, false);
}

/// Frees the block [b, b + size) for good: merged with its free neighbours,
/// listed, or given back to the bump pointer when it reaches it.
unsafe fn release(heap: &mut Heap, ptr: usize, size: usize) {
    let mut b = ptr;
    let mut len = size;
    if b > heap.base && get_bit(heap, b - GRAIN, 1) {
        let before = word(b - 4);
        b -= before;
        len += before;
        remove(heap, b, before);
    }
    let end = ptr + size;
    if end == heap.bump {
        heap.bump = b;
        return;
    }
    if get_bit(heap, end, 0) {
        let after = word(end);
        remove(heap, end, after);
        len += after;
    }
    insert(heap, b, len);
}

/// Coalesces every block of the quick lists (O(blocks freed since the last
/// flush): each freed block is flushed once).
unsafe fn flush_quick(heap: &mut Heap) {
    while heap.quick.fl_map != 0 {
        let f = heap.quick.fl_map.trailing_zeros() as usize;
        let s = (*heap.quick.sl_map.get_unchecked(f)).trailing_zeros() as usize;
        let mut b = heap.quick.head(f, s);
        heap.quick.set_head(f, s, 0);
        while b != 0 {
            let next = word(b + 4);
            release(heap, b, word(b));
            b = next;
        }
    }
}

/// A block of exactly `size` bytes from the quick list of its size (its head
/// or the one after it), or 0.
#[inline]
unsafe fn take_quick(heap: &mut Heap, size: usize) -> usize {
    let (f, s) = list_of(size);
    let head = heap.quick.head(f, s);
    if head == 0 {
        return 0;
    }
    if word(head) == size {
        heap.quick.set_head(f, s, word(head + 4));
        return head;
    }
    let second = word(head + 4);
    if second != 0 && word(second) == size {
        set_word(head + 4, word(second + 4));
        return second;
    }
    0
}

/// Whether the free block at `b` (0: none) holds `size` bytes at `align`
/// (starting at `b` rounded up to `align`).
#[inline]
unsafe fn fits(b: usize, size: usize, align: usize) -> bool {
    b != 0 && ((b + align - 1) & !(align - 1)) - b + size <= word(b)
}

/// A free block that holds `size` bytes at `align`, or 0. (A plain address,
/// not an Option of a pair: that would be returned through the shadow stack.)
unsafe fn find_free(heap: &Heap, size: usize, align: usize) -> usize {
    // The head of the size's own list: a block of this size or a little more (exact reuse after a flush).
    let (f, s) = list_of(size);
    let b = heap.free.head(f, s);
    if fits(b, size, align) {
        return b;
    }
    // Good fit: the first list whose blocks all hold `size` bytes...
    let (f, s) = first_list_holding(size);
    let b = heap.free.first_from(f, s);
    if fits(b, size, align) {
        return b;
    }
    // ...or, for an aligned request whose candidate was misaligned, all hold it with any alignment.
    if align > GRAIN {
        let (f, s) = first_list_holding(size + align - GRAIN);
        let b = heap.free.first_from(f, s);
        if fits(b, size, align) {
            return b;
        }
    }
    0
}

/// Takes `size` bytes at `align` out of the free block at `b` (see `fits`);
/// what is left on either side stays free. Returns their start.
unsafe fn carve(heap: &mut Heap, b: usize, size: usize, align: usize) -> usize {
    let start = (b + align - 1) & !(align - 1);
    let have = word(b);
    remove(heap, b, have);
    if start > b {
        insert(heap, b, start - b);
    }
    let tail = b + have - (start + size);
    if tail > 0 {
        insert(heap, start + size, tail);
    }
    start
}

/// Grows the memory to hold `end` bytes; false when it cannot.
#[inline]
fn ensure_memory(end: usize) -> bool {
    let have = wasm32::memory_size::<0>() * PAGE;
    if end <= have {
        return true;
    }
    let need = (end - have + PAGE - 1) / PAGE;
    wasm32::memory_grow::<0>(need) != usize::MAX
}

/// Takes `size` bytes at `align` from the bump pointer, first giving every
/// 1 MiB region up to the block's end its bitmap leaf (taken from the bump
/// pointer too, and kept for good). 0 when the memory cannot grow.
unsafe fn bump_alloc(heap: &mut Heap, size: usize, align: usize) -> usize {
    loop {
        let start = (heap.bump + align - 1) & !(align - 1);
        let end = match start.checked_add(size) {
            Some(e) => e,
            None => return 0,
        };
        if (end - 1) >> REGION_LOG < heap.covered {
            if !ensure_memory(end) {
                return 0;
            }
            // The alignment gap becomes a free block (its neighbour below is not free: bump invariant).
            if start > heap.bump {
                insert(heap, heap.bump, start - heap.bump);
            }
            heap.bump = end;
            return start;
        }
        let leaf = heap.bump;
        let leaf_end = leaf + LEAF_BYTES;
        if !ensure_memory(leaf_end) {
            return 0;
        }
        // Memory below the highest bump ever reached may hold old data.
        core::ptr::write_bytes(leaf as *mut u8, 0, LEAF_BYTES);
        // `end` < 2^32, so an uncovered region below it has an index < REGIONS.
        *heap.leaves.get_unchecked_mut(heap.covered) = leaf;
        heap.covered += 1;
        heap.bump = leaf_end;
    }
}

unsafe fn init(heap: &mut Heap) {
    let base = (core::ptr::addr_of!(__heap_base) as usize + 63) & !63;
    heap.base = base;
    heap.bump = base;
    // Regions wholly below the heap never hold a block; the base's own region gets a leaf.
    heap.covered = base >> REGION_LOG;
}

/// Allocates `bytes` bytes; returns 0 when memory cannot grow any further.
///
/// In order: a block of exactly this size from the quick lists; a free block
/// (split); after coalescing the quick lists, a free block again; the bump
/// pointer (growing the memory).
pub fn alloc(bytes: usize) -> usize {
    let size = match block_size(bytes) {
        Some(s) => s,
        None => return 0,
    };
    let align = align_of(size);
    let _g = Guard::lock();
    // SAFETY: see above.
    unsafe {
        let heap = &mut *core::ptr::addr_of_mut!(HEAP);
        if heap.base == 0 {
            init(heap);
        }
        let mut start = take_quick(heap, size);
        if start == 0 {
            let mut b = find_free(heap, size, align);
            if b == 0 && heap.quick.fl_map != 0 {
                flush_quick(heap);
                b = find_free(heap, size, align);
            }
            start = if b != 0 { carve(heap, b, size, align) } else { bump_alloc(heap, size, align) };
            if start == 0 {
                return 0;
            }
        }
        heap.live += size;
        start
    }
}

/// Returns a block obtained from `alloc(bytes)` (same `bytes`). `ptr == 0` is
/// a no-op. The block goes to the quick list of its size, to be coalesced
/// when an allocation finds no block otherwise.
pub fn free(ptr: usize, bytes: usize) {
    if ptr == 0 {
        return;
    }
    let size = match block_size(bytes) {
        Some(s) => s,
        None => return,
    };
    let _g = Guard::lock();
    // SAFETY: see above; the block is ours again.
    unsafe {
        let heap = &mut *core::ptr::addr_of_mut!(HEAP);
        heap.live -= size;
        let (f, s) = list_of(size);
        set_word(ptr, size);
        set_word(ptr + 4, heap.quick.head(f, s));
        heap.quick.set_head(f, s, ptr);
    }
}

/// Bytes currently allocated (rounded block sizes), for leak checks in tests.
pub fn live_bytes() -> usize {
    let _g = Guard::lock();
    unsafe { (*core::ptr::addr_of!(HEAP)).live }
}

/// Coalesces the quick lists now (a test hook: allocation does it when it
/// finds no block otherwise).
pub fn flush() {
    let _g = Guard::lock();
    // SAFETY: see above.
    unsafe {
        let heap = &mut *core::ptr::addr_of_mut!(HEAP);
        if heap.base != 0 {
            flush_quick(heap);
        }
    }
}

/// Checks the heap's invariants (for tests). Free blocks: in the list of
/// their size, linked both ways, their size at both ends, tagged in both
/// bitmaps, below the bump pointer, with no free neighbour. Quick blocks: in
/// the list of their size, below the bump pointer, untagged. The maps say
/// which lists are non-empty. Returns the bytes of both kinds divided by 16
/// (so that they fit an i32), or a negative code naming the first broken rule.
pub fn check() -> i32 {
    let _g = Guard::lock();
    // SAFETY: see above; only free and quick blocks are read.
    unsafe {
        let heap = &*core::ptr::addr_of!(HEAP);
        if heap.base == 0 {
            return 0;
        }
        let mut grains: i32 = 0;
        for (lists, coalesced) in [(&heap.free, true), (&heap.quick, false)] {
            for f in 0..FL_COUNT {
                let mut any = false;
                for s in 0..SL_COUNT {
                    let head = lists.head(f, s);
                    if (*lists.sl_map.get_unchecked(f) >> s) & 1 != (head != 0) as u32 {
                        return -1;
                    }
                    let mut prev = 0;
                    let mut b = head;
                    while b != 0 {
                        any = true;
                        let size = word(b);
                        if size < GRAIN || size % GRAIN != 0 || b % GRAIN != 0 || b < heap.base || b + size > heap.bump {
                            return -2;
                        }
                        if list_of(size) != (f, s) {
                            return -3;
                        }
                        if get_bit(heap, b, 0) != coalesced || get_bit(heap, b + size - GRAIN, 1) != coalesced {
                            return -4;
                        }
                        if coalesced {
                            if word(b + size - 4) != size || word(b + 8) != prev {
                                return -5;
                            }
                            let free_before = b > heap.base && get_bit(heap, b - GRAIN, 1);
                            if free_before || b + size == heap.bump || get_bit(heap, b + size, 0) {
                                return -6;
                            }
                        }
                        grains += (size / GRAIN) as i32;
                        prev = b;
                        b = word(b + 4);
                    }
                }
                if (lists.fl_map >> f) & 1 != any as u32 {
                    return -7;
                }
            }
        }
        grains
    }
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
