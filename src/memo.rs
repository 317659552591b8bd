//! The per-text memo tables' mechanics, shared by the knowledge base's text facts, the
//! redactor and the analyzer's repeated-line memo: a fast hash and two-way set-associative
//! slots.

/// The memo tables are two-way set-associative: a text may sit in either slot of the pair
/// its hash picks, the one used last first. With one slot per hash, two texts of a log that
/// alternate and share a slot evicted each other on every line (a few hundred distinct texts
/// in 4096 slots already give dozens of such pairs), and each eviction cost a recomputation.
/// The pair of slots of `hash` in a table of `len` slots (an even number).
fn pair_of(hash: u64, len: usize) -> usize {
    ((hash as usize) % (len / 2)) * 2
}

/// The slot of `hash`'s pair that `hit` accepts, moved to the front of its pair.
pub(crate) fn way_of<T>(table: &mut [T], hash: u64, hit: impl Fn(&T) -> bool) -> Option<&T> {
    let at = pair_of(hash, table.len());
    if hit(&table[at]) {
        return Some(&table[at]);
    }
    if hit(&table[at + 1]) {
        table.swap(at, at + 1);
        return Some(&table[at]);
    }
    None
}

/// Puts `value` at the front of `hash`'s pair; the slot used longer ago is dropped.
pub(crate) fn insert_way<T>(table: &mut [T], hash: u64, value: T) {
    let at = pair_of(hash, table.len());
    table.swap(at, at + 1);
    table[at] = value;
}

/// `a == b` for a memo's key check. Empty keys are told apart by length alone: an empty
/// boxed key's pointer is dangling, and glibc's AVX-512 `memcmp` still loads from it under an
/// empty mask, which costs the CPU a fault assist of about 200 ns (64 MiB of blank lines, one
/// memo look-up each, took 27 s).
#[inline]
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && (a.is_empty() || a == b)
}

/// FxHash (rustc's hasher) over 8-byte words, in four independent lanes so that the
/// multiplications of a long text overlap instead of waiting on each other: the memo's key,
/// a few nanoseconds per line. Not collision-resistant, and need not be: a collision only
/// costs a recomputation.
pub(crate) fn fx_hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let word = |c: &[u8]| {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        u64::from_le_bytes(w)
    };
    let mut lanes = [bytes.len() as u64, 1, 2, 3];
    let mut blocks = bytes.chunks_exact(32);
    for b in &mut blocks {
        for (l, c) in lanes.iter_mut().zip(b.chunks_exact(8)) {
            *l = (l.rotate_left(5) ^ word(c)).wrapping_mul(K);
        }
    }
    let mut h = lanes.iter().fold(0u64, |h, &l| (h.rotate_left(5) ^ l).wrapping_mul(K));
    let mut chunks = blocks.remainder().chunks_exact(8);
    for c in &mut chunks {
        h = (h.rotate_left(5) ^ word(c)).wrapping_mul(K);
    }
    for &b in chunks.remainder() {
        h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
    }
    // The low bits of a product depend only on the low bits of its factors: fold the well
    // mixed high half down, as the slot index is taken from the low bits.
    h ^ (h >> 32)
}

#[cfg(test)]
thread_local! {
    static PLAIN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the per-line shortcuts that skip work for the common lines (the analyzer's and the
/// state machine's, which skip a computation whose result cannot change anything) are off on
/// this thread, so that a test can compare the report with the plain computation's. Always
/// false outside the tests.
#[cfg(test)]
pub(crate) fn plain() -> bool {
    PLAIN.with(std::cell::Cell::get)
}

#[cfg(not(test))]
#[inline(always)]
pub(crate) const fn plain() -> bool {
    false
}

/// Runs `f` with the shortcuts of [`plain`] off on this thread.
#[cfg(test)]
pub(crate) fn without_shortcuts<R>(f: impl FnOnce() -> R) -> R {
    PLAIN.with(|p| p.set(true));
    let r = f();
    PLAIN.with(|p| p.set(false));
    r
}
