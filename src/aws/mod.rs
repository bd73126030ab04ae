//! AWS access: credentials and clients (session), and the document operations (document).

pub mod document;
pub mod regions;
pub mod session;
