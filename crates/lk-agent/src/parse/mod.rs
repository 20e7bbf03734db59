//! Strict parsers of Lustre tools' output. Each takes bytes and declares the command it reads
//! ([`dl::COMMAND`], ...); anything unexpected is an error naming the line, never a guess.
//!
//! Captures of real output live under `src/fixtures/valid/<lustre version>/`; the test at the
//! bottom of this file parses every one of them, so adding a capture adds a test. `2.17.0/` was
//! recorded on lustrekit clusters running Lustre 2.17.0 built by `lustrekit build` (the
//! real-Lustre tests save them under the test state folder); `scenario/` holds constructed
//! states no run produces on demand (a target in the middle of recovery, an unhealthy device).

pub mod dl;
pub mod health;
pub mod recovery;

pub(crate) fn text<'a>(
    command: &'static str,
    bytes: &'a [u8],
) -> Result<&'a str, crate::AgentError> {
    std::str::from_utf8(bytes).map_err(|e| {
        crate::AgentError::parse(
            command,
            0,
            "",
            if e.valid_up_to() == 0 {
                "not UTF-8"
            } else {
                "not UTF-8 text"
            },
        )
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Every capture under fixtures/valid parses; the file name says which parser reads it.
    #[test]
    fn every_valid_fixture_parses() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/fixtures/valid");
        let mut count = 0;
        for version in std::fs::read_dir(&root).expect("fixtures") {
            let version = version.expect("entry").path();
            for file in std::fs::read_dir(&version).expect("version dir") {
                let path = file.expect("entry").path();
                let bytes = std::fs::read(&path).expect("read");
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default();
                let ok = if name.starts_with("lctl_dl") {
                    super::dl::parse(&bytes).map(|_| ())
                } else if name.starts_with("health_check") {
                    super::health::parse(&bytes).map(|_| ())
                } else if name.starts_with("recovery_status") {
                    super::recovery::parse(&bytes).map(|_| ())
                } else {
                    panic!("fixture {name} names no parser");
                };
                ok.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                count += 1;
            }
        }
        assert!(count >= 6, "only {count} fixtures");
    }
}
