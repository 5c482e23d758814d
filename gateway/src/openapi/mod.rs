//! The OpenAPI 3.1 document of the REST API, generated from the route table and the
//! handlers' annotations (`utoipa`), served at `/openapi.json` with a reading page at `/docs`.

mod inputs;
mod params;
mod results;

use axum::{Router, routing::get};
use bytes::Bytes;
use http::header;
use utoipa::{
    Modify, OpenApi,
    openapi::{
        OpenApi as Document, RefOr, Response, ResponseBuilder,
        content::ContentBuilder,
        security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
        },
    },
};
use utoipa_scalar::{Scalar, Servable};

pub(crate) use inputs::*;
pub(crate) use params::*;
pub(crate) use results::*;

/// Parts of the document no handler says: what the API is, the security schemes, and the
/// refusals every operation may answer.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "abaco",
        description = "Functions as a service: register Docker images as actors, send them \
            messages, and read the executions that ran them. Compatible with TACC's abaco \
            (every route is also served under `/v3`). Answers come in an envelope \
            `{status, message, result, version}`; keys are camelCase by default (snake_case \
            when the platform's `case` setting says so). Request bodies may be JSON or forms, \
            with fields in either case.",
        license(name = "BSD-3-Clause"),
    ),
    components(schemas(ErrorEnvelope))
)]
pub(crate) struct Base;

/// Adds the refusals (4XX) and failures (5XX), in the error envelope, to every operation.
struct Refusals;

impl Modify for Refusals {
    fn modify(&self, document: &mut Document) {
        let refused = error_response(
            "Refused: bad input (400), no or a bad token (401), not allowed (403), no such \
             resource (404), conflict (409), body too large (413), too many requests (429). \
             The message says which field or what is wrong.",
        );
        let failed = error_response(
            "Failed: a service could not be reached (503), a request took too long (504), or an \
             internal error (500).",
        );
        for item in document.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                let responses = &mut operation.responses.responses;
                responses.insert("4XX".into(), RefOr::T(refused.clone()));
                responses.insert("5XX".into(), RefOr::T(failed.clone()));
            }
        }
    }
}

fn error_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(utoipa::openapi::Ref::from_schema_name(
                    "ErrorEnvelope",
                )))
                .build(),
        )
        .build()
}

/// How a caller says who it is. Which one applies is the platform's `auth` setting: `header`
/// (development, loopback only) trusts `X-Abaco-User`; `jwt` needs a token. A nonce
/// (`x-nonce` query parameter) stands in for either on the routes it was made for.
struct Security;

impl Modify for Security {
    fn modify(&self, document: &mut Document) {
        let components = document.components.get_or_insert_with(Default::default);
        let schemes = [
            (
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .build(),
                ),
            ),
            (
                "tapisToken",
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Tapis-Token"))),
            ),
            (
                "nonce",
                SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::new("x-nonce"))),
            ),
            (
                "developmentUser",
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new(crate::USER_HEADER))),
            ),
        ];
        let mut requirements = vec![SecurityRequirement::default()];
        for (name, scheme) in schemes {
            components.add_security_scheme(name, scheme);
            requirements.push(SecurityRequirement::new::<_, _, &str>(name, []));
        }
        document.security = Some(requirements);
    }
}

/// The whole document: the base above and the paths of `api`.
pub(crate) fn document(api: Document, version: &str) -> Document {
    let mut document = Base::openapi().merge_from(api);
    document.info.version = version.to_owned();
    // On the whole document, once the handlers' paths are in.
    Refusals.modify(&mut document);
    Security.modify(&mut document);
    document
}

/// `GET /openapi.json` and `GET /docs`, answered without asking who calls.
pub(crate) fn routes<S: Clone + Send + Sync + 'static>(document: Document) -> Router<S> {
    // Written once: the document never changes while the gateway runs.
    let json = Bytes::from(document.to_json().unwrap_or_else(|error| {
        tracing::error!(%error, "the OpenAPI document does not serialize");
        String::from("{}")
    }));
    Router::new()
        .route(
            "/openapi.json",
            get(move || {
                let json = json.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], json) }
            }),
        )
        .merge(Scalar::with_url("/docs", document))
}

#[cfg(test)]
mod tests;
