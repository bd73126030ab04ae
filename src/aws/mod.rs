//! AWS access: clients (session), each account's paced and prefetched credentials
//! (credentials), the document calls (document), enabled regions (regions), the walk of AWS
//! Organizations (organizations), preflight's read-only checks (resources), and SDK errors →
//! a row's reason (error).

pub mod credentials;
pub mod document;
pub mod error;
pub mod organizations;
pub mod regions;
pub mod resources;
pub mod session;
