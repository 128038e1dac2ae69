//! Who a listing or search is for: decides which containers a reader may see.

/// The set of containers a reader may see. Every store and search backend filters by it, so a
/// private container cannot leak through a list, a search result, or a search total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// Anonymous readers: public containers only.
    Public,
    /// A signed-in user: public containers plus those they own or are a member of.
    User(String),
    /// Administrators and internal jobs (reindex, migration): everything.
    Everyone,
}

impl Audience {
    /// The user name whose own containers are included, if any.
    pub fn user(&self) -> Option<&str> {
        match self {
            Self::User(name) => Some(name),
            _ => None,
        }
    }
}
