//! One invocation's view of its execution: the recorded operations, the checkpoint token, and
//! the updates on their way to the service. Every context of the invocation (the root, child
//! contexts, the threads of `map` and `parallel`) shares one `Execution`.
//!
//! Checkpoints are group commits. An update is either queued (it goes with the next call) or
//! confirmed (the caller waits until a call carrying it was answered). One call is in flight
//! at a time, because each checkpoint token works once and the next call needs the token of
//! the last answer; updates that arrive meanwhile, from other threads, wait and go together in
//! the next call. So a step's START and SUCCEED travel in one call, and branches finishing at
//! the same time share calls.
//!
//! The window, for the threads of a `map` or `parallel` (AWS's Python SDK's batcher likewise
//! waits up to 1 ms for more updates once a caller waits): a call that is due waits before it
//! takes the queue while fewer threads wait for a checkpoint than run handler code (threads
//! are counted from before they are spawned, so one not started yet is waited for), at most
//! [`Settings::with_group_commit_window`] (1 ms) since the call was due or another thread
//! last began to wait. A waiting thread adds nothing before an answer, so once every running
//! thread waits the call goes at once, and with one thread running (sequential code) it never
//! waits.
//!
//! [`Settings::with_group_commit_window`]: super::Settings::with_group_commit_window

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use super::client::Client;
use super::replay::Journal;
use super::wire::{Envelope, Operation, OperationUpdate, StatePage};
use crate::error::Error;

/// Updates per checkpoint call at most, and their bytes at most (the service takes up to
/// 250 updates and about 750 KB per call, the SDKs batch below that).
const MAX_BATCH_UPDATES: usize = 200;
const MAX_BATCH_BYTES: usize = 700 * 1024;

pub(crate) struct Execution {
    arn: String,
    client: Arc<Client>,
    state: Mutex<State>,
    answered: Condvar,
    /// Wakes a call waiting in its window: a thread began waiting for a checkpoint, or ended.
    joined: Condvar,
}

struct State {
    token: String,
    journal: Journal,
    queue: Vec<(u64, OperationUpdate)>,
    next_seq: u64,
    /// Every update numbered up to this one is confirmed by an answer.
    confirmed_through: u64,
    in_flight: bool,
    /// Threads running handler code: the invocation's, then the threads of its batches.
    running: usize,
    /// The update each thread waiting for a checkpoint waits for (the last it needs).
    waiting_for: Vec<u64>,
    /// A call waits in its window: threads that begin to wait or end wake it.
    gathering: bool,
    /// The error of a call that failed for good: the invocation cannot checkpoint any more.
    broken: Option<(String, String)>,
}

impl Execution {
    /// The execution of `envelope`, with every page of its state (GetDurableExecutionState
    /// for the pages after the first).
    pub(crate) fn start(client: Arc<Client>, envelope: Envelope) -> Result<Execution, Error> {
        let mut journal = Journal::default();
        let mut marker = envelope.initial_execution_state.next_marker.clone();
        journal.merge(envelope.initial_execution_state);
        while let Some(next) = marker.filter(|marker| !marker.is_empty()) {
            let page = client.state_page(
                &envelope.durable_execution_arn,
                &envelope.checkpoint_token,
                &next,
            )?;
            marker = page.next_marker.clone();
            journal.merge(page);
        }
        Ok(Execution {
            arn: envelope.durable_execution_arn,
            client,
            state: Mutex::new(State {
                token: envelope.checkpoint_token,
                journal,
                queue: Vec::new(),
                next_seq: 1,
                confirmed_through: 0,
                in_flight: false,
                running: 1,
                waiting_for: Vec::new(),
                gathering: false,
                broken: None,
            }),
            answered: Condvar::new(),
            joined: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A branch that panicked leaves consistent state: every change is one assignment.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The record of operation `id`, as last described by the service.
    pub(crate) fn record(&self, id: &str) -> Option<Operation> {
        self.lock().journal.get(id).cloned()
    }

    /// The EXECUTION operation's id and the input it holds (JSON text).
    pub(crate) fn input(&self) -> (Option<String>, Option<String>) {
        let state = self.lock();
        let execution = state.journal.execution();
        (
            execution.map(|operation| operation.id.clone()),
            execution
                .and_then(|operation| operation.execution_details.as_ref())
                .and_then(|details| details.input_payload.clone()),
        )
    }

    /// Queues `update`: it goes out with the next call.
    pub(crate) fn queue(&self, update: OperationUpdate) {
        let mut state = self.lock();
        let seq = state.next_seq;
        state.next_seq += 1;
        state.queue.push((seq, update));
    }

    /// Sends `update` (with everything queued before it) and returns once the service has
    /// answered it.
    pub(crate) fn checkpoint(&self, update: OperationUpdate) -> Result<(), Error> {
        let seq = {
            let mut state = self.lock();
            let seq = state.next_seq;
            state.next_seq += 1;
            state.queue.push((seq, update));
            seq
        };
        self.confirm_through(seq)
    }

    /// Sends whatever is queued; for the end of the invocation.
    pub(crate) fn flush(&self) -> Result<(), Error> {
        let last = self.lock().next_seq - 1;
        self.confirm_through(last)
    }

    /// Waits until every update up to `seq` is confirmed, making the calls itself whenever no
    /// other thread is making one.
    fn confirm_through(&self, seq: u64) -> Result<(), Error> {
        let mut state = self.lock();
        state.waiting_for.push(seq);
        self.wake_gathering(&state);
        let outcome = loop {
            if let Some((error_type, message)) = &state.broken {
                break Err(Error::new(error_type.clone(), message.clone()));
            }
            if state.confirmed_through >= seq {
                break Ok(());
            }
            if state.in_flight {
                state = self
                    .answered
                    .wait(state)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                continue;
            }
            if state.queue.is_empty() {
                break Ok(());
            }
            state.in_flight = true;
            state = self.gather(state);
            let batch = take_batch(&mut state.queue);
            let last_in_batch = batch
                .last()
                .map_or(state.confirmed_through, |(seq, _)| *seq);
            let token = state.token.clone();
            drop(state);
            let updates = batch.into_iter().map(|(_, update)| update).collect();
            let outcome = self.call(&token, updates);
            state = self.lock();
            state.in_flight = false;
            match outcome {
                Ok((token, pages)) => {
                    state.token = token;
                    for page in pages {
                        state.journal.merge(page);
                    }
                    state.confirmed_through = last_in_batch;
                }
                Err(error) => {
                    state.broken = Some((error.error_type().to_owned(), error.message().to_owned()))
                }
            }
            self.answered.notify_all();
        };
        if let Some(index) = state.waiting_for.iter().position(|&each| each == seq) {
            state.waiting_for.swap_remove(index);
        }
        outcome
    }

    /// The window of a call that is due (the module docs give the rule): returns once every
    /// thread running handler code waits for a checkpoint, the queue fills a call, or the
    /// window passed since the call was due or another thread last began to wait. No thread
    /// begins to wait twice before an answer, so the window restarts at most once per thread.
    fn gather<'a>(&'a self, mut state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        let window = self.client.group_commit_window();
        let mut joined = state.waiting_unconfirmed();
        if joined >= state.running {
            return state;
        }
        state.gathering = true;
        let mut since = Instant::now();
        while joined < state.running && state.queue.len() < MAX_BATCH_UPDATES {
            let left = window.saturating_sub(since.elapsed());
            if left.is_zero() {
                break;
            }
            state = self
                .joined
                .wait_timeout(state, left)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
            let now_joined = state.waiting_unconfirmed();
            if now_joined > joined {
                joined = now_joined;
                since = Instant::now();
            }
        }
        state.gathering = false;
        state
    }

    /// Wakes the call waiting in its window, if one is.
    fn wake_gathering(&self, state: &State) {
        if state.gathering {
            self.joined.notify_one();
        }
    }

    /// Counts `threads` more threads as running handler code from now on, before they are
    /// spawned (a call due before one of them started then waits for it), each until its
    /// [`Running`] is dropped.
    pub(crate) fn spawning(&self, threads: usize) -> Vec<Running<'_>> {
        self.lock().running += threads;
        (0..threads).map(|_| Running { execution: self }).collect()
    }

    /// Stops counting the calling thread as running handler code until the [`Paused`] is
    /// dropped: a batch's caller while it waits for the batch's threads to end.
    pub(crate) fn pause(&self) -> Paused<'_> {
        let mut state = self.lock();
        state.running = state.running.saturating_sub(1);
        self.wake_gathering(&state);
        Paused { execution: self }
    }

    /// One checkpoint call, and the pages of the new state after the first: the next token and
    /// the operations it changed.
    fn call(
        &self,
        token: &str,
        updates: Vec<OperationUpdate>,
    ) -> Result<(String, Vec<StatePage>), Error> {
        let answer = self.client.checkpoint(&self.arn, token, updates)?;
        let next_token = answer
            .checkpoint_token
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                Error::new(
                    super::client::UNAVAILABLE,
                    "CheckpointDurableExecution answered without a CheckpointToken: this invocation cannot checkpoint again",
                )
            })?;
        let mut pages = Vec::new();
        if let Some(page) = answer.new_execution_state {
            let mut marker = page.next_marker.clone();
            pages.push(page);
            while let Some(next) = marker.filter(|marker| !marker.is_empty()) {
                let page = self.client.state_page(&self.arn, &next_token, &next)?;
                marker = page.next_marker.clone();
                pages.push(page);
            }
        }
        Ok((next_token, pages))
    }
}

impl State {
    /// Threads waiting for an update that no answer confirmed yet: they add nothing more
    /// before the next answer.
    fn waiting_unconfirmed(&self) -> usize {
        let confirmed = self.confirmed_through;
        self.waiting_for
            .iter()
            .filter(|&&seq| seq > confirmed)
            .count()
    }
}

/// One thread counted as running handler code (see [`Execution::spawning`]).
pub(crate) struct Running<'a> {
    execution: &'a Execution,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let mut state = self.execution.lock();
        state.running = state.running.saturating_sub(1);
        self.execution.wake_gathering(&state);
    }
}

/// The calling thread, not counted as running handler code until this is dropped (see
/// [`Execution::pause`]).
pub(crate) struct Paused<'a> {
    execution: &'a Execution,
}

impl Drop for Paused<'_> {
    fn drop(&mut self) {
        self.execution.lock().running += 1;
    }
}

/// The first updates of the queue that fit in one call (always at least one).
fn take_batch(queue: &mut Vec<(u64, OperationUpdate)>) -> Vec<(u64, OperationUpdate)> {
    let mut bytes = 0;
    let mut count = 0;
    for (_, update) in queue.iter() {
        let size = serde_json::to_vec(update).map_or(0, |json| json.len());
        if count > 0 && (count == MAX_BATCH_UPDATES || bytes + size > MAX_BATCH_BYTES) {
            break;
        }
        bytes += size;
        count += 1;
    }
    queue.drain(..count).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::durable::wire::{Action, OperationType};

    fn update(n: u64, payload_bytes: usize) -> (u64, OperationUpdate) {
        let update = OperationUpdate {
            id: format!("op-{n}"),
            parent_id: None,
            name: None,
            operation_type: OperationType::Step,
            action: Action::Succeed,
            sub_type: Some("Step".into()),
            payload: Some("x".repeat(payload_bytes)),
            error: None,
            step_options: None,
            wait_options: None,
            callback_options: None,
            chained_invoke_options: None,
            context_options: None,
        };
        (n, update)
    }

    #[test]
    fn a_batch_holds_200_updates_or_700_kb_at_most_in_order() {
        let mut queue: Vec<_> = (1..=250).map(|n| update(n, 10)).collect();
        let first = take_batch(&mut queue);
        assert_eq!(first.len(), 200);
        assert_eq!((first[0].0, first[199].0, queue[0].0), (1, 200, 201));
        let mut large: Vec<_> = (1..=4).map(|n| update(n, 256 * 1024)).collect();
        assert_eq!(take_batch(&mut large).len(), 2);
        // One update larger than a batch still goes, alone.
        let mut huge = vec![update(1, 800 * 1024), update(2, 10)];
        assert_eq!(take_batch(&mut huge).len(), 1);
    }
}
