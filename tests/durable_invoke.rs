//! Chained invoke: START with the payload and the function's name, a suspension until the
//! service has the other function's result, then the result (or its error) on replay.

// Empty without the feature (not a [[test]] entry: packaging.rs builds a partial copy).
#![cfg(feature = "durable-testing")]

use lambda_loop::durable::testing::{Call, FakeDurableService, Runner, Status};
use lambda_loop::durable::{self, ErrorObject};

#[test]
fn invoke_suspends_and_returns_the_other_functions_result() {
    let service = FakeDurableService::start();
    service.on_invoke("pricing", |payload| {
        let input: serde_json::Value = serde_json::from_str(payload.unwrap()).unwrap();
        Ok((input["n"].as_u64().unwrap() * 3).to_string())
    });
    let mut runner = Runner::new(
        &service,
        durable::handler(|n: u64, ctx| {
            let price: u64 = ctx.invoke("price it", "pricing", &serde_json::json!({"n": n}))?;
            Ok(price + 1)
        }),
    );
    let outcome = runner.run(&8);
    assert_eq!(outcome.status, Status::Succeeded, "{outcome:#?}");
    assert_eq!(outcome.result::<u64>(), 25);
    assert_eq!(outcome.invocations, 2);
    let start = service.calls()[0].body_json()["Updates"][0].clone();
    assert_eq!(start["Type"], "CHAINED_INVOKE");
    assert_eq!(start["SubType"], "ChainedInvoke");
    assert_eq!(start["Payload"], r#"{"n":8}"#);
    assert_eq!(start["ChainedInvokeOptions"]["FunctionName"], "pricing");
    assert!(service
        .calls()
        .iter()
        .all(|call| call.call == Call::Checkpoint));
}

#[test]
fn a_failed_invoke_is_the_operations_error() {
    let service = FakeDurableService::start();
    service.on_invoke("pricing", |_| {
        Err(ErrorObject {
            error_type: "PricingDown".into(),
            error_message: "no prices today".into(),
            ..ErrorObject::default()
        })
    });
    let mut runner = Runner::new(
        &service,
        durable::handler(|_: (), ctx| ctx.invoke::<_, u64>("price it", "pricing", &())),
    );
    let outcome = runner.run(&());
    assert_eq!(outcome.status, Status::Failed);
    let error = outcome.error.unwrap();
    assert_eq!(
        (error.error_type.as_str(), error.error_message.as_str()),
        ("PricingDown", "no prices today")
    );
}
