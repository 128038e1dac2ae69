//! The API and pages, driven in-process through the real router on the embedded backends.

mod support;

mod accounts;
mod catalogue;
mod errors;
mod holes;
mod keys;
mod openapi;
mod operations;
mod pages;
mod permissions;
mod search;
