//! Where an account's identity comes from: this portal's own password (`local`), the LDAP
//! directory (`ldap`), or an OpenID Connect provider (`oidc:ID`). The source decides how the
//! user signs in; a name taken by one source is never silently handed to another.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest provider id.
pub const MAX_PROVIDER_ID_LEN: usize = 32;

/// The id of an identity provider in the configuration (`[[auth.oidc]] id`): lowercase
/// letters, digits and `-`, so it fits a URL path and the `oidc:ID` source unescaped.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProviderId(String);

impl ProviderId {
    pub fn parse(input: &str) -> Result<Self, String> {
        let valid = !input.is_empty()
            && input.len() <= MAX_PROVIDER_ID_LEN
            && input
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if valid {
            Ok(Self(input.to_owned()))
        } else {
            Err(format!(
                "a provider id is 1 to {MAX_PROVIDER_ID_LEN} lowercase letters, digits or `-`"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who vouches for an account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum Source {
    /// A password kept (hashed) by this portal.
    #[default]
    Local,
    /// The LDAP directory: the password is checked by a bind, groups come from it.
    Ldap,
    /// An OpenID Connect provider, by its configured id.
    Oidc(ProviderId),
}

impl Source {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "local" => Ok(Self::Local),
            "ldap" => Ok(Self::Ldap),
            _ => match raw.strip_prefix("oidc:") {
                Some(id) => ProviderId::parse(id).map(Self::Oidc),
                None => Err(format!(
                    "`{raw}` is not an account source (local, ldap or oidc:ID)"
                )),
            },
        }
    }

    pub fn is_local(&self) -> bool {
        *self == Self::Local
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local => f.write_str("local"),
            Self::Ldap => f.write_str("ldap"),
            Self::Oidc(id) => write!(f, "oidc:{}", id.as_str()),
        }
    }
}

impl Serialize for Source {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_round_trip_through_their_names() {
        for raw in ["local", "ldap", "oidc:keycloak", "oidc:elixir-aai"] {
            assert_eq!(Source::parse(raw).unwrap().to_string(), raw);
        }
        for bad in ["", "LDAP", "oidc:", "oidc:Keycloak", "oidc:a/b", "github"] {
            assert!(Source::parse(bad).is_err(), "{bad}");
        }
        assert!(Source::parse(&format!("oidc:{}", "a".repeat(33))).is_err());
    }
}
