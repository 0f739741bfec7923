//! The charts, one module each, and the writer that turns a chart into an SVG and a PNG.
//!
//! Each chart is built in two steps: `build` turns the labelled records into plain series
//! (testable without drawing, and collecting notes about unusable data), then [`Chart::draw`]
//! draws them on any plotters backend. [`write`] runs `draw` once per backend.

pub(crate) mod completion_cdf;
pub(crate) mod legend;
pub(crate) mod line_chart;
pub(crate) mod origin_upload;
pub(crate) mod rate_chart;
pub(crate) mod style;
pub(crate) mod sweep;
pub(crate) mod throughput;
pub(crate) mod time_axis;
pub(crate) mod upload_share;

use std::fs;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::ReportError;

/// What drawing on backend `DB` can fail with.
pub(crate) type DrawResult<DB> =
    Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A chart ready to draw.
pub(crate) trait Chart {
    /// File stem of the chart's images, e.g. `completion-cdf`.
    const NAME: &'static str;

    /// Draws the whole chart (title, axes, series, legend, or a "no data" note) on `root`.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB>;

    /// What could not be plotted, for the summary's notes.
    fn notes(&self) -> &[String];
}

/// Writes `chart` as `NAME.svg` and `NAME.png` into `out_dir`; returns the two file names.
pub(crate) fn write<C: Chart>(chart: &C, out_dir: &Path) -> Result<[String; 2], ReportError> {
    let svg_name = format!("{}.svg", C::NAME);
    let svg_path = out_dir.join(&svg_name);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, style::SIZE).into_drawing_area();
        chart
            .draw(&root)
            .and_then(|()| root.present())
            .map_err(|e| draw_error(C::NAME, &svg_path, e))?;
    }
    fs::write(&svg_path, svg).map_err(|source| ReportError::WriteFile {
        path: svg_path.clone(),
        source,
    })?;

    let png_name = format!("{}.png", C::NAME);
    let png_path = out_dir.join(&png_name);
    let root = BitMapBackend::new(&png_path, style::SIZE).into_drawing_area();
    chart
        .draw(&root)
        .and_then(|()| root.present())
        .map_err(|e| draw_error(C::NAME, &png_path, e))?;
    Ok([svg_name, png_name])
}

fn draw_error<E: std::error::Error + Send + Sync>(
    chart: &'static str,
    path: &Path,
    error: DrawingAreaErrorKind<E>,
) -> ReportError {
    ReportError::Draw {
        chart,
        path: PathBuf::from(path),
        message: error.to_string(),
    }
}
