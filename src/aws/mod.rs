//! AWS access: credentials and clients (session), each account's paced and prefetched
//! credentials (credentials), `--wait-ready`'s wait for new accounts (wait_ready), who the
//! base credentials are (caller), the document calls (document), who changed a document
//! (cloudtrail), enabled regions (regions), the walk of AWS Organizations (organizations),
//! preflight's read-only checks (resources), audit findings sent to Security Hub
//! (securityhub), a preferences file read from S3 (objects), and SDK errors → a row's reason
//! (error). Each service's file builds its
//! own clients from the session.

pub(crate) mod caller;
pub(crate) mod cloudtrail;
pub(crate) mod credentials;
pub(crate) mod document;
pub(crate) mod error;
pub(crate) mod nodes;
pub(crate) mod objects;
pub(crate) mod organizations;
pub(crate) mod query;
pub(crate) mod regions;
pub(crate) mod resources;
pub(crate) mod retry;
pub(crate) mod secrets;
pub(crate) mod securityhub;
pub(crate) mod session;
pub(crate) mod wait_ready;
