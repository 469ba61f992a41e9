//! What the source said about a request beyond method, URI, headers and body: found in the
//! request's extensions as a [`RequestContext`].

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

/// The service that sent the event, recognised from the event's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Source {
    /// API Gateway REST API, or an HTTP API with payload format 1.0
    /// (`httpMethod`, `path`, `multiValueHeaders`, …).
    ApiGatewayV1,
    /// API Gateway HTTP API, payload format 2.0 (`version: "2.0"`, `rawPath`, `cookies`, …).
    ApiGatewayV2,
    /// A Lambda function URL: the 2.0 shape, on a `*.lambda-url.*` domain.
    FunctionUrl,
    /// An Application Load Balancer target group (with or without multi-value headers).
    Alb,
    /// A VPC Lattice target group, event structure version 2.
    VpcLatticeV2,
}

impl Source {
    /// A short human name: "API Gateway REST (payload 1.0)", "function URL", …
    pub fn name(self) -> &'static str {
        match self {
            Source::ApiGatewayV1 => "API Gateway REST (payload 1.0)",
            Source::ApiGatewayV2 => "API Gateway HTTP API (payload 2.0)",
            Source::FunctionUrl => "function URL",
            Source::Alb => "Application Load Balancer",
            Source::VpcLatticeV2 => "VPC Lattice (v2)",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The source's request context, in every request's extensions:
/// `request.extensions().get::<RequestContext>()`, or
/// [`RequestExt::context`](super::RequestExt::context).
///
/// The fields most handlers want are typed; the whole `requestContext` object of the event
/// is in [`raw`](RequestContext::raw), exactly as sent, for everything else (`identity`,
/// `authentication`, `elb.targetGroupArn`, `serviceArn`, …). Where each field comes from,
/// per source, is in the [mapping table](super#the-request-context).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RequestContext {
    /// Which service sent the event.
    pub source: Source,
    /// True when the event carried `multiValueHeaders` (REST APIs always do; ALB when the
    /// target group has `lambda.multi_value_headers.enabled`): the response then uses
    /// `multiValueHeaders` too, as the source requires.
    pub multi_value_headers: bool,
    /// The source's id of this request (`requestContext.requestId`), for logs; not the
    /// Lambda request id, which is in the [`Context`](crate::Context).
    pub request_id: Option<String>,
    /// The API Gateway stage (`$default` for HTTP APIs without named stages and for function
    /// URLs).
    pub stage: Option<String>,
    /// The client's IP address as the source saw it (`requestContext.http.sourceIp`,
    /// `requestContext.identity.sourceIp`). ALB and VPC Lattice put it only in headers
    /// (`x-forwarded-for`).
    pub source_ip: Option<String>,
    /// The host name the client called (`requestContext.domainName`; the `host` header
    /// otherwise).
    pub domain_name: Option<String>,
    /// The request path without the API Gateway stage: REST's `path` (API Gateway strips the
    /// stage from it), HTTP API's `rawPath` minus a leading `/{stage}`; otherwise the same as
    /// the URI's path.
    pub path_without_stage: String,
    /// Path parameters matched by the route (`pathParameters`), e.g. `{id}` → `"id"`.
    pub path_parameters: BTreeMap<String, String>,
    /// Stage variables (`stageVariables`).
    pub stage_variables: BTreeMap<String, String>,
    /// What an authorizer said: `requestContext.authorizer` (JWT claims and scopes, IAM
    /// caller, a Lambda authorizer's context), or `requestContext.identity` for VPC Lattice.
    pub authorizer: Option<Value>,
    /// The event's `requestContext` object, as sent.
    pub raw: Value,
}
