//! Renderers of the run's model (src/model/): the CSV report, the HTML page, the JUnit file,
//! the summary JSON, the run's events, the live progress and the end-of-run summary, and the
//! printer every line of output goes through. No renderer imports another.

pub mod csv;
pub mod events;
pub mod html;
pub mod json;
pub mod junit;
pub mod printer;
pub mod progress;
pub mod summary;
