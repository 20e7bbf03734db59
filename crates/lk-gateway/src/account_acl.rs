// SPDX-License-Identifier: Apache-2.0
//! Account ACLs, as tempauth's (`account_acls: true`): `X-Account-Access-Control` holds a
//! JSON object with the lists `admin`, `read-write` and `read-only`, whose items are the
//! tempauth groups of callers: `account:user`, `account` (any user of that account) or
//! `AUTH_account` (its admins). Pure logic: header validation (Swift's 400 texts), the
//! stored and displayed forms, and the grant a caller holds.

use serde_json::Value;

use crate::auth::Session;
use crate::config::RESELLER_PREFIX;

/// The account metadata key the ACL is stored under (Swift's account sysmeta
/// `core-access-control`); never a header of a response as such.
pub const STORE_KEY: &str = "X-Account-Sysmeta-Core-Access-Control";

/// The request and response header.
pub const HEADER: &str = "X-Account-Access-Control";

/// The lists tempauth knows, in the order it checks them.
const KEYS: [&str; 3] = ["admin", "read-write", "read-only"];

/// What an account ACL grants a caller (ordered: each level includes the ones before).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grant {
    /// Nothing.
    None,
    /// GET and HEAD of the account, its containers and objects.
    ReadOnly,
    /// Everything on containers and objects, and GET/HEAD of the account.
    ReadWrite,
    /// Everything, as the account's own admin (the "swift owner": sees and sets ACLs).
    Admin,
}

/// The tempauth groups of a caller: `account`, `account:user`, and `AUTH_account` for an
/// admin.
pub fn groups(s: &Session) -> Vec<String> {
    let mut g = vec![s.account.clone(), format!("{}:{}", s.account, s.user)];
    if s.admin {
        g.push(format!("{RESELLER_PREFIX}{}", s.account));
    }
    g
}

/// Checks a header value as tempauth does. `Ok(None)`: the value clears the ACL (an empty
/// string or object); `Ok(Some(v))`: store `v`; `Err(text)`: the 400's body.
pub fn validate(value: &str) -> Result<Option<String>, String> {
    let invalid =
        |why: String| format!("X-Account-Access-Control invalid: {why}\n\nInput: {value}\n");
    if value.is_empty() {
        return Ok(None);
    }
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(value) else {
        return Err(invalid(format!(
            "Syntax error in input ({})",
            py_repr(value)
        )));
    };
    if let Some(k) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(invalid(format!("Key {} not recognized", json_ascii(k))));
    }
    for key in KEYS {
        let Some(v) = map.get(key) else { continue };
        let Value::Array(items) = v else {
            return Err(invalid(format!(
                "Value for key {} must be a list",
                json_ascii(key)
            )));
        };
        if !items.iter().all(Value::is_string) {
            return Err(invalid(format!(
                "Elements of {} list must be strings",
                json_ascii(key)
            )));
        }
    }
    Ok((!map.is_empty()).then(|| value.to_string()))
}

/// The lists of a stored ACL (a stored value has passed [`validate`]; anything else
/// grants nothing).
fn lists(stored: &str) -> Option<serde_json::Map<String, Value>> {
    match serde_json::from_str::<Value>(stored) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    }
}

/// The highest grant the stored ACL gives a caller in `groups`.
pub fn grant(stored: Option<&str>, groups: &[String]) -> Grant {
    let Some(map) = stored.and_then(lists) else {
        return Grant::None;
    };
    let names = |key: &str| {
        map.get(key).and_then(Value::as_array).is_some_and(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .any(|i| groups.iter().any(|g| g == i))
        })
    };
    if names("admin") {
        Grant::Admin
    } else if names("read-write") {
        Grant::ReadWrite
    } else if names("read-only") {
        Grant::ReadOnly
    } else {
        Grant::None
    }
}

/// The header value shown to the account's owners: Swift's `format_acl` (keys sorted, no
/// spaces, non-ASCII as `\uXXXX`); `None` for an empty ACL.
pub fn display(stored: &str) -> Option<String> {
    let map = lists(stored).filter(|m| !m.is_empty())?;
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    let items: Vec<String> = keys
        .into_iter()
        .map(|k| format!("{}:{}", json_ascii(k), value_ascii(&map[k])))
        .collect();
    Some(format!("{{{}}}", items.join(",")))
}

fn value_ascii(v: &Value) -> String {
    match v {
        Value::String(s) => json_ascii(s),
        Value::Array(a) => {
            let items: Vec<String> = a.iter().map(value_ascii).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

/// A JSON string as Python's `json.dumps(ensure_ascii=True)` writes it.
fn json_ascii(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            '\u{8}' => o.push_str("\\b"),
            '\u{c}' => o.push_str("\\f"),
            ' '..='~' => o.push(c),
            c => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    o.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    o.push('"');
    o
}

/// Python's `repr` of a string (as Swift's syntax-error message quotes the input).
fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut o = String::from(quote);
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if c == quote => {
                o.push('\\');
                o.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                o.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => o.push(c),
        }
    }
    o.push(quote);
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_texts_as_tempauth() {
        let err = validate("yuck").unwrap_err();
        assert_eq!(
            err,
            "X-Account-Access-Control invalid: Syntax error in input ('yuck')\n\nInput: yuck\n"
        );
        assert!(validate("[1]")
            .unwrap_err()
            .contains("Syntax error in input ('[1]')"));
        let err = validate(r#"{"admin":["a"],"invalid_key":"x"}"#).unwrap_err();
        assert!(err.contains(r#"Key "invalid_key" not recognized"#), "{err}");
        let err = validate(r#"{"admin":"a"}"#).unwrap_err();
        assert!(
            err.contains(r#"Value for key "admin" must be a list"#),
            "{err}"
        );
        let err = validate(r#"{"read-only":["a",1]}"#).unwrap_err();
        assert!(
            err.contains(r#"Elements of "read-only" list must be strings"#),
            "{err}"
        );
        assert_eq!(validate("{}"), Ok(None));
        assert_eq!(validate(""), Ok(None));
        let ok = r#"{"read-write":["t:u"]}"#;
        assert_eq!(validate(ok), Ok(Some(ok.to_string())));
    }

    #[test]
    fn display_is_swift_format_acl() {
        let shown = display(r#"{ "read-only": ["b"], "admin": ["\u00e9:x", "a"] }"#);
        assert_eq!(
            shown.as_deref(),
            Some(r#"{"admin":["\u00e9:x","a"],"read-only":["b"]}"#)
        );
        assert_eq!(display("{}"), None);
    }

    fn session(account: &str, user: &str, admin: bool) -> Session {
        let auth = crate::auth::Auth::new(
            vec![crate::config::User {
                account: account.into(),
                user: user.into(),
                key: "k".into(),
                admin,
            }],
            60,
        );
        let t = auth
            .login(&format!("{account}:{user}"), "k")
            .expect("login");
        auth.validate(&t.token).expect("session")
    }

    #[test]
    fn grants_follow_tempauth_groups() {
        let user = groups(&session("t2", "u", false));
        let admin = groups(&session("t2", "boss", true));
        assert_eq!(admin, vec!["t2", "t2:boss", "AUTH_t2"]);
        let acl = r#"{"admin":["AUTH_t2"],"read-write":["t2:u"],"read-only":["t3"]}"#;
        assert_eq!(grant(Some(acl), &user), Grant::ReadWrite);
        assert_eq!(grant(Some(acl), &admin), Grant::Admin);
        assert_eq!(
            grant(Some(r#"{"read-only":["t2"]}"#), &user),
            Grant::ReadOnly
        );
        assert_eq!(
            grant(Some(r#"{"read-only":["t2:other"]}"#), &user),
            Grant::None
        );
        assert_eq!(grant(None, &user), Grant::None);
        // Levels are ordered, the highest named wins.
        let both = r#"{"read-only":["t2:u"],"admin":["t2"]}"#;
        assert_eq!(grant(Some(both), &user), Grant::Admin);
        assert!(Grant::ReadOnly < Grant::ReadWrite && Grant::ReadWrite < Grant::Admin);
    }
}
