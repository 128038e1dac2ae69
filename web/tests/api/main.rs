//! The API and pages, driven in-process through the real router on the embedded backends.

mod support;

mod catalogue;
mod errors;
mod openapi;
mod operations;
mod pages;
mod search;
