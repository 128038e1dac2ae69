//! Builds the configured backends. The one place that turns configuration into adapters.

use std::fs::{File, TryLockError};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;

use bioshadock_core::config::Config;
use bioshadock_core::ports::accounts::{KeyStore, UserStore};
use bioshadock_core::ports::builds::BuildStore;
use bioshadock_core::ports::coordination::Coordination;
use bioshadock_core::ports::events::EventStore;
use bioshadock_core::ports::log_wakeups::{LogWakeups, WakingBuildStore};
use bioshadock_core::ports::orgs::OrgStore;
use bioshadock_core::ports::queue::JobQueue;
use bioshadock_core::ports::robots::RobotStore;
use bioshadock_core::ports::rules::RuleStore;
use bioshadock_core::ports::search::SearchIndex;
use bioshadock_core::ports::store::ContainerStore;
use bioshadock_core::ports::triggers::TriggerStore;
use bioshadock_core::ports::webhooks::WebhookStore;
use bioshadock_core::{PortError, PortResult};
use sqlx::SqlitePool;
use tower_sessions::SessionStore;

use crate::memory_coordination::MemoryCoordination;
use crate::memory_wakeups::MemoryWakeups;
use crate::sqlite::{self, SqliteBuildStore, SqliteQueue, SqliteSessionStore, SqliteStore};
use crate::tantivy_search::TantivySearch;

/// The three ports (the store with its accounts half), the web session store and the web
/// processes' coordination, ready to use.
#[derive(Clone)]
pub struct Backends {
    pub store: Arc<dyn ContainerStore>,
    pub users: Arc<dyn UserStore>,
    pub keys: Arc<dyn KeyStore>,
    pub orgs: Arc<dyn OrgStore>,
    pub robots: Arc<dyn RobotStore>,
    /// The access rules (docker_auth ACL format).
    pub rules: Arc<dyn RuleStore>,
    /// The event stream: the audit log reads it, the webhooks follow it.
    pub events: Arc<dyn EventStore>,
    /// Outgoing webhooks: the hooks, their deliveries (the outbox) and the dispatcher's place.
    pub webhooks: Arc<dyn WebhookStore>,
    /// Push triggers and their decision log.
    pub triggers: Arc<dyn TriggerStore>,
    pub search: Arc<dyn SearchIndex>,
    pub queue: Arc<dyn JobQueue>,
    /// Build records and logs, on the same database as the queue whose job ids they share;
    /// every append, start and finish through it notifies `log_wakeups`.
    pub builds: Arc<dyn BuildStore>,
    /// Wake-ups of the live logs: in memory in embedded mode, Redis pub/sub in distributed mode.
    pub log_wakeups: Arc<dyn LogWakeups>,
    pub sessions: Arc<dyn SessionStore>,
    /// The web processes' shared state (login throttling, event dedupe, locks): in memory in
    /// embedded mode, on Redis in distributed mode.
    pub coordination: Arc<dyn Coordination>,
    /// What only the embedded backends have; `None` in distributed mode.
    embedded: Option<Embedded>,
}

/// The embedded backends' extras: the database to close and the `data_dir` lock.
#[derive(Clone)]
struct Embedded {
    /// The same store as `sessions`, kept concrete for the expiry sweep the trait lacks.
    session_store: SqliteSessionStore,
    /// The embedded database behind store, queue and sessions, kept to close it on shutdown.
    sqlite: SqlitePool,
    /// Held for the life of the process: the embedded backends belong to one process.
    _lock: Arc<File>,
}

impl Backends {
    /// Deletes expired web sessions and says how many (a periodic chore of the portal). Redis
    /// expires sessions by itself: nothing to do in distributed mode.
    pub async fn delete_expired_sessions(&self) -> PortResult<u64> {
        match &self.embedded {
            Some(embedded) => embedded.session_store.delete_expired().await,
            None => Ok(0),
        }
    }

    /// Whether these are the embedded backends, which belong to this process alone.
    pub fn is_embedded(&self) -> bool {
        self.embedded.is_some()
    }

    /// Flushes and closes what needs closing; call before the process exits.
    pub async fn close(&self) {
        if let Some(embedded) = &self.embedded {
            embedded.sqlite.close().await;
        }
    }
}

/// The accounts half of the store alone, for the `user` commands.
#[derive(Clone)]
pub struct Accounts {
    pub users: Arc<dyn UserStore>,
    pub keys: Arc<dyn KeyStore>,
    pub orgs: Arc<dyn OrgStore>,
    pub robots: Arc<dyn RobotStore>,
    /// The access rules (docker_auth ACL format).
    pub rules: Arc<dyn RuleStore>,
    /// The event stream (the audit log), for `bioshadock audit`.
    pub events: Arc<dyn EventStore>,
    pool: Option<SqlitePool>,
}

impl Accounts {
    /// Closes the database; call before the process exits.
    pub async fn close(&self) {
        if let Some(pool) = &self.pool {
            pool.close().await;
        }
    }
}

/// Opens the backends named in `config`: the embedded ones under `data_dir`, or MongoDB,
/// Elasticsearch and Redis (the configuration allows only these two combinations).
pub async fn open_backends(config: &Config) -> PortResult<Backends> {
    if config.is_distributed() {
        return external::open_backends(config).await;
    }
    crate::private_dir::make_private(&config.data_dir)?;
    let lock = lock_data_dir(&config.data_dir)?;
    crate::private_dir::create_private_file(&config.sqlite_path())?;
    let pool = sqlite::open(&config.sqlite_path()).await?;
    // Made private before tantivy creates it with the default mode.
    crate::private_dir::make_private(&config.index_dir())?;
    let search = TantivySearch::open(&config.index_dir())?;
    let store = Arc::new(SqliteStore::new(pool.clone()));
    let sessions = SqliteSessionStore::new(pool.clone());
    let log_wakeups: Arc<dyn LogWakeups> = Arc::new(MemoryWakeups::new());
    let builds = Arc::new(SqliteBuildStore::new(pool.clone()));
    Ok(Backends {
        store: store.clone(),
        users: store.clone(),
        keys: store.clone(),
        orgs: store.clone(),
        robots: store.clone(),
        rules: store.clone(),
        events: store.clone(),
        webhooks: store.clone(),
        triggers: store,
        search: Arc::new(search),
        queue: Arc::new(SqliteQueue::new(pool.clone())),
        builds: Arc::new(WakingBuildStore::new(builds, log_wakeups.clone())),
        log_wakeups,
        sessions: Arc::new(sessions.clone()),
        coordination: Arc::new(MemoryCoordination::new()),
        embedded: Some(Embedded {
            session_store: sessions,
            sqlite: pool,
            _lock: Arc::new(lock),
        }),
    })
}

/// Opens only the accounts (users and API keys) named in `config`, for the `user` commands.
///
/// Unlike [`open_backends`] this takes no `data_dir` lock and leaves the search index and the
/// queue alone, so it works while `bioshadock serve` runs on the same `data_dir`: SQLite in
/// WAL mode with a busy timeout lets two processes share the database file safely, and a
/// user or a key written here is seen by the server's next query.
pub async fn open_accounts(config: &Config) -> PortResult<Accounts> {
    if config.is_distributed() {
        return external::open_accounts(config).await;
    }
    crate::private_dir::make_private(&config.data_dir)?;
    crate::private_dir::create_private_file(&config.sqlite_path())?;
    let pool = sqlite::open(&config.sqlite_path()).await?;
    let store = Arc::new(SqliteStore::new(pool.clone()));
    Ok(Accounts {
        users: store.clone(),
        keys: store.clone(),
        orgs: store.clone(),
        robots: store.clone(),
        rules: store.clone(),
        events: store,
        pool: Some(pool),
    })
}

/// Distributed mode's backends: MongoDB (catalogue, accounts, builds), Elasticsearch (search)
/// and Redis (queue, web sessions, coordination), shared by every `web` and `builder` process.
#[cfg(feature = "external")]
mod external {
    use std::sync::Arc;

    use bioshadock_core::PortResult;
    use bioshadock_core::config::Config;

    use super::{Accounts, Backends};
    use crate::elastic::ElasticSearch;
    use crate::mongo::accounts::MongoAccounts;
    use crate::mongo::builds::MongoBuilds;
    use crate::mongo::events::MongoEvents;
    use crate::mongo::store::MongoStore;
    use crate::mongo::triggers::MongoTriggers;
    use crate::mongo::webhooks::MongoWebhooks;
    use bioshadock_core::ports::log_wakeups::{LogWakeups, WakingBuildStore};

    use crate::redis_backend::coordination::RedisCoordination;
    use crate::redis_backend::queue::RedisQueue;
    use crate::redis_backend::sessions::RedisSessionStore;
    use crate::redis_backend::wakeups::RedisWakeups;

    fn url(value: Option<&bioshadock_core::secret::Secret<String>>) -> &str {
        // The configuration requires the three URLs in distributed mode.
        value.map_or("", |v| v.expose().as_str())
    }

    pub async fn open_backends(config: &Config) -> PortResult<Backends> {
        let db = crate::mongo::open(url(config.storage.mongodb_url.as_ref())).await?;
        let store = MongoStore::new(db.clone());
        let accounts = Arc::new(MongoAccounts::new(db.clone()));
        let builds = MongoBuilds::new(db.clone());
        let events = MongoEvents::new(db.clone());
        let webhooks = MongoWebhooks::new(db.clone());
        let triggers = MongoTriggers::new(db);
        if config.storage.mongodb_create_indexes {
            store.ensure_indexes().await?;
            accounts.ensure_indexes().await?;
            builds.ensure_indexes().await?;
            events.ensure_indexes().await?;
            webhooks.ensure_indexes().await?;
            triggers.ensure_indexes().await?;
        }
        let search = ElasticSearch::open(
            url(config.search.elasticsearch_url.as_ref()),
            &config.search.elasticsearch_index,
        )
        .await?;
        let redis = crate::redis_backend::connect(url(config.queue.redis_url.as_ref())).await?;
        let prefix = config.queue.redis_prefix.clone();
        let log_wakeups: Arc<dyn LogWakeups> = Arc::new(
            RedisWakeups::start(url(config.queue.redis_url.as_ref()), redis.clone(), &prefix)
                .await?,
        );
        Ok(Backends {
            store: Arc::new(store),
            users: accounts.clone(),
            keys: accounts.clone(),
            orgs: accounts.clone(),
            robots: accounts.clone(),
            rules: accounts,
            events: Arc::new(events),
            webhooks: Arc::new(webhooks),
            triggers: Arc::new(triggers),
            search: Arc::new(search),
            queue: Arc::new(RedisQueue::new(redis.clone(), prefix.clone())),
            builds: Arc::new(WakingBuildStore::new(Arc::new(builds), log_wakeups.clone())),
            log_wakeups,
            sessions: Arc::new(RedisSessionStore::new(redis.clone(), prefix.clone())),
            coordination: Arc::new(RedisCoordination::new(redis, prefix)),
            embedded: None,
        })
    }

    pub async fn open_accounts(config: &Config) -> PortResult<Accounts> {
        let db = crate::mongo::open(url(config.storage.mongodb_url.as_ref())).await?;
        let accounts = Arc::new(MongoAccounts::new(db.clone()));
        let events = MongoEvents::new(db);
        if config.storage.mongodb_create_indexes {
            accounts.ensure_indexes().await?;
            events.ensure_indexes().await?;
        }
        Ok(Accounts {
            users: accounts.clone(),
            keys: accounts.clone(),
            orgs: accounts.clone(),
            robots: accounts.clone(),
            rules: accounts,
            events: Arc::new(events),
            pool: None,
        })
    }
}

/// Without the `external` feature, distributed mode is refused with the reason.
#[cfg(not(feature = "external"))]
mod external {
    use bioshadock_core::config::Config;
    use bioshadock_core::{PortError, PortResult};

    use super::{Accounts, Backends};

    fn missing() -> PortError {
        PortError::Unavailable(
            "this build of bioshadock has no MongoDB, Elasticsearch or Redis support \
             (built without the `external` feature)"
                .into(),
        )
    }

    pub async fn open_backends(_: &Config) -> PortResult<Backends> {
        Err(missing())
    }

    pub async fn open_accounts(_: &Config) -> PortResult<Accounts> {
        Err(missing())
    }
}

/// Takes an exclusive lock on `data_dir/.lock`. The embedded index and queue must not be shared
/// by two processes; the OS releases the lock when the process ends, however it ends.
fn lock_data_dir(data_dir: &Path) -> PortResult<File> {
    let path = data_dir.join(".lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| PortError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(PortError::Conflict(format!(
            "{} is in use by another bioshadock process",
            data_dir.display()
        ))),
        Err(TryLockError::Error(e)) => Err(PortError::Unavailable(format!(
            "cannot lock {}: {e}",
            path.display()
        ))),
    }
}
