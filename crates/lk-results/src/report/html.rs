//! Self-contained HTML of one benchmark run ([`run_html`]) and of a comparison
//! ([`Comparison::to_html`]): the same content as the Markdown reports, with the SVG plot
//! inlined. One file each: no script, no external style sheet, font or image, a few lines of
//! inline CSS, and a Content-Security-Policy that allows nothing else.
//!
//! Every text value (names, parameters, failure reasons, the title) goes through `escape`;
//! the SVG is inserted as markup (plotters escapes the text it draws). Void elements are
//! self-closed, so the document is also well-formed XML (the tests read it with quick-xml).

use super::compare::{differs, Cell, Comparison};
use super::fmt_value;
use super::markdown::samples_cell;
use crate::bench::{BenchRun, Metric};

/// The page's style: readable tables, numbers right-aligned, the plot no wider than the page.
const STYLE: &str = "\
body{font-family:sans-serif;color:#222;max-width:72em;margin:1.5em auto;padding:0 1em}
table{border-collapse:collapse;margin:.5em 0 1em}
th,td{border:1px solid #ccc;padding:.2em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.failed,.differs{color:#a00}
figure{margin:1em 0}
figure svg{max-width:100%;height:auto}
";

/// Text safe as HTML element content and as a quoted attribute value.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A table cell's text (escaped when the row is written) and how it is shown.
struct Td {
    text: String,
    class: &'static str,
}

fn td(text: impl Into<String>) -> Td {
    Td {
        text: text.into(),
        class: "",
    }
}

fn num(text: impl Into<String>) -> Td {
    Td {
        text: text.into(),
        class: "num",
    }
}

/// One table row of `tag` cells (`th` or `td`).
fn row(tag: &str, cells: &[Td]) -> String {
    let mut out = String::from("<tr>");
    for c in cells {
        let class = if c.class.is_empty() {
            String::new()
        } else {
            format!(" class=\"{}\"", c.class)
        };
        out.push_str(&format!("<{tag}{class}>{}</{tag}>", escape(&c.text)));
    }
    out.push_str("</tr>\n");
    out
}

/// A table: a header row of `head` (`num` ones right-aligned too), then `rows`.
fn table(head: &[Td], rows: &[Vec<Td>]) -> String {
    let mut out = String::from("<table>\n<thead>\n");
    out.push_str(&row("th", head));
    out.push_str("</thead>\n<tbody>\n");
    for r in rows {
        out.push_str(&row("td", r));
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

/// The plot as inline SVG in a figure with `caption`; nothing without a plot.
fn figure(svg: Option<&str>, caption: &str) -> String {
    let Some(svg) = svg else {
        return String::new();
    };
    // An XML declaration has no place inside HTML (plotters writes none, but a caller's SVG may).
    let svg = match svg.trim_start().strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or(rest, |(_, after)| after),
        None => svg,
    };
    format!(
        "<figure>\n{}\n<figcaption>{}</figcaption>\n</figure>\n",
        svg.trim(),
        escape(caption)
    )
}

/// The whole document around `body`.
fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'\" />\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\" />\n\
         <title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        escape(title)
    )
}

/// The HTML report of one run: its identity, parameters, metrics and, when given, its plot
/// (the SVG document, e.g. from [`render_run_svg`](super::render_run_svg)) inline.
pub fn run_html(run: &BenchRun, svg: Option<&str>) -> String {
    let title = format!("{} on {}", run.kind, run.cluster);
    let mut body = format!("<h1>{}</h1>\n", escape(&title));
    body.push_str("<table>\n<tbody>\n");
    for (key, value) in [
        ("kind", run.kind.as_str()),
        ("cluster", &run.cluster),
        ("Lustre", &run.lustre_version),
        ("topology hash", &run.topology_hash),
        ("started", &run.started_at),
        ("file stem", &run.file_stem()),
    ] {
        body.push_str(&format!(
            "<tr><th>{key}</th><td>{}</td></tr>\n",
            escape(value)
        ));
    }
    body.push_str("</tbody>\n</table>\n");
    if !run.parameters.is_empty() {
        let rows: Vec<Vec<Td>> = run
            .parameters
            .iter()
            .map(|(key, value)| vec![td(key), td(value)])
            .collect();
        body.push_str("<h2>Parameters</h2>\n");
        body.push_str(&table(&[td("parameter"), td("value")], &rows));
    }
    body.push_str("<h2>Metrics</h2>\n");
    body.push_str(&run_metrics(&run.metrics));
    body.push_str(&figure(svg, &format!("metrics of {}", run.file_stem())));
    page(&title, &body)
}

fn run_metrics(metrics: &[Metric]) -> String {
    if metrics.is_empty() {
        return "<p>No metrics.</p>\n".to_string();
    }
    let head = [td("metric"), num("value"), td("unit"), td("samples")];
    let rows: Vec<Vec<Td>> = metrics
        .iter()
        .map(|m| vec![td(&m.name), value(m), td(&m.unit), td(samples_cell(m))])
        .collect();
    let mut out = table(&head, &rows);
    let failed = metrics.iter().filter(|m| m.failure.is_some()).count();
    if failed > 0 {
        out.push_str(&format!(
            "<p class=\"failed\">{failed} of {} metrics failed.</p>\n",
            metrics.len()
        ));
    }
    out
}

/// The value, or `FAILED: reason`.
fn value(m: &Metric) -> Td {
    match (&m.value, &m.failure) {
        (Some(v), _) => num(fmt_value(*v)),
        (None, Some(why)) => Td {
            text: format!("FAILED: {why}"),
            class: "failed",
        },
        (None, None) => num("—"),
    }
}

impl Comparison {
    /// The HTML report: the runs, the parameters (differing ones marked), the metric table
    /// (`#1`, then per later run its value, delta % and ratio against #1), the failures and,
    /// when given, the plot (the SVG document, e.g. from
    /// [`render_comparison_svg`](super::render_comparison_svg)) inline.
    pub fn to_html(&self, svg: Option<&str>) -> String {
        let title = format!("{} comparison of {} runs", self.kind, self.runs.len());
        let mut body = format!("<h1>{}</h1>\n", escape(&title));
        let head = ["run", "cluster", "Lustre", "started", "file stem"].map(td);
        let rows: Vec<Vec<Td>> = self
            .runs
            .iter()
            .map(|r| {
                vec![
                    td(&r.label),
                    td(&r.cluster),
                    td(&r.lustre_version),
                    td(&r.started_at),
                    td(&r.file_stem),
                ]
            })
            .collect();
        body.push_str(&table(&head, &rows));
        if !self.parameters.is_empty() {
            body.push_str(&self.parameters_html());
        }
        body.push_str("<h2>Metrics</h2>\n<p>Delta and ratio are against run #1.</p>\n");
        body.push_str(&self.metrics_html());
        body.push_str(&figure(svg, "comparison"));
        page(&title, &body)
    }

    fn parameters_html(&self) -> String {
        let mut head = vec![td("parameter")];
        head.extend(self.runs.iter().map(|r| td(&r.label)));
        let mut differ = false;
        let mut rows = Vec::new();
        for (key, values) in &self.parameters {
            let d = differs(values);
            differ |= d;
            let mut r = vec![if d {
                Td {
                    text: format!("{key} (differs)"),
                    class: "differs",
                }
            } else {
                td(key)
            }];
            r.extend(values.iter().map(|v| td(v.as_deref().unwrap_or("—"))));
            rows.push(r);
        }
        let mut out = format!("<h2>Parameters</h2>\n{}", table(&head, &rows));
        if differ {
            out.push_str(
                "<p class=\"differs\">Some parameters differ: the runs did not measure the same \
                 thing.</p>\n",
            );
        }
        out
    }

    fn metrics_html(&self) -> String {
        let mut head = vec![td("metric"), td("unit"), num("#1")];
        for r in self.runs.iter().skip(1) {
            head.push(num(&r.label));
            head.push(num(format!("Δ% {}", r.label)));
            head.push(num(format!("ratio {}", r.label)));
        }
        let rows: Vec<Vec<Td>> = self
            .metrics
            .iter()
            .map(|m| {
                let mut r = vec![td(&m.name), td(&m.unit)];
                for (i, c) in m.cells.iter().enumerate() {
                    r.push(match c {
                        Cell::Failed(_) => Td {
                            text: c.text(),
                            class: "num failed",
                        },
                        _ => num(c.text()),
                    });
                    if i > 0 {
                        r.push(num(m.delta_text(i)));
                        r.push(num(m.ratio_text(i)));
                    }
                }
                r
            })
            .collect();
        let mut out = table(&head, &rows);
        let failures = self.failures();
        if !failures.is_empty() {
            out.push_str("<p>Failed:</p>\n<ul class=\"failed\">\n");
            for (name, run, why) in failures {
                out.push_str(&format!(
                    "<li>{} in run #{run}: {}</li>\n",
                    escape(name),
                    escape(why)
                ));
            }
            out.push_str("</ul>\n");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::{BenchKind, Metric};

    #[test]
    fn escapes_every_special_character() {
        assert_eq!(escape("<&>\"'"), "&lt;&amp;&gt;&quot;&#39;");
        assert_eq!(escape("a &amp; b"), "a &amp;amp; b");
        assert_eq!(escape("Δ% #2 plain"), "Δ% #2 plain");
    }

    /// Text from a run (names, units, parameters, failure reasons) never becomes markup.
    #[test]
    fn run_text_is_escaped() {
        let mut run = BenchRun::new(
            BenchKind::Fio,
            "c1",
            "0123456789abcdef",
            "2.17.0",
            "2026-12-02T00:00:00Z",
        )
        .expect("valid");
        run.parameters
            .insert("<script>".into(), "\"x\" & 'y'".into());
        run.metrics = vec![
            Metric::new("a<b>", "MiB/s", 1.0),
            Metric::failed("c", "</td>", "exit <1> & \"why\""),
        ];
        let html = run_html(&run, None);
        assert!(
            !html.contains("<script>") && !html.contains("<b>"),
            "{html}"
        );
        assert!(!html.contains("</td>\"") && !html.contains("<1>"), "{html}");
        assert!(
            html.contains("&lt;script&gt;") && html.contains("&quot;x&quot; &amp; &#39;y&#39;")
        );
        assert!(html.contains("FAILED: exit &lt;1&gt; &amp; &quot;why&quot;"));
        assert!(!html.contains("<figure>"), "no plot given: {html}");
    }

    #[test]
    fn figure_drops_an_xml_declaration() {
        let svg = "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>\n";
        let f = figure(Some(svg), "a & b");
        assert!(f.starts_with("<figure>\n<svg "), "{f}");
        assert!(f.contains("<figcaption>a &amp; b</figcaption>"), "{f}");
    }
}
