// SPDX-License-Identifier: Apache-2.0
//! Bulk upload: `PUT /v1/AUTH_a[/container[/prefix]]?extract-archive=tar|tar.gz|tar.bz2`,
//! as Swift 2.30.1's bulk middleware. Each regular file of the archive becomes the object
//! `[container/[prefix/]]NAME`; without a container in the path the first component of
//! `NAME` is the container (created when missing) and files at the archive's top level
//! are ignored.
//!
//! Every file is written by a PUT subrequest through [`super::object::handle`], so it is
//! authorized, quota-checked, versioned, indexed and given an ETag as a client's PUT would
//! be; containers are looked up (HEAD) and created (PUT) through
//! [`super::container::handle`] the same way. The subrequests carry the caller's session
//! and only the headers Swift copies (object metadata, `X-Delete-At`/`-After`), plus what
//! the file's pax xattrs say ([`crate::archive::swift_header`]).
//!
//! The archive is read while it arrives ([`crate::archive`]); the answer (always 200, the
//! outcome in its body: Swift's "Number Files Created", "Errors", "Response Status",
//! "Response Body") is sent once the body has been read. Swift sends spaces ahead of it
//! every ten seconds while it works; here the work keeps pace with the upload, so the
//! answer follows the client's last byte closely and needs none.

use std::collections::HashSet;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode};
use http_body_util::BodyExt;
use serde_json::json;
use tokio::sync::mpsc;

use super::bulk::{out_format, render_body, respond, status_line};
use super::Req;
use crate::archive::{self, ArchiveFile, BodyBroke, Compression, Event};
use crate::body::Body;
use crate::config::RESELLER_PREFIX;
use crate::error::{SwiftError, SwiftResult};
use crate::gateway::Gateway;
use crate::path::{check_container_name, check_object_name, Target};
use crate::server::RequestBody;

/// Containers one upload may create (Swift's `max_containers_per_extraction`).
pub const MAX_CONTAINERS_PER_EXTRACTION: usize = 10_000;
/// Failures after which an upload stops (Swift's `max_failed_extractions`).
pub const MAX_FAILED_EXTRACTIONS: usize = 1000;

/// Body chunks buffered between the client and the archive reader.
const BODY_CHANNEL: usize = 4;

/// The outcome of an upload, as the report states it.
struct Report {
    status: String,
    body: String,
    created: u64,
    errors: Vec<(String, String)>,
}

impl Report {
    fn failed(status: StatusCode, body: &str) -> Report {
        Report {
            status: status_line(status),
            body: body.to_string(),
            created: 0,
            errors: Vec::new(),
        }
    }
}

/// The handler (the path's account is `a`).
pub async fn extract(
    gw: &Arc<Gateway>,
    req: &Req,
    a: &str,
    body: RequestBody,
) -> SwiftResult<Response<Body>> {
    let asked = req.q("extract-archive").unwrap_or_default();
    let Some(compression) = Compression::from_query(asked) else {
        return Err(SwiftError::BadRequest("Unsupported archive format".into()));
    };
    let format = out_format(req);
    let idle = gw.settings.server.client_timeout;
    let chunked = req
        .header("transfer-encoding")
        .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"));
    let report = if format.is_none() {
        refused(
            feed(body, None, None, idle).await,
            StatusCode::NOT_ACCEPTABLE,
        )
    } else if req.header("content-length").is_none() && !chunked {
        Report::failed(StatusCode::LENGTH_REQUIRED, "")
    } else {
        upload(gw, req, a, compression, body, idle).await
    };
    let fields = [
        ("Response Status", json!(report.status)),
        ("Response Body", json!(report.body)),
        ("Number Files Created", json!(report.created)),
    ];
    respond(
        format,
        render_body(format, "extract", &fields, &report.errors),
    )
}

/// A refusal made before the archive was read (its body was read and dropped), unless
/// reading the body failed.
fn refused(fed: SwiftResult<()>, status: StatusCode) -> Report {
    match fed {
        Ok(()) => Report::failed(status, ""),
        Err(e) => Report::failed(e.status(), ""),
    }
}

/// Reads the archive from `body` and writes its files.
async fn upload(
    gw: &Arc<Gateway>,
    req: &Req,
    a: &str,
    compression: Compression,
    body: RequestBody,
    idle: Duration,
) -> Report {
    let (tx, rx) = mpsc::channel(BODY_CHANNEL);
    let failed = Arc::new(BodyBroke::default());
    let events = match archive::start(compression, rx, failed.clone()) {
        Ok(events) => events,
        Err(e) => {
            tracing::error!(error = %e, "cannot start an archive reader thread");
            let fed = feed(body, None, None, idle).await;
            return refused(fed, StatusCode::INTERNAL_SERVER_ERROR);
        }
    };
    let mut ex = Extraction {
        gw,
        body: failed.clone(),
        req,
        account: a,
        base: extract_base(&req.target),
        created: 0,
        containers_created: 0,
        accessed: HashSet::new(),
        errors: Vec::new(),
        failure: StatusCode::BAD_REQUEST,
    };
    let (fed, outcome) = tokio::join!(feed(body, Some(tx), Some(failed), idle), ex.run(events));
    ex.report(fed, outcome)
}

/// Where the files go: the path below the account, without trailing `/`.
fn extract_base(target: &Target) -> String {
    let base = match target {
        Target::Container(_, c) => c.clone(),
        Target::Object(_, c, o) => format!("{c}/{o}"),
        _ => String::new(),
    };
    base.trim_end_matches('/').to_string()
}

/// Moves the request body to the archive reader (`to`), failing on a body idle for
/// `idle`. Once the reader no longer wants it (the archive ended, or the upload stopped)
/// the rest is read and dropped, as Swift's server does, so that the client, still sending,
/// gets its answer. A broken body is flagged in `failed` before the reader's channel
/// closes, so that it does not read as the archive's end.
async fn feed(
    mut body: RequestBody,
    mut to: Option<mpsc::Sender<Bytes>>,
    failed: Option<Arc<BodyBroke>>,
    idle: Duration,
) -> SwiftResult<()> {
    let outcome = loop {
        let frame = match tokio::time::timeout(idle, body.frame()).await {
            Ok(f) => f,
            Err(_) => break Err(SwiftError::RequestTimeout),
        };
        let data = match frame {
            None => break Ok(()),
            Some(Err(_)) => {
                break Err(SwiftError::ClientBody {
                    context: "reading an archive".into(),
                })
            }
            Some(Ok(f)) => match f.into_data() {
                Ok(d) => d,
                Err(_) => continue, // trailers
            },
        };
        if let Some(tx) = &to {
            if tx.send(data).await.is_err() {
                to = None;
            }
        }
    };
    if let Err(e) = &outcome {
        // The answer is a 200 whose report has the status: say why here.
        tracing::debug!(error = %e, "bulk upload: the request body failed");
        if let Some(f) = failed {
            f.set(e.status());
        }
    }
    outcome
}

/// Why an upload stopped before the archive's end (Swift's `HTTPException`s).
struct Abort(StatusCode, String);

/// One upload in progress.
struct Extraction<'a> {
    gw: &'a Arc<Gateway>,
    /// The client's body, should it break (a file cut short by it fails with its status).
    body: Arc<BodyBroke>,
    req: &'a Req,
    account: &'a str,
    base: String,
    created: u64,
    containers_created: usize,
    accessed: HashSet<String>,
    errors: Vec<(String, String)>,
    /// The status reported when files failed: 400, or 502 once one failed on the server.
    failure: StatusCode,
}

impl Extraction<'_> {
    /// Writes the files the reader reports until the archive ends or the upload stops.
    /// Dropping `events` on return stops the reader.
    async fn run(&mut self, mut events: mpsc::Receiver<Event>) -> Result<(), Abort> {
        loop {
            let file = match events.recv().await {
                Some(Event::File(f)) => f,
                Some(Event::End) => return Ok(()),
                Some(Event::Invalid(why)) => {
                    let body = format!("Invalid Tar File: {why}");
                    return Err(Abort(StatusCode::BAD_REQUEST, body));
                }
                // Swift's answer to an unexpected exception.
                None => {
                    tracing::error!("the archive reader stopped without a word");
                    return Err(Abort(StatusCode::INTERNAL_SERVER_ERROR, String::new()));
                }
            };
            if self.errors.len() >= MAX_FAILED_EXTRACTIONS {
                return Ok(());
            }
            self.file(file).await?;
        }
    }

    /// The report: a broken request body first (it is why the rest went wrong), then why
    /// the upload stopped, then how the files fared.
    fn report(self, fed: SwiftResult<()>, outcome: Result<(), Abort>) -> Report {
        let (status, body) = match (fed, outcome) {
            (Err(e), _) => (status_line(e.status()), String::new()),
            (Ok(()), Err(Abort(s, body))) => (status_line(s), body),
            (Ok(()), Ok(())) if !self.errors.is_empty() => {
                (status_line(self.failure), String::new())
            }
            (Ok(()), Ok(())) if self.created == 0 => (
                status_line(StatusCode::BAD_REQUEST),
                "Invalid Tar File: No Valid Files".to_string(),
            ),
            (Ok(()), Ok(())) => (status_line(StatusCode::CREATED), String::new()),
        };
        Report {
            status,
            body,
            created: self.created,
            errors: self.errors,
        }
    }

    /// Swift's loop body for one regular file.
    async fn file(&mut self, file: ArchiveFile) -> Result<(), Abort> {
        let Some(path) = self.object_path(&file.name) else {
            return Ok(()); // a file at the top of the account: ignored
        };
        let quoted = self.quote(&path);
        let path = match self.checked(path, file.size) {
            Ok(p) => p,
            Err(status) => {
                self.fail(quoted, status);
                return Ok(());
            }
        };
        let (c, o) = path.split_once('/').unwrap_or((path.as_str(), ""));
        let container_failure = match self.accessed.contains(c) {
            true => None,
            false => self.ensure_container(c).await?,
        };
        let status = match self.put(c, o, file).await {
            s if s.is_success() => s,
            s => self.body.get().unwrap_or(s),
        };
        self.accessed.insert(c.to_string());
        if status.is_success() {
            self.created += 1;
            return Ok(());
        }
        if let Some(f) = container_failure {
            self.errors.push(f);
        }
        if status == StatusCode::UNAUTHORIZED {
            self.fail(quoted, status);
            return Err(Abort(status, String::new()));
        }
        if status.is_server_error() {
            self.failure = StatusCode::BAD_GATEWAY;
        }
        self.fail(quoted, status);
        Ok(())
    }

    /// Swift's checks before any subrequest: a name that is UTF-8 without NUL (else 412),
    /// a size within `max_file_size` (else 413).
    fn checked(&self, path: Vec<u8>, size: u64) -> Result<String, StatusCode> {
        let path = match String::from_utf8(path) {
            Ok(p) if !p.contains('\0') => p,
            _ => return Err(StatusCode::PRECONDITION_FAILED),
        };
        if size > self.gw.settings.limits.max_file_size {
            return Err(StatusCode::PAYLOAD_TOO_LARGE);
        }
        Ok(path)
    }

    fn fail(&mut self, quoted: String, status: StatusCode) {
        self.errors.push((quoted, status_line(status)));
    }

    /// The object path (`container/object`) of an archive name: a leading `./` and `/`s
    /// dropped, under the upload's base; `None` when it names no container.
    fn object_path(&self, name: &[u8]) -> Option<Vec<u8>> {
        let name = name.strip_prefix(b"./").unwrap_or(name);
        let start = name.iter().position(|&b| b != b'/').unwrap_or(name.len());
        let mut path = Vec::new();
        if !self.base.is_empty() {
            path.extend_from_slice(self.base.as_bytes());
            path.push(b'/');
        }
        path.extend_from_slice(&name[start..]);
        path.contains(&b'/').then_some(path)
    }

    /// A name as Swift lists it in the errors: cut to its longest path, URL-quoted.
    fn quote(&self, path: &[u8]) -> String {
        let l = &self.gw.settings.limits;
        let max = l.max_object_name_length + l.max_container_name_length + 2;
        crate::path::quote_bytes(&path[..path.len().min(max)])
    }

    /// Swift's `create_container`: a HEAD, then a PUT when the container is missing. `Ok`
    /// holds the failure to report should the file's own PUT fail too (it may still
    /// succeed, through an ACL); an `Err` stops the upload (a 401, or too many containers).
    async fn ensure_container(&mut self, c: &str) -> Result<Option<(String, String)>, Abort> {
        let path = format!("/v1/{RESELLER_PREFIX}{}/{c}", self.account);
        let status = match check_container_name(c, &self.gw.settings.limits) {
            // The PUT Swift would send is refused for such a name.
            Err(e) => e.status(),
            Ok(()) => match self.container_call(Method::HEAD, c).await {
                StatusCode::NOT_FOUND => self.container_call(Method::PUT, c).await,
                s if s.is_success() => return Ok(None),
                s => s,
            },
        };
        if status.is_success() {
            self.containers_created += 1;
            if self.containers_created > MAX_CONTAINERS_PER_EXTRACTION {
                let why = format!(
                    "More than {MAX_CONTAINERS_PER_EXTRACTION} containers to create from tar."
                );
                return Err(Abort(StatusCode::BAD_REQUEST, why));
            }
            return Ok(None);
        }
        if status == StatusCode::UNAUTHORIZED {
            return Err(Abort(status, String::new()));
        }
        Ok(Some((self.quote(path.as_bytes()), status_line(status))))
    }

    /// A container HEAD or PUT subrequest; its status.
    async fn container_call(&self, method: Method, c: &str) -> StatusCode {
        let target = Target::Container(self.account.to_string(), c.to_string());
        let sub = self.subrequest(method, target, HeaderMap::new());
        let answer = super::container::handle(self.gw, &sub, self.account, c).await;
        self.status_of(answer, c)
    }

    /// The file's PUT subrequest; its status.
    async fn put(&self, c: &str, o: &str, file: ArchiveFile) -> StatusCode {
        let limits = &self.gw.settings.limits;
        // A container that cannot exist makes the object's PUT Swift's 404.
        if check_container_name(c, limits).is_err() {
            return StatusCode::NOT_FOUND;
        }
        if let Err(e) = check_object_name(o, limits) {
            return e.status();
        }
        let headers = match self.object_headers(&file) {
            Ok(h) => h,
            Err(e) => return e.status(),
        };
        let target = Target::Object(self.account.to_string(), c.to_string(), o.to_string());
        let sub = self.subrequest(Method::PUT, target, headers);
        let body = file_body(file.data);
        let answer = super::object::handle(self.gw, &sub, self.account, c, o, body).await;
        self.status_of(answer, &format!("{c}/{o}"))
    }

    fn subrequest(&self, method: Method, target: Target, headers: HeaderMap) -> Req {
        Req {
            method,
            target,
            query: Vec::new(),
            headers,
            session: self.req.session.clone(),
            tempurl: None,
        }
    }

    /// A subrequest's status; server errors are logged (the report only has the status).
    fn status_of(&self, answer: SwiftResult<Response<Body>>, what: &str) -> StatusCode {
        match answer {
            Ok(r) => r.status(),
            Err(e) => {
                if e.status().is_server_error() {
                    tracing::error!(account = self.account, name = what, error = %crate::server::DisplayChain(&e), "bulk upload subrequest failed");
                } else {
                    tracing::debug!(account = self.account, name = what, error = %e, "bulk upload subrequest refused");
                }
                e.status()
            }
        }
    }

    /// The headers of a file's PUT: its length, the request's object metadata and expiry
    /// headers, then what the file's pax records say (a record that makes no valid header
    /// is the file's 400).
    fn object_headers(&self, file: &ArchiveFile) -> SwiftResult<HeaderMap> {
        let mut h = HeaderMap::new();
        h.insert(http::header::CONTENT_LENGTH, HeaderValue::from(file.size));
        for (k, v) in &self.req.headers {
            let name = k.as_str();
            let meta = name.len() > "x-object-meta-".len() && name.starts_with("x-object-meta-");
            if meta || name == "x-delete-at" || name == "x-delete-after" {
                h.append(k.clone(), v.clone());
            }
        }
        for (key, value) in &file.pax {
            let Some(name) = archive::swift_header(key) else {
                continue;
            };
            let bad = |_| SwiftError::bad("a pax xattr of the file makes no valid header");
            let name = HeaderName::from_bytes(&name).map_err(bad)?;
            let value = HeaderValue::from_bytes(value)
                .map_err(|_| SwiftError::bad("a pax xattr of the file makes no valid header"))?;
            h.insert(name, value);
        }
        Ok(h)
    }
}

/// A file's bytes from the archive reader as a request body.
fn file_body(data: mpsc::Receiver<io::Result<Bytes>>) -> RequestBody {
    let stream = futures_util::stream::unfold(data, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    RequestBody::from_stream(stream)
}
