//! Bioshadock's identity providers: adapters behind the sign-in port of
//! `bioshadock_core::ports::directory`, so the rest of the code sees a verified identity and
//! never an LDAP entry.

pub mod ldap;

pub mod oidc;
#[cfg(feature = "testing")]
pub mod testing;
