//! The registry side: the token signing material and notification secret the portal uses, and
//! `bioshadock registry-config`, which prints a Distribution configuration wired to them.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use bioshadock_core::config::Config;
use bioshadock_core::secret::Secret;
use bioshadock_core::tokens::{
    CERTIFICATE_FILE, SigningMaterial, TokenIssuer, load_or_create_notification_secret,
};
use bioshadock_web::RegistryAuth;

/// The token issuer and notification secret for this configuration; the signing key and its
/// certificate are created under `data_dir` the first time, and never overwritten.
pub fn registry_auth(config: &Config) -> Result<RegistryAuth> {
    let tokens = token_issuer(config)?;
    if tokens.material().was_created() {
        tracing::info!(
            certificate = %config.secrets_dir().join(CERTIFICATE_FILE).display(),
            "created the registry token signing key and certificate; \
             `bioshadock registry-config` wires a registry to them"
        );
    }
    Ok(RegistryAuth {
        registry_url: config.registry.url.clone(),
        tokens,
        notification_secret: Secret::new(notification_secret(config)?),
    })
}

/// The token issuer of this configuration (the portal's token service, the builder's pushes),
/// on the signing key under `data_dir`, created the first time.
pub fn token_issuer(config: &Config) -> Result<TokenIssuer> {
    let material = SigningMaterial::load_or_create(&config.secrets_dir())
        .context("cannot load or create the registry token signing key")?;
    Ok(TokenIssuer::new(
        material,
        config.registry.issuer.clone(),
        config.registry.service.clone(),
        config.registry.token_kid,
        Duration::from_secs(config.registry.token_ttl_secs),
    ))
}

fn notification_secret(config: &Config) -> Result<String> {
    let configured = config.registry.notification_secret.expose().trim();
    if !configured.is_empty() {
        return Ok(configured.to_owned());
    }
    load_or_create_notification_secret(&config.secrets_dir())
        .context("cannot load or create the registry notification secret")
}

/// `registry-config [--listen ADDR] [--root DIR] [--notify-url URL]`: prints a Distribution
/// `config.yml`.
pub fn print_config(
    config: &Config,
    listen: Option<String>,
    root: Option<PathBuf>,
    notify_url: Option<&str>,
) -> Result<()> {
    if let Some(url) = notify_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        anyhow::bail!("--notify-url must be an http:// or https:// URL");
    }
    let auth = registry_auth(config)?;
    let listen = match listen {
        Some(listen) => listen,
        None => listen_of(&config.registry.url)?,
    };
    let root = absolute(&root.unwrap_or_else(|| config.data_dir.join("registry")))?;
    let certificate = absolute(&config.secrets_dir().join(CERTIFICATE_FILE))?;
    print!(
        "{}",
        render(
            config,
            &listen,
            &root,
            &certificate,
            auth.notification_secret.expose(),
            notify_url,
        )
    );
    Ok(())
}

/// `host:port` of `registry.url`, where the registry should listen by default.
fn listen_of(url: &str) -> Result<String> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        anyhow::bail!("`registry.url` has no host; pass --listen ADDR");
    }
    Ok(if authority.contains(':') {
        authority.to_owned()
    } else if url.starts_with("https://") {
        format!("{authority}:443")
    } else {
        format!("{authority}:80")
    })
}

pub(super) fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("cannot resolve {}", path.display()))
}

/// YAML strings are written double-quoted with JSON escaping, which YAML accepts.
fn quoted(value: &str) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

pub(super) fn render(
    config: &Config,
    listen: &str,
    root: &Path,
    certificate: &Path,
    secret: &str,
    notify_url: Option<&str>,
) -> String {
    let portal = config.web.public_url.trim_end_matches('/');
    // Clients follow the realm (the public URL); the registry itself may reach the portal
    // by another name (a compose service, a cluster-internal address).
    let notify = notify_url.map_or(portal, |url| url.trim_end_matches('/'));
    let mut out = String::new();
    let front = config.registry.front_listen.trim();
    let front_note = if front.is_empty() {
        String::new()
    } else {
        format!(
            "# Clients reach this registry through the portal's front at {front}\n\
             # (registry.front_listen): keep its own address (http.addr) private.\n"
        )
    };
    let _ = write!(
        out,
        "\
# Docker Distribution (registry 2.x) configuration generated by `bioshadock registry-config`.
# Start it with: docker-registry serve THIS_FILE   (or: registry serve THIS_FILE)
{front_note}version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: {root}
  # To keep images in S3 (or a compatible store) instead, replace `filesystem` with:
  # s3:
  #   region: us-east-1
  #   bucket: bioshadock-images
  #   accesskey: AKIA...
  #   secretkey: ...
  #   regionendpoint: https://s3.example.org   # for MinIO, Ceph and the like
  delete:
    # Deleting a tag or container in the portal deletes it here too.
    enabled: true
http:
  addr: {listen}
  headers:
    X-Content-Type-Options: [nosniff]
auth:
  token:
    # Clients get their tokens from the portal...
    realm: {realm}
    # ...which must agree with these (registry.service and registry.issuer)...
    service: {service}
    issuer: {issuer}
    # ...and signs them with the key of this certificate (read once, at start-up).
    rootcertbundle: {certificate}
notifications:
  endpoints:
    - name: bioshadock
      url: {events}
      headers:
        Authorization: [{authorization}]
      timeout: 5s
      threshold: 5
      backoff: 10s
      ignoredmediatypes:
        - application/octet-stream
",
        root = quoted(&root.display().to_string()),
        listen = quoted(listen),
        realm = quoted(&format!("{portal}/v2/token")),
        service = quoted(&config.registry.service),
        issuer = quoted(&config.registry.issuer),
        certificate = quoted(&certificate.display().to_string()),
        events = quoted(&format!("{notify}/registry/events")),
        authorization = quoted(&format!("Bearer {secret}")),
    );
    out
}

/// The lines `registry-gc` adds under `storage:` while it collects garbage: Distribution's
/// read-only mode, in which pulls keep working and pushes are refused, so that no upload can
/// reference a blob the collector is about to delete.
const READ_ONLY_BLOCK: &str = "\
  # Read-only while `bioshadock registry-gc` collects garbage; removed when it is done.
  maintenance:
    readonly:
      enabled: true
";

/// `yaml` (a configuration [`render`] wrote) without the read-only block, as `serve` wrote it:
/// also the way back from a run that was killed before it could restore the file.
pub(super) fn without_read_only(yaml: &str) -> String {
    yaml.replace(READ_ONLY_BLOCK, "")
}

/// `yaml` (a configuration [`render`] wrote) in read-only mode. The block goes right under the
/// top-level `storage:` key; the result is parsed back to be sure the registry will see it.
pub(super) fn read_only(yaml: &str) -> Result<String> {
    let normal = without_read_only(yaml);
    // A second `maintenance` key would make the file invalid, and merging is not worth it for
    // a file `serve` rewrites at every start.
    anyhow::ensure!(
        parse(&normal)?["storage"]["maintenance"].is_null(),
        "the registry configuration already has a `storage.maintenance` section of its own"
    );
    let (head, tail) = normal
        .split_once("\nstorage:\n")
        .context("the registry configuration has no top-level `storage:` section")?;
    let variant = format!("{head}\nstorage:\n{READ_ONLY_BLOCK}{tail}");
    anyhow::ensure!(
        is_read_only(&variant)?,
        "cannot put the registry configuration in read-only mode"
    );
    Ok(variant)
}

/// Whether `yaml` puts the registry in read-only mode (`storage.maintenance.readonly.enabled`).
pub(super) fn is_read_only(yaml: &str) -> Result<bool> {
    Ok(parse(yaml)?["storage"]["maintenance"]["readonly"]["enabled"].as_bool() == Some(true))
}

/// A registry configuration, parsed.
pub(super) fn parse(yaml: &str) -> Result<serde_yaml::Value> {
    serde_yaml::from_str(yaml).context("the registry configuration is not valid YAML")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_may_go_to_another_url_than_the_realm() {
        let config = Config::load(None).unwrap();
        let path = Path::new("/x");
        let own = render(&config, "127.0.0.1:5000", path, path, "s", None);
        assert!(own.contains("url: \"http://127.0.0.1:8080/registry/events\""));
        let other = render(
            &config,
            "0.0.0.0:5000",
            path,
            path,
            "s",
            Some("http://web:8080/"),
        );
        assert!(other.contains("url: \"http://web:8080/registry/events\""));
        assert!(other.contains("realm: \"http://127.0.0.1:8080/v2/token\""));
    }

    #[test]
    fn the_read_only_variant_parses_and_only_it_is_read_only() {
        let config = Config::load(None).unwrap();
        let path = Path::new("/srv/registry");
        let normal = render(&config, "127.0.0.1:5001", path, path, "s", None);
        assert!(!is_read_only(&normal).unwrap());

        let variant = read_only(&normal).unwrap();
        assert!(is_read_only(&variant).unwrap());
        // Everything else is as it was: same storage, same listener, deletes still enabled.
        let parsed: serde_yaml::Value = serde_yaml::from_str(&variant).unwrap();
        assert_eq!(
            parsed["storage"]["filesystem"]["rootdirectory"],
            "/srv/registry"
        );
        assert_eq!(parsed["storage"]["delete"]["enabled"], true);
        assert_eq!(parsed["http"]["addr"], "127.0.0.1:5001");
        assert_eq!(
            parsed["auth"],
            serde_yaml::from_str::<serde_yaml::Value>(&normal).unwrap()["auth"]
        );

        // Back to normal byte for byte, and read-only twice is read-only once.
        assert_eq!(without_read_only(&variant), normal);
        assert_eq!(read_only(&variant).unwrap(), variant);
    }

    #[test]
    fn a_configuration_without_storage_or_with_its_own_maintenance_is_refused() {
        assert!(read_only("version: 0.1\nhttp:\n  addr: x\n").is_err());
        let own =
            "version: 0.1\nstorage:\n  maintenance:\n    uploadpurging:\n      enabled: false\n";
        let error = read_only(own).unwrap_err().to_string();
        assert!(error.contains("maintenance"), "{error}");
    }

    #[test]
    fn listen_address_comes_from_the_registry_url() {
        assert_eq!(
            listen_of("http://127.0.0.1:5000").unwrap(),
            "127.0.0.1:5000"
        );
        assert_eq!(
            listen_of("https://registry.lab.org/").unwrap(),
            "registry.lab.org:443"
        );
        assert_eq!(
            listen_of("http://registry.lab.org").unwrap(),
            "registry.lab.org:80"
        );
    }
}
