// figment's `Jail` closures must return its (large) error type; that is its API, not our choice.
#![allow(clippy::result_large_err)]

use figment::Jail;

use super::*;

fn load_in_jail(file: Option<&str>) -> Result<Config, ConfigError> {
    Config::from_figment(Config::figment(file.map(Path::new)))
}

#[test]
fn defaults_are_the_documented_ones() {
    Jail::expect_with(|_| {
        let c = load_in_jail(None).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("data"));
        assert_eq!(c.web.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.web.public_url, "http://127.0.0.1:8080");
        assert_eq!(c.registry.url, "http://127.0.0.1:5000");
        assert_eq!(c.registry.service, "bioshadock-registry");
        assert_eq!(c.registry.issuer, "bioshadock");
        assert_eq!(c.pull_host(), "127.0.0.1:5000");
        assert_eq!(c.storage.backend, StorageBackend::Embedded);
        assert_eq!(c.search.backend, SearchBackend::Embedded);
        assert_eq!(c.queue.backend, QueueBackend::Embedded);
        assert_eq!(c.builder.concurrency, 1);
        assert_eq!(c.builder.timeout_secs, 3600);
        assert_eq!(c.registry.sync_interval_secs, 300);
        assert_eq!(c.audit.retention_days, 365);
        assert_eq!(c.retention.interval_secs, 3600);
        assert!(!c.webhooks.allow_private);
        Ok(())
    });
}

#[test]
fn a_file_overrides_defaults_and_env_overrides_the_file() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "site.toml",
            "data_dir = \"/srv/b\"\n[web]\nlisten = \"0.0.0.0:9000\"\npage_size = 50\n",
        )?;
        jail.set_env("BIOSHADOCK__WEB__LISTEN", "127.0.0.1:7000");
        jail.set_env("BIOSHADOCK__BUILDER__CONCURRENCY", "4");
        let c = load_in_jail(Some("site.toml")).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/srv/b"));
        assert_eq!(c.web.page_size, 50);
        assert_eq!(c.web.listen.to_string(), "127.0.0.1:7000");
        assert_eq!(c.builder.concurrency, 4);
        assert_eq!(
            c.registry.issuer, "bioshadock",
            "untouched keys keep their default"
        );
        Ok(())
    });
}

#[test]
fn unknown_keys_are_rejected_by_name() {
    Jail::expect_with(|jail| {
        jail.create_file("typo.toml", "[web]\nlisten_addr = \"0.0.0.0:1\"\n")?;
        let err = load_in_jail(Some("typo.toml")).unwrap_err().to_string();
        assert!(err.contains("listen_addr"), "{err}");
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.set_env("BIOSHADOCK__WEB__COLOUR", "blue");
        let err = load_in_jail(None).unwrap_err().to_string();
        assert!(err.contains("colour"), "{err}");
        Ok(())
    });
}

#[test]
fn bad_values_name_the_key() {
    Jail::expect_with(|jail| {
        jail.set_env("BIOSHADOCK__WEB__LISTEN", "not-an-address");
        let err = load_in_jail(None).unwrap_err().to_string().to_lowercase();
        assert!(err.contains("web.listen"), "{err}");
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.set_env("BIOSHADOCK__WEB__PAGE_SIZE", "0");
        let err = load_in_jail(None).unwrap_err().to_string();
        assert!(err.contains("web.page_size"), "{err}");
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.set_env("BIOSHADOCK__REGISTRY__URL", "ftp://x");
        let err = load_in_jail(None).unwrap_err().to_string();
        assert!(err.contains("registry.url"), "{err}");
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.set_env("BIOSHADOCK__REGISTRY__SYNC_INTERVAL_SECS", "5");
        let err = load_in_jail(None).unwrap_err().to_string();
        assert!(err.contains("registry.sync_interval_secs"), "{err}");
        jail.set_env("BIOSHADOCK__REGISTRY__SYNC_INTERVAL_SECS", "0");
        assert_eq!(load_in_jail(None).unwrap().registry.sync_interval_secs, 0);
        Ok(())
    });
}

#[test]
fn a_missing_config_file_is_an_error() {
    Jail::expect_with(|_| {
        assert!(load_in_jail(Some("nope.toml")).is_err());
        Ok(())
    });
}

#[test]
fn secrets_are_redacted_in_debug() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "s.toml",
            "[queue]\nbackend = \"embedded\"\nredis_url = \"redis://:hunter2@q/0\"\n",
        )?;
        let c = load_in_jail(Some("s.toml")).unwrap();
        let debug = format!("{c:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("redacted"));
        Ok(())
    });
}

#[test]
fn distributed_mode_takes_all_three_external_backends_with_their_urls() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "mixed.toml",
            "[storage]\nbackend = \"mongodb\"\nmongodb_url = \"mongodb://db/x\"\n",
        )?;
        let err = load_in_jail(Some("mixed.toml")).unwrap_err().to_string();
        assert!(err.contains("together"), "{err}");

        jail.create_file(
            "no-url.toml",
            "[storage]\nbackend = \"mongodb\"\nmongodb_url = \"mongodb://db/x\"\n\
             [search]\nbackend = \"elasticsearch\"\n\
             [queue]\nbackend = \"redis\"\nredis_url = \"redis://q/0\"\n",
        )?;
        let err = load_in_jail(Some("no-url.toml")).unwrap_err().to_string();
        assert!(err.contains("search.elasticsearch_url"), "{err}");

        jail.create_file(
            "full.toml",
            "[storage]\nbackend = \"mongodb\"\nmongodb_url = \"mongodb://db/x\"\n\
             [search]\nbackend = \"elasticsearch\"\nelasticsearch_url = \"http://es:9200\"\n\
             [queue]\nbackend = \"redis\"\nredis_url = \"redis://q/0\"\n",
        )?;
        let c = load_in_jail(Some("full.toml")).unwrap();
        assert!(c.is_distributed());
        assert_eq!(c.search.elasticsearch_index, "bioshadock-containers");
        assert_eq!(c.queue.redis_prefix, "bioshadock:");
        assert!(c.storage.mongodb_create_indexes);
        Ok(())
    });
}

#[test]
fn live_log_bounds_default_as_documented_and_refuse_out_of_range_values() {
    Jail::expect_with(|_| {
        let web = load_in_jail(None).unwrap().web;
        assert_eq!(
            (
                web.live_log_max_streams,
                web.live_log_max_streams_per_client,
                web.live_log_idle_secs,
                web.live_log_poll_secs
            ),
            (1000, 20, 300, 3)
        );
        Ok(())
    });
    for (key, bad, good) in [
        ("LIVE_LOG_MAX_STREAMS", "0", "100000"),
        ("LIVE_LOG_MAX_STREAMS_PER_CLIENT", "1001", "1000"),
        ("LIVE_LOG_IDLE_SECS", "0", "86400"),
        ("LIVE_LOG_POLL_SECS", "3601", "3600"),
    ] {
        Jail::expect_with(|jail| {
            let var = format!("BIOSHADOCK__WEB__{key}");
            jail.set_env(&var, bad);
            let err = load_in_jail(None).unwrap_err().to_string();
            assert!(
                err.contains(&format!("web.{}", key.to_lowercase())),
                "{err}"
            );
            jail.set_env(&var, good);
            assert!(load_in_jail(None).is_ok(), "{var}={good} is allowed");
            Ok(())
        });
    }
}

#[test]
fn ldap_sign_in_is_off_by_default_and_its_settings_are_checked_by_name() {
    Jail::expect_with(|jail| {
        let defaults = load_in_jail(None).unwrap();
        assert!(defaults.auth.ldap.is_none());
        assert!(defaults.auth.local_sign_in);

        jail.create_file(
            "ldap.toml",
            "[auth]\nlocal_sign_in = false\n\
             [auth.ldap]\nurl = \"ldaps://ldap.example.org\"\n\
             user_base_dn = \"ou=people,dc=example,dc=org\"\n\
             bind_password = \"search-hunter2\"\n\
             [[auth.ldap.team]]\ngroup = \"cn=genomics,ou=groups,dc=example,dc=org\"\nteam = \"lab/genomics\"\n",
        )?;
        let config = load_in_jail(Some("ldap.toml")).unwrap();
        let ldap = config.auth.ldap.as_ref().unwrap();
        assert!(!config.auth.local_sign_in);
        assert_eq!(ldap.user_filter, "(uid={username})", "documented default");
        assert_eq!(ldap.group_filter, "(|(member={dn})(memberUid={username}))");
        assert_eq!((ldap.recheck_secs, ldap.timeout_secs), (300, 5));
        assert_eq!(ldap.mapping().unwrap().teams[0].team.as_str(), "genomics");
        assert!(
            !format!("{config:?}").contains("search-hunter2"),
            "never in a log"
        );

        for (key, value, named) in [
            ("URL", "http://ldap.example.org", "auth.ldap.url"),
            ("USER_FILTER", "(uid=alice)", "auth.ldap.user_filter"),
            ("GROUP_FILTER", "member={dn}", "auth.ldap.group_filter"),
            (
                "USERNAME_ATTRIBUTE",
                "uid)(x",
                "auth.ldap.username_attribute",
            ),
            ("RECHECK_SECS", "1", "auth.ldap.recheck_secs"),
            ("TIMEOUT_SECS", "0", "auth.ldap.timeout_secs"),
            ("START_TLS", "true", "auth.ldap.start_tls"),
        ] {
            jail.set_env(format!("BIOSHADOCK__AUTH__LDAP__{key}"), value);
            let err = load_in_jail(Some("ldap.toml")).unwrap_err().to_string();
            assert!(err.contains(named), "{key}={value}: {err}");
            jail.clear_env();
        }
        jail.create_file(
            "bad-team.toml",
            "[auth.ldap]\nurl = \"ldap://x\"\nuser_base_dn = \"dc=x\"\n\
             [[auth.ldap.team]]\ngroup = \"cn=g\"\nteam = \"no-slash\"\n",
        )?;
        let err = load_in_jail(Some("bad-team.toml")).unwrap_err().to_string();
        assert!(err.contains("auth.ldap.team"), "{err}");
        Ok(())
    });
}

#[test]
fn openid_providers_are_checked_by_name() {
    Jail::expect_with(|jail| {
        let good = "[[auth.oidc]]\nid = \"uni\"\ndisplay_name = \"Uni Login\"\n\
                    issuer = \"https://login.uni.example\"\nclient_id = \"bioshadock\"\n\
                    client_secret = \"oidc-hunter2\"\n";
        jail.create_file("good.toml", good)?;
        let config = load_in_jail(Some("good.toml")).unwrap();
        let provider = &config.auth.oidc[0];
        assert_eq!(provider.scopes, ["openid", "profile", "email"]);
        assert_eq!(provider.username_claim, "preferred_username");
        assert!(
            !format!("{config:?}").contains("oidc-hunter2"),
            "never in a log"
        );

        for (bad, why) in [
            (
                good.replace("uni\"\ndisplay", "Uni Site\"\ndisplay"),
                "lowercase",
            ),
            (good.replace("https://login", "http://login"), "https://"),
            (
                good.replace("client_id = \"bioshadock\"", "client_id = \"\""),
                "client_id",
            ),
            (format!("{good}scopes = [\"profile\"]\n"), "openid"),
            (
                format!("{good}allowed_domains = [\"@uni.example\"]\n"),
                "allowed_domains",
            ),
            (
                format!("{good}{}", good.replace("Uni Login", "Again")),
                "two providers",
            ),
        ] {
            jail.create_file("bad.toml", &bad)?;
            let err = load_in_jail(Some("bad.toml")).unwrap_err().to_string();
            assert!(
                err.contains("auth.oidc") && err.contains(why),
                "{why}: {err}"
            );
        }
        // http:// is fine for a provider on this machine (a test, a tunnel).
        jail.create_file(
            "local.toml",
            &good.replace("https://login.uni.example", "http://127.0.0.1:9000"),
        )?;
        assert!(load_in_jail(Some("local.toml")).is_ok());
        Ok(())
    });
}

#[test]
fn the_front_and_the_spawned_registry_are_configured_by_key() {
    Jail::expect_with(|jail| {
        let c = load_in_jail(None).unwrap();
        assert_eq!(c.registry.spawn, Spawn::Auto);
        assert_eq!(c.registry.front_listen(), None);
        assert_eq!(c.registry.binary, "");
        for (value, spawn) in [
            ("true", Spawn::Always),
            ("false", Spawn::Never),
            ("auto", Spawn::Auto),
        ] {
            jail.set_env("BIOSHADOCK__REGISTRY__SPAWN", value);
            assert_eq!(load_in_jail(None).unwrap().registry.spawn, spawn, "{value}");
        }
        jail.create_file("spawn.toml", "[registry]\nspawn = false\n")?;
        jail.clear_env();
        assert_eq!(
            load_in_jail(Some("spawn.toml")).unwrap().registry.spawn,
            Spawn::Never
        );
        jail.set_env("BIOSHADOCK__REGISTRY__SPAWN", "sometimes");
        let err = load_in_jail(None).unwrap_err().to_string();
        assert!(err.to_lowercase().contains("registry.spawn"), "{err}");
        jail.clear_env();
        jail.set_env("BIOSHADOCK__REGISTRY__FRONT_LISTEN", "0.0.0.0:5000");
        let c = load_in_jail(None).unwrap();
        assert_eq!(
            c.registry.front_listen().unwrap().to_string(),
            "0.0.0.0:5000"
        );
        jail.set_env("BIOSHADOCK__WEB__PUBLIC_URL", "https://portal.lab.org/");
        // Users reach a front on every interface by the portal's name.
        assert_eq!(
            load_in_jail(None).unwrap().pull_host(),
            "portal.lab.org:5000"
        );
        jail.set_env("BIOSHADOCK__REGISTRY__FRONT_LISTEN", "127.0.0.1:5001");
        assert_eq!(load_in_jail(None).unwrap().pull_host(), "127.0.0.1:5001");
        jail.set_env("BIOSHADOCK__REGISTRY__PULL_HOST", "registry.lab.org");
        assert_eq!(load_in_jail(None).unwrap().pull_host(), "registry.lab.org");
        jail.set_env("BIOSHADOCK__REGISTRY__PULL_HOST", "");
        jail.set_env("BIOSHADOCK__REGISTRY__FRONT_LISTEN", "localhost");
        let err = load_in_jail(None).unwrap_err().to_string();
        assert!(err.contains("registry.front_listen"), "{err}");
        jail.set_env("BIOSHADOCK__REGISTRY__FRONT_LISTEN", "127.0.0.1:5000");
        jail.set_env("BIOSHADOCK__REGISTRY__URL", "https://registry.lab:5000");
        let err = load_in_jail(None).unwrap_err().to_string();
        assert!(err.contains("registry.url"), "{err}");
        Ok(())
    });
}
