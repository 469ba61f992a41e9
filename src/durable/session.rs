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

use std::sync::{Arc, Condvar, Mutex, MutexGuard};

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
}

struct State {
    token: String,
    journal: Journal,
    queue: Vec<(u64, OperationUpdate)>,
    next_seq: u64,
    /// Every update numbered up to this one is confirmed by an answer.
    confirmed_through: u64,
    in_flight: bool,
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
                broken: None,
            }),
            answered: Condvar::new(),
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
        loop {
            if let Some((error_type, message)) = &state.broken {
                return Err(Error::new(error_type.clone(), message.clone()));
            }
            if state.confirmed_through >= seq {
                return Ok(());
            }
            if state.in_flight {
                state = self
                    .answered
                    .wait(state)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                continue;
            }
            if state.queue.is_empty() {
                return Ok(());
            }
            state.in_flight = true;
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
        }
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
