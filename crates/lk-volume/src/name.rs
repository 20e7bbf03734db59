// SPDX-License-Identifier: Apache-2.0
//! Names of volumes, snapshots and shares. A name becomes a directory or file name on the
//! Lustre mount, so it is checked before anything touches the filesystem.

use thiserror::Error;

/// The longest name accepted, in bytes (a Cinder/Manila UUID is 36).
pub const MAX_NAME_LEN: usize = 128;

/// Why a name was refused. Each variant names the offending input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NameError {
    #[error("{what} name is empty")]
    Empty { what: &'static str },
    #[error("{what} name {name:?} is {len} bytes long; at most {MAX_NAME_LEN} are allowed")]
    TooLong {
        what: &'static str,
        name: String,
        len: usize,
    },
    #[error("{what} name {name:?} contains '/' (names are single path components)")]
    Slash { what: &'static str, name: String },
    #[error("{what} name {name:?} contains \"..\"")]
    DotDot { what: &'static str, name: String },
    #[error("{what} name {name:?} starts with '.' (reserved for lustrekit's own files)")]
    LeadingDot { what: &'static str, name: String },
    #[error("{what} name {name:?} starts with '-' (it would read as an option)")]
    LeadingDash { what: &'static str, name: String },
    #[error("{what} name {name:?} contains a control character or whitespace")]
    Control { what: &'static str, name: String },
}

/// Checks a name: 1..=[`MAX_NAME_LEN`] bytes, no `/`, no `..`, no leading `.` or `-`, no
/// control characters or whitespace. `what` ("volume", "snapshot", "share") goes into the
/// message.
pub fn validate(what: &'static str, name: &str) -> Result<(), NameError> {
    let owned = || name.to_string();
    if name.is_empty() {
        return Err(NameError::Empty { what });
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong {
            what,
            name: name.chars().take(40).collect::<String>() + "…",
            len: name.len(),
        });
    }
    if name.contains('/') {
        return Err(NameError::Slash {
            what,
            name: owned(),
        });
    }
    if name.contains("..") {
        return Err(NameError::DotDot {
            what,
            name: owned(),
        });
    }
    if name.starts_with('.') {
        return Err(NameError::LeadingDot {
            what,
            name: owned(),
        });
    }
    if name.starts_with('-') {
        return Err(NameError::LeadingDash {
            what,
            name: owned(),
        });
    }
    if name.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(NameError::Control {
            what,
            name: owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for ok in [
            "vol1",
            "a",
            "volume-6f1c.2",
            "ü-data",
            &"x".repeat(MAX_NAME_LEN),
        ] {
            assert_eq!(validate("volume", ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn refuses_each_bad_shape_with_its_reason() {
        let cases: [(&str, &str); 9] = [
            ("", "is empty"),
            ("a/b", "contains '/'"),
            ("..", "contains \"..\""),
            ("a..b", "contains \"..\""),
            (".hidden", "starts with '.'"),
            ("-rf", "starts with '-'"),
            ("a\nb", "control character"),
            ("a b", "whitespace"),
            ("nul\0", "control character"),
        ];
        for (name, reason) in cases {
            let err = validate("snapshot", name).expect_err(name).to_string();
            assert!(err.contains(reason), "{name:?}: {err}");
            assert!(err.starts_with("snapshot name"), "{err}");
        }
        let long = "y".repeat(MAX_NAME_LEN + 1);
        let err = validate("share", &long).expect_err("too long").to_string();
        assert!(err.contains("129 bytes long"), "{err}");
    }
}
