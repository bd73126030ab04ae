//! Signed AWS Query-API calls (EC2's and IAM's `Action=…` form posts, XML answers) for the three
//! reads preflight's node check makes of services this tool has no SDK crate for.
//!
//! Why not aws-sdk-ec2 and aws-sdk-iam: EC2's crate alone is one of the largest of the SDK (its
//! build time would rival the rest of the tool's) for one paginated list, and IAM's for two
//! reads. What a Query call needs is already in the tree beneath the SDK crates: `aws-sigv4`
//! signs (the SDK's own signer), `aws-smithy-http-client` sends (the SDK's own rustls
//! connector, proxy settings from the environment, as src/aws/session.rs builds it), the
//! account's credentials provider comes from its `SdkConfig` (so its cached AssumeRole is
//! shared), and `xmlparser` (what `aws-smithy-xml` parses with) reads the answer. The SDK's
//! retry is not there: a throttle or 5xx that a Query call meets becomes its target's
//! "unverified" warning, never a silent pass (docs/report.md "Nodes").

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_s3::primitives::{ByteStream, SdkBody};
use aws_smithy_runtime_api::client::http::{HttpConnector, SharedHttpConnector};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;

use crate::model::{Reason, TargetError};

/// A Query-API service this tool calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    Ec2,
    Iam,
}

impl Service {
    fn signing_name(self) -> &'static str {
        match self {
            Service::Ec2 => "ec2",
            Service::Iam => "iam",
        }
    }

    fn version(self) -> &'static str {
        match self {
            Service::Ec2 => "2016-11-15",
            Service::Iam => "2010-05-08",
        }
    }
}

/// One account's Query-API caller: its credentials, where calls go.
#[derive(Clone)]
pub(crate) struct Query {
    credentials: Option<SharedCredentialsProvider>,
    /// `--endpoint-url`: every service there (the emulator), else AWS's own endpoints.
    endpoint_url: Option<Arc<str>>,
    partition: &'static str,
    timeout: Duration,
}

impl Query {
    /// The caller of the account whose credentials are `credentials`; where calls go and how
    /// long they may take from the run's config `conf`.
    pub(crate) fn new(
        conf: &SdkConfig,
        credentials: Option<SharedCredentialsProvider>,
        partition: &'static str,
    ) -> Self {
        Self {
            credentials,
            endpoint_url: conf.endpoint_url().map(Arc::from),
            partition,
            timeout: conf
                .timeout_config()
                .and_then(|t| t.operation_timeout())
                .unwrap_or(Duration::from_secs(60)),
        }
    }

    /// The endpoint and signing region of `service` for a call about `region`: EC2 is
    /// regional, IAM has one endpoint per partition.
    fn endpoint(&self, service: Service, region: &str) -> (String, String) {
        let (iam_host, iam_region, suffix) = match self.partition {
            "aws-cn" => ("iam.cn-north-1", "cn-north-1", "amazonaws.com.cn"),
            "aws-us-gov" => ("iam.us-gov", "us-gov-west-1", "amazonaws.com"),
            _ => ("iam", "us-east-1", "amazonaws.com"),
        };
        let (host, signing_region) = match service {
            Service::Ec2 => (format!("ec2.{region}.{suffix}"), region.to_string()),
            Service::Iam => (format!("{iam_host}.{suffix}"), iam_region.to_string()),
        };
        match &self.endpoint_url {
            Some(url) => (format!("{}/", url.trim_end_matches('/')), signing_region),
            None => (format!("https://{host}/"), signing_region),
        }
    }

    /// Calls `action` of `service` with `params`; what `read` takes from the answer's XML (a
    /// tree borrowing the answer's text, read once and dropped), or the call's error as a
    /// row's (AWS's code and message where it sent one).
    pub(crate) async fn call<T>(
        &self,
        service: Service,
        region: &str,
        action: &str,
        params: &[(String, String)],
        read: impl FnOnce(&Xml<'_>) -> T,
    ) -> Result<T, TargetError> {
        let (url, signing_region) = self.endpoint(service, region);
        // Built before any await: the serializer is not Send.
        let body = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("Action", action)
                .append_pair("Version", service.version());
            for (k, v) in params {
                form.append_pair(k, v);
            }
            form.finish()
        };
        let failed = |why: String| TargetError::new(Reason::DispatchFailure, why);
        let credentials = self
            .credentials
            .as_ref()
            .ok_or_else(|| failed("no credentials".into()))?
            .provide_credentials()
            .await
            .map_err(|e| {
                TargetError::new(
                    Reason::AssumeRoleFailed,
                    format!("cannot get the account's credentials: {e}"),
                )
            })?;
        let identity = credentials.into();
        let settings = aws_sigv4::http_request::SigningSettings::default();
        let signing = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&signing_region)
            .name(service.signing_name())
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|e| failed(format!("cannot sign the request: {e}")))?
            .into();
        let content_type = "application/x-www-form-urlencoded; charset=utf-8";
        let host = url
            .split("://")
            .nth(1)
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_string();
        let headers = [("content-type", content_type), ("host", host.as_str())];
        let signable = aws_sigv4::http_request::SignableRequest::new(
            "POST",
            url.as_str(),
            headers.iter().copied(),
            aws_sigv4::http_request::SignableBody::Bytes(body.as_bytes()),
        )
        .map_err(|e| failed(format!("cannot sign the request: {e}")))?;
        let (instructions, _) = aws_sigv4::http_request::sign(signable, &signing)
            .map_err(|e| failed(format!("cannot sign the request: {e}")))?
            .into_parts();
        let mut request = HttpRequest::new(SdkBody::from(body));
        request
            .set_method("POST")
            .map_err(|e| failed(e.to_string()))?;
        request
            .set_uri(url.as_str())
            .map_err(|e| failed(e.to_string()))?;
        request.headers_mut().insert("content-type", content_type);
        let (signed, _) = instructions.into_parts();
        for h in signed {
            request
                .headers_mut()
                .insert(h.name(), h.value().to_string());
        }
        let endpoint = url.trim_end_matches('/').to_string();
        let answer = tokio::time::timeout(self.timeout, async {
            let response = connector().call(request).await.map_err(|e| {
                TargetError::new(
                    Reason::ConnectionError,
                    format!("cannot connect to {endpoint}: {e}"),
                )
            })?;
            let status = response.status().as_u16();
            let bytes = ByteStream::new(response.into_body())
                .collect()
                .await
                .map_err(|e| {
                    TargetError::new(
                        Reason::ResponseError,
                        format!("cannot read the answer of {endpoint}: {e}"),
                    )
                })?
                .into_bytes();
            Ok::<_, TargetError>((status, bytes))
        })
        .await
        .map_err(|_| {
            TargetError::new(
                Reason::Timeout,
                format!("no answer from {endpoint} within --operation-timeout"),
            )
        })??;
        let (status, bytes) = answer;
        let text = String::from_utf8_lossy(&bytes);
        let xml = Xml::parse(&text);
        if status == 200 {
            return xml.as_ref().map(read).ok_or_else(|| {
                TargetError::new(
                    Reason::ResponseError,
                    format!("cannot read the answer of {endpoint} to {action}: not XML"),
                )
            });
        }
        // EC2: Response/Errors/Error/Code; IAM: ErrorResponse/Error/Code.
        let error = xml.as_ref().and_then(|x| x.find("Error"));
        let code = error.and_then(|e| e.text_of("Code"));
        let message = error.and_then(|e| e.text_of("Message")).unwrap_or_default();
        Err(match code {
            Some(code) => TargetError::new(Reason::from_code(code), message),
            None => TargetError::new(
                Reason::Http(status),
                format!("{endpoint} answered {action} with HTTP {status}"),
            ),
        })
    }
}

/// The SDK's HTTPS connector, built once for the process (as src/aws/session.rs builds the
/// SDK clients' one: rustls with aws-lc, proxy settings from the environment).
fn connector() -> SharedHttpConnector {
    static CONNECTOR: OnceLock<SharedHttpConnector> = OnceLock::new();
    CONNECTOR
        .get_or_init(|| {
            use aws_smithy_http_client::proxy::ProxyConfig;
            use aws_smithy_http_client::{ConnectorBuilder, tls};
            let mut conn = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::AwsLc,
            ));
            conn.set_proxy_config(Some(ProxyConfig::from_env()));
            SharedHttpConnector::new(conn.build())
        })
        .clone()
}

/// An XML element: its name, its text, its children in order, borrowed from the answer's
/// text where no entity needs replacing (a simulation's answer has thousands of elements).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Xml<'a> {
    pub name: &'a str,
    pub text: Cow<'a, str>,
    pub children: Vec<Xml<'a>>,
}

impl<'a> Xml<'a> {
    /// The document's root element; `None` when the text is not XML. Whitespace between
    /// elements is left out: every reader trims an element's text.
    pub(crate) fn parse(text: &'a str) -> Option<Xml<'a>> {
        use xmlparser::{ElementEnd, Token, Tokenizer};
        let mut stack: Vec<Xml<'a>> = vec![];
        let mut root = None;
        for token in Tokenizer::from(text) {
            match token.ok()? {
                Token::ElementStart { local, .. } => stack.push(Xml {
                    name: local.as_str(),
                    ..Xml::default()
                }),
                Token::Text { text } | Token::Cdata { text, .. } => {
                    let text = text.as_str();
                    if let Some(top) = stack.last_mut()
                        && !text.trim().is_empty()
                    {
                        let text = unescape(text);
                        if top.text.is_empty() {
                            top.text = text;
                        } else {
                            top.text.to_mut().push_str(&text);
                        }
                    }
                }
                Token::ElementEnd {
                    end: ElementEnd::Empty | ElementEnd::Close(..),
                    ..
                } => {
                    let done = stack.pop()?;
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(done),
                        None => root = Some(done),
                    }
                }
                _ => {}
            }
        }
        root
    }

    /// The children named `name`.
    pub(crate) fn all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Xml<'a>> + 's {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The first child named `name`.
    pub(crate) fn child(&self, name: &str) -> Option<&Xml<'a>> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The first child named `name`'s text, trimmed; `None` when absent or empty.
    pub(crate) fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name)
            .map(|c| c.text.trim())
            .filter(|t| !t.is_empty())
    }

    /// The first element named `name` at any depth, this one included.
    pub(crate) fn find(&self, name: &str) -> Option<&Xml<'a>> {
        if self.name == name {
            return Some(self);
        }
        self.children.iter().find_map(|c| c.find(name))
    }
}

/// XML's five entities and numeric references.
fn unescape(text: &str) -> Cow<'_, str> {
    if !text.contains('&') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let Some(end) = tail.find(';') else {
            out.push_str(tail);
            return Cow::Owned(out);
        };
        let entity = &tail[1..end];
        let ch = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match ch {
            Some(c) => out.push(c),
            None => out.push_str(&tail[..=end]),
        }
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_reads_as_a_tree() {
        let x = Xml::parse(
            r#"<?xml version="1.0"?><R xmlns="x"><Errors><Error><Code>AccessDenied</Code><Message>a &amp; b &#34;c&#x22;</Message></Error></Errors><e/></R>"#,
        )
        .unwrap();
        let e = x.find("Error").unwrap();
        assert_eq!(e.text_of("Code"), Some("AccessDenied"));
        assert_eq!(e.text_of("Message"), Some("a & b \"c\""));
        assert_eq!(x.children.len(), 2);
        assert_eq!(Xml::parse("not xml <"), None);
    }

    #[test]
    fn endpoints_per_partition() {
        let q = Query {
            credentials: None,
            endpoint_url: None,
            partition: "aws",
            timeout: Duration::from_secs(1),
        };
        assert_eq!(
            q.endpoint(Service::Ec2, "eu-west-1"),
            (
                "https://ec2.eu-west-1.amazonaws.com/".into(),
                "eu-west-1".into()
            )
        );
        assert_eq!(
            q.endpoint(Service::Iam, "eu-west-1"),
            ("https://iam.amazonaws.com/".into(), "us-east-1".into())
        );
        let cn = Query {
            partition: "aws-cn",
            ..q.clone()
        };
        assert_eq!(
            cn.endpoint(Service::Iam, "cn-northwest-1").0,
            "https://iam.cn-north-1.amazonaws.com.cn/"
        );
        let local = Query {
            endpoint_url: Some("http://127.0.0.1:5000".into()),
            ..q
        };
        assert_eq!(
            local.endpoint(Service::Ec2, "us-east-1").0,
            "http://127.0.0.1:5000/"
        );
    }
}
