//! The cache key of a build: everything that decides the packages' contents.

use sha2::{Digest, Sha256};

use crate::steps;

/// Bump when the build procedure changes in a way the scripts do not show.
const KEY_VERSION: u32 = 1;

/// Inputs of the key. `source_id` is `git:<commit>` or `tree:<content hash>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInputs<'a> {
    pub source_id: &'a str,
    pub kernel: &'a str,
    pub suite: &'a str,
    pub configure_options: &'a [String],
}

/// Hex SHA-256 of the inputs alone: names the work folder, so a build that failed in a late
/// step resumes there (after the step's script is fixed) without compiling again.
pub fn input_key(k: &KeyInputs<'_>) -> String {
    let mut h = Sha256::new();
    h.update(format!("lustrekit-lustre-build v{KEY_VERSION}\n"));
    h.update(format!(
        "source {}\nkernel {}\nsuite {}\n",
        k.source_id, k.kernel, k.suite
    ));
    for o in k.configure_options {
        h.update(format!("configure {o}\n"));
    }
    format!("{:x}", h.finalize())
}

/// Hex SHA-256 of the inputs and of every build script (a changed script is a new build):
/// names the published repository.
pub fn cache_key(k: &KeyInputs<'_>) -> String {
    let mut h = Sha256::new();
    h.update(input_key(k));
    for (name, text) in steps::all_scripts() {
        h.update(format!("script {name} {}\n", text.len()));
        h.update(text.as_bytes());
    }
    format!("{:x}", h.finalize())
}

/// The marker of a step in a work folder: its script (with the shared preamble) chained to
/// the marker of the step before, so a changed step re-runs itself and every later step.
pub fn step_marker(previous: &str, script: &str) -> String {
    let mut h = Sha256::new();
    h.update(previous);
    h.update(steps::COMMON);
    h.update(script);
    format!("{:x}", h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_input_changes_the_key() {
        let opts = vec!["--disable-gss".to_string()];
        let base = KeyInputs {
            source_id: "git:abc",
            kernel: "6.1.0-50-amd64",
            suite: "bookworm",
            configure_options: &opts,
        };
        let k = cache_key(&base);
        assert_eq!(k, cache_key(&base.clone()), "deterministic");
        let other_opts: Vec<String> = vec![];
        for changed in [
            KeyInputs {
                source_id: "git:abd",
                ..base.clone()
            },
            KeyInputs {
                kernel: "6.1.0-51-amd64",
                ..base.clone()
            },
            KeyInputs {
                suite: "trixie",
                ..base.clone()
            },
            KeyInputs {
                configure_options: &other_opts,
                ..base.clone()
            },
        ] {
            assert_ne!(k, cache_key(&changed), "{changed:?}");
            assert_ne!(input_key(&base), input_key(&changed), "{changed:?}");
        }
        assert_ne!(input_key(&base), k, "scripts are in the cache key only");
    }

    #[test]
    fn markers_chain() {
        let a = step_marker("in", "configure");
        assert_ne!(
            a,
            step_marker("in2", "configure"),
            "earlier input changes it"
        );
        assert_ne!(a, step_marker("in", "configure2"), "its script changes it");
        assert_eq!(a, step_marker("in", "configure"));
    }
}
