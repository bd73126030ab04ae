//! Renderers of the run's model (src/model/) into files: the CSV report, the HTML page, the
//! JUnit file and the summary JSON. No renderer imports another; what goes to the terminal is
//! in src/terminal/.

pub mod csv;
pub mod html;
pub mod json;
pub mod junit;
