//! What goes to the terminal: the printer every line of output goes through, the live
//! progress, the run's events as lines, and the end-of-run summary's text. Renderers of the
//! run's model (src/model/), as the report files (src/report/) are.

pub(crate) mod events;
pub mod printer;
pub(crate) mod progress;
pub(crate) mod summary;
