//! `bioshadock openapi`: prints the OpenAPI document generated from the handlers.

use std::io::Write;

pub fn run() -> anyhow::Result<()> {
    std::io::stdout().write_all(bioshadock_web::openapi::document_json().as_bytes())?;
    Ok(())
}
