//! Renderers of a run: the CSV report, the live progress, and the end-of-run summary.

pub mod csv;
pub mod html;
pub mod progress;
pub mod summary;
