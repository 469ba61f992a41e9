//! Every context field comes from its header; absent headers are None (served in-process);
//! the configuration comes from the environment and the trace-id variable follows each
//! invocation (the `fail` example: the process environment is the point).

mod support;
use lambda_loop::{Context, Result};
use support::*;

fn describing(_event: &[u8], ctx: Context) -> Result<Vec<u8>> {
    Ok(context_json(&ctx).to_string().into_bytes())
}

#[test]
fn every_header_reaches_the_handler_and_absent_ones_are_none() {
    let api = FakeApi::start();
    let deadline = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 30_000)
        .to_string();
    api.push_event(
        Event::new("full", b"context".to_vec())
            .header("Lambda-Runtime-Deadline-Ms", deadline.clone())
            .header(
                "Lambda-Runtime-Invoked-Function-Arn",
                "arn:aws:lambda:eu-west-1:123456789012:function:test-function:live",
            )
            .header(
                "Lambda-Runtime-Trace-Id",
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            )
            .header("Lambda-Runtime-Client-Context", "eyJjbGllbnQiOnt9fQ==")
            .header(
                "Lambda-Runtime-Cognito-Identity",
                r#"{"cognitoIdentityId":"id","cognitoIdentityPoolId":"pool"}"#,
            )
            .header("Lambda-Runtime-Aws-Tenant-Id", "tenant-42")
            .header("Lambda-Runtime-Invocation-Id", "delivery-7"),
    );
    api.push_event(
        Event::new("bare", b"context".to_vec()).without_header("Lambda-Runtime-Deadline-Ms"),
    );
    api.push_event(
        Event::new("emulated", b"context".to_vec()).header("Lambda-Runtime-Deadline-Ms", "600000"),
    );
    let served = serve_in_thread(&api, describing);
    let answers = served.wait_for_answers(&api, 3);
    served.finish(&api);

    let full = answers[0].body_json();
    assert_eq!(full["requestId"], "full");
    assert_eq!(full["deadlineMs"].to_string(), deadline);
    let remaining = full["remainingMs"].as_u64().unwrap();
    assert!(remaining > 0 && remaining <= 30_000, "{remaining}");
    assert_eq!(
        full["invokedFunctionArn"],
        "arn:aws:lambda:eu-west-1:123456789012:function:test-function:live"
    );
    assert_eq!(
        full["xrayTraceId"],
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    );
    assert_eq!(full["clientContext"], "eyJjbGllbnQiOnt9fQ==");
    assert_eq!(
        full["identity"],
        r#"{"cognitoIdentityId":"id","cognitoIdentityPoolId":"pool"}"#
    );
    assert_eq!(full["tenantId"], "tenant-42");
    assert_eq!(full["invocationId"], "delivery-7");
    assert_eq!(full["functionName"], "test-function");
    assert_eq!(full["functionVersion"], "$LATEST");
    assert_eq!(full["memorySizeMb"], 128);
    assert_eq!(full["logGroupName"], "/aws/lambda/test-function");
    assert_eq!(full["logStreamName"], "2026/11/27/[$LATEST]abc");
    assert_eq!(full["region"], "eu-west-1");

    let bare = answers[1].body_json();
    assert_eq!(bare["requestId"], "bare");
    assert!(bare["deadlineMs"].is_null(), "{bare}");
    assert_eq!(bare["remainingMs"], 0);
    for field in [
        "invokedFunctionArn",
        "xrayTraceId",
        "clientContext",
        "identity",
        "tenantId",
        "invocationId",
    ] {
        assert!(bare[field].is_null(), "{field} should be None: {bare}");
    }

    let emulated = answers[2].body_json();
    assert_eq!(emulated["deadlineMs"], 600000);
    assert_eq!(emulated["remainingMs"], 0);
}

#[test]
fn process_the_config_comes_from_the_environment_and_the_trace_variable_follows_each_invocation() {
    let api = FakeApi::start();
    let trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    api.push_event(
        Event::new("traced", b"context".to_vec()).header("Lambda-Runtime-Trace-Id", trace),
    );
    api.push_event(Event::new("untraced", b"context".to_vec()));
    let _child = spawn_example("fail", &api, &[]);
    let answers = api.wait_for_answers(2);

    let traced = answers[0].body_json();
    assert_eq!(traced["xrayTraceId"], trace);
    assert_eq!(traced["traceEnv"], trace);
    assert_eq!(traced["functionName"], "test-function");
    assert_eq!(traced["functionVersion"], "$LATEST");
    assert_eq!(traced["memorySizeMb"], 128);
    assert_eq!(traced["logGroupName"], "/aws/lambda/test-function");
    assert_eq!(traced["logStreamName"], "2026/11/27/[$LATEST]abc");
    assert_eq!(traced["region"], "eu-west-1");

    let untraced = answers[1].body_json();
    assert!(untraced["xrayTraceId"].is_null(), "{untraced}");
    assert!(
        untraced["traceEnv"].is_null(),
        "_X_AMZN_TRACE_ID must be removed when an invocation has no trace id"
    );
}
