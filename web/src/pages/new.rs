//! The new-container form.

use askama::Template;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::viewer::{Nav, Viewer, login_redirect};
use super::{PageError, render};
use crate::services::containers::{self, NewContainer};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "new.html")]
struct NewPage {
    nav: Nav,
    csrf: String,
    namespaces: Vec<String>,
    form: NewForm,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct NewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    git: String,
    #[serde(default)]
    dockerfile: String,
    #[serde(default)]
    visibility: String,
}

pub async fn form(State(state): State<AppState>, viewer: Viewer) -> Result<Response, PageError> {
    if viewer.signed_in().is_none() {
        return Ok(login_redirect("/new"));
    }
    let form = NewForm {
        visibility: if state.settings.default_public {
            "public"
        } else {
            "private"
        }
        .into(),
        ..NewForm::default()
    };
    Ok(render(StatusCode::OK, &new_page(&viewer, form, None)))
}

pub async fn submit(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<NewForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf).await?;
    if viewer.signed_in().is_none() {
        return Ok(login_redirect("/new"));
    }
    let input = NewContainer {
        name: format!("{}/{}", form.namespace.trim(), form.name.trim()),
        description: form.description.clone(),
        // Pasted URLs often carry a trailing space; the service takes sources as given.
        git: Some(form.git.trim().to_owned()),
        dockerfile: Some(form.dockerfile.clone()),
        descriptor: None,
        visible: Some(form.visibility != "private"),
    };
    match containers::create(&state, &viewer.principal, input).await {
        Ok(container) => Ok(Redirect::to(&format!("/r/{}", container.id)).into_response()),
        Err(e) if e.status.is_client_error() => {
            let status = e.status;
            Ok(render(status, &new_page(&viewer, form, Some(e.message))))
        }
        Err(e) => Err(PageError(e)),
    }
}

fn new_page(viewer: &Viewer, form: NewForm, error: Option<String>) -> NewPage {
    let mut namespaces: Vec<String> = viewer.nav.user.iter().cloned().collect();
    if viewer.principal.may_create_in("library").is_ok() {
        namespaces.push("library".into());
    }
    NewPage {
        nav: viewer.nav.clone(),
        csrf: viewer.nav.csrf.clone(),
        namespaces,
        form,
        error,
    }
}
