//! Who is calling: API keys (`?apikey=`, `Authorization: Bearer`, Basic `user:KEY`) for
//! scripts, the session cookie for browsers. The [`Caller`] extractor turns either into a
//! [`Principal`], and every handler asks `bioshadock_core::permissions` what it may do.

mod caller;
mod cookies;
pub(crate) mod csrf;
pub(crate) mod directory;
mod keys;
pub(crate) mod login_csrf;
pub(crate) mod oidc_flow;
pub(crate) mod openid;
mod origin;
pub(crate) mod password_check;
mod purpose_key;
pub(crate) mod redirect;
mod robots;
pub(crate) mod rules;
pub(crate) mod session;
mod standing;
pub(crate) mod throttle;

pub(crate) use caller::{
    Caller, KeyCaller, client_ip, decode_basic, session_principal, session_unavailable,
};
pub use directory::DirectorySignIn;
pub(crate) use keys::{KeyCache, Presented, authenticate_key};
pub use openid::OpenIdSignIn;
pub(crate) use robots::{authenticate_robot, is_robot_name};
pub(crate) use standing::with_memberships;

/// The credentials of an `Authorization: Bearer CREDENTIALS` value (the scheme in any case,
/// surrounding spaces dropped); `None` for another scheme or no credentials.
pub(crate) fn bearer_credentials(value: &str) -> Option<&str> {
    value
        .trim()
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, credentials)| credentials.trim())
}
