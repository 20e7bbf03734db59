// SPDX-License-Identifier: Apache-2.0
//! `PUT ?multipart-manifest=put&heartbeat=on`: Swift answers 202 at once and keeps the
//! connection alive with a space every `yield_frequency` seconds (advertised in `/info`)
//! while it checks the segments, then ends the body with `\r\n\r\n` and the outcome, as
//! text (`Key: value` lines, sorted, then `Errors:`) or JSON by `Accept`. A client whose
//! manifest names thousands of segments is thus never timed out by a proxy in between.

use std::future::Future;
use std::io;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt as _;
use http::{Response, StatusCode};
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};

use super::bulk::status_line;
use super::slo_put::SloOutcome;
use super::{finish, resp, Req};
use crate::body::Body;
use crate::error::{SwiftError, SwiftResult};
use crate::path::query_get;

/// Seconds between two spaces: what `/info` advertises as the SLO's `yield_frequency`.
pub(crate) const YIELD_FREQUENCY: Duration = Duration::from_secs(10);

/// Whether the request asks for a heartbeat (Swift's `config_true_value`).
pub(super) fn requested(req: &Req) -> bool {
    matches!(
        query_get(&req.query, "heartbeat")
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("true" | "1" | "yes" | "on" | "t" | "y")
    )
}

/// The 202 whose body beats while `work` runs and then carries its outcome.
pub(super) fn respond(
    accept: Option<String>,
    work: impl Future<Output = SloOutcome> + Send + 'static,
) -> SwiftResult<Response<Body>> {
    let json = accept.is_some_and(|a| a.contains("application/json"));
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(4);
    tokio::spawn(async move {
        let mut work = std::pin::pin!(work);
        let mut beat = tokio::time::interval(YIELD_FREQUENCY);
        // The manifest is stored even if the client has gone: it asked for it.
        let outcome = loop {
            tokio::select! {
                outcome = &mut work => break outcome,
                _ = beat.tick() => { let _ = tx.send(Ok(Bytes::from_static(b" "))).await; }
            }
        };
        let mut text = b"\r\n\r\n".to_vec();
        text.extend(render(&outcome, json));
        let _ = tx.send(Ok(Bytes::from(text))).await;
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item.map(Frame::data), rx))
    });
    let body = BodyExt::boxed_unsync(StreamBody::new(stream.boxed()));
    let ct = if json {
        "application/json"
    } else {
        "text/plain"
    };
    finish(resp(StatusCode::ACCEPTED).header("Content-Type", ct), body)
}

/// Swift's default body for a status, as its heartbeat answers quote it.
fn status_body(status: StatusCode, error: Option<&SwiftError>) -> String {
    let reason = status.canonical_reason().unwrap_or("");
    let detail = match status {
        StatusCode::BAD_REQUEST => "The server could not comply with the request since it is \
                                    either malformed or otherwise incorrect."
            .to_string(),
        StatusCode::UNPROCESSABLE_ENTITY => "Unable to process the contained instructions".into(),
        _ => error.map(SwiftError::public_message).unwrap_or_default(),
    };
    format!("{reason}\n{detail}")
}

/// The outcome as Swift's bulk-style response body.
pub(super) fn render(outcome: &SloOutcome, json: bool) -> Vec<u8> {
    let mut fields: Vec<(&str, String)> = Vec::new();
    let errors: &[(String, String)] = match outcome {
        SloOutcome::Created { etag, timestamp } => {
            fields.push(("Etag", format!("\"{etag}\"")));
            fields.push(("Last Modified", timestamp.http_date()));
            fields.push(("Response Body", String::new()));
            fields.push(("Response Status", "201 Created".into()));
            &[]
        }
        SloOutcome::BadSegments(errors) => {
            let status = StatusCode::BAD_REQUEST;
            fields.push(("Response Body", status_body(status, None)));
            fields.push(("Response Status", status_line(status)));
            errors
        }
        SloOutcome::Failed(e) => {
            let status = e.status();
            fields.push(("Response Body", status_body(status, Some(e))));
            fields.push(("Response Status", status_line(status)));
            &[]
        }
    };
    if json {
        let mut map = serde_json::Map::new();
        for (k, v) in fields {
            map.insert(k.into(), v.into());
        }
        let errors: Vec<[&str; 2]> = errors
            .iter()
            .map(|(p, e)| [p.as_str(), e.as_str()])
            .collect();
        map.insert("Errors".into(), serde_json::json!(errors));
        return serde_json::Value::Object(map).to_string().into_bytes();
    }
    let mut text = String::new();
    for (k, v) in fields {
        text.push_str(&format!("{k}: {v}\n"));
    }
    text.push_str("Errors:\n");
    for (p, e) in errors {
        text.push_str(&format!("{p}, {e}\n"));
    }
    text.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    #[test]
    fn outcomes_as_swift_writes_them() {
        let created = SloOutcome::Created {
            etag: "abc".into(),
            timestamp: Timestamp(1_700_000_000_000_000),
        };
        let text = String::from_utf8(render(&created, false)).expect("utf-8");
        assert!(text.starts_with("Etag: \"abc\"\nLast Modified: "), "{text}");
        assert!(text.ends_with("Response Body: \nResponse Status: 201 Created\nErrors:\n"));
        let bad = SloOutcome::BadSegments(vec![("c/s".into(), "404 Not Found".into())]);
        let text = String::from_utf8(render(&bad, false)).expect("utf-8");
        assert!(
            text.contains("Response Status: 400 Bad Request\n"),
            "{text}"
        );
        assert!(text.ends_with("Errors:\nc/s, 404 Not Found\n"), "{text}");
        let json: serde_json::Value = serde_json::from_slice(&render(&bad, true)).expect("json");
        assert_eq!(
            json["Errors"],
            serde_json::json!([["c/s", "404 Not Found"]])
        );
        assert_eq!(json["Response Status"], "400 Bad Request");
        let failed = SloOutcome::Failed(SwiftError::Unprocessable("etag".into()));
        let json: serde_json::Value = serde_json::from_slice(&render(&failed, true)).expect("json");
        assert_eq!(
            json["Response Body"],
            "Unprocessable Entity\nUnable to process the contained instructions"
        );
        assert!(json.get("Etag").is_none());
    }
}
