//! A real OpenLDAP directory for tests (feature `testing`): Debian's `slapd` started as a
//! child process on a free port, with its own database in a temporary directory, loaded
//! through `ldapadd` (so the `memberOf` overlay sees the groups), and changed through
//! `ldapmodify` and `ldapdelete` while the portal runs.
//!
//! The directory is `dc=example,dc=org` with `ou=people` and `ou=groups`; the admin is
//! `cn=admin,dc=example,dc=org` / `adminpw`. It is configured with `allow bind_anon_dn`, so
//! that a bind with a DN and an empty password *succeeds* here, as it does on servers that
//! allow unauthenticated binds: a sign-in that sent one would be let in, and tests prove ours
//! never does.

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The directory's base DN.
pub const BASE: &str = "dc=example,dc=org";
pub const ADMIN_DN: &str = "cn=admin,dc=example,dc=org";
pub const ADMIN_PASSWORD: &str = "adminpw";
pub const PEOPLE: &str = "ou=people,dc=example,dc=org";
pub const GROUPS: &str = "ou=groups,dc=example,dc=org";
/// The search account the portal binds as.
pub const SEARCH_DN: &str = "cn=portal,dc=example,dc=org";
pub const SEARCH_PASSWORD: &str = "portal-search-pw";

/// A running slapd; stopped (and its files removed) on drop.
pub struct Slapd {
    child: Option<Child>,
    dir: tempfile::TempDir,
    port: u16,
    /// The `ldaps://` port, when the directory speaks TLS.
    tls_port: Option<u16>,
}

/// Kills and reaps a fixture's server (an orphan would linger and hold its port).
fn stop_child(child: &mut Option<Child>) {
    if let Some(mut child) = child.take() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Slapd {
    /// Starts an empty directory (base, `ou=people`, `ou=groups`, the search account).
    pub fn start() -> Self {
        Self::start_with(false)
    }

    /// The same directory, also speaking TLS: StartTLS on its `ldap://` port and `ldaps://` on
    /// a second one, with a certificate for 127.0.0.1 signed by a CA of its own
    /// ([`Self::ca_file`]).
    pub fn start_with_tls() -> Self {
        Self::start_with(true)
    }

    fn start_with(tls: bool) -> Self {
        let dir = tempfile::TempDir::new().expect("a temporary directory");
        std::fs::create_dir(dir.path().join("db")).unwrap();
        let tls_config = if tls {
            write_certificates(dir.path());
            format!(
                "TLSCACertificateFile {d}/ca.pem\nTLSCertificateFile {d}/server.pem\n\
                 TLSCertificateKeyFile {d}/server.key\n",
                d = dir.path().display()
            )
        } else {
            String::new()
        };
        let config = format!(
            "include /etc/ldap/schema/core.schema\n\
             include /etc/ldap/schema/cosine.schema\n\
             include /etc/ldap/schema/inetorgperson.schema\n\
             include /etc/ldap/schema/nis.schema\n\
             {tls_config}\
             pidfile {dir}/slapd.pid\n\
             modulepath /usr/lib/ldap\n\
             moduleload back_mdb\n\
             moduleload memberof\n\
             allow bind_anon_dn\n\
             database mdb\n\
             maxsize 10485760\n\
             suffix \"{BASE}\"\n\
             rootdn \"{ADMIN_DN}\"\n\
             rootpw {ADMIN_PASSWORD}\n\
             directory {dir}/db\n\
             overlay memberof\n\
             access to attrs=userPassword by self write by anonymous auth by * none\n\
             access to * by * read\n",
            dir = dir.path().display()
        );
        std::fs::write(dir.path().join("slapd.conf"), config).unwrap();
        let mut slapd = Self {
            child: None,
            dir,
            port: free_port(),
            tls_port: tls.then(free_port),
        };
        slapd.spawn();
        slapd.add(&format!(
            "dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n\
             dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n\n\
             dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups\n\n\
             dn: {SEARCH_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n\
             cn: portal\nuserPassword: {}\n",
            hashed(SEARCH_PASSWORD)
        ));
        slapd
    }

    fn spawn(&mut self) {
        let mut listen = format!("ldap://127.0.0.1:{}/", self.port);
        if let Some(tls_port) = self.tls_port {
            listen.push_str(&format!(" ldaps://127.0.0.1:{tls_port}/"));
        }
        let child = Command::new("/usr/sbin/slapd")
            .args(["-d", "0", "-f"])
            .arg(self.dir.path().join("slapd.conf"))
            .arg("-h")
            .arg(listen)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("slapd runs (apt-get install slapd ldap-utils; scripts/test does it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.binds(ADMIN_DN, ADMIN_PASSWORD) {
                return;
            }
            assert!(Instant::now() < deadline, "slapd did not start in 10 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The `ldaps://` URL of a directory started with [`Self::start_with_tls`].
    pub fn ldaps_url(&self) -> String {
        format!(
            "ldaps://127.0.0.1:{}",
            self.tls_port.expect("started with TLS")
        )
    }

    /// The PEM file of the CA that signed the directory's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Adds the entries of an LDIF text.
    pub fn add(&self, ldif: &str) {
        self.ldap_tool("ldapadd", ldif);
    }

    /// Applies an LDIF change text (`changetype: modify` …).
    pub fn modify(&self, ldif: &str) {
        self.ldap_tool("ldapmodify", ldif);
    }

    /// Whether a simple bind as `dn` with `password` succeeds (`ldapwhoami`).
    pub fn binds(&self, dn: &str, password: &str) -> bool {
        self.as_user("ldapwhoami", dn, password)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// An ldap-utils `tool` against this directory, bound as `dn`.
    fn as_user(&self, tool: &str, dn: &str, password: &str) -> Command {
        let mut command = Command::new(tool);
        command.args(["-x", "-H", &self.url(), "-D", dn, "-w", password]);
        command
    }

    fn as_admin(&self, tool: &str) -> Command {
        self.as_user(tool, ADMIN_DN, ADMIN_PASSWORD)
    }

    /// Deletes one entry.
    pub fn delete(&self, dn: &str) {
        let status = self.as_admin("ldapdelete").arg(dn).status().unwrap();
        assert!(status.success(), "ldapdelete {dn}");
    }

    /// Adds a person `uid` under `ou=people` with this password and e-mail address.
    pub fn add_user(&self, uid: &str, password: &str) {
        self.add(&format!(
            "dn: uid={uid},{PEOPLE}\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\n\
             uid: {uid}\ncn: {uid}\nsn: {uid}\nmail: {uid}@example.org\n\
             uidNumber: 10000\ngidNumber: 10000\nhomeDirectory: /home/{uid}\n\
             userPassword: {}\n",
            hashed(password)
        ));
    }

    /// Adds a `groupOfNames` `cn` under `ou=groups` with these member uids, and the search
    /// account as a member too (the schema wants at least one member, so that the people can
    /// all be taken out later).
    pub fn add_group_of_names(&self, cn: &str, member_uids: &[&str]) {
        let members: String = member_uids
            .iter()
            .map(|uid| format!("member: {}\n", user_dn(uid)))
            .chain(std::iter::once(format!("member: {SEARCH_DN}\n")))
            .collect();
        self.add(&format!(
            "dn: cn={cn},{GROUPS}\nobjectClass: groupOfNames\ncn: {cn}\n{members}"
        ));
    }

    /// Adds a `posixGroup` `cn` under `ou=groups` with these `memberUid`s.
    pub fn add_posix_group(&self, cn: &str, member_uids: &[&str]) {
        let members: String = member_uids
            .iter()
            .map(|uid| format!("memberUid: {uid}\n"))
            .collect();
        self.add(&format!(
            "dn: cn={cn},{GROUPS}\nobjectClass: posixGroup\ncn: {cn}\ngidNumber: 20000\n{members}"
        ));
    }

    /// Adds (`true`) or removes a `groupOfNames` member.
    pub fn set_group_member(&self, cn: &str, uid: &str, present: bool) {
        let op = if present { "add" } else { "delete" };
        self.modify(&format!(
            "dn: cn={cn},{GROUPS}\nchangetype: modify\n{op}: member\nmember: {}\n",
            user_dn(uid)
        ));
    }

    /// Stops the server (a directory that went down); [`Self::restart`] brings it back.
    pub fn stop(&mut self) {
        stop_child(&mut self.child);
    }

    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    fn ldap_tool(&self, tool: &str, ldif: &str) {
        let mut child = self
            .as_admin(tool)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{tool} runs: {e}"));
        child
            .stdin
            .take()
            .unwrap()
            .write_all(ldif.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{tool} failed: {}\n{ldif}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// The data directory (for a test that wants to look at it).
    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Writes `ca.pem`, and `server.pem` + `server.key` (for 127.0.0.1, signed by that CA), into
/// `dir`.
fn write_certificates(dir: &std::path::Path) {
    let (ca, ca_key) = certificate_authority("Bioshadock test directory CA");
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "127.0.0.1");
    let issuer = rcgen::Issuer::new(ca.clone(), &ca_key);
    let server = params.signed_by(&key, &issuer).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.self_signed(&ca_key).unwrap().pem()).unwrap();
    std::fs::write(dir.join("server.pem"), server.pem()).unwrap();
    std::fs::write(dir.join("server.key"), key.serialize_pem()).unwrap();
}

fn certificate_authority(name: &str) -> (rcgen::CertificateParams, rcgen::KeyPair) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    (params, key)
}

/// Writes the certificate of a CA that signed nothing into `path` (to show that a directory's
/// certificate is checked against the configured roots).
pub fn write_unrelated_ca(path: &std::path::Path) {
    let (params, key) = certificate_authority("Some other CA");
    std::fs::write(path, params.self_signed(&key).unwrap().pem()).unwrap();
}

/// The DN of person `uid`.
pub fn user_dn(uid: &str) -> String {
    format!("uid={uid},{PEOPLE}")
}

/// The DN of group `cn`.
pub fn group_dn(cn: &str) -> String {
    format!("cn={cn},{GROUPS}")
}

/// `{SSHA}` of `password`, as `slappasswd` writes it.
fn hashed(password: &str) -> String {
    let output = Command::new("slappasswd")
        .args(["-s", password])
        .output()
        .expect("slappasswd runs");
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// Where `scripts/test` installs the npm package `oidc-provider` (its `node_modules`).
pub const OIDC_PROVIDER_DIR: &str = "/opt/bioshadock-oidc";
/// The test provider's client.
pub const OIDC_CLIENT_ID: &str = "testclient";
pub const OIDC_CLIENT_SECRET: &str = "testsecret";

/// How an [`OidcTestProvider`] misbehaves, when asked to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    None,
    /// Every ID token's signature has a byte changed on its way out.
    IdTokenSignature,
    /// ID tokens live 1 s and are answered 2.5 s late: expired on arrival.
    ExpiredIdToken,
}

/// A real OpenID Connect provider (the npm package `oidc-provider`, on Node), on a free port;
/// stopped on drop. Its login page accepts any password and takes the login as the account.
pub struct OidcTestProvider {
    child: Option<Child>,
    dir: tempfile::TempDir,
    port: u16,
    env: Vec<(String, String)>,
}

impl OidcTestProvider {
    /// Starts a provider whose client `testclient` may return to `redirect_uris`, knowing
    /// `accounts` (a JSON object: account id → claims such as `preferred_username`, `email`,
    /// `email_verified`, `groups`).
    pub fn start(
        redirect_uris: &[String],
        accounts: &serde_json::Value,
        access_token_ttl_secs: u64,
        tamper: Tamper,
    ) -> Self {
        let dir = tempfile::TempDir::new().unwrap();
        std::fs::write(
            dir.path().join("provider.mjs"),
            include_str!("oidc_provider.mjs").replace(
                "from 'oidc-provider'",
                &format!("from '{OIDC_PROVIDER_DIR}/node_modules/oidc-provider/lib/index.js'"),
            ),
        )
        .unwrap();
        let port = free_port();
        let mut env = vec![
            ("OIDC_PORT".to_owned(), port.to_string()),
            (
                "OIDC_REDIRECT_URIS".to_owned(),
                serde_json::to_string(redirect_uris).unwrap(),
            ),
            ("OIDC_ACCOUNTS".to_owned(), accounts.to_string()),
            (
                "OIDC_ACCESS_TOKEN_TTL".to_owned(),
                access_token_ttl_secs.to_string(),
            ),
        ];
        match tamper {
            Tamper::None => {}
            Tamper::IdTokenSignature => {
                env.push(("OIDC_TAMPER".to_owned(), "id_token_signature".to_owned()))
            }
            Tamper::ExpiredIdToken => {
                env.push(("OIDC_TAMPER".to_owned(), "expired_id_token".to_owned()))
            }
        }
        let mut provider = Self {
            child: None,
            dir,
            port,
            env,
        };
        provider.spawn();
        provider
    }

    fn spawn(&mut self) {
        let child = Command::new("node")
            .arg(self.dir.path().join("provider.mjs"))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs (scripts/test installs oidc-provider)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if discovery_answers(self.port) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the OpenID Connect test provider did not start in 15 s");
    }

    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the provider (a provider that is down); [`Self::restart`] brings it back.
    pub fn stop(&mut self) {
        stop_child(&mut self.child);
    }

    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

/// Whether `GET /.well-known/openid-configuration` on `port` answers 200 (plain HTTP/1.0 on a
/// socket: the fixture needs no HTTP client).
fn discovery_answers(port: u16) -> bool {
    use std::io::Read;
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = "GET /.well-known/openid-configuration HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.ends_with(b"200")
}

impl Drop for OidcTestProvider {
    fn drop(&mut self) {
        self.stop();
    }
}
