//! `map` and `parallel`: items on threads of their own, each a child context under the batch,
//! sharing one checkpoint client; completion rules; a waiting item makes the batch wait, and
//! a replay takes the finished items from their records.

// Empty without the feature (not a [[test]] entry: packaging.rs builds a partial copy).
#![cfg(feature = "durable-testing")]

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::Duration;

use lambda_loop::durable::testing::{Call, FakeDurableService, Runner, Status};
use lambda_loop::durable::{
    self, BatchItem, BatchOptions, Branch, Completion, CompletionReason, Error, OperationType,
};

#[test]
fn map_runs_every_item_on_threads_and_keeps_their_order() {
    let service = FakeDurableService::start();
    let threads = Mutex::new(HashSet::new());
    // All four items must be running at once to pass the barrier: one thread each.
    let together = Barrier::new(4);
    let mut runner = Runner::new(
        &service,
        durable::handler(|items: Vec<u64>, ctx| {
            let squares = ctx.map("square", &items, BatchOptions::new(), |item, n, index| {
                threads.lock().unwrap().insert(std::thread::current().id());
                together.wait();
                let square: u64 = item.step("square", |_| Ok(n * n))?;
                Ok((index, square))
            })?;
            squares.into_values()
        }),
    );
    let outcome = runner.run(&vec![1, 2, 3, 4]);
    assert_eq!(outcome.status, Status::Succeeded, "{outcome:#?}");
    assert_eq!(
        outcome.result::<Vec<(usize, u64)>>(),
        [(0, 1), (1, 4), (2, 9), (3, 16)]
    );
    assert_eq!(threads.lock().unwrap().len(), 4);
    let map = outcome.operation("square").unwrap();
    assert_eq!(
        (map.operation_type, map.sub_type.as_deref()),
        (OperationType::Context, Some("Map"))
    );
    let items: Vec<_> = outcome
        .operations
        .iter()
        .filter(|op| op.parent_id.as_deref() == Some(map.id.as_str()))
        .collect();
    assert_eq!(items.len(), 4);
    assert!(items
        .iter()
        .all(|op| op.sub_type.as_deref() == Some("MapIteration")));
    let mut names: Vec<&str> = items.iter().map(|op| op.name.as_deref().unwrap()).collect();
    names.sort();
    assert_eq!(
        names,
        ["map-item-0", "map-item-1", "map-item-2", "map-item-3"]
    );
    // Every call used the token of the answer before it: the service refused none.
    assert!(
        service.calls().iter().all(|call| call.status == Some(200)),
        "{:#?}",
        service.calls()
    );
}

#[test]
fn a_waiting_item_makes_the_map_wait_and_finished_items_replay() {
    let service = FakeDurableService::start();
    let runs = AtomicUsize::new(0);
    let mut runner = Runner::new(
        &service,
        durable::handler(|_: (), ctx| {
            let result = ctx.map(
                "fan out",
                &[0u32, 1, 2],
                BatchOptions::new().max_concurrency(2),
                |item, n, _| {
                    let value: u32 = item.step("work", |_| {
                        runs.fetch_add(1, Ordering::SeqCst);
                        Ok(n + 10)
                    })?;
                    if *n == 1 {
                        item.wait("slow one", Duration::from_secs(60))?;
                    }
                    Ok(value)
                },
            )?;
            result.into_values()
        }),
    );
    let outcome = runner.run(&());
    assert_eq!(outcome.status, Status::Succeeded, "{outcome:#?}");
    assert_eq!(outcome.result::<Vec<u32>>(), [10, 11, 12]);
    assert_eq!(outcome.invocations, 2);
    // Each item's step ran once: the replay took them from their records.
    assert_eq!(runs.load(Ordering::SeqCst), 3);
}

#[test]
fn completion_rules_stop_the_batch() {
    let service = FakeDurableService::start();
    let started = AtomicUsize::new(0);
    let mut runner = Runner::new(
        &service,
        durable::handler(|_: (), ctx| {
            // One thread: items run in order, and the rule stops the batch after two successes.
            let options = BatchOptions::new()
                .max_concurrency(1)
                .completion(Completion::all().min_successful(2));
            let result = ctx.map("first two", &[1, 2, 3, 4], options, |_, n, _| {
                started.fetch_add(1, Ordering::SeqCst);
                Ok(*n)
            })?;
            Ok(result)
        }),
    );
    let outcome = runner.run(&());
    let result = outcome.result::<durable::BatchResult<i32>>();
    assert_eq!(
        result.completion_reason,
        CompletionReason::MinSuccessfulReached
    );
    assert_eq!(
        result.items,
        [
            BatchItem::Succeeded(1),
            BatchItem::Succeeded(2),
            BatchItem::NotStarted,
            BatchItem::NotStarted
        ]
    );
    assert_eq!(started.load(Ordering::SeqCst), 2);

    let mut runner = Runner::new(
        &service,
        durable::handler(|_: (), ctx| {
            let options = BatchOptions::new()
                .max_concurrency(1)
                .completion(Completion::all().tolerated_failure_count(1));
            ctx.map("tolerant", &[1, 2, 3, 4], options, |_, n, _| match n % 2 {
                0 => Err(Error::new("Even", format!("{n} is even"))),
                _ => Ok(*n),
            })
        }),
    );
    let result = runner.run(&()).result::<durable::BatchResult<i32>>();
    assert_eq!(
        result.completion_reason,
        CompletionReason::FailureToleranceExceeded
    );
    assert_eq!(result.values(), [&1, &3]);
    let errors: Vec<(usize, &str)> = result
        .errors()
        .iter()
        .map(|(i, e)| (*i, e.error_message.as_str()))
        .collect();
    assert_eq!(errors, [(1, "2 is even"), (3, "4 is even")]);
}

#[test]
fn parallel_runs_different_branches() {
    let service = FakeDurableService::start();
    let mut runner = Runner::new(
        &service,
        durable::handler(|_: (), ctx| {
            let branches: Vec<Branch<'_, String>> = vec![
                Box::new(|ctx| ctx.step("left", |_| Ok("left".to_owned()))),
                Box::new(|ctx| {
                    ctx.wait("later", Duration::from_secs(5))?;
                    ctx.step("right", |_| Ok("right".to_owned()))
                }),
                Box::new(|_| Err(Error::new("Broken", "this branch fails"))),
            ];
            let result = ctx.parallel("both", BatchOptions::new(), branches)?;
            Ok((
                result.values().into_iter().cloned().collect::<Vec<_>>(),
                result.errors().len(),
            ))
        }),
    );
    let outcome = runner.run(&());
    assert_eq!(outcome.status, Status::Succeeded, "{outcome:#?}");
    assert_eq!(
        outcome.result::<(Vec<String>, usize)>(),
        (vec!["left".into(), "right".into()], 1)
    );
    let parallel = outcome.operation("both").unwrap();
    assert_eq!(parallel.sub_type.as_deref(), Some("Parallel"));
    let branches: Vec<&str> = outcome
        .operations
        .iter()
        .filter(|op| op.parent_id.as_deref() == Some(parallel.id.as_str()))
        .map(|op| op.sub_type.as_deref().unwrap())
        .collect();
    assert_eq!(branches, ["ParallelBranch"; 3]);
    assert!(service
        .calls()
        .iter()
        .all(|call| call.call == Call::Checkpoint && call.status == Some(200)));
}

/// A batch whose result is too large to checkpoint runs again on replay: its finished items
/// return their records (their work does not run again) and the completion rule is applied
/// anew, here to the same end.
#[test]
fn a_large_batch_result_replays_its_items() {
    let service = FakeDurableService::start();
    let runs = AtomicUsize::new(0);
    let mut runner = Runner::new(
        &service,
        durable::handler(|_: (), ctx| {
            let options = BatchOptions::new()
                .max_concurrency(1)
                .completion(Completion::all().min_successful(2));
            let result = ctx.map("big", &[0usize, 1, 2], options, |item, n, _| {
                item.step("chunk", |_| {
                    runs.fetch_add(1, Ordering::SeqCst);
                    Ok(n.to_string().repeat(200 * 1024))
                })
            })?;
            ctx.wait("pause", Duration::from_secs(1))?;
            let lengths: Vec<Option<usize>> = result
                .items
                .iter()
                .map(|item| match item {
                    BatchItem::Succeeded(text) => Some(text.len()),
                    _ => None,
                })
                .collect();
            Ok(lengths)
        }),
    );
    let outcome = runner.run(&());
    assert_eq!(outcome.status, Status::Succeeded, "{outcome:#?}");
    assert_eq!(
        outcome.result::<Vec<Option<usize>>>(),
        [Some(200 * 1024), Some(200 * 1024), None]
    );
    assert_eq!(outcome.invocations, 2);
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert!(
        outcome
            .operation("big")
            .unwrap()
            .context_details
            .as_ref()
            .unwrap()
            .replay_children
    );
}
