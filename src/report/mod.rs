//! Renderers of the run's model (src/model/) into files: the CSV report, the HTML page, the
//! JUnit file, the summary JSON and its CloudWatch metrics line; and into audit's Security Hub
//! finding (asff). No renderer imports another; what goes to the terminal is
//! in src/terminal/.

pub(crate) mod asff;
#[expect(
    unreachable_pub,
    reason = "issue 28: row.rs, stats.rs and csv.rs are being reworked in parallel (the typed row); their `pub` becomes `pub(crate)` once that lands"
)]
pub(crate) mod csv;
pub mod html;
pub(crate) mod json;
#[expect(
    unreachable_pub,
    reason = "issue 28: junit.rs is being reworked in parallel (one escaper); its `pub` becomes `pub(crate)` once that lands"
)]
pub(crate) mod junit;
pub(crate) mod metrics;
pub(crate) mod nodes;
