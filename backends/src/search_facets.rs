//! Facet counts, shared by both search backends: one aggregation request in the format both
//! tantivy and Elasticsearch read (terms and range aggregations), and one reader of the
//! answer, which both give in Elasticsearch's format. The aggregations run over the same
//! query as the hits, audience included, so a facet never counts what the caller may not see.
//!
//! The `updated` facet's windows are cumulative (a container updated today is also within the
//! week), but tantivy refuses overlapping ranges: the request asks for disjoint slices (the
//! past day, the rest of the week, …) and the reader adds them up.

use bioshadock_core::query::{FACET_SIZE, Facet, FacetCounts, FacetValue, Within};
use serde_json::{Map, Value, json};

/// The names of the index fields that hold each facet's values.
pub struct FacetFields {
    pub namespace: &'static str,
    pub topic: &'static str,
    pub operation: &'static str,
    pub license: &'static str,
    pub automated: &'static str,
    /// Milliseconds since the epoch.
    pub updated_at: &'static str,
}

impl FacetFields {
    fn of(&self, facet: Facet) -> &'static str {
        match facet {
            Facet::Namespace => self.namespace,
            Facet::Topic => self.topic,
            Facet::Operation => self.operation,
            Facet::License => self.license,
            Facet::Automated => self.automated,
            Facet::Updated => self.updated_at,
        }
    }
}

/// The aggregations for `facets`, named after them; `now_millis` ends the `updated` windows.
pub fn aggregations(facets: &[Facet], fields: &FacetFields, now_millis: i64) -> Value {
    let mut aggs = Map::new();
    for &facet in facets {
        let field = fields.of(facet);
        let agg = if facet == Facet::Updated {
            let mut ranges = Vec::with_capacity(Within::ALL.len());
            let mut to: Option<i64> = None;
            for window in Within::ALL {
                let from = window.since_millis(now_millis);
                let mut range = json!({"key": window.as_str(), "from": from});
                if let Some(to) = to {
                    range["to"] = json!(to);
                }
                ranges.push(range);
                to = Some(from);
            }
            json!({"range": {"field": field, "ranges": ranges}})
        } else {
            json!({"terms": {"field": field, "size": FACET_SIZE}})
        };
        aggs.insert(facet.as_str().to_owned(), agg);
    }
    Value::Object(aggs)
}

/// Reads the answer to [`aggregations`]; a facet missing from it counts nothing.
pub fn read(facets: &[Facet], answer: &Value) -> Vec<FacetCounts> {
    facets
        .iter()
        .map(|&facet| {
            let buckets = answer[facet.as_str()]["buckets"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            let count_of = |bucket: &Value| bucket["doc_count"].as_u64().unwrap_or(0);
            let values = if facet == Facet::Updated {
                let mut running = 0;
                Within::ALL
                    .iter()
                    .map(|window| {
                        running += buckets
                            .iter()
                            .filter(|b| b["key"].as_str() == Some(window.as_str()))
                            .map(count_of)
                            .sum::<u64>();
                        FacetValue {
                            value: window.as_str().to_owned(),
                            count: running,
                        }
                    })
                    .collect()
            } else {
                buckets
                    .iter()
                    .filter_map(|b| {
                        Some(FacetValue {
                            value: b["key"].as_str()?.to_owned(),
                            count: count_of(b),
                        })
                    })
                    .collect()
            };
            FacetCounts::ranked(facet, values)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: FacetFields = FacetFields {
        namespace: "ns",
        topic: "t",
        operation: "o",
        license: "l",
        automated: "a",
        updated_at: "u",
    };

    #[test]
    fn updated_windows_are_disjoint_slices_added_up() {
        let day = 86_400_000;
        let aggs = aggregations(&[Facet::Updated], &FIELDS, 400 * day);
        let ranges = aggs["updated"]["range"]["ranges"].as_array().unwrap();
        assert_eq!(ranges[0], json!({"key": "day", "from": 399 * day}));
        assert_eq!(
            ranges[1],
            json!({"key": "week", "from": 393 * day, "to": 399 * day})
        );
        let answer = json!({"updated": {"buckets": [
            {"key": "day", "doc_count": 1},
            {"key": "week", "doc_count": 2},
            {"key": "month", "doc_count": 0},
            {"key": "year", "doc_count": 4},
        ]}});
        let counts: Vec<u64> = read(&[Facet::Updated], &answer)[0]
            .values
            .iter()
            .map(|v| v.count)
            .collect();
        assert_eq!(counts, [1, 3, 3, 7]);
    }

    #[test]
    fn terms_are_read_ranked() {
        let answer = json!({"topic": {"buckets": [
            {"key": "topic_0091", "doc_count": 1},
            {"key": "topic_0080", "doc_count": 3},
        ]}});
        let read = read(&[Facet::Topic, Facet::License], &answer);
        assert_eq!(read[0].values[0].value, "topic_0080");
        assert!(read[1].values.is_empty(), "a missing facet counts nothing");
    }
}
