//! `map` and `parallel`: items (or branches) each in a child context of their own, on scoped
//! threads sharing the invocation's one checkpoint client, under completion rules. The batch
//! is itself a child context: when it completes, its [`BatchResult`] is checkpointed as one
//! operation, so a replay returns it without touching the items.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::context::DurableContext;
use super::error::{Error, Result};
use super::options::{BatchOptions, CompletionReason};
use super::replay::{self, Identity};
use super::wire::{ErrorObject, OperationType};

/// What one item of a batch came to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BatchItem<T> {
    /// It returned this value.
    Succeeded(T),
    /// It failed with this error.
    Failed(ErrorObject),
    /// It was waiting (a timer, a callback, ...) when the batch completed.
    Started,
    /// The batch completed before it began.
    NotStarted,
}

/// The outcome of a `map` or `parallel`: one [`BatchItem`] per item, in the items' order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchResult<T> {
    /// The items' outcomes, in order.
    pub items: Vec<BatchItem<T>>,
    /// Why the batch completed.
    pub completion_reason: CompletionReason,
}

impl<T> BatchResult<T> {
    /// The values of the items that succeeded, in order.
    pub fn values(&self) -> Vec<&T> {
        self.items
            .iter()
            .filter_map(|item| match item {
                BatchItem::Succeeded(value) => Some(value),
                _ => None,
            })
            .collect()
    }

    /// The errors of the items that failed, with their index.
    pub fn errors(&self) -> Vec<(usize, &ErrorObject)> {
        self.items
            .iter()
            .enumerate()
            .filter_map(|(index, item)| match item {
                BatchItem::Failed(error) => Some((index, error)),
                _ => None,
            })
            .collect()
    }

    /// Every item's value, or the first failure (as the item's error) when one failed or did
    /// not finish.
    pub fn into_values(self) -> Result<Vec<T>> {
        self.items
            .into_iter()
            .enumerate()
            .map(|(index, item)| match item {
                BatchItem::Succeeded(value) => Ok(value),
                BatchItem::Failed(error) => Err(Error::from_object(error)),
                BatchItem::Started | BatchItem::NotStarted => Err(Error::new(
                    "BatchItemNotFinished",
                    format!("item {index} did not finish before the batch completed"),
                )),
            })
            .collect()
    }
}

/// A branch of [`DurableContext::parallel`].
pub type Branch<'a, T> = Box<dyn FnOnce(&mut DurableContext) -> Result<T> + Send + 'a>;

/// How one item ended in this invocation.
enum Outcome<T> {
    Succeeded(T),
    Failed(ErrorObject),
    Suspended,
}

impl DurableContext {
    /// Runs `work` on every item, each in a child context of its own and on a thread of its
    /// own (at most `options`' concurrency at once), and returns their outcomes once the
    /// completion rules say the batch is complete. Items that wait (a timer, a callback)
    /// make the whole map wait: the invocation ends `PENDING` once every running item
    /// finished or waits, and the next invocation replays the finished ones.
    ///
    /// ```no_run
    /// # fn demo(ctx: &mut lambda_loop::durable::DurableContext) -> lambda_loop::durable::Result<()> {
    /// use lambda_loop::durable::BatchOptions;
    /// let squares = ctx.map("square", &[1, 2, 3], BatchOptions::new(), |ctx, n, _index| {
    ///     ctx.step("square", |_| Ok(n * n))
    /// })?;
    /// assert_eq!(squares.into_values()?, [1, 4, 9]);
    /// # Ok(()) }
    /// ```
    pub fn map<I, O, F>(
        &mut self,
        name: &str,
        items: &[I],
        options: BatchOptions,
        work: F,
    ) -> Result<BatchResult<O>>
    where
        I: Sync,
        O: Serialize + DeserializeOwned + Send,
        F: Fn(&mut DurableContext, &I, usize) -> Result<O> + Sync,
    {
        let identity = self.next_identity(OperationType::Context, "Map", Some(name.to_owned()));
        let run = |ctx: &mut DurableContext, index: usize| work(ctx, &items[index], index);
        self.run_batch(
            identity,
            ("MapIteration", "map-item-"),
            items.len(),
            options,
            &run,
        )
    }

    /// Runs `branches` as [`map`](Self::map) runs items: each in a child context and on a
    /// thread of its own, under the same completion rules.
    pub fn parallel<O>(
        &mut self,
        name: &str,
        options: BatchOptions,
        branches: Vec<Branch<'_, O>>,
    ) -> Result<BatchResult<O>>
    where
        O: Serialize + DeserializeOwned + Send,
    {
        let identity =
            self.next_identity(OperationType::Context, "Parallel", Some(name.to_owned()));
        let count = branches.len();
        let slots: Vec<Mutex<Option<Branch<'_, O>>>> = branches
            .into_iter()
            .map(|branch| Mutex::new(Some(branch)))
            .collect();
        let run = |ctx: &mut DurableContext, index: usize| {
            let branch = slots[index]
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take()
                .expect("each branch runs once");
            branch(ctx)
        };
        self.run_batch(
            identity,
            ("ParallelBranch", "parallel-branch-"),
            count,
            options,
            &run,
        )
    }

    /// The batch operation `identity`: a child context whose children are the `count` items.
    fn run_batch<O>(
        &self,
        identity: Identity,
        (item_sub_type, item_name): (&'static str, &str),
        count: usize,
        options: BatchOptions,
        run: &(dyn Fn(&mut DurableContext, usize) -> Result<O> + Sync),
    ) -> Result<BatchResult<O>>
    where
        O: Serialize + DeserializeOwned + Send,
    {
        self.run_context(identity, |batch: &mut DurableContext| {
            let batch_id = batch.parent_id().map(str::to_owned);
            let item_identity = |index: usize| Identity {
                id: replay::operation_id(batch_id.as_deref(), index as u64 + 1),
                parent_id: batch_id.clone(),
                name: Some(format!("{item_name}{index}")),
                operation_type: OperationType::Context,
                sub_type: item_sub_type,
            };
            let outcomes: Vec<Mutex<Option<Outcome<O>>>> =
                (0..count).map(|_| Mutex::new(None)).collect();
            let fatal: Mutex<Option<Error>> = Mutex::new(None);
            let next = AtomicUsize::new(0);
            let batch_ref = &*batch;
            // Reads the outcomes so far: complete, or not yet.
            let reason_now = || {
                let (mut succeeded, mut failed) = (0, 0);
                for outcome in &outcomes {
                    match &*outcome
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                    {
                        Some(Outcome::Succeeded(_)) => succeeded += 1,
                        Some(Outcome::Failed(_)) => failed += 1,
                        _ => {}
                    }
                }
                options.completion.reason(succeeded, failed, count)
            };
            let worker = || loop {
                if fatal.lock().unwrap_or_else(|p| p.into_inner()).is_some()
                    || reason_now().is_some()
                {
                    return;
                }
                let index = next.fetch_add(1, Ordering::SeqCst);
                if index >= count {
                    return;
                }
                let outcome = batch_ref.run_context(item_identity(index), |item| run(item, index));
                let outcome = match outcome {
                    Ok(value) => Outcome::Succeeded(value),
                    Err(error) if error.is_suspend() => Outcome::Suspended,
                    Err(error) if error.is_failure() => {
                        Outcome::Failed(error.error_object().unwrap_or_default())
                    }
                    Err(error) => {
                        fatal
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .get_or_insert(error);
                        return;
                    }
                };
                *outcomes[index].lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome);
            };
            let threads = options.max_concurrency.unwrap_or(count).min(count).max(1);
            // Counted for checkpoints' group commits (session.rs): the threads from before
            // they start; the calling thread, once its own items are done, not while it waits
            // for the others (the scope's value is dropped after it joined them).
            let execution = batch_ref.execution();
            let paused = std::thread::scope(|scope| {
                for running in execution.spawning(threads - 1) {
                    scope.spawn(move || {
                        let _running = running;
                        worker()
                    });
                }
                worker();
                execution.pause()
            });
            drop(paused);
            if let Some(error) = fatal.into_inner().unwrap_or_else(|p| p.into_inner()) {
                return Err(error);
            }
            let Some(completion_reason) = reason_now() else {
                // Not complete, and nothing more can run in this invocation: some items wait.
                return Err(Error::suspend());
            };
            let items = outcomes
                .into_iter()
                .map(
                    |outcome| match outcome.into_inner().unwrap_or_else(|p| p.into_inner()) {
                        Some(Outcome::Succeeded(value)) => BatchItem::Succeeded(value),
                        Some(Outcome::Failed(error)) => BatchItem::Failed(error),
                        Some(Outcome::Suspended) => BatchItem::Started,
                        None => BatchItem::NotStarted,
                    },
                )
                .collect();
            Ok(BatchResult {
                items,
                completion_reason,
            })
        })
    }
}
