//! A durable handler is a handler like any other: it is served by the loop, picked by
//! `named`, and an event that is not a durable execution's is answered like any unreadable
//! event, with a `Runtime.UnmarshalError`.

// Empty without the feature (not a [[test]] entry: packaging.rs builds a partial copy).
#![cfg(feature = "durable-testing")]

mod support;

use std::sync::OnceLock;

use lambda_loop::durable::testing::FakeDurableService;
use lambda_loop::durable::{self, Settings};
use lambda_loop::runtime::HandlerFn;
use support::{config_with, serve_in_thread, Event, FakeApi};

/// The fake service's URL, for the plain functions of a `named` table (they capture nothing).
static ENDPOINT: OnceLock<String> = OnceLock::new();

fn settings() -> Settings {
    Settings::from_lookup(|_| None).with_endpoint(ENDPOINT.get().expect("set by the test").as_str())
}

fn greet(name: String, ctx: &mut durable::DurableContext) -> durable::Result<String> {
    let greeting: String = ctx.step("greet", |_| Ok(format!("Hello, {name}!")))?;
    Ok(greeting)
}

static TABLE: [(&str, HandlerFn); 2] = [
    ("plain", |event, _ctx| Ok(event.to_vec())),
    ("greet", |event, ctx| {
        durable::handler(greet)
            .with_settings(settings())
            .handle(event, ctx)
    }),
];

#[test]
fn named_picks_a_durable_handler() {
    let service = FakeDurableService::start();
    ENDPOINT.set(service.url()).unwrap();
    let arn = service.start_execution("greeting", &"Ada");
    let picked = lambda_loop::named(&TABLE)(&config_with(&[("_HANDLER", "greet")])).unwrap();
    let api = FakeApi::start();
    api.push_event(Event::new("r1", service.invocation_event(&arn)));
    let served = serve_in_thread(&api, picked);
    let answers = served.wait_for_answers(&api, 1);
    assert_eq!(
        answers[0].body_json(),
        serde_json::json!({"Status": "SUCCEEDED", "Result": "\"Hello, Ada!\""})
    );
    served.finish(&api);
}

#[test]
fn an_event_that_is_not_a_durable_executions_is_an_unmarshal_error() {
    let service = FakeDurableService::start();
    let api = FakeApi::start();
    api.push_event(Event::new("r1", br#"{"order": 7}"#.to_vec()));
    let handler = durable::handler(|_: (), ctx| ctx.step("never", |_| Ok(())))
        .with_settings(service.settings());
    let served = serve_in_thread(&api, handler);
    let answers = served.wait_for_answers(&api, 1);
    assert!(answers[0].path.ends_with("/error"));
    assert_eq!(
        answers[0].body_json()["errorType"],
        "Runtime.UnmarshalError"
    );
    served.finish(&api);
    assert!(service.calls().is_empty());
}

/// A durable handler clones for concurrent serving (`lambda_loop::concurrent` needs
/// `Clone + Send`): here two loops serve clones of one handler at once, and the clones share
/// its one client.
#[test]
fn clones_serve_durable_invocations_side_by_side() {
    let service = FakeDurableService::start();
    let api = FakeApi::start();
    let arns: Vec<String> = (0..4)
        .map(|n| service.start_execution("slot", &n))
        .collect();
    for (n, arn) in arns.iter().enumerate() {
        api.push_event(Event::new(&format!("r{n}"), service.invocation_event(arn)));
    }
    let handler = durable::handler(|n: u32, ctx| ctx.step("square", |_| Ok(n * n)))
        .with_settings(service.settings());
    let loops = [
        serve_in_thread(&api, handler.clone()),
        serve_in_thread(&api, handler),
    ];
    let mut results: Vec<String> = loops[0]
        .wait_for_answers(&api, 4)
        .iter()
        .map(|answer| answer.body_json()["Result"].as_str().unwrap().to_owned())
        .collect();
    results.sort();
    assert_eq!(results, ["0", "1", "4", "9"]);
    api.finish();
    for served in loops {
        support::assert_next_500(&served.join());
    }
}
