//! Guest bytes waiting for the host's Unix stream to take them. Bounded by the connection's
//! `buf_alloc` (the credit we gave the guest), so it never grows past that.

use vm_memory::bitmap::BitmapSlice;
use vm_memory::VolatileSlice;

/// A byte queue that appends at the back and consumes from the front, in large copies.
#[derive(Debug, Default)]
pub struct TxBuf {
    data: Vec<u8>,
    start: usize,
}

impl TxBuf {
    /// Whether no bytes are waiting.
    pub fn is_empty(&self) -> bool {
        self.start == self.data.len()
    }

    /// The waiting bytes, oldest first.
    pub fn as_slice(&self) -> &[u8] {
        &self.data[self.start..]
    }

    /// Appends a copy of guest bytes.
    pub fn push_volatile<B: BitmapSlice>(&mut self, src: &VolatileSlice<'_, B>) {
        self.compact();
        let old = self.data.len();
        self.data.resize(old + src.len(), 0);
        let copied = src.copy_to(&mut self.data[old..]);
        self.data.truncate(old + copied);
    }

    /// Drops `n` bytes from the front (clamped to what is there).
    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.data.len());
        if self.is_empty() {
            self.data.clear();
            self.start = 0;
        }
    }

    fn compact(&mut self) {
        if self.start > 0 && self.start >= self.data.len() / 2 {
            self.data.drain(..self.start);
            self.start = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_consumes_and_compacts() {
        let mut src = [1u8, 2, 3, 4, 5, 6];
        let slice = VolatileSlice::from(&mut src[..]);
        let mut b = TxBuf::default();
        b.push_volatile(&slice);
        b.consume(4);
        assert_eq!(b.as_slice(), &[5, 6]);
        b.push_volatile(&slice.subslice(0, 2).unwrap());
        assert_eq!(b.as_slice(), &[5, 6, 1, 2]);
        b.consume(100);
        assert!(b.is_empty());
    }
}
