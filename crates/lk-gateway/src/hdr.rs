// SPDX-License-Identifier: Apache-2.0
//! Header values as text. Swift takes any UTF-8 in a header value (metadata, ACLs,
//! `X-Object-Manifest`, `X-Copy-From`, tempurl keys) and returns the same bytes;
//! `HeaderValue::to_str` only admits visible ASCII, so every header is read through here.

use http::HeaderValue;

/// The value as UTF-8 text; `None` when its bytes are not UTF-8.
pub fn text(v: &HeaderValue) -> Option<&str> {
    std::str::from_utf8(v.as_bytes()).ok()
}

/// Header `name` of `headers` as text (see [`text`]).
pub fn get<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_values_are_text_and_other_bytes_are_not() {
        let v = HeaderValue::from_bytes("caf\u{e9} \u{1f600}".as_bytes()).unwrap();
        assert_eq!(text(&v), Some("caf\u{e9} \u{1f600}"));
        assert!(v.to_str().is_err(), "the reason this module exists");
        let latin1 = HeaderValue::from_bytes(b"caf\xe9").unwrap();
        assert_eq!(text(&latin1), None);
    }
}
