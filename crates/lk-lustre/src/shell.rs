//! POSIX shell quoting for generated scripts.

/// Quotes `word` for a POSIX shell: unchanged when it only holds safe characters, otherwise in
/// single quotes with embedded single quotes escaped.
pub fn quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Joins an argument vector into one shell command line.
pub fn join<S: AsRef<str>>(argv: &[S]) -> String {
    argv.iter()
        .map(|a| quote(a.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(quote("--fsname=lustre"), "--fsname=lustre");
        assert_eq!(
            quote("10.0.0.1@tcp0:10.0.0.2@tcp0:/fs"),
            "10.0.0.1@tcp0:10.0.0.2@tcp0:/fs"
        );
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
        assert_eq!(join(&["echo", "$HOME"]), "echo '$HOME'");
    }
}
