//! The `LustreCluster` topology model: what a user writes, its defaults, and its validation.
//!
//! Layout:
//! - [`raw`]: the document as written (YAML / CRD spec), with JSON Schema derivation;
//! - [`parse`]: strict decoding of text, and positions of fields for diagnostics;
//! - [`validate`](mod@validate): defaults, compact-layout expansion and every rule;
//! - [`topology`]: the validated, explicit result the planner consumes;
//! - [`defaults`], [`size`], [`net`]: the small vocabularies they share.
//!
//! Nothing here does I/O: callers pass bytes in and get a [`Topology`] or all the problems.

pub mod defaults;
pub mod error;
pub mod net;
pub mod parse;
pub mod raw;
pub mod size;
pub mod topology;
pub mod validate;

pub use error::{Diagnostic, ModelError};
pub use raw::LustreCluster;
pub use topology::Topology;

/// Parses and validates a topology file's bytes. Every validation problem is reported, each
/// with its field path and, when known, its line and column in `bytes`.
pub fn load(bytes: &[u8]) -> Result<Topology, ModelError> {
    let doc = parse::parse_document(bytes)?;
    validate::validate(&doc).map_err(|mut problems| {
        // parse_document succeeded, so the bytes are UTF-8.
        let text = String::from_utf8_lossy(bytes);
        parse::SourceMap::build(&text).annotate(&mut problems);
        ModelError::Invalid(problems)
    })
}

/// JSON Schema of the `LustreCluster` document (also the CRD's schema).
pub fn json_schema() -> serde_json::Value {
    // Re-serialising through serde_json (not `Schema::to_value`) gives the committed key
    // order; a schema is already JSON, so this cannot fail and the default is unreachable.
    serde_json::to_value(schemars::schema_for!(LustreCluster)).unwrap_or_default()
}
