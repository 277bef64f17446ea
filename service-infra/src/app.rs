//! What every app's router ends with, so the store and central serve their
//! common routes alike: `/health/live`, `/docs` (Swagger UI) and
//! `/openapi.json`, `/metrics`, the JSON 404 and 405 fallbacks, and the
//! observability layers around all of it.

use axum::Router;
use axum::routing::get;
use protocol::error::ErrorResponses;
use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as Document;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::BearerScheme;
use crate::error::{method_not_allowed_fallback, not_found_fallback};
use crate::health;
use crate::http::with_observability;
use crate::metrics::{HttpMetrics, metrics_router};

/// The part of every app's API description that service-infra serves.
#[derive(OpenApi)]
#[openapi(
    paths(health::live),
    tags((name = "health", description = "Liveness and readiness"))
)]
struct Common;

/// An app's own routes with their API description: what its resource
/// files' `routes()` return, built with [`api_routes!`](crate::api_routes).
pub type ApiRoutes<S> = utoipa_axum::router::OpenApiRouter<S>;

/// The [`ApiRoutes`] serving the named handlers, each routed by the method
/// and path of its `#[utoipa::path]` attribute, so a route and its
/// description cannot disagree: `api_routes![list, get_one]`.
#[macro_export]
macro_rules! api_routes {
    ($($handler:ident),+ $(,)?) => {
        $crate::app::ApiRoutes::new()
            $(.routes($crate::utoipa_axum::routes!($handler)))+
    };
}

/// An app's `routes` given its `state`, with the common routes; its API
/// description `document` completed with the paths of `routes`, the common
/// paths, the bearer scheme and the documented error responses; and the
/// observability layers recording into `http` (whose registry `/metrics`
/// exports).
pub fn router<S>(document: Document, routes: ApiRoutes<S>, state: S, http: HttpMetrics) -> Router
where
    S: Clone + Send + Sync + 'static,
{
    let (api, paths) = routes.with_state(state).split_for_parts();
    let mut document = document;
    document.merge(paths);
    let routes = api
        .route("/health/live", get(health::live))
        .merge(docs(document))
        .merge(metrics_router(http.registry.clone()))
        .fallback(not_found_fallback)
        .method_not_allowed_fallback(method_not_allowed_fallback);
    with_observability(routes, http)
}

/// `/docs` and `/openapi.json` for the completed `document`.
fn docs(mut document: Document) -> Router {
    document.merge(Common::openapi());
    BearerScheme.modify(&mut document);
    ErrorResponses.modify(&mut document);
    SwaggerUi::new("/docs")
        .url("/openapi.json", document)
        .into()
}

/// The `$ref`s of an API document (as JSON) that point at no component:
/// what Swagger UI and clients cannot resolve.
pub fn unresolved_refs(document: &serde_json::Value) -> Vec<String> {
    fn walk(value: &serde_json::Value, document: &serde_json::Value, found: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::String(target)) = map.get("$ref") {
                    let pointer = target.trim_start_matches('#');
                    if document.pointer(pointer).is_none() {
                        found.push(target.clone());
                    }
                }
                map.values().for_each(|v| walk(v, document, found));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, document, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(document, document, &mut found);
    found.sort();
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::unresolved_refs;

    #[test]
    fn a_reference_to_a_missing_component_is_found() {
        let document = json!({
            "components": { "schemas": { "Sku": { "type": "string" } } },
            "paths": { "/x": { "get": { "parameters": [
                { "schema": { "$ref": "#/components/schemas/Sku" } },
                { "schema": { "$ref": "#/components/schemas/Limit500" } },
            ] } } },
        });
        assert_eq!(
            unresolved_refs(&document),
            ["#/components/schemas/Limit500"]
        );
    }
}
