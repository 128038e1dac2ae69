//! The JSON API. Every handler carries `#[utoipa::path]` and is registered through
//! `OpenApiRouter`, so the router and the OpenAPI document cannot drift apart.

pub(crate) mod account;
pub(crate) mod admin;
mod audit;
pub(crate) mod build_events;
pub(crate) mod build_log;
mod build_secrets;
pub(crate) mod build_settings;
mod builds;
pub(crate) mod containers;
mod docker_search;
mod grammar;
mod health;
pub(crate) mod manage;
mod orgs;
mod retention;
mod robots;
mod rules;
mod search;
mod tag_policy;
mod triggers;
mod webhooks;

pub(crate) use grammar::immutable_schema;
pub(crate) use tag_policy::{DeprecationBody, present};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::ApiDoc;
use crate::registry::{events, token};
use crate::state::AppState;

/// The API routes together with their OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(containers::all))
        .routes(routes!(containers::latest))
        .routes(routes!(search::search_get, search::search_post))
        .routes(routes!(docker_search::ping))
        .routes(routes!(docker_search::search))
        .routes(routes!(manage::create))
        .routes(routes!(containers::one, manage::update, manage::delete))
        .routes(routes!(manage::members, manage::set_members))
        .routes(routes!(account::me, tag_policy::update_user_settings))
        .routes(routes!(account::list_keys, account::create_key))
        .routes(routes!(account::revoke_key))
        .routes(routes!(admin::list, admin::create))
        .routes(routes!(admin::update))
        .routes(routes!(admin::sync_registry))
        .routes(routes!(audit::everything))
        .routes(routes!(audit::organisation))
        .routes(routes!(rules::get, rules::put))
        .routes(routes!(build_settings::get, build_settings::put))
        .routes(routes!(build_secrets::list))
        .routes(routes!(build_secrets::put, build_secrets::delete))
        .routes(routes!(build_secrets::list_org))
        .routes(routes!(build_secrets::put_org, build_secrets::delete_org))
        .routes(routes!(retention::get, retention::put))
        .routes(routes!(retention::preview))
        .routes(routes!(retention::run))
        .routes(routes!(retention::get_org, retention::put_org))
        .routes(routes!(retention::preview_org))
        .routes(routes!(retention::run_org))
        .routes(routes!(
            webhooks::list_container,
            webhooks::create_container
        ))
        .routes(routes!(webhooks::delete_container))
        .routes(routes!(webhooks::deliveries_container))
        .routes(routes!(webhooks::resend_container))
        .routes(routes!(webhooks::test_container))
        .routes(routes!(webhooks::list_org, webhooks::create_org))
        .routes(routes!(webhooks::delete_org))
        .routes(routes!(webhooks::deliveries_org))
        .routes(routes!(webhooks::resend_org))
        .routes(routes!(webhooks::test_org))
        .routes(routes!(webhooks::list_admin, webhooks::create_admin))
        .routes(routes!(webhooks::delete_admin))
        .routes(routes!(webhooks::deliveries_admin))
        .routes(routes!(webhooks::resend_admin))
        .routes(routes!(webhooks::test_admin))
        .routes(routes!(orgs::list, orgs::create))
        .routes(routes!(orgs::one, orgs::update, orgs::delete))
        .routes(routes!(orgs::member, orgs::set_member, orgs::remove_member))
        .routes(routes!(orgs::teams, orgs::create_team))
        .routes(routes!(orgs::update_team, orgs::delete_team))
        .routes(routes!(orgs::add_team_member, orgs::remove_team_member))
        .routes(routes!(
            orgs::set_team_repository,
            orgs::remove_team_repository
        ))
        .routes(routes!(robots::list_mine, robots::create_mine))
        .routes(routes!(robots::update_mine, robots::delete_mine))
        .routes(routes!(robots::new_token_mine))
        .routes(routes!(robots::list_org, robots::create_org))
        .routes(routes!(robots::update_org, robots::delete_org))
        .routes(routes!(robots::new_token_org))
        .routes(routes!(containers::tags))
        .routes(routes!(manage::delete_tag, tag_policy::update_tag))
        .routes(routes!(triggers::list, triggers::create))
        .routes(routes!(triggers::delete))
        .routes(routes!(triggers::decisions))
        .routes(routes!(triggers::hook))
        .routes(routes!(builds::build_git))
        .routes(routes!(builds::build_tag))
        .routes(routes!(builds::list))
        .routes(routes!(builds::one))
        .routes(routes!(build_log::page))
        .routes(routes!(build_log::download))
        .routes(routes!(builds::cancel))
        .routes(routes!(build_events::events))
        .routes(routes!(token::get_token, token::post_token))
        .routes(events::route())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::metrics))
}
