// SPDX-License-Identifier: Apache-2.0
//! Temporary URLs (Swift's `tempurl` middleware), the pure part: the query parameters, the
//! signature forms (hex, or `<digest>:<base64>`), the HMAC over `METHOD\nEXPIRES\nPATH`
//! (with `ip=RANGE\n` before it and `prefix:` before a prefix path), `temp_url_ip_range`,
//! the `Content-Disposition` a GET or HEAD answer gets and the headers taken off requests
//! and answers. No I/O here; [`crate::handlers::tempurl`] reads the keys and applies it.

use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use percent_encoding::{percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// The methods a temporary URL may be used with (Swift's default `methods`).
pub const METHODS: [&str; 5] = ["GET", "HEAD", "PUT", "POST", "DELETE"];
/// Request headers removed from a temporary URL request (`incoming_remove_headers`).
pub const INCOMING_REMOVE: [&str; 1] = ["x-timestamp"];
/// Response headers removed from its answers (`outgoing_remove_headers`; `*` ends a prefix).
pub const OUTGOING_REMOVE: [&str; 1] = ["x-object-meta-*"];
/// Exceptions to [`OUTGOING_REMOVE`] (`outgoing_allow_headers`).
pub const OUTGOING_ALLOW: [&str; 1] = ["x-object-meta-public-*"];
/// Headers refused (400) on a temporary URL request that writes: they would let it reach
/// other objects (Swift's `DISALLOWED_INCOMING_HEADERS`).
pub const DISALLOWED_INCOMING: [&str; 2] = ["x-object-manifest", "x-symlink-target"];
/// The body of the 401 answered to a temporary URL that is not valid (none on HEAD).
pub const INVALID_TEXT: &str = "401 Unauthorized: Temp URL invalid\n";
/// Account and container metadata holding the keys, as stored (title case).
pub const ACCOUNT_KEYS: [&str; 2] = [
    "X-Account-Meta-Temp-Url-Key",
    "X-Account-Meta-Temp-Url-Key-2",
];
/// See [`ACCOUNT_KEYS`].
pub const CONTAINER_KEYS: [&str; 2] = [
    "X-Container-Meta-Temp-Url-Key",
    "X-Container-Meta-Temp-Url-Key-2",
];

/// A digest a signature may use (Swift 2.30.1 allows these three by default; SHA-1 is
/// deprecated but still allowed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    /// HMAC-SHA1 (40 hex digits).
    Sha1,
    /// HMAC-SHA256 (64 hex digits).
    Sha256,
    /// HMAC-SHA512 (128 hex digits).
    Sha512,
}

impl Digest {
    /// Every allowed digest, by name order (as `/info` lists them).
    pub const ALLOWED: [Digest; 3] = [Digest::Sha1, Digest::Sha256, Digest::Sha512];

    /// Its name (`sha256`).
    pub fn name(self) -> &'static str {
        match self {
            Digest::Sha1 => "sha1",
            Digest::Sha256 => "sha256",
            Digest::Sha512 => "sha512",
        }
    }

    fn from_name(name: &str) -> Option<Digest> {
        Digest::ALLOWED.into_iter().find(|d| d.name() == name)
    }

    fn from_hex_len(len: usize) -> Option<Digest> {
        match len {
            40 => Some(Digest::Sha1),
            64 => Some(Digest::Sha256),
            128 => Some(Digest::Sha512),
            _ => None,
        }
    }

    /// The hex HMAC of `message` under `key` (`None` only if the HMAC refused the key,
    /// which it does for no length).
    pub fn hmac_hex(self, key: &[u8], message: &[u8]) -> Option<String> {
        fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], message: &[u8]) -> Option<String> {
            let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key).ok()?;
            mac.update(message);
            Some(hex::encode(mac.finalize().into_bytes()))
        }
        match self {
            Digest::Sha1 => run::<Hmac<sha1::Sha1>>(key, message),
            Digest::Sha256 => run::<Hmac<sha2::Sha256>>(key, message),
            Digest::Sha512 => run::<Hmac<sha2::Sha512>>(key, message),
        }
    }
}

/// Why a signature value cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigError {
    /// Not hex of a known digest's length, nor `<digest>:<base64>`.
    Malformed,
    /// A digest that is not allowed (`md5:...`).
    UnknownDigest,
}

/// Base64 as Python's `b64decode` takes it after Swift's checks: padding optional, trailing
/// bits ignored.
const LENIENT_B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// A signature value as (digest, lower-case hex), as Swift's `extract_digest_and_algorithm`:
/// plain hex (its length names the digest) or `<digest>:<base64>` (URL-safe base64 too,
/// padding optional).
pub fn parse_sig(value: &str) -> Result<(Digest, String), SigError> {
    if let Some((algo, b64)) = value.split_once(':') {
        let mut b64 = b64.to_string();
        if (b64.contains('-') || b64.contains('_')) && !(b64.contains('+') || b64.contains('/')) {
            b64 = b64.replace('-', "+").replace('_', "/");
        }
        let trimmed = b64.trim_matches('=');
        let valid = |c: char| c.is_ascii_alphanumeric() || c == '+' || c == '/';
        if !trimmed.chars().all(valid) {
            return Err(SigError::Malformed);
        }
        let bytes = LENIENT_B64
            .decode(b64.trim_end_matches('='))
            .map_err(|_| SigError::Malformed)?;
        let digest = Digest::from_name(algo).ok_or(SigError::UnknownDigest)?;
        return Ok((digest, hex::encode(bytes)));
    }
    if hex::decode(value).is_err() {
        return Err(SigError::Malformed);
    }
    let digest = Digest::from_hex_len(value.len()).ok_or(SigError::Malformed)?;
    Ok((digest, value.to_string()))
}

/// The temporary URL parameters of a query (the first value of each, as `parse_qs`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    /// `temp_url_sig`.
    pub sig: Option<String>,
    /// `temp_url_expires`, as sent.
    pub expires: Option<String>,
    /// `temp_url_prefix`.
    pub prefix: Option<String>,
    /// `filename`.
    pub filename: Option<String>,
    /// `inline` (present or not).
    pub inline: bool,
    /// `temp_url_ip_range`.
    pub ip_range: Option<String>,
}

impl Params {
    /// Picks the parameters out of a decoded query.
    pub fn from_query(query: &[(String, String)]) -> Params {
        let get = |k: &str| crate::path::query_get(query, k).map(str::to_string);
        Params {
            sig: get("temp_url_sig"),
            expires: get("temp_url_expires"),
            prefix: get("temp_url_prefix"),
            filename: get("filename"),
            inline: get("inline").is_some(),
            ip_range: get("temp_url_ip_range"),
        }
    }

    /// Whether the request is a temporary URL at all (either `temp_url_sig` or
    /// `temp_url_expires` given).
    pub fn present(&self) -> bool {
        self.sig.is_some() || self.expires.is_some()
    }

    /// The query a temporary URL request goes on with: its own parameters only (Swift
    /// replaces the query string, so `multipart-manifest` and the like are dropped).
    pub fn reduced_query(&self) -> Vec<(String, String)> {
        let mut q = Vec::new();
        let mut push = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                q.push((k.to_string(), v.clone()));
            }
        };
        push("temp_url_sig", &self.sig);
        push("temp_url_expires", &self.expires);
        push("temp_url_prefix", &self.prefix);
        push("filename", &self.filename);
        q
    }
}

/// `temp_url_expires` as Unix seconds: an integer or `%Y-%m-%dT%H:%M:%SZ`; `None` when it
/// is neither or is already past at `now` (Swift's 0).
pub fn parse_expires(value: &str, now: SystemTime) -> Option<i64> {
    let secs = parse_int(value).or_else(|| parse_iso8601(value))?;
    let now = now.duration_since(UNIX_EPOCH).ok()?;
    let now_secs = i64::try_from(now.as_secs()).ok()?;
    // Swift compares the integer with a float `time()`.
    let past = secs < now_secs || (secs == now_secs && now.subsec_nanos() > 0);
    (!past).then_some(secs)
}

/// Python's `int()` of a string: optional blanks around, optional sign, digits.
fn parse_int(s: &str) -> Option<i64> {
    let t = s.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// `2030-01-01T00:00:00Z` (UTC) as Unix seconds.
fn parse_iso8601(s: &str) -> Option<i64> {
    let (date, time) = s.strip_suffix('Z')?.split_once('T')?;
    let num = |p: &str, max_len: usize| -> Option<i64> {
        let ok = !p.is_empty() && p.len() <= max_len && p.bytes().all(|b| b.is_ascii_digit());
        ok.then(|| p.parse().ok()).flatten()
    };
    let d: Vec<&str> = date.split('-').collect();
    let t: Vec<&str> = time.split(':').collect();
    let ([y, mo, da], [h, mi, se]) = (d.as_slice(), t.as_slice()) else {
        return None;
    };
    if y.len() != 4 {
        return None;
    }
    let (y, mo, da) = (num(y, 4)?, num(mo, 2)?, num(da, 2)?);
    let (h, mi, se) = (num(h, 2)?, num(mi, 2)?, num(se, 2)?);
    let month_ok = (1..=12).contains(&mo) && (1..=days_in_month(y, mo)).contains(&da);
    if !month_ok || h > 23 || mi > 59 || se > 61 {
        return None;
    }
    Some(days_from_civil(y, mo, da) * 86_400 + h * 3600 + mi * 60 + se)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Whether `client` is inside `range` (`ADDR` or `ADDR/LEN`, IPv4 or IPv6, no host bits
/// set beyond the length, as Python's strict `ip_network`). A range that does not parse
/// admits nobody.
pub fn ip_in_range(range: &str, client: IpAddr) -> bool {
    let (addr, len) = match range.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (range, None),
    };
    let Ok(net) = addr.parse::<IpAddr>() else {
        return false;
    };
    let bits: u32 = if net.is_ipv4() { 32 } else { 128 };
    let len = match len.map(str::parse::<u32>) {
        None => bits,
        Some(Ok(l)) if l <= bits => l,
        Some(_) => return false,
    };
    let as_u128 = |ip: IpAddr| match ip {
        IpAddr::V4(v) => u128::from(u32::from(v)),
        IpAddr::V6(v) => u128::from(v),
    };
    let host_mask = if len == bits {
        0
    } else {
        (1u128 << (bits - len)) - 1
    };
    if as_u128(net) & host_mask != 0 || net.is_ipv4() != client.is_ipv4() {
        return false;
    }
    as_u128(net) & !host_mask == as_u128(client) & !host_mask
}

/// What a signature covers: one object (`/v1/AUTH_a/c/o`) or every object whose name
/// starts with a prefix (`prefix:/v1/AUTH_a/c/PREFIX`).
pub fn signed_path(account: &str, container: &str, object: &str, prefix: Option<&str>) -> String {
    let reseller = crate::config::RESELLER_PREFIX;
    match prefix {
        None => format!("/v1/{reseller}{account}/{container}/{object}"),
        Some(p) => format!("prefix:/v1/{reseller}{account}/{container}/{p}"),
    }
}

/// The message a signature is the HMAC of (Swift's `get_hmac`).
pub fn hmac_message(method: &str, expires: i64, path: &str, ip_range: Option<&str>) -> String {
    let body = format!("{method}\n{expires}\n{path}");
    match ip_range.filter(|r| !r.is_empty()) {
        Some(r) => format!("ip={r}\n{body}"),
        None => body,
    }
}

/// The methods whose signatures admit a request with `method`: HEAD is admitted by a
/// HEAD, GET, POST or PUT signature, every other method by its own only.
pub fn signing_methods(method: &str) -> Vec<&str> {
    if method == "HEAD" {
        vec!["HEAD", "GET", "POST", "PUT"]
    } else {
        vec![method]
    }
}

/// Constant-time comparison.
pub fn ct_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Characters Python's `quote` leaves alone besides letters and digits (`safe='/'`).
const QUOTE_SAFE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~')
    .remove(b'/');
/// As [`QUOTE_SAFE`] with a space kept too (`safe=' /'`).
const QUOTE_SAFE_SPACE: &AsciiSet = &QUOTE_SAFE.remove(b' ');

/// `TYPE; filename="NAME"; filename*=UTF-8''NAME` with the name URL-quoted, as Swift's
/// `disposition_format`.
pub fn disposition(kind: &str, filename: &str) -> String {
    let plain = percent_encode(filename.as_bytes(), QUOTE_SAFE_SPACE);
    let full = percent_encode(filename.as_bytes(), QUOTE_SAFE);
    format!("{kind}; filename=\"{plain}\"; filename*=UTF-8''{full}")
}

/// The `Content-Disposition` of a successful GET or HEAD through a temporary URL: `inline`
/// (with the filename if given), an attachment named by `filename`, the object's own
/// disposition, or an attachment named after the object's last path component.
pub fn response_disposition(
    filename: Option<&str>,
    inline: bool,
    existing: Option<&str>,
    object: &str,
) -> String {
    let value = match (inline, filename.filter(|f| !f.is_empty()), existing) {
        (true, Some(f), _) => disposition("inline", f),
        (true, None, _) => "inline".to_string(),
        (false, Some(f), _) => disposition("attachment", f),
        (false, None, Some(e)) => e.to_string(),
        (false, None, None) => {
            let base = object
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or("");
            disposition("attachment", base)
        }
    };
    value.replace('\n', "%0A")
}

/// Whether a response header is taken off a temporary URL's answer.
pub fn strip_outgoing(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    let matches = |pat: &str| match pat.strip_suffix('*') {
        Some(prefix) => n.starts_with(prefix),
        None => n == pat,
    };
    !OUTGOING_ALLOW.iter().any(|p| matches(p)) && OUTGOING_REMOVE.iter().any(|p| matches(p))
}

/// The 400 text for a disallowed header (Swift prints the name title-cased, in quotes).
pub fn disallowed_text(header: &str) -> String {
    format!(
        "The header '{}' is not allowed in this tempurl",
        crate::meta::title(header)
    )
}

/// The `tempurl` section of `/info`, as Swift's middleware registers it with its defaults.
pub fn info() -> serde_json::Value {
    let allowed: Vec<&str> = Digest::ALLOWED.iter().map(|d| d.name()).collect();
    serde_json::json!({
        "methods": METHODS,
        "incoming_remove_headers": INCOMING_REMOVE,
        "incoming_allow_headers": [],
        "outgoing_remove_headers": OUTGOING_REMOVE,
        "outgoing_allow_headers": OUTGOING_ALLOW,
        "allowed_digests": allowed,
        "deprecated_digests": [Digest::Sha1.name()],
    })
}

#[cfg(test)]
mod tests;
