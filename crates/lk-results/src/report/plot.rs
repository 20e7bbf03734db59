//! SVG plots with plotters: one horizontal bar per metric (a run) or one group of bars per
//! metric, a bar per run (a comparison), in one panel per unit.
//!
//! SVG only, and plotters without its font features: text is written as SVG `<text>` and the
//! viewer's font draws it, while plotters sizes the layout with its built-in estimate. So no
//! font is looked up, loaded or needed here; there is no "font missing" failure to have.
//! Failed or missing values get no bar (the Markdown says why); a run's metric with several
//! samples gets a line from the smallest to the largest sample.

use std::error::Error;
use std::path::{Path, PathBuf};

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::prelude::*;
use thiserror::Error;

use super::compare::Comparison;
use super::fmt_value;
use crate::bench::BenchRun;

/// Why a plot was not made.
#[derive(Debug, Error)]
pub enum PlotError {
    #[error("nothing to plot: no metric has a value")]
    NothingToPlot,
    #[error("drawing the {what}")]
    Draw {
        what: String,
        #[source]
        source: Box<dyn Error + Send + Sync>,
    },
    #[error("writing the plot to {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Metrics of one unit: a row per metric, a value per series (run).
struct Panel {
    unit: String,
    names: Vec<String>,
    /// `values[row][series]`.
    values: Vec<Vec<Option<f64>>>,
    /// Sample range per row (single run only).
    ranges: Vec<Option<(f64, f64)>>,
}

const WIDTH: u32 = 1000;
const ROW_HEIGHT: u32 = 12;
const PANEL_EXTRA: u32 = 80;
const FONT: &str = "sans-serif";

/// The SVG of one run's metrics.
pub fn render_run_svg(run: &BenchRun) -> Result<String, PlotError> {
    let mut panels: Vec<Panel> = Vec::new();
    for m in &run.metrics {
        let panel = panel_for(&mut panels, &m.unit);
        let name = match &m.failure {
            Some(_) => format!("{} (FAILED)", m.name),
            None => m.name.clone(),
        };
        panel.names.push(name);
        panel.values.push(vec![m.value]);
        let range = m.samples.as_deref().filter(|s| s.len() > 1).map(|s| {
            let min = s.iter().copied().fold(f64::INFINITY, f64::min);
            let max = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (min, max)
        });
        panel.ranges.push(range);
    }
    let title = format!(
        "{} on {} (Lustre {})",
        run.kind, run.cluster, run.lustre_version
    );
    render(&title, &[run.file_stem()], &panels)
}

/// The SVG of a comparison: per metric, a bar per run.
pub fn render_comparison_svg(comparison: &Comparison) -> Result<String, PlotError> {
    let mut panels: Vec<Panel> = Vec::new();
    for m in &comparison.metrics {
        let panel = panel_for(&mut panels, &m.unit);
        panel.names.push(m.name.clone());
        panel
            .values
            .push(m.cells.iter().map(|c| c.value()).collect());
        panel.ranges.push(None);
    }
    let labels: Vec<String> = comparison
        .runs
        .iter()
        .map(|r| format!("{} {} {}", r.label, r.lustre_version, r.started_at))
        .collect();
    let title = format!("{} comparison", comparison.kind);
    render(&title, &labels, &panels)
}

/// Writes [`render_run_svg`] to `path`.
pub fn plot_run(run: &BenchRun, path: &Path) -> Result<(), PlotError> {
    write(path, &render_run_svg(run)?)
}

/// Writes [`render_comparison_svg`] to `path`.
pub fn plot_comparison(comparison: &Comparison, path: &Path) -> Result<(), PlotError> {
    write(path, &render_comparison_svg(comparison)?)
}

fn write(path: &Path, svg: &str) -> Result<(), PlotError> {
    std::fs::write(path, svg).map_err(|source| PlotError::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn panel_for<'a>(panels: &'a mut Vec<Panel>, unit: &str) -> &'a mut Panel {
    let i = match panels.iter().position(|p| p.unit == unit) {
        Some(i) => i,
        None => {
            panels.push(Panel {
                unit: unit.to_string(),
                names: Vec::new(),
                values: Vec::new(),
                ranges: Vec::new(),
            });
            panels.len() - 1
        }
    };
    &mut panels[i]
}

fn draw_err<E: Error + Send + Sync + 'static>(
    what: impl Into<String>,
) -> impl FnOnce(E) -> PlotError {
    let what = what.into();
    move |e| PlotError::Draw {
        what,
        source: Box::new(e),
    }
}

fn panel_height(panel: &Panel, series: usize) -> u32 {
    let rows = panel.names.len() as u32;
    PANEL_EXTRA + rows * (ROW_HEIGHT * series.max(1) as u32 + 8)
}

fn render(title: &str, series: &[String], panels: &[Panel]) -> Result<String, PlotError> {
    let has_value = panels
        .iter()
        .any(|p| p.values.iter().flatten().any(Option::is_some));
    if !has_value {
        return Err(PlotError::NothingToPlot);
    }
    let legend = if series.len() > 1 {
        24 * series.len() as u32
    } else {
        0
    };
    let heights: Vec<u32> = panels
        .iter()
        .map(|p| panel_height(p, series.len()))
        .collect();
    let height = 50 + legend + heights.iter().sum::<u32>();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err("background"))?;
        let root = root.titled(title, (FONT, 20)).map_err(draw_err("title"))?;
        let (legend_area, root) = root.split_vertically(legend);
        draw_legend(&legend_area, series)?;
        let mut breaks = Vec::new();
        let mut y = 0;
        for h in &heights[..heights.len() - 1] {
            y += *h as i32;
            breaks.push(y);
        }
        let areas = root.split_by_breakpoints(Vec::<i32>::new(), breaks);
        for (area, panel) in areas.iter().zip(panels) {
            draw_panel(area, panel, series.len())?;
        }
        root.present().map_err(draw_err("SVG document"))?;
    }
    Ok(svg)
}

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    series: &[String],
) -> Result<(), PlotError>
where
    DB::ErrorType: 'static,
{
    for (i, label) in series.iter().enumerate() {
        if series.len() < 2 {
            break;
        }
        let y = 4 + 24 * i as i32;
        let color = Palette99::pick(i).to_rgba();
        area.draw(&Rectangle::new([(60, y), (80, y + 14)], color.filled()))
            .map_err(draw_err("legend"))?;
        area.draw(&Text::new(label.clone(), (90, y), (FONT, 14)))
            .map_err(draw_err("legend"))?;
    }
    Ok(())
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    panel: &Panel,
    series: usize,
) -> Result<(), PlotError>
where
    DB::ErrorType: 'static,
{
    let what = || format!("panel {:?}", panel.unit);
    let values = panel.values.iter().flatten().flatten();
    let ranges = panel.ranges.iter().flatten().flat_map(|&(a, b)| [a, b]);
    let (lo, hi) = values
        .copied()
        .chain(ranges)
        .fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let hi = if hi == lo {
        lo + 1.0
    } else {
        hi + (hi - lo) * 0.05
    };
    let rows = panel.names.len();
    let longest = panel
        .names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0);
    let label_width = (longest as u32 * 7 + 16).clamp(80, 460);
    let mut chart = ChartBuilder::on(area)
        .margin(8)
        .caption(&panel.unit, (FONT, 15))
        .x_label_area_size(28)
        .y_label_area_size(label_width)
        .build_cartesian_2d(lo..hi, Rows(rows))
        .map_err(draw_err(what()))?;
    // Row 0 at the top: metric i sits at y = rows - 1 - i.
    let name_at = |y: &f64| {
        let i = rows as f64 - 1.0 - y.floor();
        panel.names.get(i as usize).cloned().unwrap_or_default()
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .max_light_lines(2)
        .y_labels(rows)
        .y_label_formatter(&name_at)
        .x_label_formatter(&|v| fmt_value(*v))
        .label_style((FONT, 12))
        .draw()
        .map_err(draw_err(what()))?;
    let band = 0.8 / series.max(1) as f64;
    for (i, row) in panel.values.iter().enumerate() {
        // The row's band runs from `top` down; series 0 (run #1) first.
        let top = (rows - i) as f64 - 0.1;
        for (s, value) in row.iter().enumerate() {
            let Some(v) = value else { continue };
            let y0 = top - band * (s + 1) as f64 + band * 0.1;
            let color = Palette99::pick(s).to_rgba();
            let bar = Rectangle::new([(0.0, y0), (*v, y0 + band * 0.9)], color.filled());
            chart.draw_series([bar]).map_err(draw_err(what()))?;
        }
        if let Some((min, max)) = panel.ranges.get(i).copied().flatten() {
            let y = top - 0.4;
            let line = PathElement::new(vec![(min, y), (max, y)], BLACK.stroke_width(2));
            chart.draw_series([line]).map_err(draw_err(what()))?;
        }
    }
    Ok(())
}

/// The y axis of a panel: `0..rows`, with a tick (and so a label) at the middle of each row.
/// (plotters' `with_key_points` on an f64 range cannot take a label formatter.)
struct Rows(usize);

impl Ranged for Rows {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let fraction = value / self.0.max(1) as f64;
        limit.0 + (f64::from(limit.1 - limit.0) * fraction).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            return Vec::new();
        }
        (0..self.0).map(|i| i as f64 + 0.5).collect()
    }

    fn range(&self) -> std::ops::Range<f64> {
        0.0..self.0 as f64
    }
}
