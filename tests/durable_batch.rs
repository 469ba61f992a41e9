//! `map` and `parallel`: items on threads of their own, each a child context under the batch,
//! sharing one checkpoint client; completion rules; a waiting item makes the batch wait, and
//! a replay takes the finished items from their records.

// Empty without the feature (not a [[test]] entry: packaging.rs builds a partial copy).
#![cfg(feature = "durable-testing")]

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Barrier, Mutex};
use std::time::Duration;

use lambda_loop::durable::testing::{Call, FakeDurableService, RecordedCall, Runner, Status};
use lambda_loop::durable::{
    self, BatchItem, BatchOptions, Branch, Completion, CompletionReason, Error, OperationType,
};
use serde_json::Value;

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

/// Runs `test` on a thread of its own and fails loudly when it takes longer than `bound`:
/// what a call waiting out an hour-long window would do.
fn within(bound: Duration, test: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        test();
        let _ = done.send(());
    });
    match finished.recv_timeout(bound) {
        Ok(()) => {}
        Err(RecvTimeoutError::Timeout) => panic!("the test took longer than {bound:?}"),
        Err(RecvTimeoutError::Disconnected) => panic!("the test failed (see its panic above)"),
    }
}

/// A window no test outlasts: calls then wait for the other threads until events end it.
const HOUR: Duration = Duration::from_secs(3600);

/// The updates of each checkpoint call answered 200, in order.
fn calls_updates(service: &FakeDurableService) -> Vec<Vec<Value>> {
    service
        .calls()
        .iter()
        .filter(|call| call.call == Call::Checkpoint && call.status == Some(200))
        .map(|call| match call.body_json()["Updates"].take() {
            Value::Array(updates) => updates,
            _ => Vec::new(),
        })
        .collect()
}

/// Each call's updates as "TYPE ACTION", sorted (the threads' order within a call varies).
fn shapes(calls: &[Vec<Value>]) -> Vec<Vec<String>> {
    calls
        .iter()
        .map(|updates| {
            let mut shape: Vec<String> = updates
                .iter()
                .map(|update| format!("{} {}", update["Type"], update["Action"]).replace('"', ""))
                .collect();
            shape.sort();
            shape
        })
        .collect()
}

/// Every update arrived once, after its operation's START and its parent context's START,
/// and before its parent context's SUCCEED.
fn assert_each_update_once_in_order(calls: &[Vec<Value>]) {
    let updates: Vec<&Value> = calls.iter().flatten().collect();
    let position = |id: &Value, action: &str| {
        updates
            .iter()
            .position(|update| update["Id"] == *id && update["Action"] == action)
    };
    let mut seen = HashSet::new();
    for (index, update) in updates.iter().enumerate() {
        let key = (update["Id"].to_string(), update["Action"].to_string());
        assert!(seen.insert(key), "sent twice: {update}");
        if update["Action"] != "START" {
            if let Some(start) = position(&update["Id"], "START") {
                assert!(start < index, "{update} before its START");
            }
        }
        if !update["ParentId"].is_null() {
            let parent_start = position(&update["ParentId"], "START").expect("a parent START");
            assert!(parent_start < index, "{update} before its parent's START");
            if let Some(parent_end) = position(&update["ParentId"], "SUCCEED") {
                assert!(index < parent_end, "{update} after its parent's SUCCEED");
            }
        }
    }
}

/// The threads of a map meet in group commits: a call due while items run waits until every
/// item waits for a checkpoint (an hour-long window here, so that events alone end it), so
/// each round of the items' updates is one call: the STARTs and steps, then the items'
/// SUCCEEDs; items of a second round (three threads, six items) likewise.
#[test]
fn a_map_s_items_meet_in_one_call_per_round() {
    within(Duration::from_secs(60), || {
        let service = FakeDurableService::start();
        let settings = service.settings().with_group_commit_window(HOUR);
        let mut runner = Runner::new(
            &service,
            durable::handler(|items: Vec<u64>, ctx| {
                let first: u64 = ctx.step("first", |_| Ok(1))?;
                let tens = ctx.map(
                    "tens",
                    &items,
                    BatchOptions::new().max_concurrency(3),
                    |item, n, _| item.step("times ten", |_| Ok(n * 10)),
                )?;
                let sum: u64 = tens.into_values()?.iter().sum();
                ctx.step("last", |_| Ok(first + sum))
            })
            .with_settings(settings),
        );
        let outcome = runner.run(&vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(outcome.status, Status::Succeeded, "{outcome:#?}");
        assert_eq!(outcome.result::<u64>(), 211);
        let calls = calls_updates(&service);
        assert_each_update_once_in_order(&calls);
        let round = |updates: &[&str]| -> Vec<String> {
            let mut shape: Vec<String> = updates.iter().map(|text| text.to_string()).collect();
            shape.sort();
            shape
        };
        let step = ["STEP START", "STEP SUCCEED"];
        let item_start = ["CONTEXT START", "STEP START", "STEP SUCCEED"];
        let items_start = [&item_start[..]; 3].concat();
        let items_end = ["CONTEXT SUCCEED"; 3];
        assert_eq!(
            shapes(&calls),
            [
                round(&step),
                round(&[&["CONTEXT START"][..], &items_start].concat()),
                round(&items_end),
                round(&items_start),
                round(&items_end),
                round(&["CONTEXT SUCCEED"]),
                round(&step),
            ],
            "{calls:#?}"
        );
    });
}

/// The window is bounded: a call waits for a busy sibling at most the window (1 ms by
/// default), not until the sibling checkpoints. Here the sibling's step cannot end before
/// the service received the other branch's step; were the wait unbounded, neither would.
#[test]
fn a_call_does_not_wait_for_a_busy_sibling_beyond_the_window() {
    within(Duration::from_secs(60), || {
        let service = FakeDurableService::start();
        let quick_arrived = |calls: &[RecordedCall]| {
            calls.iter().any(|call| {
                call.body_json()["Updates"]
                    .as_array()
                    .is_some_and(|updates| {
                        updates.iter().any(|update| {
                            update["Name"] == "quick" && update["Action"] == "SUCCEED"
                        })
                    })
            })
        };
        let mut runner = Runner::new(
            &service,
            durable::handler(|_: (), ctx| {
                let branches: Vec<Branch<'_, u32>> = vec![
                    Box::new(|ctx| ctx.step("quick", |_| Ok(1))),
                    Box::new(|ctx| {
                        ctx.step("busy", |_| {
                            service.wait_for_calls(Duration::from_secs(30), quick_arrived);
                            Ok(2)
                        })
                    }),
                ];
                ctx.parallel("both", BatchOptions::new(), branches)?
                    .into_values()
            }),
        );
        let outcome = runner.run(&());
        assert_eq!(outcome.status, Status::Succeeded, "{outcome:#?}");
        assert_eq!(outcome.result::<Vec<u32>>(), [1, 2]);
        assert_each_update_once_in_order(&calls_updates(&service));
    });
}

/// Calls wait only for threads that can still join them: with one thread running (steps in
/// sequence, a map of one thread) none waits, and nested batches count their threads right
/// (the caller of a batch does not count while its threads run); with an hour-long window,
/// either mistake would outlast the bound.
#[test]
fn calls_wait_only_for_threads_that_can_join_them() {
    within(Duration::from_secs(60), || {
        let service = FakeDurableService::start();
        let settings = service.settings().with_group_commit_window(HOUR);
        let mut runner = Runner::new(
            &service,
            durable::handler(|_: (), ctx| {
                let mut total: u64 = 0;
                for n in 0..3 {
                    total += ctx.step("in sequence", |_| Ok(n))?;
                }
                let one_thread = BatchOptions::new().max_concurrency(1);
                let ones = ctx.map("one thread", &[1u64, 2], one_thread, |item, n, _| {
                    item.step("one", |_| Ok(*n))
                })?;
                total += ones.into_values()?.iter().sum::<u64>();
                let nested =
                    ctx.map("outer", &[10u64, 20], BatchOptions::new(), |outer, n, _| {
                        let inner =
                            outer.map("inner", &[1u64, 2], BatchOptions::new(), |item, m, _| {
                                item.step("product", |_| Ok(n * m))
                            })?;
                        Ok(inner.into_values()?.iter().sum::<u64>())
                    })?;
                total += nested.into_values()?.iter().sum::<u64>();
                // The thread that calls a map runs items too: here its items end first, then
                // last, while the other thread still checkpoints (a map's work may differ by
                // thread only because this execution never replays).
                let caller = std::thread::current().id();
                for caller_steps in [1, 3] {
                    let steps = |item: &mut durable::DurableContext| {
                        let on_caller = std::thread::current().id() == caller;
                        let count = if on_caller {
                            caller_steps
                        } else {
                            4 - caller_steps
                        };
                        for _ in 0..count {
                            item.step("uneven", |_| Ok(()))?;
                        }
                        Ok(count)
                    };
                    let uneven =
                        ctx.map("uneven", &[(); 2], BatchOptions::new(), |item, _, _| {
                            steps(item)
                        })?;
                    total += uneven.into_values()?.iter().sum::<u64>();
                }
                total += ctx.step("after", |_| Ok(1000))?;
                Ok(total)
            })
            .with_settings(settings),
        );
        let outcome = runner.run(&());
        assert_eq!(outcome.status, Status::Succeeded, "{outcome:#?}");
        assert_eq!(outcome.result::<u64>(), 3 + 3 + 90 + 4 + 4 + 1000);
        assert_each_update_once_in_order(&calls_updates(&service));
    });
}
