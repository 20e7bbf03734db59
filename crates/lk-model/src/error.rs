//! Problems found in a topology file, each naming the field and the rule broken.

use std::fmt;

/// One problem: where (field path, and the file position when known) and what rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// Field path such as `spec.nodes[2].memory`; empty for the document as a whole.
    pub path: String,
    /// 1-based line and column in the source file, when known.
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl Diagnostic {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            path: path.into(),
            line: None,
            column: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let (Some(line), Some(col)) = (self.line, self.column) {
            write!(f, "{line}:{col}: ")?;
        }
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Why a topology could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The text is not a well-formed LustreCluster document (YAML syntax, wrong types, unknown
    /// fields). Parsing stops at the first such problem.
    #[error("{0}")]
    Malformed(Diagnostic),
    /// The document is well formed but breaks validation rules; all of them are listed.
    #[error("{} problem{} found", .0.len(), if .0.len() == 1 { "" } else { "s" })]
    Invalid(Vec<Diagnostic>),
}

impl ModelError {
    pub fn diagnostics(&self) -> Vec<&Diagnostic> {
        match self {
            ModelError::Malformed(d) => vec![d],
            ModelError::Invalid(ds) => ds.iter().collect(),
        }
    }
}
