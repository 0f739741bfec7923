//! The crate's error type: every failure names the file or chart it concerns and what failed.
//!
//! Bad *content* (empty records, nodes without samples, peers that never finished, a zero file
//! size) is not an error: charts render a "no data" note and the summary says what is missing.
//! Errors are for what stops a report from being written at all.

use std::io;
use std::path::PathBuf;

/// Why a record could not be loaded or a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The run record file could not be read.
    #[error("cannot read run record {}", path.display())]
    ReadRecord {
        /// The record's path.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },

    /// The file was read but is not a valid run record.
    #[error("{} is not a valid run record", path.display())]
    ParseRecord {
        /// The record's path.
        path: PathBuf,
        /// Where the JSON did not match (line and column are in the message).
        #[source]
        source: serde_json::Error,
    },

    /// The output directory could not be created.
    #[error("cannot create output directory {}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },

    /// An output file could not be written.
    #[error("cannot write {}", path.display())]
    WriteFile {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },

    /// The summary could not be serialized to JSON.
    #[error("cannot serialize the summary for {}", path.display())]
    SerializeSummary {
        /// The file it was meant for.
        path: PathBuf,
        /// What serde_json said.
        #[source]
        source: serde_json::Error,
    },

    /// The embedded font was rejected by the font rasterizer.
    #[error("the embedded font {name} could not be registered with plotters")]
    Font {
        /// The font file's name.
        name: &'static str,
    },

    /// Plotters failed while drawing or encoding a chart.
    #[error("drawing chart {chart} into {} failed: {message}", path.display())]
    Draw {
        /// The chart's file stem, e.g. `completion-cdf`.
        chart: &'static str,
        /// The image file being written.
        path: PathBuf,
        /// Plotters' description of the failure (its error type is generic over the backend).
        message: String,
    },
}
