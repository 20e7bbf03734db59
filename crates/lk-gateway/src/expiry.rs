// SPDX-License-Identifier: Apache-2.0
//! Object expiry, as Swift's `X-Delete-At` / `X-Delete-After`.
//!
//! - A PUT, POST or COPY may give `X-Delete-At` (Unix seconds) or `X-Delete-After` (seconds
//!   from now, turned into `X-Delete-At`); a time not after now, or a value that is not an
//!   integer, is a 400. The time is stored in the object's metadata and returned on GET/HEAD.
//!   A POST without either removes it (a POST replaces the metadata, as in Swift); a copy
//!   does not inherit the source's.
//! - From that second on the object answers 404 (GET, HEAD, POST, COPY; a DELETE removes it
//!   and answers 404) and listings leave it out (the index's expiry queue).
//! - The expirer ([`run_expirer`]) removes due objects every [`EXPIRER_INTERVAL`], after
//!   checking, under the object's commit lock, that its metadata still says so (an object
//!   written again since is left alone), as Swift's expirer does with `X-If-Delete-At`.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{SwiftError, SwiftResult};
use crate::gateway::{blocking, Gateway};
use crate::meta::{keys, Meta};

/// How often due objects are removed.
pub const EXPIRER_INTERVAL: Duration = Duration::from_secs(1);

/// Due objects removed per pass (the rest wait for the next one).
const PASS: usize = 1000;

/// Swift's largest delete-at (`normalize_delete_at_timestamp`): later times are clamped.
pub const MAX_DELETE_AT: i64 = 9_999_999_999;

/// Now, in Unix seconds.
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The expiry time a request asks for, from its `X-Delete-At` and `X-Delete-After` headers
/// (the latter wins, as in Swift). `now` is Unix seconds.
pub fn requested(
    delete_at: Option<&str>,
    delete_after: Option<&str>,
    now: i64,
) -> SwiftResult<Option<i64>> {
    if let Some(v) = delete_after {
        let after: i64 = v
            .trim()
            .parse()
            .map_err(|_| SwiftError::bad("Non-integer X-Delete-After"))?;
        let at = now.saturating_add(after).min(MAX_DELETE_AT);
        if at <= now {
            return Err(SwiftError::bad("X-Delete-After in past"));
        }
        return Ok(Some(at));
    }
    let Some(v) = delete_at else {
        return Ok(None);
    };
    let v = v.trim();
    // All digits but too long for i64 is far in the future (clamped below), not malformed:
    // Python's ints are unbounded, so Swift takes `1` * 100.
    let at: i64 = match v.parse() {
        Ok(at) => at,
        Err(_) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => i64::MAX,
        Err(_) => return Err(SwiftError::bad("Non-integer X-Delete-At")),
    };
    let at = at.min(MAX_DELETE_AT);
    if at <= now {
        return Err(SwiftError::bad("X-Delete-At in past"));
    }
    Ok(Some(at))
}

/// The expiry time stored in `meta`.
pub fn delete_at(meta: &Meta) -> Option<i64> {
    meta.get(keys::DELETE_AT).and_then(|v| v.parse().ok())
}

/// Whether `meta` says the object has expired at `now`.
pub fn expired(meta: &Meta, now: i64) -> bool {
    delete_at(meta).is_some_and(|at| at <= now)
}

/// Puts `at` (or nothing) in `meta` as Swift formats it.
pub fn store(meta: &mut Meta, at: Option<i64>) {
    match at {
        Some(at) => meta.insert(keys::DELETE_AT.into(), format!("{at:010}")),
        None => meta.remove(keys::DELETE_AT),
    };
}

/// Removes due objects every [`EXPIRER_INTERVAL`], until the runtime stops.
pub async fn run_expirer(gw: Arc<Gateway>) {
    let mut tick = tokio::time::interval(EXPIRER_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let g = gw.clone();
        match blocking(move || expire_due(&g, now_secs())).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "expired objects removed"),
            Err(e) => {
                tracing::warn!(error = %crate::server::DisplayChain(&e), "expirer pass failed")
            }
        }
    }
}

/// One expirer pass (blocking): removes the objects due at `now`; returns how many.
pub fn expire_due(gw: &Gateway, now: i64) -> SwiftResult<usize> {
    let mut removed = 0;
    for e in gw.index.due_expiries(now, PASS)? {
        let (a, c, o) = (&e.account, &e.container, &e.name);
        match gw.delete_expired(a, c, o, now) {
            Ok(true) => removed += 1,
            // Written again since, or its metadata names another time: follow the metadata.
            Ok(false) => {
                let at = gw.stored_delete_at(a, c, o).unwrap_or(None);
                gw.index.set_expiry(a, c, o, at.filter(|&t| t > now))?;
            }
            Err(err) => {
                tracing::warn!(account = %a, container = %c, object = %o, error = %err, "cannot expire");
                gw.index.set_expiry(a, c, o, None)?;
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_swift_headers() {
        let now = 1_000;
        assert_eq!(requested(None, None, now).expect("none"), None);
        assert_eq!(requested(Some("1500"), None, now).expect("at"), Some(1500));
        assert_eq!(
            requested(Some(" 1500 "), None, now).expect("at"),
            Some(1500)
        );
        assert_eq!(requested(None, Some("60"), now).expect("after"), Some(1060));
        assert_eq!(
            requested(Some("5000"), Some("60"), now).expect("after wins"),
            Some(1060)
        );
        assert_eq!(
            requested(Some("99999999999999"), None, now).expect("clamped"),
            Some(MAX_DELETE_AT)
        );
        let huge = "1".repeat(100);
        assert_eq!(
            requested(Some(&huge), None, now).expect("clamped"),
            Some(MAX_DELETE_AT)
        );
        for (at, after, msg) in [
            (Some("1000"), None, "X-Delete-At in past"),
            (Some("10"), None, "X-Delete-At in past"),
            (Some("soon"), None, "Non-integer X-Delete-At"),
            (Some("1500.5"), None, "Non-integer X-Delete-At"),
            (None, Some("0"), "X-Delete-After in past"),
            (None, Some("-5"), "X-Delete-After in past"),
            (None, Some("1m"), "Non-integer X-Delete-After"),
        ] {
            let e = requested(at, after, now).expect_err(msg);
            assert_eq!(e.status(), http::StatusCode::BAD_REQUEST);
            assert!(e.to_string().contains(msg), "{e}");
        }
    }

    #[test]
    fn stores_and_reads_back() {
        let mut m = Meta::new();
        store(&mut m, Some(1_700_000_000));
        assert_eq!(delete_at(&m), Some(1_700_000_000));
        assert!(expired(&m, 1_700_000_000));
        assert!(!expired(&m, 1_699_999_999));
        store(&mut m, None);
        assert!(!expired(&m, i64::MAX));
    }
}
