//! AWS access: credentials and clients (session), the document calls (document), enabled
//! regions (regions), preflight's read-only checks (resources), and SDK errors → a row's
//! reason (error).

pub mod document;
pub mod error;
pub mod regions;
pub mod resources;
pub mod session;
