//! A list of packet entries (SUBSCRIBE filters, SUBACK codes, UNSUBSCRIBE
//! filters, and MQTT 5's UNSUBACK codes) that is either borrowed raw bytes
//! already validated by the decoder, or a slice of typed items given to the
//! encoder. Decoding needs no allocation, and both forms compare equal when
//! they hold the same entries. Both versions use it: an entry is any
//! [`Codec`], reporting in its version's errors.

use super::frame::Codec;
use super::{EncodeError, Reader, Writer};

/// Entries of one packet: validated raw bytes, or typed items.
#[derive(Clone, Copy)]
pub struct List<'a, T> {
    repr: Repr<'a, T>,
}

#[derive(Clone, Copy)]
enum Repr<'a, T> {
    Raw(&'a [u8]),
    Items(&'a [T]),
}

impl<'a, T: Codec<'a> + Copy> List<'a, T> {
    /// A list for encoding.
    pub const fn new(items: &'a [T]) -> Self {
        List {
            repr: Repr::Items(items),
        }
    }

    /// Reads the entries up to the end of the body: at least one (else
    /// `empty`), each read and validated by `entry`, which may be stricter
    /// than [`Codec::read`] (a reason code the packet may carry), never
    /// laxer: iterating reads the raw bytes again with [`Codec::read`].
    pub(crate) fn read_non_empty<E>(
        r: &mut Reader<'a>,
        empty: E,
        mut entry: impl FnMut(&mut Reader<'a>) -> Result<T, E>,
    ) -> Result<Self, E> {
        let raw = r.rest();
        if raw.is_empty() {
            return Err(empty);
        }
        let mut check = Reader::new(raw);
        while !check.is_empty() {
            entry(&mut check)?;
        }
        Ok(List {
            repr: Repr::Raw(raw),
        })
    }

    /// The entries in order.
    pub fn iter(&self) -> ListIter<'a, T> {
        match self.repr {
            Repr::Raw(raw) => ListIter(IterRepr::Raw(Reader::new(raw))),
            Repr::Items(items) => ListIter(IterRepr::Items(items.iter())),
        }
    }

    /// How many entries the list has.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether the list has no entries.
    pub fn is_empty(&self) -> bool {
        match self.repr {
            Repr::Raw(raw) => raw.is_empty(),
            Repr::Items(items) => items.is_empty(),
        }
    }

    /// Before encoding: at least one entry, each accepted by `entry`.
    pub(crate) fn validate_non_empty<E: From<EncodeError>>(
        &self,
        entry: impl Fn(&T) -> Result<(), E>,
    ) -> Result<(), E> {
        if self.is_empty() {
            return Err(EncodeError::EmptyList.into());
        }
        self.iter().try_for_each(|item| entry(&item))
    }

    pub(crate) fn encoded_len(&self) -> Result<usize, T::EncodeError> {
        let mut total = 0usize;
        for item in self.iter() {
            total = total.saturating_add(item.encoded_len()?);
        }
        Ok(total)
    }

    pub(crate) fn encode(&self, w: &mut Writer<'_>) -> Result<(), T::EncodeError> {
        for item in self.iter() {
            item.encode(w)?;
        }
        Ok(())
    }
}

/// Iterator over a [`List`].
pub struct ListIter<'a, T>(IterRepr<'a, T>);

enum IterRepr<'a, T> {
    Raw(Reader<'a>),
    Items(core::slice::Iter<'a, T>),
}

impl<'a, T: Codec<'a> + Copy> Iterator for ListIter<'a, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        match &mut self.0 {
            // Raw bytes were validated when the list was read.
            IterRepr::Raw(r) => {
                if r.is_empty() {
                    None
                } else {
                    T::read(r).ok()
                }
            }
            IterRepr::Items(it) => it.next().copied(),
        }
    }
}

impl<'a, T: Codec<'a> + Copy + PartialEq> PartialEq for List<'a, T> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl<'a, T: Codec<'a> + Copy + Eq> Eq for List<'a, T> {}

impl<'a, T: Codec<'a> + Copy + core::fmt::Debug> core::fmt::Debug for List<'a, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}
