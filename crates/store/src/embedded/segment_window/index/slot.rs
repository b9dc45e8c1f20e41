//! One stored event in the window's slab, packed into 72 bytes: at millions
//! of events the slab is most of the process's memory (88 bytes a slot
//! before, BENCHMARKS.md has the measurement). Two things make it small:
//! the segment an event is in is not stored but follows from its expiry
//! (events are written to the segment of their expiry's bucket, and a
//! segment whose events say otherwise is refused at open), and the two
//! flags share a word with the payload's length, which a frame bounds far
//! below 2^30.

use causeway_model::{CeId, TraceId};

use super::super::segments::{Loc, bucket_of};

const LIVE: u32 = 1 << 31;
const FAILED: u32 = 1 << 30;
const LEN_MASK: u32 = FAILED - 1;

/// The longest payload a slot can locate; segments hold none longer.
pub const MAX_LEN: u32 = LEN_MASK;

#[derive(Debug, Clone, Copy)]
pub struct Slot {
    pub trace: TraceId,
    pub ce: CeId,
    /// The payload's offset in the segment of `bucket_of(expires_at)`.
    offset: u64,
    pub expires_at: u64,
    pub start: u64,
    pub end: u64,
    /// The payload's length, then `LIVE` and `FAILED`.
    len_and_flags: u32,
    pub service: u32,
}

const _: () = assert!(std::mem::size_of::<Slot>() == 72);

impl Slot {
    /// A live slot for an event stored at `loc`, which must be in its
    /// expiry's bucket with a length of at most [`MAX_LEN`] (the window
    /// checks both before indexing).
    pub fn new(
        trace: TraceId,
        ce: CeId,
        loc: Loc,
        expires_at: u64,
        (start, end): (u64, u64),
        service: u32,
        failed: bool,
    ) -> Self {
        let mut slot = Self {
            trace,
            ce,
            offset: 0,
            expires_at,
            start,
            end,
            len_and_flags: LIVE | if failed { FAILED } else { 0 },
            service,
        };
        slot.relocate(loc, expires_at);
        slot
    }

    pub fn live(&self) -> bool {
        self.len_and_flags & LIVE != 0
    }

    pub fn failed(&self) -> bool {
        self.len_and_flags & FAILED != 0
    }

    pub fn free(&mut self) {
        self.len_and_flags &= !LIVE;
    }

    pub fn loc(&self) -> Loc {
        Loc {
            bucket: bucket_of(self.expires_at),
            offset: self.offset,
            len: self.len_and_flags & LEN_MASK,
        }
    }

    /// The event was stored again at `loc` with the later `expires_at`.
    pub fn relocate(&mut self, loc: Loc, expires_at: u64) {
        debug_assert_eq!(
            loc.bucket,
            bucket_of(expires_at),
            "an event is stored in its expiry's bucket"
        );
        debug_assert!(loc.len <= MAX_LEN, "a payload longer than a slot can locate");
        self.expires_at = expires_at;
        self.offset = loc.offset;
        self.len_and_flags = (self.len_and_flags & !LEN_MASK) | (loc.len & LEN_MASK);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded::segment_window::segments::BUCKET_NS;

    #[test]
    fn a_slot_gives_back_what_it_was_made_with() {
        let expires_at = 29_920_320 * BUCKET_NS + 17;
        let loc = Loc {
            bucket: bucket_of(expires_at),
            offset: u64::MAX - 3,
            len: MAX_LEN,
        };
        for failed in [false, true] {
            let mut slot = Slot::new(TraceId([1; 16]), CeId([2; 16]), loc, expires_at, (5, 9), 7, failed);
            assert_eq!((slot.loc(), slot.live(), slot.failed()), (loc, true, failed));
            let later = expires_at + BUCKET_NS;
            let moved = Loc {
                bucket: bucket_of(later),
                offset: 12,
                len: 1,
            };
            slot.relocate(moved, later);
            assert_eq!((slot.loc(), slot.expires_at, slot.failed()), (moved, later, failed));
            slot.free();
            assert_eq!((slot.live(), slot.failed(), slot.loc()), (false, failed, moved));
        }
    }
}
