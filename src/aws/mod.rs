//! AWS access: clients (session), each account's paced and prefetched credentials
//! (credentials), the document calls (document), who changed a document (cloudtrail), enabled
//! regions (regions), the walk of AWS Organizations (organizations), preflight's read-only
//! checks (resources), audit findings sent to Security Hub (securityhub), and SDK errors → a
//! row's reason (error).

pub(crate) mod cloudtrail;
pub(crate) mod credentials;
pub(crate) mod document;
pub(crate) mod error;
pub(crate) mod organizations;
pub(crate) mod regions;
pub(crate) mod resources;
pub(crate) mod securityhub;
pub(crate) mod session;
