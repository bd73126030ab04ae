//! Renderers of a run's model: the CSV report, the HTML page, the JUnit file, the summary
//! JSON, the live progress, the end-of-run summary, and the printer every line of output goes
//! through.

pub mod csv;
pub mod html;
pub mod json;
pub mod junit;
pub mod printer;
pub mod progress;
pub mod summary;
