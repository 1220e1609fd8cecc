//! A tiny `select` without a runtime: polls two or three futures in turn
//! from one `core::future::poll_fn` and returns the first that is ready,
//! dropping the others. All of the shell's futures are cancel-safe (a
//! socket read, a delay, a channel receive), so dropping the losers loses
//! nothing.

use core::future::{poll_fn, Future};
use core::pin::pin;
use core::task::Poll;

/// Which of two futures finished first.
pub(crate) enum Either<A, B> {
    First(A),
    Second(B),
}

/// Which of three futures finished first.
pub(crate) enum Either3<A, B, C> {
    First(A),
    Second(B),
    Third(C),
}

/// The first of `a` and `b` to finish (`a` wins a tie).
pub(crate) async fn select<A: Future, B: Future>(a: A, b: B) -> Either<A::Output, B::Output> {
    let (mut a, mut b) = (pin!(a), pin!(b));
    poll_fn(|cx| {
        if let Poll::Ready(v) = a.as_mut().poll(cx) {
            return Poll::Ready(Either::First(v));
        }
        if let Poll::Ready(v) = b.as_mut().poll(cx) {
            return Poll::Ready(Either::Second(v));
        }
        Poll::Pending
    })
    .await
}

/// The first of `a`, `b` and `c` to finish (earlier arguments win ties).
pub(crate) async fn select3<A: Future, B: Future, C: Future>(
    a: A,
    b: B,
    c: C,
) -> Either3<A::Output, B::Output, C::Output> {
    let (mut a, mut b, mut c) = (pin!(a), pin!(b), pin!(c));
    poll_fn(|cx| {
        if let Poll::Ready(v) = a.as_mut().poll(cx) {
            return Poll::Ready(Either3::First(v));
        }
        if let Poll::Ready(v) = b.as_mut().poll(cx) {
            return Poll::Ready(Either3::Second(v));
        }
        if let Poll::Ready(v) = c.as_mut().poll(cx) {
            return Poll::Ready(Either3::Third(v));
        }
        Poll::Pending
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::future::{pending, ready};

    fn block_on<F: Future>(f: F) -> F::Output {
        // Every future here is ready on its first poll.
        let mut f = pin!(f);
        let waker = core::task::Waker::noop();
        let mut cx = core::task::Context::from_waker(waker);
        match f.as_mut().poll(&mut cx) {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("not ready on the first poll"),
        }
    }

    #[test]
    fn the_ready_one_wins_and_earlier_wins_ties() {
        assert!(matches!(
            block_on(select(pending::<()>(), ready(2))),
            Either::Second(2)
        ));
        assert!(matches!(
            block_on(select(ready(1), ready(2))),
            Either::First(1)
        ));
        assert!(matches!(
            block_on(select3(pending::<()>(), pending::<()>(), ready(3))),
            Either3::Third(3)
        ));
        assert!(matches!(
            block_on(select3(pending::<()>(), ready(2), ready(3))),
            Either3::Second(2)
        ));
    }
}
