//! End-to-end tests of the `bioshadock` binary: real processes, real HTTP, real Chromium.

mod support;

mod big_logs;
mod browser;
mod builds;
mod cli;
mod compose;
mod distributed;
mod docker_search;
mod front;
mod gitd;
mod imports;
mod openapi_conformance;
mod openid;
mod orgs;
mod registry;
mod registry_gc;
mod restart;
mod retention;
mod secrets;
mod sign_in;
mod throttle;
mod trs;
mod users;
mod webhooks;
