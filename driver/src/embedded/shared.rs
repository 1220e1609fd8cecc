//! What the application's [`super::Client`] and the shell's
//! [`super::Runner`] share, with no allocator: a bounded request channel,
//! a fixed table of completion slots (one per request waiting for its
//! answer), a bounded inbox of received messages, and a few flags.
//!
//! Everything is sized by const generics: `TOPIC` (longest topic or
//! filter, bytes), `PAYLOAD` (longest payload, bytes) and `DEPTH` (requests
//! queued, requests waiting at once, messages held). Memory is
//! `size_of::<Shared<..>>()`, printed by `benches/memory.rs`.
//!
//! The mutex kind `M` is embassy-sync's: `NoopRawMutex` when the client and
//! the runner run on one executor (the usual firmware case, and the host
//! tests), `CriticalSectionRawMutex` across executors or interrupts.

use core::cell::{Cell, RefCell};

use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::channel::Channel;
use embassy_sync::signal::Signal;

use crate::codec::QoS;
use crate::session::{ConnectError, RequestError, Stats};

/// Default longest topic or filter, in bytes.
pub const DEFAULT_TOPIC: usize = 64;
/// Default longest payload, in bytes (outgoing and incoming).
pub const DEFAULT_PAYLOAD: usize = 256;
/// Default size of the runner's read buffer (the caller's slice), bytes.
pub const DEFAULT_RX_BUFFER: usize = 1024;
/// Default depth of the request channel, the completion table and the
/// inbox.
pub const DEFAULT_DEPTH: usize = 4;

/// An error from a [`super::Client`] call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// K1: the first connect failed.
    Connect(ConnectError),
    /// The session refused or failed the request.
    Request(RequestError),
    /// The topic or payload does not fit the shell's buffers (`TOPIC`,
    /// `PAYLOAD`).
    BufferTooSmall,
    /// The runner has stopped (the session was disconnected or closed).
    Stopped,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::Connect(e) => write!(f, "connect failed: {e}"),
            Error::Request(e) => write!(f, "{e}"),
            Error::BufferTooSmall => {
                f.write_str("topic or payload larger than the shell's buffers")
            }
            Error::Stopped => f.write_str("the embedded client's runner has stopped"),
        }
    }
}

/// A message received from the broker, in the shell's bounded buffers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InMessage<const TOPIC: usize, const PAYLOAD: usize> {
    pub topic: heapless::String<TOPIC>,
    pub payload: heapless::Vec<u8, PAYLOAD>,
    pub qos: QoS,
    pub retained: bool,
    pub dup: bool,
}

/// Identifies one waiting request: its completion slot and the sequence
/// number that slot was reserved with (a late answer to a cancelled
/// request never reaches the slot's next user).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ticket {
    pub index: usize,
    pub seq: u32,
}

/// A request from the application to the runner.
pub(crate) enum Request<const TOPIC: usize, const PAYLOAD: usize> {
    Connect {
        quick: bool,
        ticket: Ticket,
    },
    Publish {
        topic: heapless::String<TOPIC>,
        payload: heapless::Vec<u8, PAYLOAD>,
        qos: QoS,
        retain: bool,
        ticket: Ticket,
    },
    Subscribe {
        filter: heapless::String<TOPIC>,
        qos: QoS,
        ticket: Ticket,
    },
    Unsubscribe {
        filter: heapless::String<TOPIC>,
        ticket: Ticket,
    },
    /// D2: the firmware's network link went up or down.
    Link {
        up: bool,
    },
    /// O3 (`graceful`) or O4.
    End {
        graceful: bool,
        ticket: Ticket,
    },
}

/// The answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Done {
    Connect(Result<(), ConnectError>),
    Publish(Result<(), RequestError>),
    Subscribe(Result<QoS, RequestError>),
    Unsubscribe(Result<(), RequestError>),
    Ended,
}

/// Slot bookkeeping behind one blocking mutex.
struct Slots<const DEPTH: usize> {
    /// The sequence number each slot is reserved with; 0 = free.
    owner: [u32; DEPTH],
    next_seq: u32,
}

/// The state a [`super::Client`] and a [`super::Runner`] share. Create it
/// with [`Shared::new`] (a `const fn`: it can be a `static`).
pub struct Shared<
    M: RawMutex,
    const TOPIC: usize = DEFAULT_TOPIC,
    const PAYLOAD: usize = DEFAULT_PAYLOAD,
    const DEPTH: usize = DEFAULT_DEPTH,
> {
    pub(crate) requests: Channel<M, Request<TOPIC, PAYLOAD>, DEPTH>,
    pub(crate) inbox: Channel<M, InMessage<TOPIC, PAYLOAD>, DEPTH>,
    done: [Signal<M, (u32, Done)>; DEPTH],
    slots: Mutex<M, RefCell<Slots<DEPTH>>>,
    /// Wakes a request waiting for a free slot.
    slot_freed: Signal<M, ()>,
    pub(crate) connected: Mutex<M, Cell<bool>>,
    pub(crate) stopped: Mutex<M, Cell<bool>>,
    /// The session's counters, copied after every wake-up (`None` before
    /// the runner's first one; `Stats` has no `const` default).
    pub(crate) stats: Mutex<M, Cell<Option<Stats>>>,
    /// Messages dropped by the shell: the inbox was full (the oldest goes)
    /// or the message did not fit `TOPIC`/`PAYLOAD`.
    pub(crate) dropped: Mutex<M, Cell<u64>>,
}

impl<M: RawMutex, const TOPIC: usize, const PAYLOAD: usize, const DEPTH: usize> Default
    for Shared<M, TOPIC, PAYLOAD, DEPTH>
{
    fn default() -> Self {
        Self::new()
    }
}

impl<M: RawMutex, const TOPIC: usize, const PAYLOAD: usize, const DEPTH: usize>
    Shared<M, TOPIC, PAYLOAD, DEPTH>
{
    /// Empty channels, free slots, not connected.
    pub const fn new() -> Self {
        Shared {
            requests: Channel::new(),
            inbox: Channel::new(),
            done: [const { Signal::new() }; DEPTH],
            slots: Mutex::new(RefCell::new(Slots {
                owner: [0; DEPTH],
                next_seq: 0,
            })),
            slot_freed: Signal::new(),
            connected: Mutex::new(Cell::new(false)),
            stopped: Mutex::new(Cell::new(false)),
            stats: Mutex::new(Cell::new(None)),
            dropped: Mutex::new(Cell::new(0)),
        }
    }

    /// Reserves a completion slot, waiting while all `DEPTH` are taken.
    pub(crate) async fn reserve(&self) -> SlotGuard<'_, M, TOPIC, PAYLOAD, DEPTH> {
        loop {
            let got = self.slots.lock(|s| {
                let mut s = s.borrow_mut();
                let index = s.owner.iter().position(|&o| o == 0)?;
                s.next_seq = s.next_seq.wrapping_add(1).max(1);
                let seq = s.next_seq;
                s.owner[index] = seq;
                Some(Ticket { index, seq })
            });
            if let Some(ticket) = got {
                self.done[ticket.index].reset();
                return SlotGuard {
                    shared: self,
                    ticket,
                };
            }
            self.slot_freed.wait().await;
        }
    }

    /// The runner's answer to `ticket`; dropped if its request was
    /// cancelled (the slot is free or belongs to a newer request).
    pub(crate) fn complete(&self, ticket: Ticket, done: Done) {
        self.slots.lock(|s| {
            if s.borrow().owner.get(ticket.index) == Some(&ticket.seq) {
                self.done[ticket.index].signal((ticket.seq, done));
            }
        });
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.lock(Cell::get)
    }
}

/// A reserved completion slot; released when dropped (also when the
/// request's future is cancelled).
pub(crate) struct SlotGuard<
    'a,
    M: RawMutex,
    const TOPIC: usize,
    const PAYLOAD: usize,
    const DEPTH: usize,
> {
    shared: &'a Shared<M, TOPIC, PAYLOAD, DEPTH>,
    pub ticket: Ticket,
}

impl<M: RawMutex, const TOPIC: usize, const PAYLOAD: usize, const DEPTH: usize>
    SlotGuard<'_, M, TOPIC, PAYLOAD, DEPTH>
{
    /// The runner's answer, if it has come.
    pub fn try_done(&self) -> Option<Done> {
        let (seq, done) = self.shared.done[self.ticket.index].try_take()?;
        (seq == self.ticket.seq).then_some(done)
    }

    /// The runner's answer.
    pub async fn wait(&self) -> Done {
        loop {
            let (seq, done) = self.shared.done[self.ticket.index].wait().await;
            if seq == self.ticket.seq {
                return done;
            }
        }
    }
}

impl<M: RawMutex, const TOPIC: usize, const PAYLOAD: usize, const DEPTH: usize> Drop
    for SlotGuard<'_, M, TOPIC, PAYLOAD, DEPTH>
{
    fn drop(&mut self) {
        self.shared.slots.lock(|s| {
            let mut s = s.borrow_mut();
            if s.owner[self.ticket.index] == self.ticket.seq {
                s.owner[self.ticket.index] = 0;
            }
        });
        self.shared.slot_freed.signal(());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::future::Future;
    use core::pin::pin;
    use core::task::{Context, Poll, Waker};
    use embassy_sync::blocking_mutex::raw::NoopRawMutex;

    fn poll_once<F: Future>(f: core::pin::Pin<&mut F>) -> Poll<F::Output> {
        f.poll(&mut Context::from_waker(Waker::noop()))
    }

    fn reserve<const D: usize>(
        s: &Shared<NoopRawMutex, 8, 8, D>,
    ) -> SlotGuard<'_, NoopRawMutex, 8, 8, D> {
        match poll_once(pin!(s.reserve())) {
            Poll::Ready(g) => g,
            Poll::Pending => panic!("no free slot"),
        }
    }

    #[test]
    fn an_answer_reaches_its_request_only() {
        let s: Shared<NoopRawMutex, 8, 8, 2> = Shared::new();
        let a = reserve(&s);
        let b = reserve(&s);
        assert_ne!(a.ticket.index, b.ticket.index);
        s.complete(b.ticket, Done::Ended);
        assert!(poll_once(pin!(a.wait())).is_pending());
        assert_eq!(a.try_done(), None);
        assert_eq!(b.try_done(), Some(Done::Ended));
        s.complete(b.ticket, Done::Ended);
        assert_eq!(poll_once(pin!(b.wait())), Poll::Ready(Done::Ended));
    }

    #[test]
    fn all_slots_taken_waits_until_one_is_released() {
        let s: Shared<NoopRawMutex, 8, 8, 1> = Shared::new();
        let a = reserve(&s);
        let mut next = pin!(s.reserve());
        assert!(poll_once(next.as_mut()).is_pending());
        drop(a);
        assert!(poll_once(next.as_mut()).is_ready());
    }

    #[test]
    fn a_late_answer_to_a_cancelled_request_is_dropped() {
        let s: Shared<NoopRawMutex, 8, 8, 1> = Shared::new();
        let cancelled = reserve(&s);
        let old = cancelled.ticket;
        drop(cancelled); // the caller's future was dropped
        let fresh = reserve(&s);
        assert_eq!(fresh.ticket.index, old.index, "the slot is reused");
        s.complete(old, Done::Publish(Ok(())));
        assert!(
            poll_once(pin!(fresh.wait())).is_pending(),
            "the old answer must not complete the new request"
        );
        s.complete(fresh.ticket, Done::Ended);
        assert_eq!(poll_once(pin!(fresh.wait())), Poll::Ready(Done::Ended));
    }
}
