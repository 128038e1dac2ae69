//! The API and pages, driven in-process through the real router on the embedded backends.

mod support;

mod access_rules;
mod accounts;
mod audit;
mod bio_search;
mod bodies;
mod build_pages;
mod builds;
mod cache;
mod catalogue;
mod cross_site;
mod deletion;
mod errors;
mod events;
mod holes;
mod keys;
mod ldap;
mod live_log;
mod openapi;
mod operations;
mod org_pages;
mod orgs;
mod pages;
mod permissions;
mod private_installation;
mod registry_admin;
mod retention;
mod robots;
mod search;
mod storage;
mod tag_policies;
mod token;
mod tool_card;
mod trs;
mod webhooks;
