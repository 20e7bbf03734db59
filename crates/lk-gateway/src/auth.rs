// SPDX-License-Identifier: Apache-2.0
//! tempauth v1.0: users from the config, random tokens that expire, container ACLs.
//!
//! Inside its own account, an `admin` user may do everything; other users need the
//! container's `X-Container-Read` / `X-Container-Write` ACL to name them (`account:user`,
//! `account:*`, `account`, `*:user`, `*:*` or `*`). A token reaches a container of another
//! account only when that container's ACL names the token's account explicitly
//! (`account:user`, `account:*` or `account`; wildcards grant their own account only), as
//! Swift's cross-account container ACLs do; account-level requests and container changes stay
//! with the account's own admins, unless an account ACL ([`crate::account_acl`]) names the
//! caller. There is no reseller admin. Referrer items (`.r:`,
//! `.rlistings`) are [`crate::acl`]'s: they grant reads to anyone, with or without a token.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::User;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Account (without the reseller prefix).
    pub account: String,
    /// User.
    pub user: String,
    /// Account admin.
    pub admin: bool,
    expires: Instant,
}

/// Users and live tokens.
pub struct Auth {
    users: Vec<User>,
    ttl: Duration,
    tokens: Mutex<HashMap<String, Session>>,
}

/// A token handed out by `GET /auth/v1.0`.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The token.
    pub token: String,
    /// Seconds it stays valid.
    pub expires_in: u64,
    /// Its account.
    pub account: String,
}

fn ct_eq(a: &str, b: &str) -> bool {
    // Constant-time comparison of keys.
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Auth {
    /// Auth over `users`, tokens living `ttl_secs`.
    pub fn new(users: Vec<User>, ttl_secs: u64) -> Self {
        Auth {
            users,
            ttl: Duration::from_secs(ttl_secs),
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// Accounts that have users.
    pub fn accounts(&self) -> Vec<String> {
        let mut a: Vec<String> = self.users.iter().map(|u| u.account.clone()).collect();
        a.sort();
        a.dedup();
        a
    }

    /// `X-Auth-User: account:user` + `X-Auth-Key` -> a token (an existing live token of the
    /// same user is reused, as tempauth does).
    pub fn login(&self, auth_user: &str, key: &str) -> Option<Issued> {
        let (account, user) = auth_user.split_once(':')?;
        let u = self
            .users
            .iter()
            .find(|u| u.account == account && u.user == user && ct_eq(&u.key, key))?;
        let now = Instant::now();
        let mut tokens = self.tokens.lock().ok()?;
        tokens.retain(|_, s| s.expires > now);
        if let Some((t, s)) = tokens
            .iter()
            .find(|(_, s)| s.account == u.account && s.user == u.user)
        {
            return Some(Issued {
                token: t.clone(),
                expires_in: s.expires.saturating_duration_since(now).as_secs(),
                account: u.account.clone(),
            });
        }
        let token = format!("AUTH_tk{:032x}", rand::random::<u128>());
        tokens.insert(
            token.clone(),
            Session {
                account: u.account.clone(),
                user: u.user.clone(),
                admin: u.admin,
                expires: now + self.ttl,
            },
        );
        Some(Issued {
            token,
            expires_in: self.ttl.as_secs(),
            account: u.account.clone(),
        })
    }

    /// The session of a live token.
    pub fn validate(&self, token: &str) -> Option<Session> {
        let tokens = self.tokens.lock().ok()?;
        tokens
            .get(token)
            .filter(|s| s.expires > Instant::now())
            .cloned()
    }

    /// Expires a token now (tests).
    pub fn expire_all(&self) {
        if let Ok(mut t) = self.tokens.lock() {
            t.clear();
        }
    }
}

/// Whether a container ACL (`X-Container-Read`/`-Write` value) grants `s` access to a
/// container of its own account.
pub fn acl_allows(acl: Option<&str>, s: &Session) -> bool {
    let Some(acl) = acl else { return false };
    acl.split(',').map(str::trim).any(|item| {
        item == "*" || item == "*:*" || item == format!("*:{}", s.user) || names(item, s)
    })
}

/// Whether a container ACL grants `s` access to a container of *another* account: only an
/// item naming `s`'s account does (a wildcard granting everyone everywhere would open every
/// account to every other).
pub fn acl_allows_foreign(acl: Option<&str>, s: &Session) -> bool {
    let Some(acl) = acl else { return false };
    acl.split(',').map(str::trim).any(|item| names(item, s))
}

fn names(item: &str, s: &Session) -> bool {
    item == s.account
        || item == format!("{}:{}", s.account, s.user)
        || item == format!("{}:*", s.account)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(ttl: u64) -> Auth {
        Auth::new(
            vec![
                User {
                    account: "a".into(),
                    user: "u".into(),
                    key: "k".into(),
                    admin: true,
                },
                User {
                    account: "b".into(),
                    user: "v".into(),
                    key: "w".into(),
                    admin: false,
                },
            ],
            ttl,
        )
    }

    #[test]
    fn login_and_validate() {
        let a = auth(60);
        assert!(a.login("a:u", "wrong").is_none());
        assert!(a.login("a:v", "w").is_none());
        assert!(a.login("au", "k").is_none());
        let t = a.login("a:u", "k").expect("login");
        assert_eq!(
            a.login("a:u", "k").expect("again").token,
            t.token,
            "token reused"
        );
        let s = a.validate(&t.token).expect("valid");
        assert_eq!((s.account.as_str(), s.admin), ("a", true));
        assert!(a.validate("AUTH_tknope").is_none());
        a.expire_all();
        assert!(a.validate(&t.token).is_none());
    }

    #[test]
    fn tokens_expire() {
        let a = auth(0);
        let t = a.login("b:v", "w").expect("login");
        assert!(a.validate(&t.token).is_none());
    }

    #[test]
    fn acls() {
        let s = Session {
            account: "b".into(),
            user: "v".into(),
            admin: false,
            expires: Instant::now(),
        };
        assert!(acl_allows(Some("x:y, b:v"), &s));
        assert!(acl_allows(Some("b:*"), &s));
        assert!(acl_allows(Some("*"), &s));
        assert!(!acl_allows(Some("b:w,.r:*"), &s));
        assert!(!acl_allows(None, &s));
        assert!(acl_allows_foreign(Some("x:y, b:v"), &s));
        assert!(acl_allows_foreign(Some("b"), &s));
        for wildcard in ["*", "*:*", "*:v", "b:w", ".r:*"] {
            assert!(!acl_allows_foreign(Some(wildcard), &s), "{wildcard}");
        }
    }
}

/// Characters Swift's `quote` leaves as they are (besides ASCII letters and digits).
const REALM_SAFE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~')
    .remove(b'/');

/// The `WWW-Authenticate` value of a 401 to a request for `raw_path`, as tempauth sends it:
/// `Swift realm="<account>"` with the account URL-quoted, so a client-chosen account name
/// can neither close the quotes nor start a new header line; `unknown` without an account.
pub fn www_authenticate(raw_path: &str) -> String {
    let account = match raw_path
        .trim_start_matches('/')
        .split('/')
        .collect::<Vec<_>>()[..]
    {
        ["v1", a, ..] if !a.is_empty() => a,
        _ => "",
    };
    let decoded = percent_encoding::percent_decode_str(account).collect::<Vec<u8>>();
    let realm = percent_encoding::percent_encode(&decoded, REALM_SAFE).to_string();
    let realm = if realm.is_empty() {
        "unknown".into()
    } else {
        realm
    };
    format!("Swift realm=\"{realm}\"")
}

#[cfg(test)]
mod realm_tests {
    use super::www_authenticate;

    #[test]
    fn realm_is_the_quoted_account() {
        assert_eq!(
            www_authenticate("/v1/AUTH_test/c"),
            "Swift realm=\"AUTH_test\""
        );
        assert_eq!(www_authenticate("/auth/v1.0"), "Swift realm=\"unknown\"");
        assert_eq!(
            www_authenticate("/v1/AUTH_x%22%0AContent-Length:%201"),
            "Swift realm=\"AUTH_x%22%0AContent-Length%3A%201\""
        );
    }
}
