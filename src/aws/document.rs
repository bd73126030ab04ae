//! The document operations of one target: read the default version, create, update and
//! promote, wait until Active, delete.

use std::time::Duration;

use aws_sdk_ssm::operation::describe_document::DescribeDocumentError;
use aws_sdk_ssm::operation::get_document::GetDocumentError;
use aws_sdk_ssm::operation::update_document::UpdateDocumentError;
use aws_sdk_ssm::types::{DocumentFormat, DocumentStatus, DocumentType};
use serde_json::Value;

use crate::aws::session::TargetClient;
use crate::outcome::{Reason, TargetError};
use crate::preferences::{diff, sha256_hex};

/// What a target holds now: its default version.
#[derive(Debug, Clone)]
pub struct Current {
    pub version: String,
    pub content: String,
    /// `None` when the content is not JSON (a YAML document): it then always differs.
    pub value: Option<Value>,
}

impl Current {
    pub fn sha256(&self) -> String {
        sha256_hex(self.content.as_bytes())
    }
}

/// The version now in force after a write.
#[derive(Debug, Clone)]
pub struct Written {
    pub version: String,
    pub content_sha256: String,
    /// An older version holding this content was made the default instead of a new one.
    pub reused: bool,
}

/// Reads the default version; `None` when the document does not exist.
pub async fn read(ssm: &TargetClient, name: &str) -> Result<Option<Current>, TargetError> {
    get(ssm, name, None).await
}

/// GetDocument of one version (the default when `None`); `None` when the document is missing.
async fn get(
    ssm: &TargetClient,
    name: &str,
    version: Option<&str>,
) -> Result<Option<Current>, TargetError> {
    match ssm
        .ssm()
        .get_document()
        .name(name)
        .set_document_version(version.map(String::from))
        .customize()
        .config_override(ssm.scope())
        .send()
        .await
    {
        Ok(out) => {
            let content = out.content.unwrap_or_default();
            Ok(Some(Current {
                version: out.document_version.unwrap_or_default(),
                value: serde_json::from_str(&content).ok(),
                content,
            }))
        }
        Err(e)
            if matches!(
                e.as_service_error(),
                Some(GetDocumentError::InvalidDocument(_))
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(ssm.error(e)),
    }
}

/// Creates the document (its first version is its default) and waits until it is Active.
pub async fn create(ssm: &TargetClient, name: &str, content: &str) -> Result<Written, TargetError> {
    let out = ssm
        .ssm()
        .create_document()
        .name(name)
        .content(content)
        .document_type(DocumentType::Session)
        .document_format(DocumentFormat::Json)
        .customize()
        .config_override(ssm.scope())
        .send()
        .await
        .map_err(|e| ssm.error(e))?;
    let desc = out.document_description;
    let version = desc
        .as_ref()
        .and_then(|d| d.document_version.clone())
        .unwrap_or_else(|| "1".into());
    wait_active(
        ssm,
        name,
        &version,
        desc.as_ref().and_then(|d| d.status.as_ref()),
    )
    .await?;
    Ok(Written {
        version,
        content_sha256: sha256_hex(content.as_bytes()),
        reused: false,
    })
}

/// Adds a version with `content`, waits until it is Active and makes it the default — without
/// that last step the console and new sessions keep the old preferences. When an older version
/// already holds this content (`DuplicateDocumentContent`), that version is promoted instead.
pub async fn update(
    ssm: &TargetClient,
    name: &str,
    content: &str,
    desired: &Value,
) -> Result<Written, TargetError> {
    let sent = ssm
        .ssm()
        .update_document()
        .name(name)
        .content(content)
        .document_version("$LATEST")
        .document_format(DocumentFormat::Json)
        .customize()
        .config_override(ssm.scope())
        .send()
        .await;
    let written = match sent {
        Ok(out) => {
            let desc = out.document_description;
            let version = desc
                .as_ref()
                .and_then(|d| d.document_version.clone())
                .unwrap_or_default();
            wait_active(
                ssm,
                name,
                &version,
                desc.as_ref().and_then(|d| d.status.as_ref()),
            )
            .await?;
            Written {
                version,
                content_sha256: sha256_hex(content.as_bytes()),
                reused: false,
            }
        }
        Err(e)
            if matches!(
                e.as_service_error(),
                Some(UpdateDocumentError::DuplicateDocumentContent(_))
            ) =>
        {
            find_version(ssm, name, desired).await?
        }
        Err(e) => return Err(ssm.error(e)),
    };
    promote(ssm, name, &written.version).await?;
    Ok(written)
}

/// The newest version whose content equals `desired`. ListDocumentVersions carries no content
/// (and the emulator lacks it), so walk the versions down from the latest with GetDocument.
async fn find_version(
    ssm: &TargetClient,
    name: &str,
    desired: &Value,
) -> Result<Written, TargetError> {
    let latest: u32 = versions(ssm, name)
        .await?
        .ok_or_else(|| {
            TargetError::new(
                Reason::from_code("InvalidDocument"),
                format!("{name} no longer exists"),
            )
        })?
        .latest_version
        .parse()
        .unwrap_or(0);
    for v in (1..=latest).rev() {
        let found = read_version(ssm, name, &v.to_string()).await?;
        if found
            .value
            .as_ref()
            .is_some_and(|c| diff(desired, c).is_empty())
        {
            return Ok(Written {
                content_sha256: found.sha256(),
                version: found.version,
                reused: true,
            });
        }
    }
    Err(TargetError::new(
        Reason::from_code("DuplicateDocumentContent"),
        "SSM says a version already holds this content, but none was found",
    ))
}

/// SSM answers a write with the version's status; poll only while it is not yet Active.
async fn wait_active(
    ssm: &TargetClient,
    name: &str,
    version: &str,
    status: Option<&DocumentStatus>,
) -> Result<(), TargetError> {
    let mut status = status.cloned();
    let mut delay = Duration::from_millis(200);
    // About 30 s in all: a session document turns Active within a second or two.
    for _ in 0..15 {
        match &status {
            Some(DocumentStatus::Active) | None => return Ok(()),
            Some(DocumentStatus::Failed) => break,
            Some(_) => {}
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(3));
        let out = ssm
            .ssm()
            .describe_document()
            .name(name)
            .document_version(version)
            .customize()
            .config_override(ssm.scope())
            .send()
            .await
            .map_err(|e| ssm.error(e))?;
        status = out.document.and_then(|d| d.status);
    }
    Err(TargetError::new(
        Reason::DocumentNotActive,
        format!(
            "version {version} is {} instead of Active",
            status.map(|s| s.as_str().to_string()).unwrap_or_default()
        ),
    ))
}

/// The document's default and latest versions, and the SHA-256 of the default version's
/// content as SSM reports it (empty when SSM gives another kind of hash or none).
#[derive(Debug, Clone)]
pub struct Versions {
    pub default_version: String,
    pub latest_version: String,
    pub default_sha256: String,
}

/// DescribeDocument; `None` when the document does not exist.
pub async fn versions(ssm: &TargetClient, name: &str) -> Result<Option<Versions>, TargetError> {
    match ssm
        .ssm()
        .describe_document()
        .name(name)
        .customize()
        .config_override(ssm.scope())
        .send()
        .await
    {
        Ok(out) => {
            let d = out.document;
            let get = |f: fn(&aws_sdk_ssm::types::DocumentDescription) -> Option<&str>| {
                d.as_ref().and_then(f).unwrap_or_default().to_string()
            };
            let sha256 = d.as_ref().is_some_and(|d| {
                d.hash_type() == Some(&aws_sdk_ssm::types::DocumentHashType::Sha256)
            });
            Ok(Some(Versions {
                default_version: get(|d| d.default_version()),
                latest_version: get(|d| d.latest_version()),
                default_sha256: if sha256 {
                    get(|d| d.hash()).to_ascii_lowercase()
                } else {
                    String::new()
                },
            }))
        }
        Err(e)
            if matches!(
                e.as_service_error(),
                Some(DescribeDocumentError::InvalidDocument(_))
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(ssm.error(e)),
    }
}

/// One version's content.
pub async fn read_version(
    ssm: &TargetClient,
    name: &str,
    version: &str,
) -> Result<Current, TargetError> {
    get(ssm, name, Some(version)).await?.ok_or_else(|| {
        TargetError::new(
            Reason::from_code("InvalidDocument"),
            format!("version {version} of {name} does not exist"),
        )
    })
}

/// Makes `version` the default version.
pub async fn promote(ssm: &TargetClient, name: &str, version: &str) -> Result<(), TargetError> {
    ssm.ssm()
        .update_document_default_version()
        .name(name)
        .document_version(version)
        .customize()
        .config_override(ssm.scope())
        .send()
        .await
        .map_err(|e| ssm.error(e))?;
    Ok(())
}

/// Deletes the document, all its versions.
pub async fn delete(ssm: &TargetClient, name: &str) -> Result<(), TargetError> {
    ssm.ssm()
        .delete_document()
        .name(name)
        .customize()
        .config_override(ssm.scope())
        .send()
        .await
        .map_err(|e| ssm.error(e))?;
    Ok(())
}
