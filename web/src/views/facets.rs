//! Facet counts as the API and the search page show them: each value with a label a person
//! can read (EDAM terms by their EDAM label, time windows in words).

use bioshadock_core::edam::Edam;
use bioshadock_core::query::{Facet, FacetCounts, Within};
use serde::Serialize;
use utoipa::ToSchema;

/// One value of a facet.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FacetValueView {
    /// What a filter names: an EDAM id, a namespace, a licence, `yes`/`no`, a window.
    #[schema(example = "topic_0080")]
    pub id: String,
    #[schema(example = "Sequence analysis")]
    pub label: String,
    /// Hits the caller may see that carry this value.
    pub count: u64,
}

/// The facets asked for with `facets=`, each most frequent first (at most 20 values); the
/// `updated` windows are cumulative and listed shortest first.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct FacetsView {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<Vec<FacetValueView>>,
    /// EDAM topics as annotated (a `topic:` filter also finds the terms below).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<Vec<FacetValueView>>,
    /// EDAM operations as annotated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<Vec<FacetValueView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license: Option<Vec<FacetValueView>>,
    /// `yes`: built by the builder from a git repository or a Dockerfile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub automated: Option<Vec<FacetValueView>>,
    /// `day`, `week`, `month` (30 days), `year`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated: Option<Vec<FacetValueView>>,
}

impl FacetsView {
    pub fn new(counts: &[FacetCounts]) -> Self {
        let mut view = Self::default();
        for counted in counts {
            let values = facet_values(counted);
            let slot = match counted.facet {
                Facet::Namespace => &mut view.namespace,
                Facet::Topic => &mut view.topic,
                Facet::Operation => &mut view.operation,
                Facet::License => &mut view.license,
                Facet::Automated => &mut view.automated,
                Facet::Updated => &mut view.updated,
            };
            *slot = Some(values);
        }
        view
    }
}

/// The values of one facet, labelled.
pub fn facet_values(counted: &FacetCounts) -> Vec<FacetValueView> {
    counted
        .values
        .iter()
        .map(|v| FacetValueView {
            label: facet_label(counted.facet, &v.value),
            id: v.value.clone(),
            count: v.count,
        })
        .collect()
}

/// How a value reads: EDAM terms by label, windows and `yes`/`no` in words.
pub fn facet_label(facet: Facet, value: &str) -> String {
    match facet {
        Facet::Topic | Facet::Operation => Edam::get()
            .term(value)
            .map_or_else(|| value.to_owned(), |t| t.label.clone()),
        Facet::Updated => value
            .parse::<Within>()
            .map_or_else(|_| value.to_owned(), |w| w.label().to_owned()),
        Facet::Automated => match value {
            "yes" => "Automated builds".to_owned(),
            _ => "Pushed images".to_owned(),
        },
        Facet::Namespace | Facet::License => value.to_owned(),
    }
}
