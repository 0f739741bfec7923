//! The look shared by every chart: canvas size, fonts, the record palette, grid lines, axis
//! ranges, reference lines (bounds, capacities) and the "no data" panel.

use plotters::chart::MeshStyle;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use swarm_engine::record::RunRecord;

use super::DrawResult;
use crate::font::FAMILY;

/// Canvas size of every chart, in pixels.
pub(crate) const SIZE: (u32, u32) = (1200, 720);

/// Stroke width of data lines.
pub(crate) const LINE_WIDTH: u32 = 3;

/// Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(230, 159, 0),   // orange
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(0, 0, 0),       // black
];

/// The colour of the `i`-th record.
pub(crate) fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Chart titles.
pub(crate) fn title_font() -> TextStyle<'static> {
    (FAMILY, 28).into_font().color(&BLACK)
}

/// Axis descriptions ("time since start (s)").
pub(crate) fn axis_desc_font() -> TextStyle<'static> {
    (FAMILY, 20).into_font().color(&BLACK)
}

/// Tick labels.
pub(crate) fn tick_font() -> TextStyle<'static> {
    (FAMILY, 16).into_font().color(&BLACK)
}

/// Reference lines shared by all records (bound, capacity, one copy).
pub(crate) const REFERENCE: RGBColor = RGBColor(80, 80, 80);

/// Legend entries.
pub(crate) fn legend_font() -> TextStyle<'static> {
    (FAMILY, 17).into_font().color(&BLACK)
}

/// Grid lines at labelled ticks.
pub(crate) fn grid_style() -> ShapeStyle {
    RGBColor(215, 215, 215).stroke_width(1)
}

/// Grid lines between labelled ticks.
pub(crate) fn light_grid_style() -> ShapeStyle {
    RGBColor(240, 240, 240).stroke_width(1)
}

/// Applies the shared axis look to `mesh`: description and tick fonts, grid lines, and at
/// most four light lines between labelled ticks.
pub(crate) fn style_mesh<'m, 'a, 'b, X, Y, DB>(
    mesh: &'m mut MeshStyle<'a, 'b, X, Y, DB>,
) -> &'m mut MeshStyle<'a, 'b, X, Y, DB>
where
    X: Ranged,
    Y: Ranged,
    DB: DrawingBackend,
{
    mesh.axis_desc_style(axis_desc_font())
        .label_style(tick_font())
        .bold_line_style(grid_style())
        .light_line_style(light_grid_style())
        .max_light_lines(4)
}

/// `base`, followed by the scenario name when all records share one.
pub(crate) fn title(base: &str, records: &[(String, RunRecord)]) -> String {
    match records.split_first() {
        Some(((_, first), rest)) if rest.iter().all(|(_, r)| r.scenario == first.scenario) => {
            format!("{base} — {}", first.scenario)
        }
        _ => base.to_string(),
    }
}

/// An axis end a little above the largest finite value; 1 when there is none.
pub(crate) fn axis_max(values: impl IntoIterator<Item = f64>) -> f64 {
    let max = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    if max > 0.0 {
        max * 1.05
    } else {
        1.0
    }
}

/// The value all `values` share (equal within rounding), if there is at least one.
pub(crate) fn shared_value(values: &[f64]) -> Option<f64> {
    let (&first, rest) = values.split_first()?;
    rest.iter()
        .all(|v| (v - first).abs() <= 1e-9 * first.abs().max(1.0))
        .then_some(first)
}

/// A horizontal or vertical reference line (a bound, a capacity) and its legend label.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reference {
    pub(crate) value: f64,
    pub(crate) color: RGBColor,
    pub(crate) label: String,
}

/// Reference lines for records given as `(record index, record label, value)`: one grey line
/// when every record has the same value (records of one scenario share their bound), else
/// one line per record that has a value, in the record's colour.
pub(crate) fn references(
    values: &[(usize, &str, Option<f64>)],
    describe: impl Fn(f64) -> String,
) -> Vec<Reference> {
    let known: Vec<f64> = values.iter().filter_map(|v| v.2).collect();
    if known.len() == values.len() {
        if let Some(value) = shared_value(&known) {
            return vec![Reference {
                value,
                color: REFERENCE,
                label: describe(value),
            }];
        }
    }
    values
        .iter()
        .filter_map(|&(i, label, value)| {
            value.map(|value| Reference {
                value,
                color: color(i),
                label: format!("{label}: {}", describe(value)),
            })
        })
        .collect()
}

/// Fills the canvas and draws the title with a centred "no data" note under it.
pub(crate) fn draw_no_data<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    reason: &str,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let (width, height) = root.dim_in_pixel();
    let center = |style: TextStyle<'static>| style.pos(Pos::new(HPos::Center, VPos::Center));
    let x = width as i32 / 2;
    root.draw(&Text::new(title.to_string(), (x, 40), center(title_font())))?;
    root.draw(&Text::new(
        "no data".to_string(),
        (x, height as i32 / 2 - 20),
        center((FAMILY, 36).into_font().color(&RGBColor(110, 110, 110))),
    ))?;
    root.draw(&Text::new(
        reason.to_string(),
        (x, height as i32 / 2 + 24),
        center((FAMILY, 20).into_font().color(&RGBColor(110, 110, 110))),
    ))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::tests::record;

    #[test]
    fn axis_max_pads_and_survives_empty_or_bad_input() {
        assert_eq!(axis_max([10.0, 20.0]), 21.0);
        assert_eq!(axis_max([]), 1.0);
        assert_eq!(axis_max([f64::NAN, f64::INFINITY, 0.0]), 1.0);
    }

    #[test]
    fn shared_value_needs_all_equal() {
        assert_eq!(shared_value(&[8.0, 8.0, 8.0 + 1e-12]), Some(8.0));
        assert_eq!(shared_value(&[8.0, 9.0]), None);
        assert_eq!(shared_value(&[]), None);
    }

    #[test]
    fn references_merge_when_shared() {
        let describe = |v: f64| format!("bound {v}");
        let shared = references(&[(0, "a", Some(8.0)), (1, "b", Some(8.0))], describe);
        assert_eq!(shared.len(), 1);
        assert_eq!(
            (shared[0].color, shared[0].label.as_str()),
            (REFERENCE, "bound 8")
        );
        let apart = references(&[(0, "a", Some(8.0)), (2, "b", Some(9.0))], describe);
        assert_eq!(apart.len(), 2);
        assert_eq!(
            (apart[1].color, apart[1].label.as_str()),
            (color(2), "b: bound 9")
        );
        let partial = references(&[(0, "a", Some(8.0)), (1, "b", None)], describe);
        assert_eq!(partial.len(), 1);
        assert_eq!(partial[0].label, "a: bound 8");
        assert!(references(&[], describe).is_empty());
    }

    #[test]
    fn title_names_a_shared_scenario_only() {
        let a = ("a".to_string(), record(Vec::new()));
        let mut b = ("b".to_string(), record(Vec::new()));
        assert_eq!(title("T", &[a.clone(), b.clone()]), "T — test");
        b.1.scenario = "other".to_string();
        assert_eq!(title("T", &[a, b]), "T");
        assert_eq!(title("T", &[]), "T");
    }
}
