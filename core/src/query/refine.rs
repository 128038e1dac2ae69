//! What a search asks for besides its matches: the order of the hits, the facets to count,
//! and the time windows of the "updated within" filter and facet.

use std::fmt;
use std::str::FromStr;

/// The most values returned per facet, most frequent first.
pub const FACET_SIZE: usize = 20;

/// The order of the hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// Best match first, then newest; without free text, the same as [`Sort::Updated`].
    #[default]
    Relevance,
    /// Most pulled first, then newest.
    Pulls,
    /// Most recently updated first.
    Updated,
    /// By full id, `a` to `z`.
    Name,
}

impl Sort {
    pub const ALL: [Sort; 4] = [Sort::Relevance, Sort::Pulls, Sort::Updated, Sort::Name];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Relevance => "relevance",
            Self::Pulls => "pulls",
            Self::Updated => "updated",
            Self::Name => "name",
        }
    }
}

impl FromStr for Sort {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|sort| sort.as_str() == s)
            .ok_or_else(|| format!("unknown sort `{s}` (relevance, pulls, updated or name)"))
    }
}

/// A property whose values are counted over every hit the caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Facet {
    /// The user or organisation that holds the container.
    Namespace,
    /// EDAM topics as annotated (not their ancestors).
    Topic,
    /// EDAM operations as annotated.
    Operation,
    License,
    /// `yes` for containers the builder builds (a git source or a pasted Dockerfile).
    Automated,
    /// Cumulative windows: updated within a day, a week, a month, a year.
    Updated,
}

impl Facet {
    pub const ALL: [Facet; 6] = [
        Facet::Namespace,
        Facet::Topic,
        Facet::Operation,
        Facet::License,
        Facet::Automated,
        Facet::Updated,
    ];

    /// The facet's name in the API and its filter's name in the query language.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Namespace => "namespace",
            Self::Topic => "topic",
            Self::Operation => "operation",
            Self::License => "license",
            Self::Automated => "automated",
            Self::Updated => "updated",
        }
    }

    /// Parses a comma-separated list (`topic,license`; empty for none); repeats are kept once.
    pub fn parse_list(raw: &str) -> Result<Vec<Facet>, String> {
        let mut facets = Vec::new();
        if raw.is_empty() {
            return Ok(facets);
        }
        for item in raw.split(',') {
            let facet = item.parse()?;
            if !facets.contains(&facet) {
                facets.push(facet);
            }
        }
        Ok(facets)
    }
}

impl FromStr for Facet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|facet| facet.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown facet `{s}` (namespace, topic, operation, license, automated or updated)"
                )
            })
    }
}

impl fmt::Display for Facet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One value of a facet and how many hits carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacetValue {
    pub value: String,
    pub count: u64,
}

/// The counted values of one facet: most frequent first, ties by value; at most
/// [`FACET_SIZE`]; values no hit carries are left out. The `updated` facet lists its windows
/// shortest first instead, each counted even when zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacetCounts {
    pub facet: Facet,
    pub values: Vec<FacetValue>,
}

impl FacetCounts {
    /// Orders and cuts raw bucket counts the way every backend must return them.
    pub fn ranked(facet: Facet, mut values: Vec<FacetValue>) -> Self {
        if facet == Facet::Updated {
            values.sort_by_key(|v| Within::ALL.iter().position(|w| w.as_str() == v.value));
        } else {
            values.retain(|v| v.count > 0);
            values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
            values.truncate(FACET_SIZE);
        }
        Self { facet, values }
    }
}

/// A window of the `updated:` filter and facet, counted back from now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Within {
    Day,
    Week,
    Month,
    Year,
}

impl Within {
    pub const ALL: [Within; 4] = [Within::Day, Within::Week, Within::Month, Within::Year];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
            Self::Year => "year",
        }
    }

    /// How the search page names the window.
    pub fn label(self) -> &'static str {
        match self {
            Self::Day => "Past day",
            Self::Week => "Past week",
            Self::Month => "Past 30 days",
            Self::Year => "Past year",
        }
    }

    fn days(self) -> i64 {
        match self {
            Self::Day => 1,
            Self::Week => 7,
            Self::Month => 30,
            Self::Year => 365,
        }
    }

    /// The earliest `updated_at` (milliseconds since the epoch) inside the window ending at `now`.
    pub fn since_millis(self, now_millis: i64) -> i64 {
        now_millis.saturating_sub(self.days() * 24 * 60 * 60 * 1000)
    }
}

impl FromStr for Within {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|w| w.as_str() == s)
            .ok_or_else(|| format!("`updated:` takes day, week, month or year, not `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for sort in Sort::ALL {
            assert_eq!(sort.as_str().parse::<Sort>(), Ok(sort));
        }
        for facet in Facet::ALL {
            assert_eq!(facet.as_str().parse::<Facet>(), Ok(facet));
        }
        assert!("stars".parse::<Sort>().is_err());
        assert_eq!(
            Facet::parse_list("topic,license,topic"),
            Ok(vec![Facet::Topic, Facet::License])
        );
        assert_eq!(Facet::parse_list(""), Ok(Vec::new()));
        for bad in ["topic,colour", "topic,,license", " topic", "topic,"] {
            assert!(Facet::parse_list(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ranked_orders_by_count_then_value_and_cuts() {
        let values = (0..30)
            .map(|i| FacetValue {
                value: format!("v{i:02}"),
                count: (i % 3) as u64,
            })
            .collect();
        let ranked = FacetCounts::ranked(Facet::Namespace, values);
        assert_eq!(ranked.values.len(), FACET_SIZE);
        assert_eq!(ranked.values[0].value, "v02");
        assert!(ranked.values.iter().all(|v| v.count > 0));
        let updated = FacetCounts::ranked(
            Facet::Updated,
            ["year", "day", "month", "week"]
                .into_iter()
                .map(|w| FacetValue {
                    value: w.into(),
                    count: 0,
                })
                .collect(),
        );
        let order: Vec<&str> = updated.values.iter().map(|v| v.value.as_str()).collect();
        assert_eq!(order, ["day", "week", "month", "year"]);
    }

    #[test]
    fn windows_count_back_from_now() {
        assert_eq!(
            Within::Day.since_millis(100_000_000),
            100_000_000 - 86_400_000
        );
        assert_eq!(Within::Year.since_millis(0), -365 * 86_400_000);
    }
}
