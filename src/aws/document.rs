//! The document operations of one target: read the default version, create, update and
//! promote, wait until Active, delete; its tags (the ownership mark) and its versions
//! (listed, pruned at SSM's version cap).

use std::time::Duration;

use aws_sdk_ssm::config::http::HttpResponse;
use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ssm::operation::describe_document::DescribeDocumentError;
use aws_sdk_ssm::operation::get_document::GetDocumentError;
use aws_sdk_ssm::operation::update_document::UpdateDocumentError;
use aws_sdk_ssm::types::{
    DocumentFormat, DocumentStatus, DocumentType, ResourceTypeForTagging, Tag,
};
use serde_json::Value;

use crate::aws::retry::Backoff;
use crate::aws::session::{TargetClient, scoped, ssm_call};
use crate::lifecycle::{self, Mark};
use crate::model::{Reason, TargetError, rfc3339};
use crate::preferences::{diff, sha256_hex};

/// What a target holds now: its default version.
#[derive(Debug, Clone)]
pub(crate) struct Current {
    pub version: String,
    pub content: String,
    /// `None` when the content is not JSON (a YAML document): it then always differs.
    pub value: Option<Value>,
    /// SSM's `DocumentType` (`Session`, `Command`, …), as GetDocument names it.
    pub document_type: String,
}

impl Current {
    pub(crate) fn sha256(&self) -> String {
        sha256_hex(self.content.as_bytes())
    }
}

/// The version now in force after a write.
#[derive(Debug, Clone)]
pub(crate) struct Written {
    pub version: String,
    pub content_sha256: String,
    /// An older version holding this content was made the default instead of a new one.
    pub reused: bool,
    /// Old versions deleted first, to make room under SSM's version cap.
    pub pruned: u32,
    /// Written, but the mark could not be put on (the role may not tag).
    pub mark_error: Option<TargetError>,
}

/// Reads the default version; `None` when the document does not exist.
pub(crate) async fn read(ssm: &TargetClient, name: &str) -> Result<Option<Current>, TargetError> {
    get(ssm, name, None).await
}

/// Reads the latest version (`$LATEST`, one GetDocument): Session Manager may read it rather
/// than the default, so apply repairs it as audit judges it. `None` when the document is missing.
pub(crate) async fn read_latest(
    ssm: &TargetClient,
    name: &str,
) -> Result<Option<Current>, TargetError> {
    get(ssm, name, Some("$LATEST")).await
}

/// GetDocument of one version (the default when `None`); `None` when the document is missing.
async fn get(
    ssm: &TargetClient,
    name: &str,
    version: Option<&str>,
) -> Result<Option<Current>, TargetError> {
    let answer = scoped!(
        ssm.ssm()
            .get_document()
            .name(name)
            .set_document_version(version.map(String::from)),
        ssm.scope()
    )
    .await;
    let missing = |e: &GetDocumentError| matches!(e, GetDocumentError::InvalidDocument(_));
    let Some(out) = unless_missing(ssm, answer, missing)? else {
        return Ok(None);
    };
    let content = out.content.unwrap_or_default();
    Ok(Some(Current {
        version: out.document_version.unwrap_or_default(),
        document_type: out
            .document_type
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        value: serde_json::from_str(&content).ok(),
        content,
    }))
}

/// A read's answer, `None` where `missing` says the error means the document does not exist
/// (SSM answers InvalidDocument).
fn unless_missing<O, E>(
    ssm: &TargetClient,
    answer: Result<O, SdkError<E, HttpResponse>>,
    missing: impl Fn(&E) -> bool,
) -> Result<Option<O>, TargetError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match answer {
        Ok(out) => Ok(Some(out)),
        Err(e) if e.as_service_error().is_some_and(missing) => Ok(None),
        Err(e) => Err(ssm.error(e)),
    }
}

/// Creates the document (its first version is its default) carrying the mark, and waits
/// until it is Active.
pub(crate) async fn create(
    ssm: &TargetClient,
    name: &str,
    content: &str,
    mark: &Mark,
) -> Result<Written, TargetError> {
    let out = ssm_call!(
        ssm,
        create_document()
            .name(name)
            .content(content)
            .document_type(DocumentType::Session)
            .document_format(DocumentFormat::Json)
            .tags(tag(mark))
    )?;
    let version = active_version(ssm, name, out.document_description, "1").await?;
    Ok(Written {
        version,
        content_sha256: sha256_hex(content.as_bytes()),
        reused: false,
        pruned: 0,
        mark_error: None,
    })
}

/// How an update treats the document beyond its content.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UpdateOptions<'a> {
    /// The mark to put on the document once written; `None` when it is known to carry it.
    pub mark: Option<&'a Mark>,
    /// `--prune-versions`: at SSM's version cap, keep this many newest versions and retry.
    pub prune: Option<usize>,
}

/// Adds a version with `content`, waits until it is Active, makes it the default — without
/// that step the console and new sessions keep the old preferences — and marks the document.
/// When a version already holds this content (`DuplicateDocumentContent`): the latest (another
/// run just wrote it) is promoted; an older one (drift reverted behind the tool's back, say)
/// gets the same JSON written again with a final newline, so the new default is also the
/// latest and Session Manager reads it whichever version it takes — only if SSM refuses that
/// too is the older version promoted instead.
pub(crate) async fn update(
    ssm: &TargetClient,
    name: &str,
    content: &str,
    desired: &Value,
    opts: UpdateOptions<'_>,
) -> Result<Written, TargetError> {
    let send = |content: &str| {
        scoped!(
            ssm.ssm()
                .update_document()
                .name(name)
                .content(content)
                .document_version("$LATEST")
                .document_format(DocumentFormat::Json),
            ssm.scope()
        )
    };
    let mut pruned = 0;
    let mut sent = send(content).await;
    if let Err(e) = &sent
        && matches!(
            e.as_service_error(),
            Some(UpdateDocumentError::DocumentVersionLimitExceeded(_))
        )
    {
        let Some(keep) = opts.prune else {
            return Err(TargetError::new(
                Reason::from_code("DocumentVersionLimitExceeded"),
                format!(
                    "{name} has as many versions as SSM allows: rerun with --prune-versions N to delete its oldest versions beyond the newest N (never the default or the latest; without N, {}), or delete old versions yourself",
                    lifecycle::DEFAULT_KEEP_VERSIONS
                ),
            ));
        };
        pruned = prune(ssm, name, keep).await?;
        sent = send(content).await;
    }
    // Final newlines change the text SSM compares, not the JSON anyone reads: one more for
    // each time the same content was put back before.
    let variants: Vec<String> = (1..=MAX_REWRITES)
        .map(|n| format!("{content}{}", "\n".repeat(n)))
        .collect();
    let mut content = content;
    let written: Result<Written, TargetError> = async {
        // A version already holds the content. The latest (another run wrote it a moment ago,
        // or an attempt the SDK retried did): it is made the default. An older one: the content
        // goes in again, as the latest; if that fails (the version cap, say), the older
        // version is made the default after all.
        let mut holder = None;
        if duplicate(&sent) {
            for variant in &variants {
                let (found, latest) = find_version(ssm, name, desired).await?;
                if latest {
                    holder = Some(found);
                    break;
                }
                let retry = send(variant).await;
                if duplicate(&retry) {
                    holder = Some(found);
                    continue;
                }
                if retry.is_ok() {
                    sent = retry;
                    content = variant;
                    holder = None;
                } else {
                    holder = Some(found);
                }
                break;
            }
        }
        let written = match (holder, sent) {
            (Some(found), _) => Written { pruned, ..found },
            (None, Ok(out)) => {
                let version = active_version(ssm, name, out.document_description, "").await?;
                Written {
                    version,
                    content_sha256: sha256_hex(content.as_bytes()),
                    reused: false,
                    pruned,
                    mark_error: None,
                }
            }
            (None, Err(e)) => return Err(ssm.error(e)),
        };
        // A version was added (or found): a denial from here on is no clean skip.
        promote(ssm, name, &written.version)
            .await
            .map_err(TargetError::after_a_write)?;
        Ok(written)
    }
    .await;
    let mut written = match written {
        // The versions are gone whatever failed after: the row says so.
        Err(e) if pruned > 0 => {
            let e = e.after_a_write();
            return Err(TargetError::new(
                e.reason,
                format!(
                    "{pruned} old versions were pruned, then the update failed: {}",
                    e.message
                ),
            ));
        }
        other => other?,
    };
    // The mark goes on once the content is in force: a write that failed leaves a document
    // someone else made without it, so a later --existing refuse still leaves that alone.
    if let Some(mark) = opts.mark {
        written.mark_error = add_mark(ssm, name, mark).await.err();
    }
    Ok(written)
}

/// Deletes the oldest versions beyond the newest `keep`, never the default or the latest,
/// one `DeleteDocument` with a `DocumentVersion` each; returns how many were deleted.
async fn prune(ssm: &TargetClient, name: &str, keep: usize) -> Result<u32, TargetError> {
    let listed = list_versions(ssm, name).await?;
    let numbers: Vec<u64> = listed.iter().map(|v| v.0).collect();
    let default = listed.iter().find(|v| v.1).map_or(0, |v| v.0);
    let latest = numbers.iter().copied().max().unwrap_or(0);
    let doomed = lifecycle::versions_to_prune(&numbers, default, latest, keep);
    if doomed.is_empty() {
        return Err(TargetError::new(
            Reason::from_code("DocumentVersionLimitExceeded"),
            format!(
                "{name} has as many versions as SSM allows ({}), and every one is among the newest {keep} or the default: nothing to prune; pass a smaller --prune-versions",
                numbers.len()
            ),
        ));
    }
    let mut deleted = 0;
    for v in doomed {
        if let Err(e) = delete(ssm, name, Some(&v.to_string())).await {
            return Err(TargetError::new(
                e.reason,
                format!(
                    "pruning old versions: {deleted} deleted, then version {v} could not be: {}",
                    e.message
                ),
            ));
        }
        deleted += 1;
    }
    Ok(deleted)
}

/// Every version of the document: its number, and whether it is the default.
async fn list_versions(ssm: &TargetClient, name: &str) -> Result<Vec<(u64, bool)>, TargetError> {
    let versions = ssm
        .paging()
        .list_document_versions()
        .name(name)
        .into_paginator()
        .page_size(50)
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| ssm.error(e))?;
    Ok(versions
        .iter()
        .filter_map(|v| {
            let n = v.document_version()?.parse().ok()?;
            Some((n, v.is_default_version()))
        })
        .collect())
}

fn tag(mark: &Mark) -> Tag {
    Tag::builder()
        .key(&mark.key)
        .value(&mark.value)
        .build()
        .expect("key and value are set")
}

/// Puts the mark on the document (SSM replaces a tag of the same key).
pub(crate) async fn add_mark(
    ssm: &TargetClient,
    name: &str,
    mark: &Mark,
) -> Result<(), TargetError> {
    ssm_call!(
        ssm,
        add_tags_to_resource()
            .resource_type(ResourceTypeForTagging::Document)
            .resource_id(name)
            .tags(tag(mark))
    )?;
    Ok(())
}

/// Whether the document carries the mark. DescribeDocument's own tag list, when the caller
/// has one that shows the mark, saves the call; otherwise ListTagsForResource decides.
pub(crate) async fn is_marked(
    ssm: &TargetClient,
    name: &str,
    mark: &Mark,
    described: &[(String, String)],
) -> Result<bool, TargetError> {
    if mark.is_on(described.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        return Ok(true);
    }
    let out = ssm_call!(
        ssm,
        list_tags_for_resource()
            .resource_type(ResourceTypeForTagging::Document)
            .resource_id(name)
    )?;
    Ok(mark.is_on(out.tag_list().iter().map(|t| (t.key(), t.value()))))
}

/// How many times the same content is written again with one more final newline, before an
/// older version holding it is promoted instead.
const MAX_REWRITES: usize = 4;

/// SSM refused the write: a version already holds that content.
fn duplicate<T>(sent: &Result<T, SdkError<UpdateDocumentError, HttpResponse>>) -> bool {
    sent.as_ref()
        .err()
        .and_then(|e| e.as_service_error())
        .is_some_and(|e| matches!(e, UpdateDocumentError::DuplicateDocumentContent(_)))
}

/// The newest version whose content equals `desired`, and whether it is the latest.
/// ListDocumentVersions carries no content (and the emulator lacks it), so walk the versions
/// down from the latest with GetDocument.
async fn find_version(
    ssm: &TargetClient,
    name: &str,
    desired: &Value,
) -> Result<(Written, bool), TargetError> {
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
        // A version pruned or deleted earlier leaves a gap.
        let Some(found) = get(ssm, name, Some(&v.to_string())).await? else {
            continue;
        };
        if found
            .value
            .as_ref()
            .is_some_and(|c| diff(desired, c).is_empty())
        {
            return Ok((
                Written {
                    content_sha256: found.sha256(),
                    version: found.version,
                    reused: true,
                    pruned: 0,
                    mark_error: None,
                },
                v == latest,
            ));
        }
    }
    Err(TargetError::new(
        Reason::from_code("DuplicateDocumentContent"),
        "SSM says a version already holds this content, but none was found",
    ))
}

/// The version a write made, as SSM's answer `desc` names it (else `unnamed`), once Active.
async fn active_version(
    ssm: &TargetClient,
    name: &str,
    desc: Option<aws_sdk_ssm::types::DocumentDescription>,
    unnamed: &str,
) -> Result<String, TargetError> {
    let version = desc
        .as_ref()
        .and_then(|d| d.document_version.clone())
        .unwrap_or_else(|| unnamed.into());
    wait_active(
        ssm,
        name,
        &version,
        desc.as_ref().and_then(|d| d.status.as_ref()),
    )
    .await?;
    Ok(version)
}

/// SSM answers a write with the version's status; poll only while it is not yet Active.
async fn wait_active(
    ssm: &TargetClient,
    name: &str,
    version: &str,
    status: Option<&DocumentStatus>,
) -> Result<(), TargetError> {
    // About 30 s in all: a session document turns Active within a second or two.
    const POLL: Backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(3));
    let mut status = status.cloned();
    for n in 1..=15 {
        match &status {
            Some(DocumentStatus::Active) | None => return Ok(()),
            Some(DocumentStatus::Failed) => break,
            Some(_) => {}
        }
        tokio::time::sleep(POLL.wait(n)).await;
        let out = ssm_call!(
            ssm,
            describe_document().name(name).document_version(version)
        )?;
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
pub(crate) struct Versions {
    pub default_version: String,
    pub latest_version: String,
    pub default_sha256: String,
    /// When the default version was created (RFC 3339), empty when SSM does not say.
    pub created_at: String,
    /// Who created it, where SSM fills it in.
    pub author: Option<String>,
    /// The document's tags as DescribeDocument lists them.
    pub tags: Vec<(String, String)>,
}

/// DescribeDocument; `None` when the document does not exist.
pub(crate) async fn versions(
    ssm: &TargetClient,
    name: &str,
) -> Result<Option<Versions>, TargetError> {
    let answer = scoped!(ssm.ssm().describe_document().name(name), ssm.scope()).await;
    let missing =
        |e: &DescribeDocumentError| matches!(e, DescribeDocumentError::InvalidDocument(_));
    let Some(out) = unless_missing(ssm, answer, missing)? else {
        return Ok(None);
    };
    let d = out.document;
    let get = |f: fn(&aws_sdk_ssm::types::DocumentDescription) -> Option<&str>| {
        d.as_ref().and_then(f).unwrap_or_default().to_string()
    };
    let sha256 = d
        .as_ref()
        .is_some_and(|d| d.hash_type() == Some(&aws_sdk_ssm::types::DocumentHashType::Sha256));
    Ok(Some(Versions {
        default_version: get(|d| d.default_version()),
        latest_version: get(|d| d.latest_version()),
        default_sha256: if sha256 {
            get(|d| d.hash()).to_ascii_lowercase()
        } else {
            String::new()
        },
        created_at: d
            .as_ref()
            .and_then(|d| d.created_date())
            .and_then(|t| std::time::SystemTime::try_from(*t).ok())
            .map(rfc3339)
            .unwrap_or_default(),
        author: d
            .as_ref()
            .and_then(|d| d.author())
            .filter(|a| !a.is_empty())
            .map(str::to_string),
        tags: d
            .as_ref()
            .map(|d| {
                d.tags()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect()
            })
            .unwrap_or_default(),
    }))
}

/// One version's content.
pub(crate) async fn read_version(
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
pub(crate) async fn promote(
    ssm: &TargetClient,
    name: &str,
    version: &str,
) -> Result<(), TargetError> {
    ssm_call!(
        ssm,
        update_document_default_version()
            .name(name)
            .document_version(version)
    )?;
    Ok(())
}

/// Deletes one version of the document (never the default: SSM refuses that), or with
/// `None` the whole document, all its versions.
pub(crate) async fn delete(
    ssm: &TargetClient,
    name: &str,
    version: Option<&str>,
) -> Result<(), TargetError> {
    ssm_call!(
        ssm,
        delete_document()
            .name(name)
            .set_document_version(version.map(String::from))
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The document's decisions against aws-smithy-mocks' mocked SSM client: which version a
    //! duplicate content makes the default, what pruning deletes, which version is read.
    use aws_sdk_ssm::Client;
    use aws_sdk_ssm::error::ErrorMetadata;
    use aws_sdk_ssm::operation::delete_document::{DeleteDocumentInput, DeleteDocumentOutput};
    use aws_sdk_ssm::operation::describe_document::DescribeDocumentOutput;
    use aws_sdk_ssm::operation::get_document::{GetDocumentError, GetDocumentOutput};
    use aws_sdk_ssm::operation::list_document_versions::ListDocumentVersionsOutput;
    use aws_sdk_ssm::operation::update_document::{UpdateDocumentError, UpdateDocumentOutput};
    use aws_sdk_ssm::operation::update_document_default_version::UpdateDocumentDefaultVersionOutput;
    use aws_sdk_ssm::types::error::{
        DocumentVersionLimitExceeded, DuplicateDocumentContent, InvalidDocument,
    };
    use aws_sdk_ssm::types::{DocumentDescription, DocumentStatus, DocumentVersionInfo};
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use serde_json::{Value, json};

    use super::{UpdateOptions, read, read_latest, sha256_hex, update};
    use crate::aws::session::TargetClient;

    const NAME: &str = "SSM-SessionManagerRunShell";

    fn desired() -> Value {
        json!({"schemaVersion": "1.0", "inputs": {"s3BucketName": "logs"}})
    }

    fn content() -> String {
        desired().to_string()
    }

    fn client(rules: &[&Rule]) -> TargetClient {
        TargetClient::for_tests(mock_client!(aws_sdk_ssm, RuleMode::MatchAny, rules))
    }

    /// The update's result with these rules, the content written as is.
    async fn updated(rules: &[&Rule]) -> super::Written {
        update(&client(rules), NAME, &content(), &desired(), opts(None))
            .await
            .unwrap()
    }

    fn opts(prune: Option<usize>) -> UpdateOptions<'static> {
        UpdateOptions { mark: None, prune }
    }

    fn meta(code: &str) -> ErrorMetadata {
        ErrorMetadata::builder().code(code).build()
    }

    fn duplicate() -> UpdateDocumentError {
        UpdateDocumentError::DuplicateDocumentContent(
            DuplicateDocumentContent::builder()
                .meta(meta("DuplicateDocumentContent"))
                .build(),
        )
    }

    fn version_cap() -> UpdateDocumentError {
        UpdateDocumentError::DocumentVersionLimitExceeded(
            DocumentVersionLimitExceeded::builder()
                .meta(meta("DocumentVersionLimitExceeded"))
                .build(),
        )
    }

    /// UpdateDocument's answer: version `v`, Active.
    fn added(v: &str) -> UpdateDocumentOutput {
        UpdateDocumentOutput::builder()
            .document_description(
                DocumentDescription::builder()
                    .document_version(v)
                    .status(DocumentStatus::Active)
                    .build(),
            )
            .build()
    }

    /// DescribeDocument naming `latest` as the latest version.
    fn described(latest: &'static str) -> Rule {
        mock!(Client::describe_document).then_output(move || {
            DescribeDocumentOutput::builder()
                .document(
                    DocumentDescription::builder()
                        .default_version("1")
                        .latest_version(latest)
                        .build(),
                )
                .build()
        })
    }

    /// GetDocument of version `v` answering `content`.
    fn version(v: &'static str, content: String) -> Rule {
        mock!(Client::get_document)
            .match_requests(move |r| r.document_version() == Some(v))
            .then_output(move || {
                GetDocumentOutput::builder()
                    .document_version(v)
                    .content(content.clone())
                    .build()
            })
    }

    /// Other content: the same document without its inputs.
    fn other() -> String {
        json!({"schemaVersion": "1.0"}).to_string()
    }

    /// UpdateDocument refusing the content as a duplicate, then its rewrite with a final newline
    /// added as version `rewrite`, or (`None`) refused at the version cap.
    fn rewritten(rewrite: Option<&'static str>) -> [Rule; 2] {
        let first = mock!(Client::update_document)
            .match_requests(|r| r.content() == Some(&content()))
            .then_error(duplicate);
        let again = mock!(Client::update_document)
            .match_requests(|r| r.content() == Some(&format!("{}\n", content())));
        let again = match rewrite {
            Some(v) => again.then_output(move || added(v)),
            None => again.then_error(version_cap),
        };
        [first, again]
    }

    /// UpdateDocumentDefaultVersion of version `v`.
    fn promoted(v: &'static str) -> Rule {
        mock!(Client::update_document_default_version)
            .match_requests(move |r| r.document_version() == Some(v))
            .then_output(|| UpdateDocumentDefaultVersionOutput::builder().build())
    }

    #[tokio::test]
    async fn a_new_version_is_written_and_made_the_default() {
        let write = mock!(Client::update_document)
            .match_requests(|r| r.content() == Some(&content()) && r.name() == Some(NAME))
            .then_output(|| added("4"));
        let promote = promoted("4");
        let w = updated(&[&write, &promote]).await;
        assert_eq!((w.version.as_str(), w.reused, w.pruned), ("4", false, 0));
        assert_eq!(w.content_sha256, sha256_hex(content().as_bytes()));
        assert_eq!((write.num_calls(), promote.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn duplicate_content_in_the_latest_version_promotes_it() {
        let write = mock!(Client::update_document).then_error(duplicate);
        let describe = described("3");
        let latest = version("3", content());
        let promote = promoted("3");
        let w = updated(&[&write, &describe, &latest, &promote]).await;
        assert_eq!((w.version.as_str(), w.reused), ("3", true));
        // No rewrite: another run (or a retried attempt) wrote it a moment ago.
        assert_eq!((write.num_calls(), promote.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn duplicate_content_in_an_older_version_is_written_again_as_the_latest() {
        let [first, again] = rewritten(Some("4"));
        let (describe, latest) = (described("3"), version("3", other()));
        // Key order and spacing are not content: the same JSON, written another way.
        let older = version("2", serde_json::to_string_pretty(&desired()).unwrap());
        let promote = promoted("4");
        let w = updated(&[&first, &again, &describe, &latest, &older, &promote]).await;
        assert_eq!((w.version.as_str(), w.reused), ("4", false));
        assert_eq!(
            w.content_sha256,
            sha256_hex(format!("{}\n", content()).as_bytes())
        );
        assert_eq!((first.num_calls(), again.num_calls()), (1, 1));
        assert_eq!(promote.num_calls(), 1);
    }

    #[tokio::test]
    async fn an_older_version_is_promoted_when_the_rewrite_is_refused() {
        let [first, again] = rewritten(None);
        let (describe, latest) = (described("3"), version("3", other()));
        let older = version("2", content());
        let promote = promoted("2");
        let w = updated(&[&first, &again, &describe, &latest, &older, &promote]).await;
        assert_eq!((w.version.as_str(), w.reused), ("2", true));
        assert_eq!(promote.num_calls(), 1);
    }

    #[tokio::test]
    async fn at_the_version_cap_without_pruning_the_row_says_how_to_prune() {
        let write = mock!(Client::update_document).then_error(version_cap);
        let ssm = client(&[&write]);
        let e = update(&ssm, NAME, &content(), &desired(), opts(None))
            .await
            .unwrap_err();
        assert_eq!(e.reason.to_string(), "DocumentVersionLimitExceeded");
        assert!(e.message.contains("--prune-versions"), "{}", e.message);
        assert_eq!(write.num_calls(), 1);
    }

    /// ListDocumentVersions: versions 1 to 5 over two pages, 2 the default.
    fn listed() -> [Rule; 2] {
        let info = |v: u64| {
            DocumentVersionInfo::builder()
                .document_version(v.to_string())
                .is_default_version(v == 2)
                .build()
        };
        [
            mock!(Client::list_document_versions)
                .match_requests(|r| r.next_token().is_none())
                .then_output(move || {
                    ListDocumentVersionsOutput::builder()
                        .document_versions(info(5))
                        .document_versions(info(4))
                        .document_versions(info(3))
                        .next_token("page2")
                        .build()
                }),
            mock!(Client::list_document_versions)
                .match_requests(|r| r.next_token() == Some("page2"))
                .then_output(move || {
                    ListDocumentVersionsOutput::builder()
                        .document_versions(info(2))
                        .document_versions(info(1))
                        .build()
                }),
        ]
    }

    #[tokio::test]
    async fn at_the_version_cap_the_oldest_versions_beyond_keep_are_pruned_never_the_default() {
        let capped = mock!(Client::update_document)
            .match_requests(|r| r.content() == Some(&content()))
            .sequence()
            .error(version_cap)
            .output(|| added("6"))
            .build();
        let [first, second] = listed();
        // Keep 2: 5 and 4 stay as the newest, 2 as the default; 3 and 1 go.
        let doomed = |r: &DeleteDocumentInput| matches!(r.document_version(), Some("1" | "3"));
        let delete = mock!(Client::delete_document)
            .match_requests(doomed)
            .then_output(|| DeleteDocumentOutput::builder().build());
        let other = mock!(Client::delete_document)
            .match_requests(move |r| !doomed(r))
            .then_output(|| DeleteDocumentOutput::builder().build());
        let promote = promoted("6");
        let ssm = client(&[&capped, &first, &second, &delete, &other, &promote]);
        let w = update(&ssm, NAME, &content(), &desired(), opts(Some(2)))
            .await
            .unwrap();
        assert_eq!((w.version.as_str(), w.pruned), ("6", 2));
        assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
        assert_eq!((delete.num_calls(), other.num_calls()), (2, 0));
        assert_eq!((capped.num_calls(), promote.num_calls()), (2, 1));
    }

    #[tokio::test]
    async fn nothing_to_prune_is_said_and_nothing_is_deleted() {
        let capped = mock!(Client::update_document).then_error(version_cap);
        let [first, second] = listed();
        let delete =
            mock!(Client::delete_document).then_output(|| DeleteDocumentOutput::builder().build());
        let ssm = client(&[&capped, &first, &second, &delete]);
        let e = update(&ssm, NAME, &content(), &desired(), opts(Some(5)))
            .await
            .unwrap_err();
        assert!(e.message.contains("nothing to prune"), "{}", e.message);
        assert_eq!((delete.num_calls(), capped.num_calls()), (0, 1));
    }

    #[tokio::test]
    async fn the_latest_version_is_read_as_latest_and_a_missing_document_is_none() {
        let latest = mock!(Client::get_document)
            .match_requests(|r| r.document_version() == Some("$LATEST"))
            .then_output(|| {
                GetDocumentOutput::builder()
                    .document_version("7")
                    .content(content())
                    .document_type(aws_sdk_ssm::types::DocumentType::Session)
                    .build()
            });
        let ssm = client(&[&latest]);
        let got = read_latest(&ssm, NAME).await.unwrap().unwrap();
        assert_eq!(
            (got.version.as_str(), got.document_type.as_str()),
            ("7", "Session")
        );
        assert_eq!(got.value, Some(desired()));
        assert_eq!(latest.num_calls(), 1);

        let missing = mock!(Client::get_document).then_error(|| {
            GetDocumentError::InvalidDocument(
                InvalidDocument::builder()
                    .meta(meta("InvalidDocument"))
                    .build(),
            )
        });
        let ssm = client(&[&missing]);
        assert!(read(&ssm, NAME).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn content_that_is_not_json_has_no_value() {
        let yaml = mock!(Client::get_document).then_output(|| {
            GetDocumentOutput::builder()
                .document_version("1")
                .content("schemaVersion: '1.0'")
                .build()
        });
        let ssm = client(&[&yaml]);
        let got = read(&ssm, NAME).await.unwrap().unwrap();
        assert_eq!(got.value, None);
    }
}
