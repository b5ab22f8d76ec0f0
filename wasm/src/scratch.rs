//! A typed scratch buffer from the crate's allocator, freed when dropped
//! (the crate is no_std without the `alloc` crate, so there is no Vec).

use core::marker::PhantomData;
use core::mem::size_of;

pub struct Buf<T> {
    pub ptr: *mut T,
    bytes: usize,
    _t: PhantomData<T>,
}

impl<T> Buf<T> {
    /// Room for `len` values (uninitialised); `None` when out of memory.
    pub fn new(len: usize) -> Option<Buf<T>> {
        let bytes = len.checked_mul(size_of::<T>())?.max(1);
        let p = crate::alloc::alloc(bytes);
        if p == 0 {
            None
        } else {
            Some(Buf { ptr: p as *mut T, bytes, _t: PhantomData })
        }
    }
}

impl<T> Drop for Buf<T> {
    fn drop(&mut self) {
        crate::alloc::free(self.ptr as usize, self.bytes);
    }
}
