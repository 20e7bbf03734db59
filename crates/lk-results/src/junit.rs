//! JUnit XML of a suite run, for CI systems that show test reports.
//!
//! `<testsuites>` is the results.yml (named by its test group), one `<testsuite>` per suite run
//! and one `<testcase>` per subtest (`classname` = suite). A `FAIL` subtest gets `<failure>`
//! (message: the error's first line; text: the whole error), a `SKIP` one `<skipped>` (message:
//! the reason), an unfinished one `<error type="unfinished">`. Logs go to `<system-out>`.
//!
//! A suite whose own status says more than its subtests (a `FAIL` or an unfinished suite with
//! no failed subtest, e.g. the suite script exited non-zero; or a `SKIP` suite with no subtests)
//! gets one extra `<testcase name="(suite)">` carrying that outcome, so a CI report is never
//! greener than the run.

use std::borrow::Cow;
use std::io;

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;
use thiserror::Error;

use crate::suite::{Status, SubTest, Suite, SuiteResults};

/// Writing the XML failed (it is written to memory, so this means a bug, not bad input).
#[derive(Debug, Error)]
pub enum JunitError {
    #[error("writing the JUnit XML of {element}")]
    Write {
        element: String,
        #[source]
        source: io::Error,
    },
    #[error("the JUnit XML written is not UTF-8")]
    NotUtf8(#[source] std::string::FromUtf8Error),
}

/// The name of the extra testcase that carries a suite's own outcome.
pub const SUITE_CASE: &str = "(suite)";

/// JUnit XML of `results`, indented, with an XML declaration.
pub fn to_junit(results: &SuiteResults) -> Result<String, JunitError> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    let wrap = |element: &str| {
        let element = element.to_string();
        move |source| JunitError::Write { element, source }
    };
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
        .map_err(wrap("the declaration"))?;
    let counts = results.counts();
    let extra: Vec<Option<Extra>> = results.suites.iter().map(suite_extra).collect();
    let extra_fail = extra.iter().flatten().filter(|e| e.is_failure()).count();
    let extra_skip = extra.iter().flatten().filter(|e| !e.is_failure()).count();
    let mut root = BytesStart::new("testsuites");
    attr(&mut root, "name", &results.test_group.test_group);
    push_num(&mut root, "tests", counts.total() + extra_fail + extra_skip);
    push_num(&mut root, "failures", counts.fail + extra_fail);
    push_num(&mut root, "errors", counts.unfinished);
    push_num(&mut root, "skipped", counts.skip + extra_skip);
    push_num(&mut root, "time", results.duration_s());
    w.write_event(Event::Start(root))
        .map_err(wrap("<testsuites>"))?;
    for (suite, extra) in results.suites.iter().zip(&extra) {
        write_suite(&mut w, results, suite, extra.as_ref())
            .map_err(wrap(&format!("suite {:?}", suite.name)))?;
    }
    w.write_event(Event::End(BytesEnd::new("testsuites")))
        .map_err(wrap("</testsuites>"))?;
    let mut xml = String::from_utf8(w.into_inner()).map_err(JunitError::NotUtf8)?;
    xml.push('\n');
    Ok(xml)
}

/// The outcome of a suite that its subtests do not show.
enum Extra {
    Failed(String),
    Skipped,
}

impl Extra {
    fn is_failure(&self) -> bool {
        matches!(self, Extra::Failed(_))
    }
}

fn suite_extra(suite: &Suite) -> Option<Extra> {
    let sub_failed = suite
        .subtests
        .iter()
        .any(|t| matches!(t.status, None | Some(Status::Fail)));
    match suite.status {
        Some(Status::Fail) if !sub_failed => Some(Extra::Failed(
            "the suite's status is FAIL, but no subtest failed".to_string(),
        )),
        None if !sub_failed => Some(Extra::Failed(
            "the suite did not finish: results.yml ends before its status".to_string(),
        )),
        Some(Status::Skip) if suite.subtests.is_empty() => Some(Extra::Skipped),
        _ => None,
    }
}

fn push_num(e: &mut BytesStart<'_>, name: &str, n: impl ToString) {
    attr(e, name, &n.to_string());
}

fn attr(e: &mut BytesStart<'_>, name: &str, value: &str) {
    e.push_attribute((name, xml_safe(value).as_ref()));
}

/// XML 1.0 cannot hold most control characters even escaped (test output often has ANSI
/// colour codes): they are written as `\x1b`-style text instead.
fn xml_safe(text: &str) -> Cow<'_, str> {
    let bad = |c: char| {
        (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{fffe}' | '\u{ffff}')
    };
    if !text.chars().any(bad) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if bad(c) {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn write_suite(
    w: &mut Writer<Vec<u8>>,
    results: &SuiteResults,
    suite: &Suite,
    extra: Option<&Extra>,
) -> io::Result<()> {
    let counts = suite.counts();
    let (extra_fail, extra_skip) = match extra {
        Some(Extra::Failed(_)) => (1, 0),
        Some(Extra::Skipped) => (0, 1),
        None => (0, 0),
    };
    let mut start = BytesStart::new("testsuite");
    attr(&mut start, "name", &suite.name);
    push_num(
        &mut start,
        "tests",
        counts.total() + extra_fail + extra_skip,
    );
    push_num(&mut start, "failures", counts.fail + extra_fail);
    push_num(&mut start, "errors", counts.unfinished);
    push_num(&mut start, "skipped", counts.skip + extra_skip);
    let time = suite
        .duration_s
        .unwrap_or_else(|| suite.subtests.iter().filter_map(|t| t.duration_s).sum());
    push_num(&mut start, "time", time);
    attr(&mut start, "hostname", &results.test_group.testhost);
    w.write_event(Event::Start(start))?;

    w.write_event(Event::Start(BytesStart::new("properties")))?;
    let status = suite.status.map_or("unfinished", Status::as_str);
    for (name, value) in [
        ("description", suite.description.as_str()),
        ("submission", suite.submission.as_str()),
        ("status", status),
    ] {
        let mut p = BytesStart::new("property");
        attr(&mut p, "name", name);
        attr(&mut p, "value", value);
        w.write_event(Event::Empty(p))?;
    }
    w.write_event(Event::End(BytesEnd::new("properties")))?;

    for subtest in &suite.subtests {
        write_case(w, &suite.name, subtest)?;
    }
    if let Some(extra) = extra {
        write_suite_case(w, suite, extra)?;
    }
    w.write_event(Event::End(BytesEnd::new("testsuite")))?;
    Ok(())
}

fn case_start<'a>(classname: &'a str, name: &'a str, time: Option<u64>) -> BytesStart<'a> {
    let mut case = BytesStart::new("testcase");
    attr(&mut case, "classname", classname);
    attr(&mut case, "name", name);
    push_num(&mut case, "time", time.unwrap_or(0));
    case
}

fn write_case(w: &mut Writer<Vec<u8>>, suite: &str, subtest: &SubTest) -> io::Result<()> {
    let start = case_start(suite, &subtest.name, subtest.duration_s);
    let first_line = subtest
        .error
        .as_deref()
        .and_then(|e| e.lines().next())
        .unwrap_or("");
    match subtest.status {
        Some(Status::Pass) if subtest.logs.is_empty() => {
            return w.write_event(Event::Empty(start));
        }
        _ => w.write_event(Event::Start(start))?,
    }
    match subtest.status {
        Some(Status::Pass) => {}
        Some(Status::Fail) => {
            let rc = subtest.return_code.unwrap_or(0);
            let message = match first_line {
                "" => format!("FAIL (return code {rc})"),
                line => line.to_string(),
            };
            let text = match subtest.error.as_deref() {
                Some(e) => format!("{e}\nreturn code {rc}"),
                None => format!("return code {rc}"),
            };
            element(
                w,
                "failure",
                &[("message", &message), ("type", "FAIL")],
                &text,
            )?;
        }
        Some(Status::Skip) => {
            let mut skipped = BytesStart::new("skipped");
            if !first_line.is_empty() {
                attr(&mut skipped, "message", first_line);
            }
            w.write_event(Event::Empty(skipped))?;
        }
        None => {
            let message = "did not finish: results.yml ends inside this subtest";
            let mut error = BytesStart::new("error");
            attr(&mut error, "message", message);
            attr(&mut error, "type", "unfinished");
            w.write_event(Event::Empty(error))?;
        }
    }
    if !subtest.logs.is_empty() {
        let text: Vec<String> = subtest
            .logs
            .iter()
            .map(|l| format!("log {} ({}): {}", l.name, l.kind, l.location))
            .collect();
        element(w, "system-out", &[], &text.join("\n"))?;
    }
    w.write_event(Event::End(BytesEnd::new("testcase")))?;
    Ok(())
}

fn write_suite_case(w: &mut Writer<Vec<u8>>, suite: &Suite, extra: &Extra) -> io::Result<()> {
    w.write_event(Event::Start(case_start(
        &suite.name,
        SUITE_CASE,
        suite.duration_s,
    )))?;
    match extra {
        Extra::Failed(message) => {
            let kind = suite.status.map_or("unfinished", Status::as_str);
            element(
                w,
                "failure",
                &[("message", message), ("type", kind)],
                message,
            )?;
        }
        Extra::Skipped => {
            let mut skipped = BytesStart::new("skipped");
            attr(&mut skipped, "message", "the suite's status is SKIP");
            w.write_event(Event::Empty(skipped))?;
        }
    }
    w.write_event(Event::End(BytesEnd::new("testcase")))?;
    Ok(())
}

/// `<name attrs...>text</name>`.
fn element(
    w: &mut Writer<Vec<u8>>,
    name: &str,
    attrs: &[(&str, &str)],
    text: &str,
) -> io::Result<()> {
    let mut start = BytesStart::new(name);
    for (name, value) in attrs {
        attr(&mut start, name, value);
    }
    w.write_event(Event::Start(start))?;
    w.write_event(Event::Text(BytesText::new(&xml_safe(text))))?;
    w.write_event(Event::End(BytesEnd::new(name)))?;
    Ok(())
}
