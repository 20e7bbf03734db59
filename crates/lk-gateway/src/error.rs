// SPDX-License-Identifier: Apache-2.0
//! Errors of the gateway.
//!
//! [`SwiftError`] is what a request handler returns: every variant maps to exactly one HTTP
//! status (see [`SwiftError::status`]) and carries enough context to be logged on its own.
//! Display strings never embed their `#[source]`, so printing the chain shows each cause once.
//!
//! Display is for the server's log and may name server paths; what a client sees is
//! [`SwiftError::public_message`], which never does: variants that know a path keep it in a
//! field of their own and answer the client with a fixed sentence.

use std::path::PathBuf;

use http::StatusCode;

/// An error answering one Swift request.
#[derive(Debug, thiserror::Error)]
pub enum SwiftError {
    /// The request is malformed (bad name, bad header, bad query value).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// No or an invalid/expired token.
    #[error("unauthorized")]
    Unauthorized,
    /// A temporary URL that is not valid (bad or expired signature, no key, wrong method,
    /// path or client address); answered with Swift's bare text.
    #[error("temp URL invalid")]
    TempUrlInvalid,
    /// A valid token that does not grant access to this path.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The account, container or object does not exist.
    #[error("not found")]
    NotFound,
    /// The method is not supported on this path.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 406: the listing cannot be given in the format asked for.
    #[error("not acceptable")]
    NotAcceptable,
    /// A name clash in the tree (a file where a directory is needed, or the reverse), or a
    /// container that is not empty.
    #[error("conflict: {0}")]
    Conflict(String),
    /// `Content-Length` is required and missing.
    #[error("length required")]
    LengthRequired,
    /// A file where the object name needs a directory, or a directory where it needs a file.
    #[error("{what}: {}", path.display())]
    Clash {
        /// What is in the way, in words a client may read.
        what: &'static str,
        /// Where (logged only).
        path: PathBuf,
    },
    /// A symlink on the object's path resolves outside the account directory, or dangles.
    #[error("symlink {} {why}", path.display())]
    Link {
        /// "leads outside the account" or "is dangling".
        why: &'static str,
        /// The link (logged only).
        path: PathBuf,
    },
    /// A conditional request whose precondition failed.
    #[error("precondition failed")]
    PreconditionFailed,
    /// A request path Swift refuses with 412 and this exact text (`Bad URL`, `Invalid UTF8
    /// or contains NULL`), which clients and Swift's tests compare.
    #[error("{0}")]
    BadPath(&'static str),
    /// Not modified (conditional GET/HEAD).
    #[error("not modified")]
    NotModified {
        /// ETag of the object, echoed in the 304.
        etag: String,
        /// Last-Modified, echoed in the 304.
        last_modified: String,
    },
    /// The body is larger than allowed.
    #[error("request entity too large: {0}")]
    TooLarge(String),
    /// The Range header cannot be satisfied.
    #[error("requested range not satisfiable")]
    RangeNotSatisfiable {
        /// Size of the object, for `Content-Range: bytes */SIZE`.
        size: u64,
    },
    /// The body's MD5 does not match the client's ETag.
    #[error("unprocessable entity: {0}")]
    Unprocessable(String),
    /// The filesystem has no room for the data (ENOSPC, EDQUOT).
    #[error("failed to {op} {}: no space left", path.display())]
    NoSpace {
        /// The operation.
        op: &'static str,
        /// The path (logged only).
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file's xattrs cannot hold its metadata and `xattr_overflow = reject`.
    #[error("no xattr room for {bytes} bytes of metadata on {}", path.display())]
    XattrRoom {
        /// Size of the metadata.
        bytes: usize,
        /// The file (logged only).
        path: PathBuf,
    },
    /// The client sent no body bytes for the idle timeout (`client_timeout`).
    #[error("request timeout: no body bytes for too long")]
    RequestTimeout,
    /// Too many uploads at once, overall or from this client; retry later.
    #[error("service unavailable: too many uploads in progress{0}")]
    Busy(&'static str),
    /// The client went away or sent a broken body.
    #[error("client disconnected or body error while {context}")]
    ClientBody {
        /// What we were doing.
        context: String,
    },
    /// An I/O error on a path, with what we were doing.
    #[error("failed to {op} {}", path.display())]
    Io {
        /// The operation ("open", "rename", ...).
        op: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A stored SLO manifest cannot be read as a segment list. Refused rather than read as
    /// "no segments": a manifest delete would otherwise leave every segment behind.
    #[error("corrupt SLO manifest {}: {reason}", path.display())]
    CorruptManifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The request uses something this server does not implement (a transfer coding other
    /// than chunked).
    #[error("not implemented: {0}")]
    NotImplemented(String),
    /// An error Swift answers with exactly this text as `text/plain` (the symlink
    /// middleware's 409s and 400s).
    #[error("{text}")]
    Plain {
        /// The status.
        status: StatusCode,
        /// The whole body.
        text: String,
    },
    /// An error met while following a symlink: answered as `inner`, with the target's path
    /// in `Content-Location` (Swift's symlink middleware).
    #[error("{inner} (following a symlink to {location})")]
    Located {
        /// The error itself.
        inner: Box<SwiftError>,
        /// `/v1/ACCOUNT/container/object` of the target.
        location: String,
    },
    /// The listing index failed.
    #[error("listing index failed")]
    Index(#[from] crate::index::IndexError),
    /// An internal invariant failed (task join error etc.).
    #[error("internal error: {0}")]
    Internal(String),
}

impl SwiftError {
    /// Shorthand for [`SwiftError::BadRequest`].
    pub fn bad(msg: impl Into<String>) -> Self {
        SwiftError::BadRequest(msg.into())
    }

    /// Wraps an I/O error with the operation and path; ENOSPC/EDQUOT become 507 and
    /// ENOTDIR/EISDIR become 409 as in SwiftOnFile.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let path = path.into();
        match source.raw_os_error() {
            Some(28) | Some(122) => SwiftError::NoSpace { op, path, source },
            Some(20) | Some(21) => SwiftError::Clash {
                what: "a file and a directory clash on the object's path",
                path,
            },
            Some(36) => SwiftError::bad("name too long for the filesystem"),
            _ => SwiftError::Io { op, path, source },
        }
    }

    /// The HTTP status Swift answers with for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            SwiftError::BadRequest(_) => StatusCode::BAD_REQUEST,
            SwiftError::Unauthorized | SwiftError::TempUrlInvalid => StatusCode::UNAUTHORIZED,
            SwiftError::Forbidden(_) => StatusCode::FORBIDDEN,
            SwiftError::NotFound => StatusCode::NOT_FOUND,
            SwiftError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            SwiftError::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            SwiftError::Conflict(_) | SwiftError::Clash { .. } => StatusCode::CONFLICT,
            SwiftError::Link { .. } => StatusCode::FORBIDDEN,
            SwiftError::LengthRequired => StatusCode::LENGTH_REQUIRED,
            SwiftError::PreconditionFailed | SwiftError::BadPath(_) => {
                StatusCode::PRECONDITION_FAILED
            }
            SwiftError::NotModified { .. } => StatusCode::NOT_MODIFIED,
            SwiftError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            SwiftError::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            SwiftError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            SwiftError::NoSpace { .. } | SwiftError::XattrRoom { .. } => {
                StatusCode::INSUFFICIENT_STORAGE
            }
            SwiftError::ClientBody { .. } => StatusCode::BAD_REQUEST,
            SwiftError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            SwiftError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            SwiftError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            SwiftError::Plain { status, .. } => *status,
            SwiftError::Located { inner, .. } => inner.status(),
            SwiftError::Io { .. }
            | SwiftError::CorruptManifest { .. }
            | SwiftError::Index(_)
            | SwiftError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the client is told: never a server path nor an internal cause (those are
    /// logged; see [`SwiftError::logs_more`]).
    pub fn public_message(&self) -> String {
        match self {
            SwiftError::Clash { what, .. } => format!("conflict: {what}"),
            SwiftError::Link { why, .. } => format!("forbidden: a symlink on the path {why}"),
            SwiftError::NoSpace { .. } => "insufficient storage: no space left".to_string(),
            SwiftError::XattrRoom { bytes, .. } => format!(
                "insufficient storage: the filesystem has no xattr room for {bytes} bytes of \
                 metadata"
            ),
            SwiftError::Io { .. }
            | SwiftError::CorruptManifest { .. }
            | SwiftError::Index(_)
            | SwiftError::Internal(_) => "An error occurred".to_string(),
            SwiftError::Located { inner, .. } => inner.public_message(),
            other => other.to_string(),
        }
    }

    /// Whether the log line says more than the client was told (server paths, causes), so
    /// a refusal worth investigating is logged above debug level.
    pub fn logs_more(&self) -> bool {
        self.public_message() != self.to_string()
    }
}

/// Why the gateway could not start or stopped serving (the callers print the chain).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The settings are invalid.
    #[error("invalid gateway settings")]
    Config(#[from] crate::config::ConfigError),
    /// The root cannot be opened.
    #[error("failed to open root {}", path.display())]
    Root {
        /// The root.
        path: PathBuf,
        /// Cause.
        #[source]
        source: SwiftError,
    },
    /// A directory the gateway needs cannot be created.
    #[error("failed to create {what} {}", path.display())]
    CreateDir {
        /// Which directory ("state directory", "account directory").
        what: &'static str,
        /// The directory.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The listing index cannot be opened.
    #[error("failed to open the listing index")]
    Index(#[from] crate::index::IndexError),
    /// The start-up reconciliation of index and tree failed.
    #[error("failed to reconcile the index with the tree")]
    Reconcile(#[source] SwiftError),
    /// The Tokio runtime, the listening socket or stdout failed.
    #[error("failed to {action}")]
    Io {
        /// What was being done ("listen on 127.0.0.1:8080", ...).
        action: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The start-up task panicked.
    #[error("gateway start-up task failed: {0}")]
    Task(String),
}

/// Result alias for request handling.
pub type SwiftResult<T> = Result<T, SwiftError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enospc_is_507_and_enotdir_is_409() {
        let e = SwiftError::io("write", "/x", std::io::Error::from_raw_os_error(28));
        assert_eq!(e.status(), StatusCode::INSUFFICIENT_STORAGE);
        let e = SwiftError::io("mkdir", "/x", std::io::Error::from_raw_os_error(20));
        assert_eq!(e.status(), StatusCode::CONFLICT);
        let e = SwiftError::io("open", "/x", std::io::Error::from_raw_os_error(13));
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn public_messages_name_no_server_path() {
        let p = || PathBuf::from("/srv/secret-root/acct/c/o");
        let errors = [
            SwiftError::io("write", p(), std::io::Error::from_raw_os_error(28)),
            SwiftError::io("mkdir", p(), std::io::Error::from_raw_os_error(20)),
            SwiftError::io("open", p(), std::io::Error::from_raw_os_error(13)),
            SwiftError::Link {
                why: "leads outside the account",
                path: p(),
            },
            SwiftError::XattrRoom {
                bytes: 5000,
                path: p(),
            },
            SwiftError::CorruptManifest {
                path: p(),
                reason: "x".into(),
            },
        ];
        for e in errors {
            assert!(
                e.to_string().contains("secret-root"),
                "{e}: the log keeps the path"
            );
            assert!(!e.public_message().contains("secret-root"), "{e}");
            assert!(e.logs_more());
        }
    }
}
