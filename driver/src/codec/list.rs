//! A list of packet entries (SUBSCRIBE filters, SUBACK codes, UNSUBSCRIBE
//! filters) that is either borrowed raw bytes already validated by the
//! decoder, or a slice of typed items given to the encoder. Decoding needs no
//! allocation, and both forms compare equal when they hold the same entries.

use super::{DecodeError, EncodeError, Reader, Writer};

/// One entry type of a [`List`]: how it is read, checked, written and sized.
pub trait Entry<'a>: Sized + Copy {
    /// Reads and validates one entry.
    fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError>;
    /// The rules [`Entry::read`] enforces, checked before encoding.
    fn validate(&self) -> Result<(), EncodeError> {
        Ok(())
    }
    fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError>;
    /// The number of bytes [`Entry::write`] writes.
    fn encoded_len(&self) -> Result<usize, EncodeError>;
}

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

impl<'a, T: Entry<'a>> List<'a, T> {
    /// A list for encoding.
    pub const fn new(items: &'a [T]) -> Self {
        List {
            repr: Repr::Items(items),
        }
    }

    /// Reads entries until the body ends, validating each; at least one.
    pub(crate) fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let raw = r.rest();
        let mut check = Reader::new(raw);
        while !check.is_empty() {
            T::read(&mut check)?;
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

    pub(crate) fn validate(&self) -> Result<(), EncodeError> {
        self.iter().try_for_each(|item| item.validate())
    }

    pub(crate) fn encoded_len(&self) -> Result<usize, EncodeError> {
        let mut total = 0usize;
        for item in self.iter() {
            total = total.saturating_add(item.encoded_len()?);
        }
        Ok(total)
    }

    pub(crate) fn write(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        for item in self.iter() {
            item.write(w)?;
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

impl<'a, T: Entry<'a>> Iterator for ListIter<'a, T> {
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

impl<'a, T: Entry<'a> + PartialEq> PartialEq for List<'a, T> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl<'a, T: Entry<'a> + Eq> Eq for List<'a, T> {}

impl<'a, T: Entry<'a> + core::fmt::Debug> core::fmt::Debug for List<'a, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}
