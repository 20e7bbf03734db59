//! Text to [`LustreCluster`]: strict YAML decoding with the field path and file position of the
//! first structural problem, and a map from field paths to positions for later diagnostics.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

use crate::error::{Diagnostic, ModelError};
use crate::raw::LustreCluster;

/// Largest topology file accepted; real ones are a few KiB.
pub const MAX_INPUT_BYTES: usize = 1 << 20;

/// Decodes a topology document. Rejects empty input, non-UTF-8 bytes, YAML syntax errors, wrong
/// types, unknown fields, several documents, alias bombs and over-deep nesting.
pub fn parse_document(bytes: &[u8]) -> Result<LustreCluster, ModelError> {
    let text = decode_text(bytes)?;
    let deserializer = serde_yaml_ng::Deserializer::from_str(text);
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let location = inner.location();
        let mut message = strip_location(&inner.to_string());
        // serde_yaml prefixes some messages with the path (or parent path) it tracked itself;
        // drop the repeat.
        if let Some((prefix, rest)) = message.split_once(": ") {
            let is_ancestor = path == prefix
                || path.starts_with(&format!("{prefix}."))
                || path.starts_with(&format!("{prefix}["));
            if is_ancestor {
                message = rest.to_string();
            }
        }
        let path = if path == "." || path.contains('?') {
            String::new()
        } else {
            path
        };
        ModelError::Malformed(Diagnostic {
            path,
            line: location.as_ref().map(|l| l.line()),
            column: location.as_ref().map(|l| l.column()),
            message,
        })
    })
}

fn decode_text(bytes: &[u8]) -> Result<&str, ModelError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(ModelError::Malformed(Diagnostic::new(
            "",
            format!(
                "the file is {} bytes; a topology is at most {MAX_INPUT_BYTES} bytes",
                bytes.len()
            ),
        )));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        ModelError::Malformed(Diagnostic::new(
            "",
            format!(
                "the file is not UTF-8 text (invalid byte at offset {})",
                e.valid_up_to()
            ),
        ))
    })?;
    let meaningful = text
        .lines()
        .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#') && l.trim() != "---");
    if !meaningful {
        return Err(ModelError::Malformed(Diagnostic::new(
            "",
            "the file is empty: expected a LustreCluster document (apiVersion, kind, metadata, spec)",
        )));
    }
    Ok(text)
}

/// serde_yaml appends " at line L column C"; we report the position in its own fields.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) if message[i..].contains(" column ") => message[..i].to_string(),
        _ => message.to_string(),
    }
}

/// Positions (1-based line and column) of every field and list item, keyed by field path in
/// the same syntax as diagnostics (`spec.nodes[2].name`). Only built for documents that already
/// parsed, so depth and aliases are bounded.
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    positions: HashMap<String, (usize, usize)>,
}

impl SourceMap {
    pub fn build(text: &str) -> SourceMap {
        let mut builder = Builder::default();
        let mut parser = Parser::new_from_str(text);
        // A parse error here leaves a partial map, which only costs positions.
        let _ = parser.load(&mut builder, false);
        SourceMap {
            positions: builder.positions,
        }
    }

    /// The position of `path`, or of its nearest ancestor that has one.
    pub fn locate(&self, path: &str) -> Option<(usize, usize)> {
        let mut p = path;
        loop {
            if let Some(pos) = self.positions.get(p) {
                return Some(*pos);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }

    /// Fills in line and column of each diagnostic from its path.
    pub fn annotate(&self, diagnostics: &mut [Diagnostic]) {
        for d in diagnostics.iter_mut().filter(|d| d.line.is_none()) {
            if let Some((line, col)) = self.locate(&d.path) {
                d.line = Some(line);
                d.column = Some(col);
            }
        }
    }
}

enum Frame {
    Map { path: String, key: Option<String> },
    Seq { path: String, next: usize },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    positions: HashMap<String, (usize, usize)>,
}

impl Builder {
    /// The path of the value that starts now, advancing the parent's state; `None` when the
    /// event is a mapping key.
    fn value_path(&mut self, scalar: Option<&str>, mark: Marker) -> Option<String> {
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Seq { path, next }) => {
                let p = format!("{path}[{next}]");
                *next += 1;
                Some(p)
            }
            Some(Frame::Map { path, key }) => match key.take() {
                Some(k) => Some(join(path, &k)),
                None => {
                    let k = scalar.unwrap_or("?").to_string();
                    let pos = (mark.line(), mark.col() + 1);
                    // A block mapping's own start mark is unreliable; its first key is not.
                    self.positions.entry(path.clone()).or_insert(pos);
                    self.positions.entry(join(path, &k)).or_insert(pos);
                    *key = Some(k);
                    None
                }
            },
        }
    }
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        let pos = (mark.line(), mark.col() + 1);
        match event {
            Event::Scalar(value, ..) => {
                if let Some(p) = self.value_path(Some(&value), mark) {
                    self.positions.entry(p).or_insert(pos);
                }
            }
            Event::Alias(_) => {
                if let Some(p) = self.value_path(None, mark) {
                    self.positions.entry(p).or_insert(pos);
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let is_map = matches!(event, Event::MappingStart(..));
                // A collection used as a mapping key has no useful path; give it a placeholder.
                let path = self
                    .value_path(Some("?"), mark)
                    .unwrap_or_else(|| "?".into());
                if !is_map {
                    self.positions.entry(path.clone()).or_insert(pos);
                }
                self.stack.push(if is_map {
                    Frame::Map { path, key: None }
                } else {
                    Frame::Seq { path, next: 0 }
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_paths_to_positions() {
        let text = "a: 1\nspec:\n  nodes:\n    - name: x\n      roles: [mgs]\n    - name: y\n";
        let map = SourceMap::build(text);
        assert_eq!(map.locate("spec"), Some((2, 1)));
        assert_eq!(map.locate("spec.nodes[1].name"), Some((6, 7)));
        assert_eq!(map.locate("spec.nodes[0].roles"), Some((5, 7)));
        // Unknown sub-path falls back to the nearest ancestor.
        assert_eq!(map.locate("spec.nodes[1].memory"), Some((6, 7)));
    }
}
