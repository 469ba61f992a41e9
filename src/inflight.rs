//! The invocations in flight: one slot per loop thread, so that a panic under
//! `panic = "abort"` can still answer every invocation the process holds before it ends, and
//! so that log lines can name the request id of their thread's invocation.
//!
//! A slot moves through three states, set by the loop:
//!
//! ```text
//! Idle --begin--> Running(invocation) --answer_now--> Answering --answered--> Idle
//! ```
//!
//! The panic hook ([`answer_all_in_flight`]) takes every `Running` invocation out of its slot and
//! answers it with an error (its own thread's with the panic, the others' with the cause), and
//! waits for the `Answering` ones to finish their post. Whoever takes an invocation out of
//! `Running` owns its one answer: a loop whose invocation the hook took posts nothing.
//!
//! There is one way to answer with an error, [`answer_slot`]: a response stream that has sent
//! bytes ends itself with the error in its trailers (the only way left once bytes are out);
//! otherwise the slot's answerer posts it (the loop's `Client`, or local invoke's stderr).
//!
//! It sits low in the crate (it imports only the pure `context` and `error`) and knows
//! nothing of HTTP: whoever can answer registers itself as an [`AnswerWithError`] trait object.
//!
//! Every wait here is on an event, with a bound: the hook waits on a slot's condition variable
//! for its post to end (`answered` signals it), and on a stream's for a write under way on
//! another thread (the stream signals it when the hook asked). A bound that runs out costs that
//! one answer, never the process's end.
//!
//! Once the hook has begun, a slot that receives an event later (its `next` was answered
//! while the hook ran) answers it at once with the same cause instead of running the handler:
//! [`begin`] and the hook decide under the slot's lock, so no invocation falls between them.

use std::cell::RefCell;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::thread;
use std::time::{Duration, Instant};

use crate::context::AnswerAddress;
use crate::error::Error;

/// Something that can still answer an invocation with an error while the process is about to
/// end: the slot's Runtime API client, local invoke's stderr, or the invocation's open response
/// stream.
pub(crate) trait AnswerWithError: Send + Sync {
    /// Answers `answer_to` with `error`, best effort, waiting at most `patience` for work
    /// already under way on another thread. Returns false when it could not (a stream that has
    /// sent nothing), so that the slot's answerer answers instead.
    fn answer_with_error(
        &self,
        answer_to: &AnswerAddress,
        error: &Error,
        patience: Duration,
    ) -> bool;
}

/// One loop thread's place in the registry.
struct Slot {
    answerer: Arc<dyn AnswerWithError>,
    state: Mutex<Guarded>,
    /// Signalled when the slot leaves `Answering`, if the panic hook waits for that.
    left_answering: Condvar,
}

/// What the slot's lock guards.
struct Guarded {
    state: SlotState,
    /// Set by the panic hook before it waits on `left_answering`. Read and written under the
    /// lock, so the loop signals only when someone waits: a notify is a `futex` system call
    /// even with no waiter, and the loop leaves `Answering` once per invocation.
    hook_waits: bool,
}

enum SlotState {
    Idle,
    Running {
        answer_to: AnswerAddress,
        stream: Option<Weak<dyn AnswerWithError>>,
    },
    Answering,
}

/// Every slot of the process (dead ones are pruned when a new one registers).
static SLOTS: Mutex<Vec<Weak<Slot>>> = Mutex::new(Vec::new());

thread_local! {
    /// This thread's slot, if it runs a loop.
    static THIS_THREAD: RefCell<Option<Arc<Slot>>> = const { RefCell::new(None) };
}

/// Set by the panic hook under abort: the error every invocation that begins from then on
/// gets, since the process is about to end.
static CLOSING: OnceLock<Error> = OnceLock::new();

/// How long the panic hook waits for another slot to finish a post (or a stream write) it has
/// begun.
pub(crate) const PATIENCE: Duration = Duration::from_secs(2);

/// How long a slot that answered with the hook's cause waits for the process to end (it aborts
/// as soon as the hook returns) before it goes on serving, answering every event with the cause.
const END_PATIENCE: Duration = Duration::from_secs(10);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// While alive, this thread has a slot; dropping it (when the loop ends) leaves the registry.
pub(crate) struct Registered(());

impl Drop for Registered {
    fn drop(&mut self) {
        THIS_THREAD.with(|slot| slot.borrow_mut().take());
    }
}

/// Gives this thread a slot whose invocations `answerer` can answer.
pub(crate) fn register(answerer: Arc<dyn AnswerWithError>) -> Registered {
    let slot = Arc::new(Slot {
        answerer,
        state: Mutex::new(Guarded {
            state: SlotState::Idle,
            hook_waits: false,
        }),
        left_answering: Condvar::new(),
    });
    let mut slots = lock(&SLOTS);
    slots.retain(|slot| slot.strong_count() > 0);
    slots.push(Arc::downgrade(&slot));
    drop(slots);
    THIS_THREAD.with(|this| *this.borrow_mut() = Some(slot));
    Registered(())
}

fn with_this_slot<R>(f: impl FnOnce(&Slot) -> R) -> Option<R> {
    THIS_THREAD
        .try_with(|this| this.try_borrow().ok()?.as_deref().map(f))
        .ok()
        .flatten()
}

/// The handler of `answer_to` is about to run on this thread: true when it may. False when the
/// process is already ending: the invocation was answered here with the cause, the handler must
/// not run, and the caller goes on to the next event.
pub(crate) fn begin(answer_to: &AnswerAddress) -> bool {
    with_this_slot(|slot| {
        let mut guarded = lock(&slot.state);
        let Some(cause) = CLOSING.get() else {
            guarded.state = SlotState::Running {
                answer_to: answer_to.clone(),
                stream: None,
            };
            return true;
        };
        guarded.state = SlotState::Answering; // the hook waits for this post
        drop(guarded);
        slot.answerer.answer_with_error(answer_to, cause, PATIENCE);
        leave_answering(slot);
        // The process aborts when the hook returns; waiting for that keeps this thread from
        // taking another event it could not finish. A spurious wake-up only ends it early.
        thread::park_timeout(END_PATIENCE);
        false
    })
    .unwrap_or(true)
}

/// The running invocation has a response stream: from now on the stream is what ends the
/// invocation (with error trailers once it has sent bytes; otherwise it declines and the slot's
/// answerer posts the error).
pub(crate) fn stream_attached(stream: Weak<dyn AnswerWithError>) {
    with_this_slot(|slot| {
        if let SlotState::Running {
            stream: slot_stream,
            ..
        } = &mut lock(&slot.state).state
        {
            *slot_stream = Some(stream);
        }
    });
}

/// The handler returned: true when this thread still owns the invocation's answer (false when
/// the panic hook of another thread answered it already).
pub(crate) fn answer_now() -> bool {
    with_this_slot(|slot| {
        let mut guarded = lock(&slot.state);
        let running = matches!(guarded.state, SlotState::Running { .. });
        if running {
            guarded.state = SlotState::Answering;
        }
        running
    })
    .unwrap_or(true)
}

/// The answer has been posted (or given up on).
pub(crate) fn answered() {
    with_this_slot(leave_answering);
}

fn leave_answering(slot: &Slot) {
    let mut guarded = lock(&slot.state);
    guarded.state = SlotState::Idle;
    if guarded.hook_waits {
        slot.left_answering.notify_all();
    }
}

/// Calls `f` with the request id of the invocation running on this thread (for log lines).
pub(crate) fn with_request_id<R>(f: impl FnOnce(Option<&str>) -> R) -> R {
    let id = with_this_slot(|slot| match &slot.state.try_lock().ok()?.state {
        SlotState::Running { answer_to, .. } => Some(answer_to.request_id().to_owned()),
        _ => None,
    });
    f(id.flatten().as_deref())
}

/// The panic hook under `panic = "abort"`: answers every invocation in flight before the
/// process ends. This thread's with `own` (the panic), every other slot's with `others` (the
/// cause); a slot that is posting its answer already is given time to finish it.
pub(crate) fn answer_all_in_flight(own: &Error, others: &Error) {
    let _ = CLOSING.set(Error::new(others.error_type(), others.message()));
    let this = THIS_THREAD
        .try_with(|this| this.try_borrow().ok().and_then(|slot| slot.clone()))
        .ok()
        .flatten();
    if let Some(slot) = &this {
        // This thread cannot wait for itself: the panic may have come from inside its own
        // post or stream write, which holds what it would wait for.
        if let Ok(state) = slot.state.try_lock() {
            answer_slot(slot, state, own, Duration::ZERO);
        }
    }
    let slots: Vec<Arc<Slot>> = lock(&SLOTS).iter().filter_map(Weak::upgrade).collect();
    for slot in slots {
        if this.as_ref().is_some_and(|this| Arc::ptr_eq(this, &slot)) {
            continue;
        }
        // Another thread holds a slot's lock only for a moment, never across I/O.
        let state = lock(&slot.state);
        answer_slot(&slot, state, others, PATIENCE);
    }
}

/// Answers the slot's running invocation with `error`: through its stream when the stream has
/// sent bytes, otherwise through the slot's answerer. A slot that is posting its own answer is
/// waited for (at most `patience`), and then has nothing left for the hook to do.
fn answer_slot(slot: &Slot, mut state: MutexGuard<'_, Guarded>, error: &Error, patience: Duration) {
    let deadline = Instant::now() + patience;
    while matches!(state.state, SlotState::Answering) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        state.hook_waits = true;
        state = slot
            .left_answering
            .wait_timeout(state, left)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
    let SlotState::Running { answer_to, stream } =
        std::mem::replace(&mut state.state, SlotState::Idle)
    else {
        return; // idle: nothing in flight
    };
    drop(state);
    let streamed = stream
        .and_then(|stream| stream.upgrade())
        .is_some_and(|stream| stream.answer_with_error(&answer_to, error, patience));
    if !streamed {
        slot.answerer.answer_with_error(&answer_to, error, patience);
    }
}
