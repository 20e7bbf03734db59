// SPDX-License-Identifier: Apache-2.0
//! Unit tests of the temporary URL logic; expected values computed with Python's `hmac`,
//! `hashlib`, `base64`, `calendar.timegm` and `urllib.parse.quote`.

use super::*;
use std::time::Duration;

const MSG: &str = "GET\n1700000000\n/v1/AUTH_test/c/o";
const SHA1: &str = "3994d403a1e371c61672cc49d49e3504805f4887";
const SHA256: &str = "7d8e44a645aab88cf197df39a844fc98555dad169375805007f6e9b55a5c9370";
const SHA512: &str = "1cc2a33fe5b1a4189352241e357eb4137852acf7b9dbd7ab04803fad3acabd2c\
8c47ff30f46792ed8ff0dda0f3990cc8bffcf41791c180a9f13e72cf2d42eb34";

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

#[test]
fn hmacs_match_python() {
    assert_eq!(
        Digest::Sha1.hmac_hex(b"mykey", MSG.as_bytes()).as_deref(),
        Some(SHA1)
    );
    assert_eq!(
        Digest::Sha256.hmac_hex(b"mykey", MSG.as_bytes()).as_deref(),
        Some(SHA256)
    );
    assert_eq!(
        Digest::Sha512.hmac_hex(b"mykey", MSG.as_bytes()).as_deref(),
        Some(SHA512)
    );
    let path = signed_path("test", "c", "o", None);
    assert_eq!(hmac_message("GET", 1_700_000_000, &path, None), MSG);
    let prefixed = signed_path("a", "c", "obj", Some("pre"));
    assert_eq!(prefixed, "prefix:/v1/AUTH_a/c/pre");
    let m = hmac_message("GET", 5, &prefixed, Some("1.2.3.0/24"));
    assert_eq!(
        Digest::Sha256.hmac_hex(b"k", m.as_bytes()).as_deref(),
        Some("ee84de4fabc41365c33604b955e3ea3388adbfd69400d1a385fcfa11bdf10254")
    );
}

#[test]
fn signature_forms() {
    assert_eq!(parse_sig(SHA1), Ok((Digest::Sha1, SHA1.to_string())));
    assert_eq!(parse_sig(SHA256), Ok((Digest::Sha256, SHA256.to_string())));
    assert_eq!(parse_sig(SHA512), Ok((Digest::Sha512, SHA512.to_string())));
    for b64 in [
        "sha256:fY5EpkWquIzxl985qET8mFVdrRaTdYBQB/bptVpck3A=",
        "sha256:fY5EpkWquIzxl985qET8mFVdrRaTdYBQB/bptVpck3A",
        "sha256:fY5EpkWquIzxl985qET8mFVdrRaTdYBQB_bptVpck3A=",
    ] {
        assert_eq!(
            parse_sig(b64),
            Ok((Digest::Sha256, SHA256.to_string())),
            "{b64}"
        );
    }
    let sha512 = "sha512:HMKjP-WxpBiTUiQeNX60E3hSrPe529erBIA_rTrKvSyMR_8w9GeS7Y_w3aDzmQzIv_z0F5HBgKnxPnLPLULrNA";
    assert_eq!(parse_sig(sha512), Ok((Digest::Sha512, SHA512.to_string())));
    assert_eq!(
        parse_sig("sha1:OZTUA6HjccYWcsxJ1J41BIBfSIc="),
        Ok((Digest::Sha1, SHA1.to_string()))
    );
    // Wrong lengths, not hex, bad base64, a digest that is not allowed.
    for bad in [
        "abc",
        "zz",
        &SHA1[..39],
        "sha256:fY5E!kWq",
        "sha256:fY5E=pkW",
    ] {
        assert_eq!(parse_sig(bad), Err(SigError::Malformed), "{bad}");
    }
    assert_eq!(
        parse_sig("md5:OZTUA6HjccYWcsxJ1J41BA=="),
        Err(SigError::UnknownDigest)
    );
}

#[test]
fn expires_forms_and_past() {
    let now = at(1_800_000_000);
    assert_eq!(parse_expires("1893456000", now), Some(1_893_456_000));
    assert_eq!(parse_expires(" +1893456000 ", now), Some(1_893_456_000));
    assert_eq!(
        parse_expires("2030-01-01T00:00:00Z", now),
        Some(1_893_456_000)
    );
    assert_eq!(parse_iso8601("2024-02-29T23:59:58Z"), Some(1_709_251_198));
    assert_eq!(parse_expires("1799999999", now), None, "past");
    assert_eq!(
        parse_expires("1800000000", now),
        Some(1_800_000_000),
        "this second"
    );
    assert_eq!(
        parse_expires("1800000000", now + Duration::from_millis(1)),
        None,
        "compared with the float time"
    );
    for bad in [
        "",
        "x",
        "1e10",
        "2030-01-01 00:00:00Z",
        "2030-13-01T00:00:00Z",
        "2030-02-30T00:00:00Z",
        "2030-01-01T00:00:00",
    ] {
        assert_eq!(parse_expires(bad, now), None, "{bad}");
    }
}

#[test]
fn ip_ranges() {
    let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
    assert!(ip_in_range("1.2.3.4", ip("1.2.3.4")));
    assert!(!ip_in_range("1.2.3.4", ip("1.2.3.5")));
    assert!(ip_in_range("1.2.3.0/24", ip("1.2.3.200")));
    assert!(!ip_in_range("1.2.3.0/24", ip("1.2.4.1")));
    assert!(!ip_in_range("1.2.3.4/24", ip("1.2.3.4")), "host bits set");
    assert!(!ip_in_range("1.2.3.0/33", ip("1.2.3.4")));
    assert!(!ip_in_range("nonsense", ip("1.2.3.4")));
    assert!(ip_in_range("::1", ip("::1")));
    assert!(ip_in_range("fe80::/10", ip("fe80::1")));
    assert!(!ip_in_range("0.0.0.0/0", ip("::1")), "another family");
    assert!(ip_in_range("0.0.0.0/0", ip("9.9.9.9")));
}

#[test]
fn dispositions() {
    assert_eq!(
        disposition("attachment", "My Test File.pdf"),
        "attachment; filename=\"My Test File.pdf\"; filename*=UTF-8''My%20Test%20File.pdf"
    );
    assert_eq!(
        disposition("inline", "a/b \u{fc};\"x"),
        "inline; filename=\"a/b %C3%BC%3B%22x\"; filename*=UTF-8''a/b%20%C3%BC%3B%22x"
    );
    assert_eq!(response_disposition(None, true, Some("x"), "d/o"), "inline");
    assert_eq!(
        response_disposition(Some("f"), true, None, "o"),
        "inline; filename=\"f\"; filename*=UTF-8''f"
    );
    assert_eq!(
        response_disposition(Some("f"), false, Some("x"), "o"),
        "attachment; filename=\"f\"; filename*=UTF-8''f"
    );
    assert_eq!(
        response_disposition(None, false, Some("a\nb"), "o"),
        "a%0Ab"
    );
    assert_eq!(
        response_disposition(Some(""), false, None, "dir/name.txt"),
        "attachment; filename=\"name.txt\"; filename*=UTF-8''name.txt"
    );
}

#[test]
fn header_rules() {
    assert!(strip_outgoing("X-Object-Meta-Color"));
    assert!(!strip_outgoing("X-Object-Meta-Public-Color"));
    assert!(!strip_outgoing("Content-Type"));
    assert_eq!(
        disallowed_text("x-object-manifest"),
        "The header 'X-Object-Manifest' is not allowed in this tempurl"
    );
    assert_eq!(signing_methods("HEAD"), ["HEAD", "GET", "POST", "PUT"]);
    assert_eq!(signing_methods("DELETE"), ["DELETE"]);
}

#[test]
fn params_and_reduced_query() {
    let q: Vec<(String, String)> = [
        ("multipart-manifest", "get"),
        ("temp_url_sig", "s"),
        ("temp_url_expires", "1"),
        ("inline", ""),
        ("filename", "f"),
        ("temp_url_sig", "second"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let p = Params::from_query(&q);
    assert!(p.present() && p.inline);
    assert_eq!(p.sig.as_deref(), Some("s"));
    let reduced = p.reduced_query();
    assert_eq!(reduced.len(), 3);
    assert!(reduced.iter().all(|(k, _)| k != "multipart-manifest"));
    assert!(!Params::from_query(&[]).present());
}
