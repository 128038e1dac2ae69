//! Who a listing or search is for: decides which containers a reader may see.

/// The set of containers a reader may see. Every store and search backend filters by it, so a
/// private container cannot leak through a list, a search result, or a search total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// Anonymous readers: public containers only.
    Public,
    /// A signed-in user: public containers plus those [`Reader`] describes.
    User(Reader),
    /// Administrators and internal jobs (reindex, migration): everything.
    Everyone,
    /// A caller under access rules: the first rule whose names match a container decides
    /// whether it is shown; a container no rule matches is shown as to `base`.
    Ruled(Box<Ruled>),
}

/// See [`Audience::Ruled`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ruled {
    pub base: Audience,
    /// In order; never empty.
    pub rules: Vec<crate::rules::NameRule>,
}

/// The private containers a signed-in user may see besides the public ones: a container is
/// included when its owner or a member is `name`, when it lies in one of `namespaces` and is
/// not in `hidden`, or when it is one of `repositories`. The last three come from the user's
/// organisations (`core::permissions` builds them from the same standing it decides with).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reader {
    pub name: String,
    /// Namespaces (organisations) all of whose containers the user reads, sorted.
    pub namespaces: Vec<String>,
    /// Container ids in `namespaces` that a team override keeps from the user, sorted.
    pub hidden: Vec<String>,
    /// Container ids outside `namespaces` that a team grants the user, sorted.
    pub repositories: Vec<String>,
}

impl Reader {
    /// Whether the user reads more than their own and their memberships' containers.
    pub fn has_organisations(&self) -> bool {
        !self.namespaces.is_empty() || !self.repositories.is_empty()
    }
}

impl From<&str> for Reader {
    fn from(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            ..Self::default()
        }
    }
}

impl Audience {
    /// The user name whose own containers are included, if any.
    pub fn user(&self) -> Option<&str> {
        match self {
            Self::User(reader) => Some(&reader.name),
            _ => None,
        }
    }
}
