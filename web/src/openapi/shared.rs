//! Responses that operations owe to what they share rather than to their own handlers, added to
//! the document in one place so that no handler can forget them:
//!
//! - every operation that reads an API key (`Caller`, `KeyCaller`) answers 400 to a request that
//!   presents two credentials, 401 to credentials that do not hold and, for a change made with
//!   the session cookie from another site, 403;
//! - every operation with parameters answers 400 to one it cannot parse;
//! - every operation with a body (`ApiJson`, `ApiForm`) answers 400 to a malformed one, 413 past
//!   the body limit and 415 to another content type;
//! - every operation may answer 503 while a backend (store, search, queue, sessions) is down.
//!
//! Handlers document what is theirs alone; an existing entry is kept (a 400 gains a sentence).

use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};

const TWO_CREDENTIALS: &str =
    "Also when a request presents two credentials (an Authorization header and `?apikey=`).";

pub(super) fn add_responses(spec: &mut OpenApi) {
    for item in spec.paths.paths.values_mut() {
        for (method, operation) in operations(item) {
            add_to(method, operation);
        }
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = (&'static str, &mut Operation)> {
    [
        ("get", item.get.as_mut()),
        ("put", item.put.as_mut()),
        ("post", item.post.as_mut()),
        ("delete", item.delete.as_mut()),
        ("patch", item.patch.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.map(|operation| (method, operation)))
}

fn add_to(method: &str, operation: &mut Operation) {
    let reads_api_key = operation.security.as_ref().is_some_and(|requirements| {
        requirements.iter().any(|requirement| {
            serde_json::to_value(requirement).is_ok_and(|value| value.get("apikey").is_some())
        })
    });
    let has_parameters = operation
        .parameters
        .as_ref()
        .is_some_and(|parameters| !parameters.is_empty());
    let has_body = operation.request_body.is_some();
    let responses = &mut operation.responses.responses;
    if reads_api_key {
        match responses.get_mut("400") {
            Some(RefOr::T(existing)) => {
                existing.description = format!("{} {TWO_CREDENTIALS}", existing.description);
            }
            _ => {
                responses.insert(
                    "400".into(),
                    error(&format!("Bad input. {TWO_CREDENTIALS}")),
                );
            }
        }
        responses
            .entry("401".into())
            .or_insert_with(|| error("The API key or credentials are not valid"));
        if method != "get" {
            responses.entry("403".into()).or_insert_with(|| {
                error(
                    "Not allowed; also a change made with the session cookie that did not come \
                     from the portal's pages (send `X-CSRF-Token`)",
                )
            });
        }
    }
    if has_parameters || has_body {
        responses
            .entry("400".into())
            .or_insert_with(|| error("A malformed parameter or body"));
    }
    if has_body {
        responses
            .entry("413".into())
            .or_insert_with(|| error("The body is larger than 1 MiB"));
        responses
            .entry("415".into())
            .or_insert_with(|| error("The body is not of the documented content type"));
    }
    responses
        .entry("503".into())
        .or_insert_with(|| error("A backend is unavailable; try again shortly"));
}

fn error(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build(),
    )
}

/// Sets the `service` of `GET` and `POST /v2/token` to the one value the portal accepts.
pub(super) fn name_the_service(spec: &mut OpenApi, service: &str) {
    let only = |schema: &mut Schema| {
        if let Schema::Object(object) = schema {
            object.enum_values = Some(vec![service.into()]);
        }
    };
    if let Some(get) = spec
        .paths
        .paths
        .get_mut("/v2/token")
        .and_then(|item| item.get.as_mut())
    {
        for parameter in get.parameters.iter_mut().flatten() {
            if let RefOr::T(parameter) = parameter
                && parameter.name == "service"
                && let Some(RefOr::T(schema)) = parameter.schema.as_mut()
            {
                only(schema);
            }
        }
    }
    if let Some(RefOr::T(Schema::Object(form))) = spec
        .components
        .as_mut()
        .and_then(|components| components.schemas.get_mut("OAuthForm"))
        && let Some(RefOr::T(schema)) = form.properties.get_mut("service")
    {
        only(schema);
    }
}
