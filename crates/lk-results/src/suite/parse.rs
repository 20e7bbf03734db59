//! The results.yml parser: a line-by-line reader of exactly what `yaml.sh` writes (see the
//! module doc of [`crate::suite`]). It is not a YAML parser; the file is heredocs, and reading
//! it as YAML would accept files the framework cannot write and mis-read `error:` values.

use thiserror::Error;

use super::printf_q::{self, QuoteError};
use super::{LogRef, Status, SubTest, Suite, SuiteResults, TestGroup};

/// Why a results.yml was refused. Lines are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    #[error("line {line}: expected {expected}, found {found}")]
    Unexpected {
        line: usize,
        expected: String,
        found: String,
    },
    #[error("line {line}: unknown key {key:?} in {record}; expected {expected}")]
    UnknownKey {
        line: usize,
        key: String,
        record: &'static str,
        expected: String,
    },
    #[error("line {line}: unknown status {word:?}; expected PASS, FAIL or SKIP")]
    UnknownStatus { line: usize, word: String },
    #[error("line {line}: {field} {value:?} is not {expected}")]
    BadValue {
        line: usize,
        field: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("line {line}: the error value is not printf %q output in double quotes")]
    BadQuoting {
        line: usize,
        #[source]
        source: Option<QuoteError>,
    },
    #[error("line {line}: a log entry (type/location) before any subtest of the suite")]
    OrphanLog { line: usize },
}

/// One line as the framework could have written it.
#[derive(Debug, Clone, Copy)]
enum Tok<'a> {
    Eof,
    Blank,
    /// `-` alone, after `indent` spaces.
    Item(usize),
    /// `key:` or `key: value`, after `indent` spaces.
    Key {
        indent: usize,
        key: &'a str,
        value: &'a str,
    },
    Other(&'a str),
}

fn classify(raw: &str) -> Tok<'_> {
    let rest = raw.trim_start_matches(' ');
    let indent = raw.len() - rest.len();
    if rest.trim().is_empty() {
        return Tok::Blank;
    }
    if rest == "-" {
        return Tok::Item(indent);
    }
    if let Some((key, after)) = rest.split_once(':') {
        let key_ok = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if key_ok && (after.is_empty() || after.starts_with(' ')) {
            let value = after.strip_prefix(' ').unwrap_or(after);
            return Tok::Key { indent, key, value };
        }
    }
    Tok::Other(raw)
}

fn describe(tok: Tok<'_>) -> String {
    match tok {
        Tok::Eof => "the end of the file".to_string(),
        Tok::Blank => "a blank line".to_string(),
        Tok::Item(indent) => format!("'-' indented {indent}"),
        Tok::Key { indent, key, .. } => format!("key {key:?} indented {indent}"),
        Tok::Other(raw) => format!("{raw:?}"),
    }
}

/// The keys one kind of record may have, in the order the framework writes them.
struct Record {
    name: &'static str,
    indent: usize,
    keys: &'static [&'static str],
}

const TEST_GROUP: Record = Record {
    name: "TestGroup",
    indent: 4,
    keys: &["test_group", "testhost", "submission", "user_name"],
};
const SUITE: Record = Record {
    name: "a suite",
    indent: 8,
    keys: &[
        "name",
        "description",
        "submission",
        "report_version",
        "SubTests",
        "duration",
        "status",
    ],
};
const SUBTEST: Record = Record {
    name: "a subtest",
    indent: 12,
    keys: &[
        "name",
        "status",
        "duration",
        "return_code",
        "error",
        "type",
        "location",
    ],
};

struct Parser<'a> {
    lines: Vec<&'a str>,
    /// Index of the next line to read.
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Tok<'a> {
        self.lines.get(self.pos).map_or(Tok::Eof, |l| classify(l))
    }

    /// 1-based number of the next line.
    fn line(&self) -> usize {
        self.pos + 1
    }

    fn unexpected(&self, expected: impl Into<String>) -> ParseError {
        ParseError::Unexpected {
            line: self.line(),
            expected: expected.into(),
            found: describe(self.peek()),
        }
    }

    /// Reads `key` of `record` (at the record's indent); returns its value.
    fn key(&mut self, record: &Record, key: &'static str) -> Result<&'a str, ParseError> {
        self.key_at(record.indent, record, key)
    }

    fn key_at(
        &mut self,
        indent: usize,
        record: &Record,
        key: &'static str,
    ) -> Result<&'a str, ParseError> {
        let expected = format!("key {key:?} indented {indent}");
        match self.peek() {
            Tok::Key {
                indent: i,
                key: k,
                value,
            } if i == indent && k == key => {
                self.pos += 1;
                Ok(value)
            }
            Tok::Key {
                indent: i, key: k, ..
            } if i == indent && !record.keys.contains(&k) => Err(ParseError::UnknownKey {
                line: self.line(),
                key: k.to_string(),
                record: record.name,
                expected,
            }),
            _ => Err(self.unexpected(expected)),
        }
    }

    fn item(&mut self, indent: usize) -> Result<(), ParseError> {
        match self.peek() {
            Tok::Item(i) if i == indent => {
                self.pos += 1;
                Ok(())
            }
            _ => Err(self.unexpected(format!("'-' indented {indent}"))),
        }
    }

    fn number<T: std::str::FromStr>(
        &self,
        field: &'static str,
        value: &str,
        expected: &'static str,
    ) -> Result<T, ParseError> {
        // Digits only (with a sign for signed types): FromStr alone would take "+3".
        let digits = value.strip_prefix('-').unwrap_or(value);
        let plain = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
        plain
            .then(|| value.parse::<T>().ok())
            .flatten()
            .ok_or_else(|| ParseError::BadValue {
                line: self.pos, // the key was consumed: its line is `pos`
                field,
                value: value.to_string(),
                expected,
            })
    }

    fn status(&self, value: &str) -> Result<Status, ParseError> {
        Status::from_word(value).ok_or_else(|| ParseError::UnknownStatus {
            line: self.pos,
            word: value.to_string(),
        })
    }
}

/// Parses auster's results.yml. Strict: any line the 2.17.0 framework cannot have written is
/// an error naming its line and what was expected there; a file cut by a dead run is accepted
/// with its last suite (and subtest) unfinished.
pub fn parse_results_yml(text: &str) -> Result<SuiteResults, ParseError> {
    let mut p = Parser {
        lines: text.lines().collect(),
        pos: 0,
    };
    let test_group = header(&mut p)?;
    let code_review = code_review(&mut p);
    p.key_at(
        0,
        &Record {
            name: "the header",
            indent: 0,
            keys: &["Tests"],
        },
        "Tests",
    )
    .and_then(|v| empty(&p, "Tests", v))?;
    let mut suites = Vec::new();
    while !matches!(p.peek(), Tok::Eof) {
        p.item(0)
            .map_err(|_| p.unexpected("the next suite ('-' indented 0)"))?;
        suites.push(suite(&mut p)?);
    }
    Ok(SuiteResults {
        test_group,
        code_review,
        suites,
    })
}

fn empty(p: &Parser<'_>, field: &'static str, value: &str) -> Result<(), ParseError> {
    if value.trim().is_empty() {
        Ok(())
    } else {
        Err(ParseError::BadValue {
            line: p.pos,
            field,
            value: value.to_string(),
            expected: "empty (a list follows)",
        })
    }
}

fn header(p: &mut Parser<'_>) -> Result<TestGroup, ParseError> {
    let top = Record {
        name: "the header",
        indent: 0,
        keys: &["TestGroup", "project", "Tests"],
    };
    let v = p.key_at(0, &top, "TestGroup")?;
    empty(p, "TestGroup", v)?;
    let test_group = p.key(&TEST_GROUP, "test_group")?.trim().to_string();
    let testhost = p.key(&TEST_GROUP, "testhost")?.trim().to_string();
    let submission = p.key(&TEST_GROUP, "submission")?.trim().to_string();
    let user_name = p.key(&TEST_GROUP, "user_name")?.trim().to_string();
    let project = p.key_at(0, &top, "project")?.trim().to_string();
    Ok(TestGroup {
        test_group,
        testhost,
        submission,
        user_name,
        project,
    })
}

/// Everything up to `Tests:` (indent 0), which `$CODE_REVIEW_YAML` wrote.
fn code_review(p: &mut Parser<'_>) -> Vec<String> {
    let mut lines = Vec::new();
    while let Some(raw) = p.lines.get(p.pos) {
        if matches!(
            classify(raw),
            Tok::Key {
                indent: 0,
                key: "Tests",
                ..
            }
        ) {
            break;
        }
        if !raw.trim().is_empty() {
            lines.push(raw.to_string());
        }
        p.pos += 1;
    }
    lines
}

/// One suite, after its `-`.
fn suite(p: &mut Parser<'_>) -> Result<Suite, ParseError> {
    let name = p.key(&SUITE, "name")?.trim().to_string();
    let description = p.key(&SUITE, "description")?.trim().to_string();
    let submission = p.key(&SUITE, "submission")?.trim().to_string();
    let version = p.key(&SUITE, "report_version")?;
    if version != "2" {
        return Err(ParseError::BadValue {
            line: p.pos,
            field: "report_version",
            value: version.to_string(),
            expected: "2, the only version yaml.sh writes",
        });
    }
    let v = p.key(&SUITE, "SubTests")?;
    empty(p, "SubTests", v)?;
    let mut suite = Suite {
        name,
        description,
        submission,
        status: None,
        duration_s: None,
        subtests: Vec::new(),
    };
    loop {
        match p.peek() {
            // The run died before the suite's status: keep it unfinished.
            Tok::Eof | Tok::Item(0) => return Ok(suite),
            Tok::Item(8) => {
                p.pos += 1;
                subtest_entry(p, &mut suite.subtests)?;
            }
            Tok::Key { indent: 8, .. } => {
                let duration = p.key(&SUITE, "duration")?;
                suite.duration_s = Some(p.number("duration", duration, "whole seconds")?);
                let status = p.key(&SUITE, "status")?;
                suite.status = Some(p.status(status)?);
                return Ok(suite);
            }
            _ => {
                return Err(p.unexpected(
                    "a subtest ('-' indented 8), the suite's \"duration\" (indented 8) \
                     or the next suite ('-' indented 0)",
                ))
            }
        }
    }
}

/// One entry of `SubTests:`, after its `-`: a subtest, or a log of the subtest before it.
fn subtest_entry(p: &mut Parser<'_>, subtests: &mut Vec<SubTest>) -> Result<(), ParseError> {
    let name = p.key(&SUBTEST, "name")?.trim().to_string();
    match p.peek() {
        Tok::Key {
            indent: 12,
            key: "type",
            ..
        } => {
            let line = p.line();
            let kind = p.key(&SUBTEST, "type")?.trim().to_string();
            let location = p.key(&SUBTEST, "location")?.trim().to_string();
            let last = subtests.last_mut().ok_or(ParseError::OrphanLog { line })?;
            last.logs.push(LogRef {
                name,
                kind,
                location,
            });
            return Ok(());
        }
        // The run died inside this subtest; `suite` sees the same token and stops too.
        Tok::Eof | Tok::Item(0) => {
            subtests.push(SubTest {
                name,
                status: None,
                duration_s: None,
                return_code: None,
                error: None,
                logs: Vec::new(),
            });
            return Ok(());
        }
        _ => {}
    }
    let status = p.key(&SUBTEST, "status")?;
    let status = p.status(status)?;
    let duration = p.key(&SUBTEST, "duration")?;
    let duration_s = p.number("duration", duration, "whole seconds")?;
    let rc = p.key(&SUBTEST, "return_code")?;
    let return_code = p.number("return_code", rc, "an integer exit code")?;
    let error = p.key(&SUBTEST, "error")?;
    let error = error_value(p.pos, error)?;
    subtests.push(SubTest {
        name,
        status: Some(status),
        duration_s: Some(duration_s),
        return_code: Some(return_code),
        error,
        logs: Vec::new(),
    });
    Ok(())
}

/// `error:` (nothing) or `error: "<printf %q>"`.
fn error_value(line: usize, value: &str) -> Result<Option<String>, ParseError> {
    if value.is_empty() {
        return Ok(None);
    }
    let inner = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .filter(|_| value.len() >= 2)
        .ok_or(ParseError::BadQuoting { line, source: None })?;
    let decoded = printf_q::decode(inner).map_err(|e| ParseError::BadQuoting {
        line,
        source: Some(e),
    })?;
    Ok((!decoded.is_empty()).then_some(decoded))
}
