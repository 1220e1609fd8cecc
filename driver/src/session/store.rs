//! What the session owns, and where it lives: with the `alloc` feature, on
//! the heap (`String`, `Vec`, `VecDeque`, `BTreeMap`: bounded only by the
//! configuration, as before); without it, in fixed-capacity `heapless`
//! storage inside the [`Session`](super::Session) value itself, so that
//! firmware needs no allocator at all.
//!
//! The session code is written once against the aliases and small traits
//! here ([`Seq`], [`Owned`], [`Map`], [`IdSet`]); every insertion is
//! fallible, and with `alloc` it never fails. Without `alloc` each
//! collection has a capacity from [`caps`], fixed at build time: the
//! defaults suit a small board, and each can be changed with an
//! environment variable when the crate is built (as `embassy-executor`
//! sizes its arena), e.g. `RESILIENT_MQTT_PAYLOAD=1024 cargo build`;
//! `benches/memory.rs` prints what the session then occupies.

#[cfg(feature = "alloc")]
use alloc::{
    collections::{BTreeMap, BTreeSet, VecDeque},
    string::String,
    vec::Vec,
};
use core::fmt;

/// The capacities of the allocation-free build (ignored with `alloc`).
pub mod caps {
    /// Parses a build-time override; a bad value stops the build with a
    /// message naming it.
    #[cfg(all(test, not(feature = "alloc")))]
    pub(super) const fn var_for_tests(value: Option<&str>, default: usize) -> usize {
        var(value, default)
    }

    const fn var(value: Option<&str>, default: usize) -> usize {
        let Some(s) = value else {
            return default;
        };
        let b = s.as_bytes();
        assert!(
            !b.is_empty(),
            "a RESILIENT_MQTT_* capacity variable is empty"
        );
        let mut n = 0usize;
        let mut i = 0;
        while i < b.len() {
            assert!(
                b[i].is_ascii_digit(),
                "a RESILIENT_MQTT_* capacity variable is not a decimal number"
            );
            n = n * 10 + (b[i] - b'0') as usize;
            i += 1;
        }
        assert!(n > 0, "a RESILIENT_MQTT_* capacity variable is zero");
        n
    }

    /// Longest text: topic names and filters, client id, server name,
    /// user name, error reasons (truncated to fit). `RESILIENT_MQTT_TEXT`.
    pub const TEXT: usize = var(option_env!("RESILIENT_MQTT_TEXT"), 64);
    /// Longest payload sent or received (also the will message and the
    /// password). `RESILIENT_MQTT_PAYLOAD`.
    pub const PAYLOAD: usize = var(option_env!("RESILIENT_MQTT_PAYLOAD"), 256);
    /// Publishes held at once: queued during an outage or in flight.
    /// `RESILIENT_MQTT_OUTBOX`.
    pub const OUTBOX: usize = var(option_env!("RESILIENT_MQTT_OUTBOX"), 16);
    /// Subscribe/unsubscribe requests outstanding. `RESILIENT_MQTT_OPS`.
    pub const OPS: usize = var(option_env!("RESILIENT_MQTT_OPS"), 8);
    /// Granted subscriptions remembered for D5 restore.
    /// `RESILIENT_MQTT_SUBSCRIPTIONS`.
    pub const SUBSCRIPTIONS: usize = var(option_env!("RESILIENT_MQTT_SUBSCRIPTIONS"), 8);
    /// Incoming messages queued (event interface): `queue_len` at most.
    /// `RESILIENT_MQTT_QUEUE`.
    pub const QUEUE: usize = var(option_env!("RESILIENT_MQTT_QUEUE"), 8);
    /// Incoming QoS 2 messages awaiting PUBREL at once.
    /// `RESILIENT_MQTT_QOS2_IN`.
    pub const QOS2_IN: usize = var(option_env!("RESILIENT_MQTT_QOS2_IN"), 16);
    /// `broker_up` queries outstanding.
    pub const BROKER_UP: usize = 4;
    /// Transport and link actions between two polls.
    pub const ACTIONS: usize = 8;
    /// Events between two polls: every request can complete in one call
    /// (`close()` fails them all) with room to spare; diagnostic events
    /// give way to application events when it is full.
    pub const EVENTS: usize = OUTBOX + OPS + BROKER_UP + 8;
    /// Storage operations between two polls (an append and a remove for
    /// each held publish).
    pub const STORE_OPS: usize = 2 * OUTBOX + 2;
    /// The largest incoming packet: a PUBLISH with the longest topic and
    /// payload (the receive buffer).
    pub const RX: usize = PAYLOAD + TEXT + 16;
    /// Bytes queued for the transport between two polls, worst case: a
    /// CONNECT with will and password, every operation and restored
    /// subscription, every held publish, and the acks for a full receive
    /// buffer of small publishes.
    pub const TX: usize = 2 * PAYLOAD
        + 3 * TEXT
        + 32
        + (OPS + SUBSCRIPTIONS) * (TEXT + 8)
        + OUTBOX * (PAYLOAD + TEXT + 16)
        + 2 * RX
        + 8;
}

/// `cap` without `alloc`; no limit with it.
pub const fn limit(cap: usize) -> usize {
    if cfg!(feature = "alloc") {
        usize::MAX
    } else {
        cap
    }
}

/// A collection is at its capacity (never with `alloc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

impl fmt::Display for Full {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("capacity exceeded")
    }
}

// ----- the types ---------------------------------------------------------

/// Owned text (topics, ids, reasons).
#[cfg(feature = "alloc")]
pub type Text = String;
/// Owned text (topics, ids, reasons).
#[cfg(not(feature = "alloc"))]
pub type Text = heapless::String<{ caps::TEXT }>;

/// An owned payload.
#[cfg(feature = "alloc")]
pub type Bytes = Vec<u8>;
/// An owned payload.
#[cfg(not(feature = "alloc"))]
pub type Bytes = heapless::Vec<u8, { caps::PAYLOAD }>;

/// A sequence with push at the back and removal anywhere.
#[cfg(feature = "alloc")]
pub type List<T, const N: usize> = VecDeque<T>;
/// A sequence with push at the back and removal anywhere.
#[cfg(not(feature = "alloc"))]
pub type List<T, const N: usize> = heapless::Vec<T, N>;

/// A short list in a public type (user properties, identifiers): a `Vec`
/// with `alloc`.
#[cfg(feature = "alloc")]
pub type Many<T, const N: usize> = Vec<T>;
/// A short list in a public type (user properties, identifiers): a `Vec`
/// with `alloc`.
#[cfg(not(feature = "alloc"))]
pub type Many<T, const N: usize> = heapless::Vec<T, N>;

/// MQTT 5 data kept out of line (a 3.1.1 session stays small). Without
/// `alloc` there is no MQTT 5 session, and this type has no values: an
/// `Option<Boxed<T>>` is always `None` and takes no room.
#[cfg(feature = "alloc")]
pub type Boxed<T> = alloc::boxed::Box<T>;
/// MQTT 5 data kept out of line (a 3.1.1 session stays small). Without
/// `alloc` there is no MQTT 5 session, and this type has no values: an
/// `Option<Boxed<T>>` is always `None` and takes no room.
#[cfg(not(feature = "alloc"))]
pub type Boxed<T> = bounded::NoValue<T>;

/// A byte buffer (receive, transmit, stored records).
#[cfg(feature = "alloc")]
pub type Buf<const N: usize> = Vec<u8>;
/// A byte buffer (receive, transmit, stored records).
#[cfg(not(feature = "alloc"))]
pub type Buf<const N: usize> = heapless::Vec<u8, N>;

/// An ordered map (iteration order reaches traces: never a hash map).
#[cfg(feature = "alloc")]
pub type SortedMap<K, V, const N: usize> = BTreeMap<K, V>;
/// An ordered map (iteration order reaches traces: never a hash map).
#[cfg(not(feature = "alloc"))]
pub type SortedMap<K, V, const N: usize> = bounded::SortedMap<K, V, N>;

/// An ordered set of small keys.
#[cfg(feature = "alloc")]
pub type SortedSet<K, const N: usize> = BTreeSet<K>;
/// An ordered set of small keys.
#[cfg(not(feature = "alloc"))]
pub type SortedSet<K, const N: usize> = bounded::SortedSet<K, N>;

// ----- constructors --------------------------------------------------------

/// `s` as owned text, or [`Full`] if it is longer than [`caps::TEXT`].
pub fn text(s: &str) -> Result<Text, Full> {
    #[cfg(feature = "alloc")]
    {
        Ok(String::from(s))
    }
    #[cfg(not(feature = "alloc"))]
    {
        Text::try_from(s).map_err(|_| Full)
    }
}

/// `s` as owned text, cut at a character boundary if it is too long (for
/// error reasons, where the start says enough).
pub fn text_lossy(s: &str) -> Text {
    let mut t = Text::new();
    push_lossy(&mut t, s);
    t
}

/// Formatted text, cut if too long (see [`text_lossy`]).
pub fn text_fmt(args: fmt::Arguments<'_>) -> Text {
    struct Cut<'a>(&'a mut Text);
    impl fmt::Write for Cut<'_> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            push_lossy(self.0, s);
            Ok(())
        }
    }
    let mut t = Text::new();
    let _ = fmt::write(&mut Cut(&mut t), args);
    t
}

fn push_lossy(t: &mut Text, s: &str) {
    #[cfg(feature = "alloc")]
    t.push_str(s);
    #[cfg(not(feature = "alloc"))]
    for c in s.chars() {
        if t.push(c).is_err() {
            break;
        }
    }
}

/// `b` as an owned payload, or [`Full`] if it is longer than
/// [`caps::PAYLOAD`].
pub fn bytes(b: &[u8]) -> Result<Bytes, Full> {
    #[cfg(feature = "alloc")]
    {
        Ok(b.to_vec())
    }
    #[cfg(not(feature = "alloc"))]
    {
        Bytes::from_slice(b).map_err(|_| Full)
    }
}

// ----- operations that differ ----------------------------------------------

/// Push, pop and remove on [`List`] (and the byte buffers).
pub trait Seq<T> {
    /// Appends `x`, or gives it back when full.
    fn try_push(&mut self, x: T) -> Result<(), T>;
    /// Removes the first element.
    fn pop_first(&mut self) -> Option<T>;
    /// Removes the element at `i`, if there is one.
    fn take_at(&mut self, i: usize) -> Option<T>;
    /// Inserts `x` at `i` (`i <= len`), or gives it back when full.
    fn try_insert_at(&mut self, i: usize, x: T) -> Result<(), T>;
    /// The last element.
    fn last_item(&mut self) -> Option<&mut T>;
}

#[cfg(feature = "alloc")]
impl<T> Seq<T> for VecDeque<T> {
    fn try_push(&mut self, x: T) -> Result<(), T> {
        self.push_back(x);
        Ok(())
    }
    fn pop_first(&mut self) -> Option<T> {
        self.pop_front()
    }
    fn take_at(&mut self, i: usize) -> Option<T> {
        self.remove(i)
    }
    fn try_insert_at(&mut self, i: usize, x: T) -> Result<(), T> {
        self.insert(i, x);
        Ok(())
    }
    fn last_item(&mut self) -> Option<&mut T> {
        self.back_mut()
    }
}

#[cfg(feature = "alloc")]
impl<T> Seq<T> for Vec<T> {
    fn try_push(&mut self, x: T) -> Result<(), T> {
        self.push(x);
        Ok(())
    }
    fn pop_first(&mut self) -> Option<T> {
        (!self.is_empty()).then(|| self.remove(0))
    }
    fn take_at(&mut self, i: usize) -> Option<T> {
        (i < self.len()).then(|| self.remove(i))
    }
    fn try_insert_at(&mut self, i: usize, x: T) -> Result<(), T> {
        self.insert(i, x);
        Ok(())
    }
    fn last_item(&mut self) -> Option<&mut T> {
        self.last_mut()
    }
}

#[cfg(not(feature = "alloc"))]
impl<T, const N: usize> Seq<T> for heapless::Vec<T, N> {
    fn try_push(&mut self, x: T) -> Result<(), T> {
        self.push(x)
    }
    fn pop_first(&mut self) -> Option<T> {
        (!self.is_empty()).then(|| self.remove(0))
    }
    fn take_at(&mut self, i: usize) -> Option<T> {
        (i < self.len()).then(|| self.remove(i))
    }
    fn try_insert_at(&mut self, i: usize, x: T) -> Result<(), T> {
        self.insert(i, x)
    }
    fn last_item(&mut self) -> Option<&mut T> {
        self.last_mut()
    }
}

/// Appending slices to a byte buffer.
pub trait Owned {
    /// Appends `b`, or changes nothing and says [`Full`].
    fn try_extend(&mut self, b: &[u8]) -> Result<(), Full>;
    /// Appends `n` zero bytes and returns them for writing.
    fn grow(&mut self, n: usize) -> Result<&mut [u8], Full>;
    /// Removes the first `n` bytes.
    fn consume(&mut self, n: usize);
}

#[cfg(feature = "alloc")]
impl Owned for Vec<u8> {
    fn try_extend(&mut self, b: &[u8]) -> Result<(), Full> {
        self.extend_from_slice(b);
        Ok(())
    }
    fn grow(&mut self, n: usize) -> Result<&mut [u8], Full> {
        let at = self.len();
        self.resize(at + n, 0);
        Ok(&mut self[at..])
    }
    fn consume(&mut self, n: usize) {
        self.drain(..n.min(self.len()));
    }
}

#[cfg(not(feature = "alloc"))]
impl<const N: usize> Owned for heapless::Vec<u8, N> {
    fn try_extend(&mut self, b: &[u8]) -> Result<(), Full> {
        self.extend_from_slice(b).map_err(|_| Full)
    }
    fn grow(&mut self, n: usize) -> Result<&mut [u8], Full> {
        let at = self.len();
        self.resize(at + n, 0).map_err(|_| Full)?;
        Ok(&mut self[at..])
    }
    fn consume(&mut self, n: usize) {
        let n = n.min(self.len());
        self.copy_within(n.., 0);
        self.truncate(self.len() - n);
    }
}

/// Insertion into a [`SortedMap`].
pub trait Map<K, V> {
    /// Inserts or replaces; gives the pair back when full.
    fn try_put(&mut self, k: K, v: V) -> Result<(), (K, V)>;
}

#[cfg(feature = "alloc")]
impl<K: Ord, V> Map<K, V> for BTreeMap<K, V> {
    fn try_put(&mut self, k: K, v: V) -> Result<(), (K, V)> {
        self.insert(k, v);
        Ok(())
    }
}

/// Insertion into a [`SortedSet`].
pub trait IdSet<K> {
    /// Inserts `k`: `Ok(true)` if it was new, `Err(Full)` if there is no
    /// room for it.
    fn try_add(&mut self, k: K) -> Result<bool, Full>;
}

#[cfg(feature = "alloc")]
impl<K: Ord> IdSet<K> for BTreeSet<K> {
    fn try_add(&mut self, k: K) -> Result<bool, Full> {
        Ok(self.insert(k))
    }
}

/// The fixed-capacity ordered map and set (sorted vectors: the sizes are
/// small, and a binary search is as fast as a tree there).
#[cfg(not(feature = "alloc"))]
pub mod bounded {
    use super::{Full, IdSet, Map};
    use core::borrow::Borrow;

    /// A type without values (see [`super::Boxed`]).
    pub struct NoValue<T>(core::convert::Infallible, core::marker::PhantomData<T>);

    impl<T> core::ops::Deref for NoValue<T> {
        type Target = T;
        fn deref(&self) -> &T {
            match self.0 {}
        }
    }
    impl<T> Clone for NoValue<T> {
        fn clone(&self) -> Self {
            match self.0 {}
        }
    }
    impl<T> PartialEq for NoValue<T> {
        fn eq(&self, _: &Self) -> bool {
            match self.0 {}
        }
    }
    impl<T> Eq for NoValue<T> {}
    impl<T> core::fmt::Debug for NoValue<T> {
        fn fmt(&self, _: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            match self.0 {}
        }
    }

    /// A map kept sorted by key, at most `N` entries.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct SortedMap<K, V, const N: usize> {
        entries: heapless::Vec<(K, V), N>,
    }

    impl<K, V, const N: usize> Default for SortedMap<K, V, N> {
        fn default() -> Self {
            SortedMap {
                entries: heapless::Vec::new(),
            }
        }
    }

    impl<K: Ord, V, const N: usize> SortedMap<K, V, N> {
        pub const fn new() -> Self {
            SortedMap {
                entries: heapless::Vec::new(),
            }
        }
        fn find<Q: Ord + ?Sized>(&self, k: &Q) -> Result<usize, usize>
        where
            K: Borrow<Q>,
        {
            self.entries.binary_search_by(|(e, _)| e.borrow().cmp(k))
        }
        pub fn remove<Q: Ord + ?Sized>(&mut self, k: &Q) -> Option<V>
        where
            K: Borrow<Q>,
        {
            let i = self.find(k).ok()?;
            Some(self.entries.remove(i).1)
        }
        pub fn contains_key<Q: Ord + ?Sized>(&self, k: &Q) -> bool
        where
            K: Borrow<Q>,
        {
            self.find(k).is_ok()
        }
        pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> {
            self.entries.iter().map(|(k, v)| (k, v))
        }
        pub fn len(&self) -> usize {
            self.entries.len()
        }
        pub fn is_empty(&self) -> bool {
            self.entries.is_empty()
        }
        pub fn clear(&mut self) {
            self.entries.clear()
        }
    }

    impl<K: Ord, V, const N: usize> Map<K, V> for SortedMap<K, V, N> {
        fn try_put(&mut self, k: K, v: V) -> Result<(), (K, V)> {
            match self.find(&k) {
                Ok(i) => {
                    self.entries[i].1 = v;
                    Ok(())
                }
                Err(i) => self.entries.insert(i, (k, v)),
            }
        }
    }

    /// A set kept sorted, at most `N` keys.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct SortedSet<K, const N: usize> {
        keys: heapless::Vec<K, N>,
    }

    impl<K, const N: usize> Default for SortedSet<K, N> {
        fn default() -> Self {
            SortedSet {
                keys: heapless::Vec::new(),
            }
        }
    }

    impl<K: Ord, const N: usize> SortedSet<K, N> {
        pub const fn new() -> Self {
            SortedSet {
                keys: heapless::Vec::new(),
            }
        }
        pub fn remove(&mut self, k: &K) -> bool {
            match self.keys.binary_search(k) {
                Ok(i) => {
                    self.keys.remove(i);
                    true
                }
                Err(_) => false,
            }
        }
        pub fn contains(&self, k: &K) -> bool {
            self.keys.binary_search(k).is_ok()
        }
        pub fn len(&self) -> usize {
            self.keys.len()
        }
        pub fn is_empty(&self) -> bool {
            self.keys.is_empty()
        }
        pub fn clear(&mut self) {
            self.keys.clear()
        }
    }

    impl<K: Ord, const N: usize> IdSet<K> for SortedSet<K, N> {
        fn try_add(&mut self, k: K) -> Result<bool, Full> {
            match self.keys.binary_search(&k) {
                Ok(_) => Ok(false),
                Err(i) => self.keys.insert(i, k).map(|()| true).map_err(|_| Full),
            }
        }
    }
}

/// Bytes queued for the transport until the shell takes them. A packet is
/// appended whole or not at all; without `alloc`, one that does not fit
/// sets [`TxBuf::overflowed`] and the session ends the connection (the
/// broker's resends and ours then recover, as after any outage).
#[derive(Debug, Default)]
pub(crate) struct TxBuf {
    bytes: Buf<{ caps::TX }>,
    pub overflowed: bool,
}

impl TxBuf {
    /// Appends a packet of `len` bytes written by `write`.
    fn put<E>(&mut self, len: usize, write: impl FnOnce(&mut [u8]) -> Result<usize, E>) {
        let start = self.bytes.len();
        match self.bytes.grow(len) {
            Ok(buf) => {
                if write(buf).is_err() {
                    self.bytes.truncate(start);
                }
            }
            Err(Full) => self.overflowed = true,
        }
    }

    /// Appends one MQTT 3.1.1 packet (or an MQTT 5 short form), checked
    /// once. A packet that cannot be encoded was checked when it was
    /// requested, so this never happens; if it did, nothing is queued and
    /// the missing reply leads to a resend or an outage, never a panic.
    pub fn encode(&mut self, packet: &crate::codec::Packet<'_>) {
        if let Ok(p) = packet.checked() {
            self.put(p.len(), |b| p.write(b));
        }
    }

    /// Appends one MQTT 5 packet, as [`TxBuf::encode`].
    #[cfg(feature = "alloc")]
    pub fn encode5(&mut self, packet: &crate::codec::v5::Packet<'_>) {
        if let Ok(p) = packet.checked() {
            self.put(p.len(), |b| p.write(b));
        }
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.bytes
    }

    #[cfg(feature = "alloc")]
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn clear(&mut self) {
        self.bytes.clear();
        self.overflowed = false;
    }

    /// Takes the queued bytes.
    #[cfg(feature = "alloc")]
    pub fn take(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.bytes)
    }
}

/// The fixed-capacity containers against `BTreeMap`/`BTreeSet` as models,
/// and the transmit buffer at its capacity (only without `alloc`; with
/// it the aliases are the standard types).
#[cfg(all(test, not(feature = "alloc")))]
mod tests {
    use super::*;
    use alloc::collections::{BTreeMap, BTreeSet};
    use alloc::vec::Vec;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Put(u8, u16),
        Remove(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..24, any::<u16>()).prop_map(|(k, v)| Op::Put(k, v)),
            (0u8..24).prop_map(Op::Remove),
        ]
    }

    proptest! {
        #[test]
        fn sorted_map_and_set_behave_as_the_btree_ones_until_full(
            ops in proptest::collection::vec(op(), 0..200)
        ) {
            let mut map: SortedMap<u8, u16, 8> = SortedMap::new();
            let mut set: SortedSet<u8, 8> = SortedSet::new();
            let mut model: BTreeMap<u8, u16> = BTreeMap::new();
            let mut model_set: BTreeSet<u8> = BTreeSet::new();
            for op in ops {
                match op {
                    Op::Put(k, v) => {
                        let fits = model.len() < 8 || model.contains_key(&k);
                        prop_assert_eq!(map.try_put(k, v).is_ok(), fits);
                        if fits {
                            model.insert(k, v);
                        }
                        let new = !model_set.contains(&k);
                        match set.try_add(k) {
                            Ok(added) => {
                                prop_assert_eq!(added, new);
                                model_set.insert(k);
                            }
                            Err(Full) => prop_assert!(new && model_set.len() == 8),
                        }
                    }
                    Op::Remove(k) => {
                        prop_assert_eq!(map.remove(&k), model.remove(&k));
                        prop_assert_eq!(set.remove(&k), model_set.remove(&k));
                    }
                }
                let pairs: Vec<(u8, u16)> = map.iter().map(|(k, v)| (*k, *v)).collect();
                let want: Vec<(u8, u16)> = model.iter().map(|(k, v)| (*k, *v)).collect();
                prop_assert_eq!(pairs, want);
                prop_assert_eq!(set.len(), model_set.len());
            }
        }

        #[test]
        fn consume_drops_exactly_the_front(
            data in proptest::collection::vec(any::<u8>(), 0..64),
            n in 0usize..80,
        ) {
            let mut b: Buf<64> = Buf::new();
            b.try_extend(&data).unwrap();
            b.consume(n);
            prop_assert_eq!(&b[..], &data[n.min(data.len())..]);
        }
    }

    #[test]
    fn a_packet_that_does_not_fit_is_not_queued_at_all() {
        let mut tx = TxBuf::default();
        let packet = crate::codec::Packet::PingReq;
        tx.encode(&packet);
        assert_eq!(tx.as_slice(), &[0xc0, 0][..]);
        // Fill to the brim, then one more packet: nothing half-written.
        let room = caps::TX - tx.as_slice().len();
        tx.put(room - 1, |b| Ok::<usize, ()>(b.len()));
        let before = tx.as_slice().len();
        tx.encode(&packet);
        assert_eq!(tx.as_slice().len(), before);
        assert!(tx.overflowed);
        tx.clear();
        assert!(!tx.overflowed && tx.as_slice().is_empty());
    }

    /// The build variables reach the capacities (ci/test.sh builds once
    /// with smaller ones), and the defaults hold without them.
    #[test]
    fn capacities_follow_the_build_variables() {
        let want = |v: Option<&str>, default: usize| v.map_or(default, |s| s.parse().unwrap());
        assert_eq!(caps::TEXT, want(option_env!("RESILIENT_MQTT_TEXT"), 64));
        assert_eq!(
            caps::PAYLOAD,
            want(option_env!("RESILIENT_MQTT_PAYLOAD"), 256)
        );
        assert_eq!(caps::OUTBOX, want(option_env!("RESILIENT_MQTT_OUTBOX"), 16));
        assert_eq!(caps::QUEUE, want(option_env!("RESILIENT_MQTT_QUEUE"), 8));
        assert_eq!(
            caps::QOS2_IN,
            want(option_env!("RESILIENT_MQTT_QOS2_IN"), 16)
        );
        assert_eq!(caps::RX, caps::PAYLOAD + caps::TEXT + 16);
        assert_eq!(caps::var_for_tests(Some("1024"), 1), 1024);
    }

    #[test]
    fn lossy_text_is_cut_at_a_character_boundary() {
        let long = "é".repeat(caps::TEXT);
        let t = text_lossy(&long);
        assert!(t.len() <= caps::TEXT && t.len() >= caps::TEXT - 1);
        assert!(t.chars().all(|c| c == 'é'));
        assert_eq!(text(&long), Err(Full));
        assert_eq!(text_fmt(format_args!("{}-{}", 1, 2)).as_str(), "1-2");
    }
}
