//! A micro-cache for the hottest anonymous reads: the rendered catalogue page (first few
//! pages) and the JSON of `GET /container/latest` (by limit).
//!
//! Why: these two are what every visitor and most scripts ask for, the answer is the same for
//! every anonymous caller, and building it (a store query, decoding, rendering) costs far more
//! than sending it. Standard micro-caching: keeping a body for at most [`TTL`] (one second)
//! serves a burst of requests from one build, while bounding how stale an answer can be.
//!
//! Staleness is bounded differently by who wrote:
//! - writes made through this process (the portal and API, via `manage`, and the registry's
//!   notifications) call [`ReadCache::catalogue_changed`], which bumps a generation counter;
//!   an entry built in an older generation is never served again, so a caller who changes the
//!   catalogue sees the change on their next request;
//! - writes made by other processes (a seed, another server on the same database) are not
//!   seen here, and show up within [`TTL`].
//!
//! Only anonymous callers are served from here: a signed-in user or an API key sees private
//! containers, so their answers are built afresh every time. Handlers check the principal
//! before they ask; the cache itself knows nothing of users. Memory is bounded by
//! [`CAPACITY`] entries of at most a few hundred kilobytes each.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;

/// How long an entry is served, counted from when the read that built it began.
const TTL: Duration = Duration::from_secs(1);
/// Entries kept at most, over both kinds: the first pages and the usual limits fit.
const CAPACITY: usize = 12;
/// Catalogue pages worth caching; later ones are rarely asked for twice within a second.
const CATALOGUE_PAGES: u32 = 5;

/// What a cached body answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    /// The catalogue page (HTML) with this number, as an anonymous visitor sees it.
    CataloguePage(u32),
    /// `GET /container/latest?limit=` (JSON), for an anonymous caller.
    Latest(u32),
}

impl Key {
    /// The key of a catalogue page, or `None` when the page is not among the cached ones.
    pub(crate) fn catalogue_page(page: u32) -> Option<Self> {
        (1..=CATALOGUE_PAGES)
            .contains(&page)
            .then_some(Self::CataloguePage(page))
    }
}

struct Entry {
    key: Key,
    generation: u64,
    built_at: Instant,
    body: Bytes,
}

/// Recently built anonymous answers, dropped after [`TTL`] or when the catalogue changes.
#[derive(Default)]
pub(crate) struct ReadCache {
    /// Bumped by every change this process makes to the catalogue.
    generation: AtomicU64,
    entries: Mutex<Vec<Entry>>,
}

impl ReadCache {
    /// Says the catalogue has changed: every entry built so far is dropped. Call it after the
    /// store has the change (not before: a read racing the write could otherwise cache the
    /// old state under the new generation).
    pub fn catalogue_changed(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// The cached body for `key`, or the one `build` makes, which is then cached. An error
    /// from `build` is returned and nothing is cached.
    pub(crate) async fn get_or_build<E>(
        &self,
        key: Key,
        build: impl Future<Output = Result<Bytes, E>>,
    ) -> Result<Bytes, E> {
        // Read before building: a change that lands while building bumps the generation
        // past this one, and the entry is never served.
        let generation = self.generation.load(Ordering::SeqCst);
        let now = Instant::now();
        if let Some(body) = self.lookup(key, generation, now) {
            return Ok(body);
        }
        let body = build.await?;
        self.insert(Entry {
            key,
            generation,
            built_at: now,
            body: body.clone(),
        });
        Ok(body)
    }

    fn lookup(&self, key: Key, generation: u64, now: Instant) -> Option<Bytes> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .iter()
            .find(|e| e.key == key && e.fresh(generation, now))
            .map(|e| e.body.clone())
    }

    fn insert(&self, entry: Entry) {
        let now = Instant::now();
        let current = self.generation.load(Ordering::SeqCst);
        if !entry.fresh(current, now) {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|e| e.key != entry.key && e.fresh(current, now));
        if entries.len() >= CAPACITY
            && let Some(oldest) = entries
                .iter()
                .enumerate()
                .min_by_key(|(_, e)| e.built_at)
                .map(|(i, _)| i)
        {
            entries.swap_remove(oldest);
        }
        entries.push(entry);
    }
}

impl Entry {
    fn fresh(&self, generation: u64, now: Instant) -> bool {
        self.generation == generation && now.saturating_duration_since(self.built_at) < TTL
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(cache: &ReadCache, key: Key, body: &'static str) -> Bytes {
        cache
            .get_or_build(key, async {
                Ok::<_, ()>(Bytes::from_static(body.as_bytes()))
            })
            .await
            .expect("build")
    }

    #[tokio::test]
    async fn serves_an_entry_until_the_catalogue_changes() {
        let cache = ReadCache::default();
        let key = Key::Latest(20);
        assert_eq!(get(&cache, key, "first").await, "first");
        assert_eq!(get(&cache, key, "second").await, "first");
        assert_eq!(get(&cache, Key::Latest(5), "other").await, "other");
        cache.catalogue_changed();
        assert_eq!(get(&cache, key, "third").await, "third");
    }

    #[tokio::test]
    async fn a_change_during_a_build_keeps_its_result_out() {
        let cache = ReadCache::default();
        let key = Key::Latest(20);
        let body = cache
            .get_or_build(key, async {
                cache.catalogue_changed();
                Ok::<_, ()>(Bytes::from_static(b"built before the change"))
            })
            .await;
        assert_eq!(body, Ok(Bytes::from_static(b"built before the change")));
        assert_eq!(get(&cache, key, "after").await, "after");
    }

    #[tokio::test]
    async fn errors_are_not_cached_and_memory_is_bounded() {
        let cache = ReadCache::default();
        let key = Key::Latest(20);
        let failed = cache.get_or_build(key, async { Err::<Bytes, _>("down") });
        assert_eq!(failed.await, Err("down"));
        assert_eq!(get(&cache, key, "up").await, "up");
        for limit in 1..=100 {
            get(&cache, Key::Latest(limit), "body").await;
        }
        assert!(cache.entries.lock().unwrap().len() <= CAPACITY);
        assert_eq!(Key::catalogue_page(1), Some(Key::CataloguePage(1)));
        assert_eq!(Key::catalogue_page(CATALOGUE_PAGES + 1), None);
    }
}
