//! The durable examples: their flows driven in-process by the runner (the way a user tests a
//! durable function), and the order example's binary run as Lambda runs it, reading the
//! durable endpoint from `AWS_ENDPOINT_URL_LAMBDA`.

// Empty without the feature (not a [[test]] entry: packaging.rs builds a partial copy).
#![cfg(feature = "durable-testing")]

mod support;

#[allow(dead_code)] // its `main` is the binary's
#[path = "../examples/durable_order.rs"]
mod durable_order;

#[allow(dead_code)]
#[path = "../examples/durable_fanout.rs"]
mod durable_fanout;

use lambda_loop::durable::testing::{FakeDurableService, Runner, Status};
use lambda_loop::durable::{self, OperationStatus};
use serde_json::json;
use support::{Event, FakeApi};

use durable_fanout::{fanout, Mailing, Report};
use durable_order::{order_flow, Line, Order, Receipt};

fn order(id: &str, cents: u64) -> Order {
    Order {
        id: id.into(),
        items: vec![Line {
            sku: "book".into(),
            quantity: 2,
            cents,
        }],
    }
}

#[test]
fn a_small_order_ships_without_approval() {
    let service = FakeDurableService::start();
    let mut runner = Runner::new(&service, durable::handler(order_flow));
    let outcome = runner.run(&order("o-1", 1_500));
    assert_eq!(outcome.status, Status::Succeeded, "{outcome:#?}");
    assert_eq!(
        outcome.result::<Receipt>(),
        Receipt {
            order: "o-1".into(),
            total_cents: 3_000,
            status: "shipped".into(),
            tracking: Some("track-label-reservation-o-1-1-payment-o-1".into()),
        }
    );
    assert!(outcome.operation("approval").is_none());
    assert_eq!(
        outcome.operation("ship").unwrap().status,
        OperationStatus::Succeeded
    );
}

#[test]
fn a_large_order_waits_for_approval() {
    for (approved, status) in [(true, "shipped"), (false, "rejected by Grace")] {
        let service = FakeDurableService::start();
        let mut runner = Runner::new(&service, durable::handler(order_flow));
        let outcome = runner.run(&order("o-2", 60_000));
        assert_eq!(outcome.status, Status::Pending);
        let callback = outcome.callback_id("approval create callback id").unwrap();
        let answer = json!({"approved": approved, "by": "Grace"}).to_string();
        assert!(service.complete_callback(&callback, &answer));
        let outcome = runner.resume();
        assert_eq!(outcome.status, Status::Succeeded, "{outcome:#?}");
        let receipt = outcome.result::<Receipt>();
        assert_eq!(
            (receipt.total_cents, receipt.status.as_str()),
            (120_000, status)
        );
        let charged = outcome.operation("charge").map(|op| op.status);
        assert_eq!(charged, approved.then_some(OperationStatus::Succeeded));
    }
}

#[test]
fn an_empty_order_fails_the_execution() {
    let service = FakeDurableService::start();
    let mut runner = Runner::new(&service, durable::handler(order_flow));
    let outcome = runner.run(&Order {
        id: "o-3".into(),
        items: vec![],
    });
    assert_eq!(outcome.status, Status::Failed);
    assert_eq!(outcome.error.unwrap().error_type, "EmptyOrder");
}

#[test]
fn the_fanout_checks_every_address_on_its_own() {
    let service = FakeDurableService::start();
    let mut runner = Runner::new(&service, durable::handler(fanout));
    let addresses = ["ada@Example.COM", "nobody", "grace@navy.mil", "x@y.z"];
    let outcome = runner.run(&Mailing {
        addresses: addresses.iter().map(|a| a.to_string()).collect(),
    });
    assert_eq!(outcome.status, Status::Succeeded, "{outcome:#?}");
    assert_eq!(
        outcome.result::<Report>(),
        Report {
            valid: vec![
                "ada@example.com".into(),
                "grace@navy.mil".into(),
                "x@y.z".into()
            ],
            invalid: vec![(1, "\"nobody\" is not an address".into())],
            accepted: true,
        }
    );
    let checks = outcome
        .operations
        .iter()
        .filter(|op| op.name.as_deref() == Some("normalize"))
        .count();
    assert_eq!(checks, 4);
}

/// The binary, as Lambda runs it: the durable endpoint from the environment, the approval's
/// callback id on stderr, three invocations to the receipt.
#[test]
fn the_order_binary_runs_to_its_receipt() {
    let service = FakeDurableService::start();
    let arn = service.start_execution("order", &order("o-4", 80_000));
    let api = FakeApi::start();
    let url = service.url();
    let child = support::spawn_example("durable_order", &api, &[("AWS_ENDPOINT_URL_LAMBDA", &url)]);
    let status =
        |answer: &support::Recorded| answer.body_json()["Status"].as_str().unwrap().to_owned();

    api.push_event(Event::new("r1", service.invocation_event(&arn)));
    let answers = api.wait_for_answers(1);
    assert_eq!(status(&answers[0]), "PENDING");
    let line = child.wait_for_stderr("needs approval: callback ");
    let callback = line
        .split("callback ")
        .last()
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .trim()
        .to_owned();
    assert!(service.complete_callback(&callback, r#"{"approved": true, "by": "Ada"}"#));

    // Approved: the charge, then the wait before shipping.
    api.push_event(Event::new("r2", service.invocation_event(&arn)));
    assert_eq!(status(&api.wait_for_answers(2)[1]), "PENDING");
    assert!(service.advance(&arn));
    api.push_event(Event::new("r3", service.invocation_event(&arn)));
    let answers = api.wait_for_answers(3);
    assert_eq!(
        status(&answers[2]),
        "SUCCEEDED",
        "{}",
        answers[2].body_text()
    );
    let receipt: Receipt =
        serde_json::from_str(answers[2].body_json()["Result"].as_str().unwrap()).unwrap();
    assert_eq!(receipt.status, "shipped");
    assert_eq!(receipt.total_cents, 160_000);
    drop(child);
}
