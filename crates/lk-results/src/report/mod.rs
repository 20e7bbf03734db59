//! Reports of benchmark runs: Markdown of one [`BenchRun`](crate::bench::BenchRun)
//! ([`markdown`]), the comparison of several runs of one kind ([`compare()`]), SVG plots of
//! either ([`plot`]), and self-contained HTML of either with its plot inline ([`html`]:
//! [`run_html`], [`Comparison::to_html`]).

pub mod compare;
pub mod html;
pub mod markdown;
pub mod plot;

pub use compare::{compare, Cell, CompareError, Comparison};
pub use html::run_html;
pub use markdown::run_markdown;
pub use plot::{plot_comparison, plot_run, render_comparison_svg, render_run_svg, PlotError};

/// A number for a table: integers as such, otherwise 2 decimals from 1 up and 4 below.
pub fn fmt_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

/// Text safe in a Markdown table cell.
pub(crate) fn md_cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(fmt_value(3467.0), "3467");
        assert_eq!(fmt_value(1733.125), "1733.12");
        assert_eq!(fmt_value(0.32), "0.3200");
        assert_eq!(fmt_value(12.345), "12.35");
        assert_eq!(md_cell("a|b\nc"), "a\\|b c");
    }
}
