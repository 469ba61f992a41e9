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
//! It sits low in the crate (it imports only the pure `context` and `error`) and knows
//! nothing of HTTP: whoever can answer (the Runtime API client, a response stream, the local
//! invoke's stderr) registers itself as an [`AnswerWithError`] trait object.
//!
//! Once the hook has begun, a slot that receives an event later (its `next` was answered
//! while the hook ran) answers it at once with the same cause instead of running the handler:
//! [`begin`] and the hook decide under the slot's lock, so no invocation falls between them.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::thread;
use std::time::{Duration, Instant};

use crate::context::AnswerAddress;
use crate::error::Error;

/// Something that can still answer an invocation with an error while the process is about to
/// end: the slot's Runtime API client, or the invocation's open response stream.
pub(crate) trait AnswerWithError: Send + Sync {
    /// Answers `invocation` with `error`, best effort. Returns false when it could not (a
    /// stream that has not begun), so that the slot's client answers instead.
    fn answer_with_error(&self, invocation: &AnswerAddress, error: &Error) -> bool;
}

/// One loop thread's place in the registry.
struct Slot {
    answerer: Arc<dyn AnswerWithError>,
    state: Mutex<SlotState>,
}

enum SlotState {
    Idle,
    Running {
        invocation: AnswerAddress,
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

/// How long the panic hook waits for another slot to finish a post it has begun.
const PATIENCE: Duration = Duration::from_secs(2);

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
        state: Mutex::new(SlotState::Idle),
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

/// The handler of `invocation` is about to run on this thread. (When the process is already
/// ending, the invocation is answered here with the cause instead, and this thread waits for
/// the end: the handler must not run for an invocation that has its answer.)
pub(crate) fn begin(invocation: &AnswerAddress) {
    with_this_slot(|slot| {
        let mut state = lock(&slot.state);
        let Some(cause) = CLOSING.get() else {
            *state = SlotState::Running {
                invocation: invocation.clone(),
                stream: None,
            };
            return;
        };
        *state = SlotState::Answering; // the hook waits for this post
        drop(state);
        slot.answerer.answer_with_error(invocation, cause);
        *lock(&slot.state) = SlotState::Idle;
        loop {
            thread::park(); // until the abort ends the process
        }
    });
}

/// The running invocation has a response stream: from now on the stream is what ends the
/// invocation (with error trailers once it has sent bytes; otherwise it declines and the slot's
/// client posts the error).
pub(crate) fn stream_attached(stream: Weak<dyn AnswerWithError>) {
    with_this_slot(|slot| {
        if let SlotState::Running {
            stream: slot_stream,
            ..
        } = &mut *lock(&slot.state)
        {
            *slot_stream = Some(stream);
        }
    });
}

/// The handler returned: true when this thread still owns the invocation's answer (false when
/// the panic hook of another thread answered it already).
pub(crate) fn answer_now() -> bool {
    with_this_slot(|slot| {
        let mut state = lock(&slot.state);
        let running = matches!(*state, SlotState::Running { .. });
        if running {
            *state = SlotState::Answering;
        }
        running
    })
    .unwrap_or(true)
}

/// The answer has been posted (or given up on).
pub(crate) fn answered() {
    with_this_slot(|slot| *lock(&slot.state) = SlotState::Idle);
}

/// Calls `f` with the request id of the invocation running on this thread (for log lines).
pub(crate) fn with_request_id<R>(f: impl FnOnce(Option<&str>) -> R) -> R {
    let id = with_this_slot(|slot| match &*slot.state.try_lock().ok()? {
        SlotState::Running { invocation, .. } => Some(invocation.request_id().to_owned()),
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
        answer_slot(slot, own);
    }
    let slots: Vec<Arc<Slot>> = lock(&SLOTS).iter().filter_map(Weak::upgrade).collect();
    for slot in slots {
        if this.as_ref().is_some_and(|this| Arc::ptr_eq(this, &slot)) {
            continue;
        }
        let deadline = Instant::now() + PATIENCE;
        while !answer_slot(&slot, others) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Answers the slot's running invocation with `error`. True when the slot has nothing left to
/// wait for (idle, or answered now); false while it is posting an answer of its own.
fn answer_slot(slot: &Slot, error: &Error) -> bool {
    let Ok(mut state) = slot.state.try_lock() else {
        return false; // held for a moment by its own thread
    };
    match std::mem::replace(&mut *state, SlotState::Idle) {
        SlotState::Idle => true,
        SlotState::Answering => {
            *state = SlotState::Answering;
            false
        }
        SlotState::Running { invocation, stream } => {
            drop(state);
            let streamed = stream
                .and_then(|stream| stream.upgrade())
                .is_some_and(|stream| stream.answer_with_error(&invocation, error));
            if !streamed {
                slot.answerer.answer_with_error(&invocation, error);
            }
            true
        }
    }
}
