//! `lambda_http`'s hello-world shape, answering like `ll-http-hello`: a greeting for `?name=`,
//! 400 with a JSON error body without it.

use lambda_http::{run, service_fn, Body, Error, Request, RequestExt, Response};

async fn hello(request: Request) -> Result<Response<Body>, Error> {
    let name = request
        .query_string_parameters_ref()
        .and_then(|query| query.first("name"))
        .map(str::to_owned);
    let response = match name {
        Some(name) => Response::builder()
            .header("content-type", "text/plain; charset=utf-8")
            .body(format!("Hello, {name}!").into())?,
        None => Response::builder()
            .status(400)
            .header("content-type", "application/json")
            .body(
                serde_json::json!({"error": "the query parameter `name` is missing"})
                    .to_string()
                    .into(),
            )?,
    };
    Ok(response)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(hello)).await
}
