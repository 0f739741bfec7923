//! The legend strip under each chart: entries flow left to right in centred rows below the
//! plot, so the legend never hides data (plotters' own legend box sits inside the plot).

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::{self, LINE_WIDTH};
use super::DrawResult;

/// Height of one legend row, in pixels.
const ROW_PX: u32 = 28;
/// Space above and below the rows.
const PAD_PX: u32 = 10;
/// Width of the mark drawn before each label.
const MARK_PX: i32 = 32;
/// Gap between the mark and its label.
const GAP_PX: u32 = 10;
/// Space between two entries of a row.
const SPACING_PX: u32 = 36;
/// Margin left and right of the rows.
const SIDE_PX: u32 = 24;
/// At most this many rows; further entries are left out (no chart has that many).
const MAX_ROWS: usize = 8;

/// How an entry's series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    /// A solid line (data).
    Line,
    /// A dashed line (a reference: bound, capacity).
    Dashed,
    /// A filled box (bars, bands).
    Box,
}

/// One legend entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) label: String,
    pub(crate) mark: Mark,
    pub(crate) color: RGBColor,
}

impl Entry {
    pub(crate) fn new(label: impl Into<String>, mark: Mark, color: RGBColor) -> Self {
        Entry {
            label: label.into(),
            mark,
            color,
        }
    }
}

/// Width an entry takes in the strip: mark, gap, label.
fn entry_px(label_px: u32) -> u32 {
    MARK_PX as u32 + GAP_PX + label_px
}

/// Flows entries whose labels are `label_px` wide into rows no wider than `width_px`, in
/// order; an entry wider than the strip gets a row of its own. Returns the entry indices of
/// each row, at most [`MAX_ROWS`] rows.
pub(crate) fn layout(label_px: &[u32], width_px: u32) -> Vec<Vec<usize>> {
    let mut rows: Vec<Vec<usize>> = Vec::new();
    let mut used_px = 0;
    for (i, &label) in label_px.iter().enumerate() {
        let needed = entry_px(label);
        match rows.last_mut() {
            Some(row) if used_px + SPACING_PX + needed <= width_px => {
                row.push(i);
                used_px += SPACING_PX + needed;
            }
            _ => {
                if rows.len() == MAX_ROWS {
                    break;
                }
                rows.push(vec![i]);
                used_px = needed;
            }
        }
    }
    rows
}

fn label_px(label: &str) -> u32 {
    style::legend_font()
        .font
        .box_size(label)
        .map(|(w, _)| w)
        // Only if the font cannot measure: about 9 px per character at the legend size.
        .unwrap_or(label.chars().count() as u32 * 9)
}

/// Width available to the rows of a strip `width_px` wide.
fn usable_px(width_px: u32) -> u32 {
    width_px.saturating_sub(2 * SIDE_PX)
}

/// Splits `root` into the chart area and, below it, a strip tall enough for `entries`.
pub(crate) fn split<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    entries: &[Entry],
) -> (DrawingArea<DB, Shift>, DrawingArea<DB, Shift>) {
    let (width, height) = root.dim_in_pixel();
    let widths: Vec<u32> = entries.iter().map(|e| label_px(&e.label)).collect();
    let rows = layout(&widths, usable_px(width)).len() as u32;
    let strip = if rows == 0 {
        0
    } else {
        rows * ROW_PX + 2 * PAD_PX
    };
    root.split_vertically(height.saturating_sub(strip) as i32)
}

/// Draws `entries` in `area`, centred, row by row.
pub(crate) fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[Entry],
) -> DrawResult<DB> {
    let (width, _) = area.dim_in_pixel();
    let widths: Vec<u32> = entries.iter().map(|e| label_px(&e.label)).collect();
    let text_style = style::legend_font().pos(Pos::new(HPos::Left, VPos::Center));
    for (r, row) in layout(&widths, usable_px(width)).iter().enumerate() {
        let row_px: u32 = row.iter().map(|&i| entry_px(widths[i])).sum::<u32>()
            + SPACING_PX * (row.len() as u32).saturating_sub(1);
        let y = (PAD_PX + r as u32 * ROW_PX + ROW_PX / 2) as i32;
        let mut x = (width.saturating_sub(row_px) / 2) as i32;
        for &i in row {
            draw_entry(area, &entries[i], (x, y), &text_style)?;
            x += (entry_px(widths[i]) + SPACING_PX) as i32;
        }
    }
    Ok(())
}

fn draw_entry<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entry: &Entry,
    (x, y): (i32, i32),
    text_style: &TextStyle<'static>,
) -> DrawResult<DB> {
    match entry.mark {
        Mark::Line => area.draw(&PathElement::new(
            vec![(x, y), (x + MARK_PX, y)],
            entry.color.stroke_width(LINE_WIDTH),
        ))?,
        Mark::Dashed => area.draw(&DashedPathElement::new(
            vec![(x, y), (x + MARK_PX, y)],
            8,
            5,
            entry.color.stroke_width(2),
        ))?,
        Mark::Box => area.draw(&Rectangle::new(
            [(x, y - 8), (x + MARK_PX, y + 8)],
            entry.color.filled(),
        ))?,
    }
    area.draw(&Text::new(
        entry.label.clone(),
        (x + MARK_PX + GAP_PX as i32, y),
        text_style.clone(),
    ))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_flow_into_rows_that_fit() {
        // Entries take 42 px + label, with 36 px between them.
        assert_eq!(layout(&[100, 80, 60], 1000), vec![vec![0, 1, 2]]);
        // 142 + 36 + 122 = 300 fits in 300; the third entry wraps.
        assert_eq!(layout(&[100, 80, 60], 300), vec![vec![0, 1], vec![2]]);
        // Wider than the strip: a row of its own, never dropped.
        assert_eq!(layout(&[500, 10], 100), vec![vec![0], vec![1]]);
        assert!(layout(&[], 1000).is_empty());
        assert_eq!(layout(&[10; 100], 40).len(), MAX_ROWS);
    }
}
