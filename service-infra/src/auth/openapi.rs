//! [`BearerScheme`]: the OpenAPI security scheme for our JWT access tokens,
//! so Swagger UI's Authorize button works on every app.

use utoipa::Modify;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

/// Adds the `bearer` security scheme (JWT access tokens) to a document; use
/// it with `#[openapi(modifiers(&BearerScheme))]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}
