// SPDX-License-Identifier: Apache-2.0
//! Command-line arguments, the optional TOML config file, and the resolved [`Settings`].
//!
//! Raw input ([`GatewayArgs`], [`FileConfig`]) is only parsed and validated here; nothing in
//! this module touches the filesystem except reading the config file itself.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Arguments of `lustrekit gateway` (and of the stand-alone `lk-gateway` binary).
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct GatewayArgs {
    /// Directory served: objects live at ROOT/ACCOUNT/CONTAINER/OBJECT.
    #[cfg_attr(feature = "cli", arg(long, value_name = "DIR"))]
    pub root: Option<PathBuf>,
    /// Address to listen on (loopback by default).
    #[cfg_attr(feature = "cli", arg(long, value_name = "ADDR"))]
    pub listen: Option<SocketAddr>,
    /// TOML config file with users, limits and options (command-line flags win).
    #[cfg_attr(feature = "cli", arg(long, value_name = "FILE"))]
    pub config: Option<PathBuf>,
    /// A tempauth user, ACCOUNT:USER:KEY[:admin]; repeatable.
    #[cfg_attr(
        feature = "cli",
        arg(long = "user", value_name = "ACCOUNT:USER:KEY[:admin]")
    )]
    pub users: Vec<String>,
    /// Where the listing index lives (default ROOT/.lustrekit-gateway).
    #[cfg_attr(feature = "cli", arg(long, value_name = "DIR"))]
    pub state_dir: Option<PathBuf>,
    /// Lifetime of tempauth tokens, in seconds (default 86400).
    #[cfg_attr(feature = "cli", arg(long, value_name = "SECS"))]
    pub token_ttl: Option<u64>,
    /// What to do when a file's xattrs cannot hold its metadata: keep it in the side store,
    /// or refuse the request with 507.
    #[cfg_attr(feature = "cli", arg(long, value_enum))]
    pub xattr_overflow: Option<XattrOverflow>,
    /// Base URL put in X-Storage-Url (default: http:// + the request's Host header).
    #[cfg_attr(feature = "cli", arg(long, value_name = "URL"))]
    pub public_url: Option<String>,
    /// Largest object accepted in one PUT, in bytes (default 5 GiB + 2, as Swift).
    #[cfg_attr(feature = "cli", arg(long, value_name = "BYTES"))]
    pub max_file_size: Option<u64>,
    /// Tokio worker threads (default: number of cores).
    #[cfg_attr(feature = "cli", arg(long, value_name = "N"))]
    pub workers: Option<usize>,
    /// Log filter, e.g. `info`, `lk_gateway=debug` (default `info`).
    #[cfg_attr(feature = "cli", arg(long, value_name = "FILTER"))]
    pub log: Option<String>,
    /// Skip the start-up reconciliation of index and tree.
    #[cfg_attr(feature = "cli", arg(long))]
    pub no_reconcile: bool,
    /// Seconds a client may leave a request body idle before the request fails with 408
    /// (Swift's client_timeout; default 60).
    #[cfg_attr(feature = "cli", arg(long, value_name = "SECS"))]
    pub client_timeout: Option<f64>,
    /// Requests with a body (uploads) handled at once; more are answered 503 (default 1024).
    #[cfg_attr(feature = "cli", arg(long, value_name = "N"))]
    pub max_uploads: Option<usize>,
    /// Uploads handled at once from one client address; more are answered 503 (default 128).
    #[cfg_attr(feature = "cli", arg(long, value_name = "N"))]
    pub max_uploads_per_client: Option<usize>,
    /// Threads for filesystem work (Tokio's blocking pool; default 512).
    #[cfg_attr(feature = "cli", arg(long, value_name = "N"))]
    pub blocking_threads: Option<usize>,
    /// A storage policy, NAME[:default,pool=P,stripe-count=N,stripe-size=S]; repeatable
    /// (default: the one policy `Policy-0`). On Lustre a policy's layout is set on the
    /// directories of the containers created in it.
    #[cfg_attr(feature = "cli", arg(long = "policy", value_name = "NAME[:OPTIONS]"))]
    pub policies: Vec<String>,
}

/// What happens when xattrs run out of room (ext4 holds ~4 KB per inode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum XattrOverflow {
    /// Keep the metadata in the side store (a table in the state database).
    #[default]
    SideStore,
    /// Answer 507 Insufficient Storage.
    Reject,
}

/// The TOML config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// See [`GatewayArgs::root`].
    pub root: Option<PathBuf>,
    /// See [`GatewayArgs::listen`].
    pub listen: Option<SocketAddr>,
    /// See [`GatewayArgs::state_dir`].
    pub state_dir: Option<PathBuf>,
    /// See [`GatewayArgs::token_ttl`].
    pub token_ttl: Option<u64>,
    /// See [`GatewayArgs::xattr_overflow`].
    pub xattr_overflow: Option<XattrOverflow>,
    /// See [`GatewayArgs::public_url`].
    pub public_url: Option<String>,
    /// See [`GatewayArgs::workers`].
    pub workers: Option<usize>,
    /// See [`GatewayArgs::client_timeout`].
    pub client_timeout: Option<f64>,
    /// See [`GatewayArgs::max_uploads`].
    pub max_uploads: Option<usize>,
    /// See [`GatewayArgs::max_uploads_per_client`].
    pub max_uploads_per_client: Option<usize>,
    /// See [`GatewayArgs::blocking_threads`].
    pub blocking_threads: Option<usize>,
    /// Users.
    #[serde(default)]
    pub users: Vec<FileUser>,
    /// Storage policies (`[[policies]]`: name, default, pool, stripe-count, stripe-size).
    #[serde(default)]
    pub policies: Vec<crate::policy::StoragePolicy>,
    /// Limit overrides.
    #[serde(default)]
    pub limits: Option<Limits>,
}

/// One user in the config file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileUser {
    /// Account (directory under the root).
    pub account: String,
    /// User name.
    pub user: String,
    /// Key (password).
    pub key: String,
    /// Account admin (tempauth `.admin`).
    #[serde(default)]
    pub admin: bool,
}

/// A tempauth user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Account name as on disk (without the `AUTH_` reseller prefix).
    pub account: String,
    /// User name.
    pub user: String,
    /// Key.
    pub key: String,
    /// Account admin: may do everything in the account; other users need container ACLs.
    pub admin: bool,
}

/// Swift's limits (defaults are Swift's `swift.conf` defaults).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest object in one PUT.
    pub max_file_size: u64,
    /// Longest metadata name (after the `X-*-Meta-` prefix).
    pub max_meta_name_length: usize,
    /// Longest metadata value.
    pub max_meta_value_length: usize,
    /// Most metadata items on one resource.
    pub max_meta_count: usize,
    /// Most metadata bytes (names + values) on one resource.
    pub max_meta_overall_size: usize,
    /// Longest single header line.
    pub max_header_size: usize,
    /// Longest object name in bytes.
    pub max_object_name_length: usize,
    /// Longest container name.
    pub max_container_name_length: usize,
    /// Longest account name (with prefix).
    pub max_account_name_length: usize,
    /// Largest container listing page.
    pub container_listing_limit: usize,
    /// Largest account listing page.
    pub account_listing_limit: usize,
    /// Most segments in an SLO manifest.
    pub max_manifest_segments: usize,
    /// Largest SLO manifest body.
    pub max_manifest_size: usize,
    /// Most names in one bulk delete.
    pub max_deletes_per_request: usize,
    /// Most segments a DLO may have.
    pub max_dlo_segments: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_size: 5_368_709_122,
            max_meta_name_length: 128,
            max_meta_value_length: 256,
            max_meta_count: 90,
            max_meta_overall_size: 4096,
            max_header_size: 8192,
            max_object_name_length: 1024,
            max_container_name_length: 256,
            max_account_name_length: 256,
            container_listing_limit: 10_000,
            account_listing_limit: 10_000,
            max_manifest_segments: 1000,
            max_manifest_size: 8 * 1024 * 1024,
            max_deletes_per_request: 10_000,
            max_dlo_segments: 10_000,
        }
    }
}

/// How much of the server slow or many clients may hold (not Swift limits: not in `/info`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLimits {
    /// Longest a request body may stay idle (no bytes arriving) before the request fails
    /// with 408 and its temp file is removed.
    pub client_timeout: Duration,
    /// Requests with a body handled at once.
    pub max_uploads: usize,
    /// Requests with a body handled at once from one client address.
    pub max_uploads_per_client: usize,
    /// Threads for blocking filesystem work.
    pub blocking_threads: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            client_timeout: Duration::from_secs(60),
            max_uploads: 1024,
            max_uploads_per_client: 128,
            blocking_threads: 512,
        }
    }
}

/// Fully resolved settings of one gateway.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Served directory.
    pub root: PathBuf,
    /// Listen address.
    pub listen: SocketAddr,
    /// Index location.
    pub state_dir: PathBuf,
    /// Token lifetime, seconds.
    pub token_ttl: u64,
    /// Overflow policy.
    pub xattr_overflow: XattrOverflow,
    /// X-Storage-Url base.
    pub public_url: Option<String>,
    /// Tokio workers.
    pub workers: Option<usize>,
    /// Log filter.
    pub log: String,
    /// Users.
    pub users: Vec<User>,
    /// Limits.
    pub limits: Limits,
    /// Reconcile index and tree on start.
    pub reconcile: bool,
    /// What clients may hold of the server.
    pub server: ServerLimits,
    /// Storage policies.
    pub policies: crate::policy::Policies,
}

/// The account reseller prefix of tempauth: account `test` is served at `/v1/AUTH_test`.
pub const RESELLER_PREFIX: &str = "AUTH_";

/// Name of the state directory inside the root when `--state-dir` is not given.
pub const DEFAULT_STATE_DIR: &str = ".lustrekit-gateway";

/// A configuration error.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A storage policy that breaks a rule.
    #[error(transparent)]
    Policy(#[from] crate::policy::PolicyError),
    /// Reading the config file failed.
    #[error("failed to read config file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The config file is not valid TOML for [`FileConfig`].
    #[error("failed to parse config file {}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// A `--user` value is not ACCOUNT:USER:KEY[:admin].
    #[error("invalid --user {value:?}: {reason}")]
    BadUser {
        /// The value given.
        value: String,
        /// Why.
        reason: &'static str,
    },
    /// No root given.
    #[error("no root directory: give --root or `root` in the config file")]
    NoRoot,
    /// No users.
    #[error("no users: give --user ACCOUNT:USER:KEY[:admin] or [[users]] in the config file")]
    NoUsers,
    /// A server limit is out of range.
    #[error("invalid {name} {value}: {reason}")]
    BadLimit {
        /// The flag or key.
        name: &'static str,
        /// The value given.
        value: String,
        /// Why.
        reason: &'static str,
    },
}

/// Parses `ACCOUNT:USER:KEY[:admin]`.
pub fn parse_user(value: &str) -> Result<User, ConfigError> {
    let bad = |reason| ConfigError::BadUser {
        value: value.to_string(),
        reason,
    };
    let parts: Vec<&str> = value.split(':').collect();
    let admin = match parts.len() {
        3 => false,
        4 if parts[3] == "admin" => true,
        4 => return Err(bad("the fourth field can only be `admin`")),
        _ => return Err(bad("expected ACCOUNT:USER:KEY[:admin]")),
    };
    let user = User {
        account: parts[0].to_string(),
        user: parts[1].to_string(),
        key: parts[2].to_string(),
        admin,
    };
    check_user(&user).map_err(bad)?;
    Ok(user)
}

fn check_user(u: &User) -> Result<(), &'static str> {
    if !valid_account_name(&u.account) {
        return Err("account must be 1-200 of [A-Za-z0-9_.-] and not start with `.`");
    }
    if u.user.is_empty() || u.key.is_empty() {
        return Err("user and key must not be empty");
    }
    Ok(())
}

/// Account names are directory names under the root: 1-200 of `[A-Za-z0-9_.-]`, not starting
/// with `.` (so the state directory and temp files never clash with an account).
pub fn valid_account_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

fn read_file_config(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse {
        path: path.to_path_buf(),
        source: Box::new(source),
    })
}

impl GatewayArgs {
    /// Merges the config file (if any) under the command-line flags.
    pub fn resolve(&self) -> Result<Settings, ConfigError> {
        let file = match &self.config {
            Some(p) => read_file_config(p)?,
            None => FileConfig::default(),
        };
        let server = self.server_limits(&file)?;
        let root = self.root.clone().or(file.root).ok_or(ConfigError::NoRoot)?;
        let mut users = Vec::new();
        for u in file.users {
            let user = User {
                account: u.account,
                user: u.user,
                key: u.key,
                admin: u.admin,
            };
            check_user(&user).map_err(|reason| ConfigError::BadUser {
                value: format!("{}:{}", user.account, user.user),
                reason,
            })?;
            users.push(user);
        }
        for u in &self.users {
            users.push(parse_user(u)?);
        }
        if users.is_empty() {
            return Err(ConfigError::NoUsers);
        }
        let mut policies = file.policies;
        for p in &self.policies {
            policies.push(crate::policy::parse_policy(p)?);
        }
        let policies = crate::policy::Policies::new(policies)?;
        let mut limits = file.limits.unwrap_or_default();
        if let Some(m) = self.max_file_size {
            limits.max_file_size = m;
        }
        Ok(Settings {
            state_dir: self
                .state_dir
                .clone()
                .or(file.state_dir)
                .unwrap_or_else(|| root.join(DEFAULT_STATE_DIR)),
            root,
            listen: self
                .listen
                .or(file.listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            token_ttl: self.token_ttl.or(file.token_ttl).unwrap_or(86_400),
            xattr_overflow: self
                .xattr_overflow
                .or(file.xattr_overflow)
                .unwrap_or_default(),
            public_url: self.public_url.clone().or(file.public_url),
            workers: self.workers.or(file.workers),
            log: self.log.clone().unwrap_or_else(|| "info".to_string()),
            users,
            limits,
            reconcile: !self.no_reconcile,
            server,
            policies,
        })
    }

    fn server_limits(&self, file: &FileConfig) -> Result<ServerLimits, ConfigError> {
        let d = ServerLimits::default();
        let secs = self.client_timeout.or(file.client_timeout);
        let client_timeout = match secs {
            None => d.client_timeout,
            Some(s) => Duration::try_from_secs_f64(s)
                .ok()
                .filter(|t| !t.is_zero())
                .ok_or_else(|| ConfigError::BadLimit {
                    name: "client_timeout",
                    value: s.to_string(),
                    reason: "must be a positive number of seconds",
                })?,
        };
        let count = |name, v: Option<usize>, default| match v {
            Some(0) => Err(ConfigError::BadLimit {
                name,
                value: "0".into(),
                reason: "must be at least 1",
            }),
            v => Ok(v.unwrap_or(default)),
        };
        Ok(ServerLimits {
            client_timeout,
            max_uploads: count(
                "max_uploads",
                self.max_uploads.or(file.max_uploads),
                d.max_uploads,
            )?,
            max_uploads_per_client: count(
                "max_uploads_per_client",
                self.max_uploads_per_client.or(file.max_uploads_per_client),
                d.max_uploads_per_client,
            )?,
            blocking_threads: count(
                "blocking_threads",
                self.blocking_threads.or(file.blocking_threads),
                d.blocking_threads,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_users() {
        let u = parse_user("test:tester:testing:admin").expect("valid");
        assert!(u.admin);
        assert_eq!(u.account, "test");
        assert!(!parse_user("test:tester:testing").expect("valid").admin);
        assert!(parse_user("test:tester").is_err());
        assert!(parse_user("test:tester:k:root").is_err());
        assert!(parse_user("../x:tester:k").is_err());
        assert!(parse_user(".lustrekit-gateway:u:k").is_err());
    }

    #[test]
    fn cli_overrides_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = dir.path().join("gw.toml");
        std::fs::write(
            &cfg,
            "root = \"/srv\"\ntoken_ttl = 5\n[[users]]\naccount = \"a\"\nuser = \"u\"\nkey = \"k\"\n\
             [limits]\nmax_meta_count = 3\n",
        )
        .expect("write");
        let args = GatewayArgs {
            config: Some(cfg),
            users: vec!["b:v:w:admin".into()],
            token_ttl: Some(7),
            ..Default::default()
        };
        let s = args.resolve().expect("resolves");
        assert_eq!(s.root, PathBuf::from("/srv"));
        assert_eq!(s.token_ttl, 7);
        assert_eq!(s.users.len(), 2);
        assert_eq!(s.limits.max_meta_count, 3);
        assert_eq!(s.limits.max_meta_value_length, 256);
        assert_eq!(s.state_dir, PathBuf::from("/srv/.lustrekit-gateway"));
        assert_eq!(s.server, ServerLimits::default());
    }

    #[test]
    fn server_limits_from_flags_and_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = dir.path().join("gw.toml");
        std::fs::write(&cfg, "client_timeout = 2.5\nmax_uploads = 10\n").expect("write");
        let args = GatewayArgs {
            root: Some("/x".into()),
            config: Some(cfg),
            users: vec!["a:u:k".into()],
            max_uploads: Some(20),
            ..Default::default()
        };
        let s = args.resolve().expect("resolves").server;
        assert_eq!(s.client_timeout, Duration::from_millis(2500));
        assert_eq!(s.max_uploads, 20);
        assert_eq!(s.max_uploads_per_client, 128);
        for bad in [
            GatewayArgs {
                client_timeout: Some(0.0),
                ..args.clone()
            },
            GatewayArgs {
                client_timeout: Some(-1.0),
                ..args.clone()
            },
            GatewayArgs {
                max_uploads_per_client: Some(0),
                ..args.clone()
            },
        ] {
            assert!(matches!(bad.resolve(), Err(ConfigError::BadLimit { .. })));
        }
    }

    #[test]
    fn needs_root_and_users() {
        assert!(matches!(
            GatewayArgs::default().resolve(),
            Err(ConfigError::NoRoot)
        ));
        let args = GatewayArgs {
            root: Some("/x".into()),
            ..Default::default()
        };
        assert!(matches!(args.resolve(), Err(ConfigError::NoUsers)));
    }
}
