//! The JSON error body every endpoint answers with, and the documented
//! error responses: one component per kind, each with examples carrying
//! the `code` the server really sends for it.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, ResponseBuilder};
use utoipa::{Modify, PartialSchema, ToSchema};

/// The body of every error response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Stable, machine-readable error code, e.g. `validation_failed`.
    #[schema(example = "validation_failed")]
    pub code: String,
    /// Human-readable explanation.
    #[schema(example = "delta must be a non-zero integer with |delta| <= 1000000, got 0")]
    pub message: String,
    /// Structured details (such as `field`, the input that failed);
    /// omitted when there are none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

/// One documented error response: its component name, status, description
/// and an example `(code, message, details)` for every code it may carry.
struct ErrorResponse {
    name: &'static str,
    description: &'static str,
    examples: &'static [(&'static str, &'static str)],
    retry_after: bool,
}

/// Every error response the servers document, referenced from operations
/// as `response = protocol::error::<Name>` after [`ErrorResponses`] adds
/// them to the document.
const ERROR_RESPONSES: &[ErrorResponse] = &[
    ErrorResponse {
        name: "MalformedRequest",
        description: "`malformed_request`: the body is not JSON, holds invalid UTF-8, or the path cannot be decoded",
        examples: &[(
            "malformed_request",
            "request body is not valid JSON: expected value at line 1 column 1",
        )],
        retry_after: false,
    },
    ErrorResponse {
        name: "Unauthorized",
        description: "`unauthorized`: no bearer token, or one that is forged, expired or not meant for this service",
        examples: &[("unauthorized", "missing bearer token")],
        retry_after: false,
    },
    ErrorResponse {
        name: "Forbidden",
        description: "`forbidden`: a valid token whose role or store may not do this",
        examples: &[("forbidden", "this operation needs one of the roles: admin")],
        retry_after: false,
    },
    ErrorResponse {
        name: "SkuNotFound",
        description: "`sku_not_found`: the SKU is not registered",
        examples: &[("sku_not_found", "sku ELEC-LAPTOP-999 is not registered")],
        retry_after: false,
    },
    ErrorResponse {
        name: "OperationNotFound",
        description: "`operation_not_found`: no change has this operation id",
        examples: &[(
            "operation_not_found",
            "no change with operation id 0192f1d6-7c1a-7cc0-9a51-3c1fe4a7a001",
        )],
        retry_after: false,
    },
    ErrorResponse {
        name: "SkuOrOperationNotFound",
        description: "`sku_not_found`, or `operation_not_found` when the SKU has no change yet",
        examples: &[
            ("sku_not_found", "sku ELEC-LAPTOP-999 is not registered"),
            (
                "operation_not_found",
                "sku ELEC-LAPTOP-001 has no changes yet",
            ),
        ],
        retry_after: false,
    },
    ErrorResponse {
        name: "MethodNotAllowed",
        description: "`method_not_allowed`: the path exists, but not with this method",
        examples: &[(
            "method_not_allowed",
            "this path does not accept that method",
        )],
        retry_after: false,
    },
    ErrorResponse {
        name: "Conflict",
        description: "`version_conflict` (the stream is not at `version`; `details` has the current figures) or `operation_id_reused` (the id was used for another change)",
        examples: &[
            (
                "version_conflict",
                "expected version 3, but the stream is at version 5",
            ),
            (
                "operation_id_reused",
                "operation id 0192f1d6-7c1a-7cc0-9a51-3c1fe4a7a001 was already used for a different change",
            ),
        ],
        retry_after: false,
    },
    ErrorResponse {
        name: "NotRejected",
        description: "`not_rejected`: only a change central rejected can be reapplied; `details.status` is the change's status",
        examples: &[(
            "not_rejected",
            "change 0192f1d6-7c1a-7cc0-9a51-3c1fe4a7a001 is pending, not rejected: only a rejected change can be reapplied",
        )],
        retry_after: false,
    },
    ErrorResponse {
        name: "NotQuarantined",
        description: "`not_quarantined`: only a quarantined change can be retried; `details.status` is the change's status",
        examples: &[(
            "not_quarantined",
            "change 0192f1d6-7c1a-7cc0-9a51-3c1fe4a7a001 is synced, not quarantined",
        )],
        retry_after: false,
    },
    ErrorResponse {
        name: "PayloadTooLarge",
        description: "`payload_too_large`: the body is over the limit",
        examples: &[("payload_too_large", "request body is too large")],
        retry_after: false,
    },
    ErrorResponse {
        name: "UnsupportedMediaType",
        description: "`unsupported_media_type`: the body is not `application/json`",
        examples: &[(
            "unsupported_media_type",
            "expected a request body with `Content-Type: application/json`",
        )],
        retry_after: false,
    },
    ErrorResponse {
        name: "ValidationFailed",
        description: "`validation_failed`: well-formed input that breaks a rule; `details.field` names it",
        examples: &[(
            "validation_failed",
            "delta must be a non-zero integer with |delta| <= 1000000, got 0",
        )],
        retry_after: false,
    },
    ErrorResponse {
        name: "ValidationOrStock",
        description: "`validation_failed` (`details.field` names the input) or `insufficient_stock` (the change would make stock negative)",
        examples: &[
            (
                "validation_failed",
                "delta must be a non-zero integer with |delta| <= 1000000, got 0",
            ),
            (
                "insufficient_stock",
                "insufficient stock: 3 available, change of -5",
            ),
        ],
        retry_after: false,
    },
    ErrorResponse {
        name: "Unavailable",
        description: "`database_unavailable`, `broker_unavailable` or `auth_unavailable`: a dependency is down; retry after `Retry-After` seconds",
        examples: &[(
            "database_unavailable",
            "the database is unavailable or busy; try again shortly",
        )],
        retry_after: true,
    },
    ErrorResponse {
        name: "BrokerUnavailable",
        description: "`broker_unavailable`: the nudge could not be published; pending changes stay queued",
        examples: &[(
            "broker_unavailable",
            "the message broker is unavailable; pending changes stay queued and sync when it returns",
        )],
        retry_after: true,
    },
];

macro_rules! response_names {
    ($($name:ident),+ $(,)?) => {
        $(
            #[doc = concat!("The documented `", stringify!($name), "` error response (see [`ErrorResponses`]).")]
            #[derive(Debug)]
            pub struct $name;

            impl<'r> utoipa::ToResponse<'r> for $name {
                fn response() -> (&'r str, utoipa::openapi::RefOr<utoipa::openapi::Response>) {
                    (stringify!($name), build(find(stringify!($name))).into())
                }
            }
        )+
    };
}

response_names!(
    MalformedRequest,
    Unauthorized,
    Forbidden,
    SkuNotFound,
    OperationNotFound,
    SkuOrOperationNotFound,
    MethodNotAllowed,
    Conflict,
    NotRejected,
    NotQuarantined,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    ValidationOrStock,
    Unavailable,
    BrokerUnavailable,
);

fn find(name: &str) -> &'static ErrorResponse {
    ERROR_RESPONSES
        .iter()
        .find(|response| response.name == name)
        .unwrap_or(&ERROR_RESPONSES[0])
}

fn build(response: &ErrorResponse) -> utoipa::openapi::Response {
    let examples = response.examples.iter().map(|(code, message)| {
        let value = json!({ "code": code, "message": message });
        (*code, ExampleBuilder::new().value(Some(value)).build())
    });
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ErrorBody")))
        .examples_from_iter(examples)
        .build();
    let mut builder = ResponseBuilder::new()
        .description(response.description)
        .content("application/json", content);
    if response.retry_after {
        let seconds = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1));
        builder = builder.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(seconds)
                .description(Some("Seconds to wait before retrying"))
                .build(),
        );
    }
    builder.build()
}

/// Adds [`ErrorBody`] and every error response to a document's components.
#[derive(Debug)]
pub struct ErrorResponses;

impl Modify for ErrorResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components
            .schemas
            .insert("ErrorBody".to_owned(), ErrorBody::schema());
        for response in ERROR_RESPONSES {
            components
                .responses
                .insert(response.name.to_owned(), build(response).into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_response_is_in_the_table() {
        use utoipa::ToResponse;
        for name in [
            MalformedRequest::response().0,
            Unauthorized::response().0,
            Forbidden::response().0,
            SkuNotFound::response().0,
            OperationNotFound::response().0,
            SkuOrOperationNotFound::response().0,
            MethodNotAllowed::response().0,
            Conflict::response().0,
            NotRejected::response().0,
            NotQuarantined::response().0,
            PayloadTooLarge::response().0,
            UnsupportedMediaType::response().0,
            ValidationFailed::response().0,
            ValidationOrStock::response().0,
            Unavailable::response().0,
            BrokerUnavailable::response().0,
        ] {
            assert_eq!(find(name).name, name);
        }
        assert_eq!(ERROR_RESPONSES.len(), 16);
    }
}

/// Error responses that come as a set, for `responses(...)` of an operation
/// (the 404 and 422 of each operation are listed on their own: their codes
/// differ).
macro_rules! response_sets {
    ($($(#[$doc:meta])* $name:ident => [$(($status:literal, $response:ident)),+ $(,)?];)+) => {
        $(
            $(#[$doc])*
            #[derive(Debug)]
            pub struct $name;

            impl utoipa::IntoResponses for $name {
                fn responses() -> std::collections::BTreeMap<
                    String,
                    utoipa::openapi::RefOr<utoipa::openapi::Response>,
                > {
                    [$(($status, stringify!($response))),+]
                        .into_iter()
                        .map(|(status, name): (u16, &str)| {
                            (status.to_string(), Ref::from_response_name(name).into())
                        })
                        .collect()
                }
            }
        )+
    };
}

response_sets! {
    /// What any operation with a JSON body may answer besides its own
    /// outcomes: 400, 405, 413, 415 and 503.
    BodyErrors => [
        (400, MalformedRequest),
        (405, MethodNotAllowed),
        (413, PayloadTooLarge),
        (415, UnsupportedMediaType),
        (503, Unavailable),
    ];
    /// What any read may answer besides its own outcomes: 400 (a path that
    /// is not UTF-8), 405, 422 (a path or query value that breaks its rule)
    /// and 503.
    ReadErrors => [
        (400, MalformedRequest),
        (405, MethodNotAllowed),
        (422, ValidationFailed),
        (503, Unavailable),
    ];
    /// What an operation behind a bearer token may answer: 401 and 403.
    TokenErrors => [
        (401, Unauthorized),
        (403, Forbidden),
    ];
    /// What a write of the store's worker API may answer besides 200:
    /// [`BodyErrors`], [`TokenErrors`], 404 `sku_not_found` and 422
    /// `validation_failed`.
    WorkerWriteErrors => [
        (400, MalformedRequest),
        (401, Unauthorized),
        (403, Forbidden),
        (404, SkuNotFound),
        (405, MethodNotAllowed),
        (413, PayloadTooLarge),
        (415, UnsupportedMediaType),
        (422, ValidationFailed),
        (503, Unavailable),
    ];
}
