// SPDX-License-Identifier: Apache-2.0
//! Swift's bulk middleware: uploads of tar archives (`?extract-archive`, plain, gzip and
//! bzip2) into an account, a container or a prefix, written as the caller's PUTs would be
//! (authorization, metadata, quotas); Swift's reports for refused files and broken
//! archives; bulk deletes sent to an object's path with DELETE.

use std::io::Write;

use serde_json::Value;

use crate::common::{Gw, Resp};

/// An archive entry: name, bytes, pax records (and its type, `b'0'` for a file).
struct Item<'a> {
    name: &'a [u8],
    data: &'a [u8],
    pax: &'a [(&'a str, &'a str)],
    kind: u8,
}

fn file<'a>(name: &'a str, data: &'a [u8]) -> Item<'a> {
    Item {
        name: name.as_bytes(),
        data,
        pax: &[],
        kind: b'0',
    }
}

fn header(name: &[u8], size: u64, kind: u8) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::new(kind));
    h.set_cksum();
    h
}

/// A plain tar of `items` (a pax header before each item that has records).
fn tar_of(items: &[Item]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for it in items {
        if !it.pax.is_empty() {
            let mut records = Vec::new();
            for (k, v) in it.pax {
                let body = format!(" {k}={v}\n");
                // The length counts itself: find the one that fits.
                let mut len = body.len() + 1;
                while format!("{len}{body}").len() != len {
                    len += 1;
                }
                records.extend(format!("{len}{body}").into_bytes());
            }
            let h = header(b"PaxHeader/x", records.len() as u64, b'x');
            b.append(&h, records.as_slice()).expect("pax");
        }
        let h = header(it.name, it.data.len() as u64, it.kind);
        b.append(&h, it.data).expect("append");
    }
    b.into_inner().expect("tar")
}

fn gzip(raw: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(raw).expect("gzip");
    e.finish().expect("gzip")
}

fn bzip2(raw: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    e.write_all(raw).expect("bzip2");
    e.finish().expect("bzip2")
}

fn json(r: &Resp) -> Value {
    assert_eq!(r.status, 200, "{}", r.text());
    serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.text()))
}

struct Setup {
    _dir: tempfile::TempDir,
    gw: Gw,
    admin: String,
}

impl Setup {
    fn new(extra: &[&str]) -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        let gw = Gw::start(dir.path(), extra);
        let admin = gw.token("test:tester", "testing");
        Setup {
            _dir: dir,
            gw,
            admin,
        }
    }

    fn as_admin(&self, m: &str, p: &str, h: &[(&str, &str)], body: &[u8]) -> Resp {
        let mut headers = vec![("X-Auth-Token", self.admin.as_str())];
        headers.extend_from_slice(h);
        self.gw.req(m, p, &headers, body)
    }

    /// An upload by `token` to `path` in `format`, answered in JSON.
    fn upload(&self, token: &str, path: &str, format: &str, archive: &[u8]) -> Value {
        let p = format!("{path}?extract-archive={format}");
        let h = [("X-Auth-Token", token), ("Accept", "application/json")];
        json(&self.gw.req("PUT", &p, &h, archive))
    }

    fn get(&self, p: &str) -> (u16, Vec<u8>) {
        let r = self.as_admin("GET", p, &[], b"");
        (r.status, r.body)
    }
}

#[test]
fn tar_and_tar_gz_uploads_into_the_account_create_containers() {
    let s = Setup::new(&[]);
    let pax = [
        ("SCHILY.xattr.user.mime_type", "application/x-lunch"),
        ("SCHILY.xattr.user.meta.lunch", "burger"),
        ("SCHILY.xattr.user.other", "ignored"),
    ];
    let items = [
        file("c1/a.txt", b"hello"),
        Item {
            name: b"./c2/sub/b",
            data: b"world",
            pax: &pax,
            kind: b'0',
        },
        file("top-level", b"ignored: names no container"),
        Item {
            name: b"c1/dir",
            data: b"",
            pax: &[],
            kind: b'5',
        },
        Item {
            name: b"c1/link",
            data: b"",
            pax: &[],
            kind: b'2',
        },
    ];
    let raw = tar_of(&items);
    // The second round finds the containers there.
    for (format, archive) in [("tar", raw.clone()), ("tar.gz", gzip(&raw))] {
        let h = [
            ("Accept", "application/json"),
            ("X-Object-Meta-Color", "red"),
        ];
        let p = format!("/v1/AUTH_test?extract-archive={format}");
        let v = json(&s.as_admin("PUT", &p, &h, &archive));
        assert_eq!(v["Number Files Created"], 2, "{format}: {v}");
        assert_eq!(v["Response Status"], "201 Created", "{v}");
        assert_eq!(v["Errors"], serde_json::json!([]), "{v}");
    }
    assert_eq!(s.get("/v1/AUTH_test/c1/a.txt"), (200, b"hello".to_vec()));
    let head = s.as_admin("HEAD", "/v1/AUTH_test/c2/sub/b", &[], b"");
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-type"), Some("application/x-lunch"));
    assert_eq!(head.header("x-object-meta-lunch"), Some("burger"));
    assert_eq!(head.header("x-object-meta-color"), Some("red"));
    assert_eq!(head.header("x-object-meta-other"), None);
    assert_eq!(
        head.header("etag"),
        Some("7d793037a0760186574b0282f2f435e7")
    );
    let a = s.as_admin("HEAD", "/v1/AUTH_test/c1/a.txt", &[], b"");
    assert_eq!(a.header("content-type"), Some("text/plain"), "guessed");
    // Only the regular files were written, and listed.
    assert_eq!(s.get("/v1/AUTH_test/c1"), (200, b"a.txt\n".to_vec()));
    assert_eq!(s.get("/v1/AUTH_test"), (200, b"c1\nc2\n".to_vec()));
    assert!(s.gw.root.join("test/c2/sub/b").is_file());
}

#[test]
fn uploads_into_a_container_and_under_a_prefix() {
    let s = Setup::new(&[]);
    let raw = tar_of(&[file("x", b"1"), file("d/y", b"22")]);
    let v = s.upload(&s.admin, "/v1/AUTH_test/box", "tar", &raw);
    assert_eq!(v["Number Files Created"], 2, "{v}");
    let v = s.upload(&s.admin, "/v1/AUTH_test/box/pre/", "tar.bz2", &bzip2(&raw));
    assert_eq!(v["Number Files Created"], 2, "{v}");
    assert_eq!(v["Response Status"], "201 Created");
    let (st, list) = s.get("/v1/AUTH_test/box");
    assert_eq!(
        (st, String::from_utf8_lossy(&list).as_ref()),
        (200, "d/y\npre/d/y\npre/x\nx\n")
    );
    assert_eq!(s.get("/v1/AUTH_test/box/pre/d/y"), (200, b"22".to_vec()));
    // Plain text by default, Swift's sorted keys.
    let r = s.as_admin("PUT", "/v1/AUTH_test/box?extract-archive=tar", &[], &raw);
    assert_eq!(
        r.text(),
        "Number Files Created: 2\nResponse Body: \nResponse Status: 201 Created\nErrors:\n"
    );
}

#[test]
fn files_the_caller_may_not_write_are_reported_and_not_written() {
    let s = Setup::new(&[]);
    assert_eq!(
        s.as_admin("PUT", "/v1/AUTH_test/priv", &[], b"").status,
        201
    );
    let write = ("X-Container-Write", "test:reader");
    assert_eq!(
        s.as_admin("PUT", "/v1/AUTH_test/shared", &[write], b"")
            .status,
        201
    );
    let other = s.gw.token("other:admin", "otherkey");
    let raw = tar_of(&[file("priv/f", b"x"), file("new/g", b"y")]);
    let v = s.upload(&other, "/v1/AUTH_test", "tar", &raw);
    assert_eq!(v["Number Files Created"], 0, "{v}");
    assert_eq!(v["Response Status"], "400 Bad Request");
    assert_eq!(
        v["Errors"],
        serde_json::json!([
            ["/v1/AUTH_test/priv", "403 Forbidden"],
            ["priv/f", "403 Forbidden"],
            ["/v1/AUTH_test/new", "403 Forbidden"],
            ["new/g", "403 Forbidden"],
        ])
    );
    assert_eq!(s.get("/v1/AUTH_test/priv/f").0, 404);
    assert_eq!(s.get("/v1/AUTH_test/new").0, 404);
    // A user with only X-Container-Write: the container HEAD is refused (reported only if
    // the file fails too), the file's PUT goes through, as in Swift.
    let reader = s.gw.token("test:reader", "readkey");
    let raw = tar_of(&[file("shared/ok", b"z"), file("priv/no", b"z")]);
    let v = s.upload(&reader, "/v1/AUTH_test", "tar", &raw);
    assert_eq!(v["Number Files Created"], 1, "{v}");
    assert_eq!(
        v["Errors"],
        serde_json::json!([
            ["/v1/AUTH_test/priv", "403 Forbidden"],
            ["priv/no", "403 Forbidden"]
        ])
    );
    assert_eq!(s.get("/v1/AUTH_test/shared/ok"), (200, b"z".to_vec()));
}

#[test]
fn names_sizes_and_quotas_are_judged_per_file() {
    let s = Setup::new(&["--max-file-size", "10"]);
    let quota = ("X-Container-Meta-Quota-Count", "1");
    assert_eq!(
        s.as_admin("PUT", "/v1/AUTH_test/q", &[quota], b"").status,
        201
    );
    let long = format!("q/{}", "n".repeat(1025));
    let raw = tar_of(&[
        Item {
            name: b"q/caf\xe9",
            data: b"latin-1",
            pax: &[],
            kind: b'0',
        },
        file("q/big", b"more than ten bytes"),
        file("q/one", b"1"),
        file("q/two", b"2"),
    ]);
    // A GNU long name, as tar writes names over 100 bytes.
    let mut b = tar::Builder::new(raw[..raw.len() - 1024].to_vec());
    let mut h = tar::Header::new_gnu();
    h.set_size(1);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, &long, b"L".as_slice())
        .expect("long name");
    let raw = b.into_inner().expect("tar");
    let v = s.upload(&s.admin, "/v1/AUTH_test", "tar", &raw);
    assert_eq!(v["Number Files Created"], 1, "{v}");
    assert_eq!(
        v["Errors"],
        serde_json::json!([
            ["q/caf%E9", "412 Precondition Failed"],
            ["q/big", "413 Request Entity Too Large"],
            ["q/two", "413 Request Entity Too Large"],
            [format!("q/{}", "n".repeat(1025)), "400 Bad Request"],
        ])
    );
    assert_eq!(v["Response Status"], "400 Bad Request");
    assert_eq!(s.get("/v1/AUTH_test/q"), (200, b"one\n".to_vec()));
}

#[test]
fn an_unknown_format_is_a_400() {
    let s = Setup::new(&[]);
    let r = s.as_admin("PUT", "/v1/AUTH_test/c?extract-archive=zip", &[], b"PK");
    assert_eq!(
        (r.status, r.text().as_str()),
        (400, "Unsupported archive format")
    );
    assert_eq!(s.get("/v1/AUTH_test/c").0, 404);
}

#[test]
fn a_broken_archive_is_reported_as_swift_does() {
    let s = Setup::new(&[]);
    let good = tar_of(&[file("c/a", &[7u8; 3000]), file("c/b", b"b")]);
    for (format, archive, why) in [
        ("tar", b"not a tar file at all".repeat(40), "invalid header"),
        ("tar", Vec::new(), "empty file"),
        ("tar.gz", b"garbage".to_vec(), "not a gzip file"),
        ("tar.bz2", b"garbage".repeat(20), "invalid compressed data"),
        ("tar", good[..2000].to_vec(), "unexpected end of data"),
    ] {
        let v = s.upload(&s.admin, "/v1/AUTH_test", format, &archive);
        assert_eq!(v["Response Status"], "400 Bad Request", "{format}: {v}");
        assert_eq!(
            v["Response Body"],
            format!("Invalid Tar File: {why}"),
            "{v}"
        );
        assert_eq!(v["Number Files Created"], 0);
    }
    assert_eq!(
        s.get("/v1/AUTH_test/c/a").0,
        404,
        "a file cut short is not written"
    );
    // Only zero blocks: a valid archive without files.
    let v = s.upload(&s.admin, "/v1/AUTH_test", "tar", &[0u8; 1024]);
    assert_eq!(v["Response Body"], "Invalid Tar File: No Valid Files");
    // XML, as Swift writes it (no declaration).
    let h = [("Accept", "application/xml")];
    let r = s.as_admin("PUT", "/v1/AUTH_test?extract-archive=tar", &h, b"");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("application/xml; charset=utf-8")
    );
    assert_eq!(
        r.text(),
        "<extract>\n<number_files_created>0</number_files_created>\n\
         <response_body>Invalid Tar File: empty file</response_body>\n\
         <response_status>400 Bad Request</response_status>\n<errors>\n</errors>\n</extract>\n"
    );
}

#[test]
fn bulk_delete_with_delete_on_an_object_path() {
    let s = Setup::new(&[]);
    assert_eq!(s.as_admin("PUT", "/v1/AUTH_test/c", &[], b"").status, 201);
    assert_eq!(
        s.as_admin("PUT", "/v1/AUTH_test/c/o", &[], b"x").status,
        201
    );
    assert_eq!(
        s.as_admin("PUT", "/v1/AUTH_test/c/p", &[], b"x").status,
        201
    );
    // Swift's test_object.test_bulk_delete (less its `Expect: 100-continue`, which this
    // harness's reader would take for the answer; the conformance run sends it).
    let h = [
        ("Accept", "application/xml"),
        ("Content-Type", "text/plain"),
    ];
    let r = s.as_admin("DELETE", "/v1/AUTH_test/c/o?bulk-delete", &h, b"c/o");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.text(),
        "<delete>\n<number_deleted>1</number_deleted>\n<number_not_found>0</number_not_found>\n\
         <response_body></response_body>\n<response_status>200 OK</response_status>\n\
         <errors>\n</errors>\n</delete>\n"
    );
    assert_eq!(s.get("/v1/AUTH_test/c/o").0, 404);
    // POST on a container's path; the path below the account is not what is deleted.
    let h = [("Accept", "application/json")];
    let r = s.as_admin(
        "POST",
        "/v1/AUTH_test/elsewhere?bulk-delete",
        &h,
        b"/c/p\n/c/gone\n",
    );
    let v = json(&r);
    assert_eq!(
        (v["Number Deleted"].as_u64(), v["Number Not Found"].as_u64()),
        (Some(1), Some(1))
    );
    // Another account's token is refused as on the account's path.
    let other = s.gw.token("other:admin", "otherkey");
    let r = s.gw.req(
        "DELETE",
        "/v1/AUTH_test/c?bulk-delete",
        &[("X-Auth-Token", &other)],
        b"/c",
    );
    assert_eq!(r.status, 403);
    assert_eq!(s.as_admin("HEAD", "/v1/AUTH_test/c", &[], b"").status, 204);
    // An Accept that fits no format is Swift's 406, in the body; nothing is deleted.
    let r = s.as_admin(
        "DELETE",
        "/v1/AUTH_test?bulk-delete",
        &[("Accept", "image/png")],
        b"/c",
    );
    assert_eq!(r.status, 200);
    assert!(
        r.text().contains("Response Status: 406 Not Acceptable"),
        "{}",
        r.text()
    );
    assert_eq!(s.as_admin("HEAD", "/v1/AUTH_test/c", &[], b"").status, 204);
}

#[test]
fn an_upload_stops_after_1000_failures() {
    let s = Setup::new(&[]);
    // Names that are not UTF-8: each one a 412 without any subrequest.
    let bad: Vec<Vec<u8>> = (0..1001)
        .map(|i| [b"c/\xff".as_slice(), i.to_string().as_bytes()].concat())
        .collect();
    let mut items: Vec<Item> = bad
        .iter()
        .map(|name| Item {
            name,
            data: b"",
            pax: &[],
            kind: b'0',
        })
        .collect();
    items.push(file("c/late", b"never written"));
    let v = s.upload(&s.admin, "/v1/AUTH_test", "tar", &tar_of(&items));
    let errors = v["Errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1000);
    assert_eq!(
        errors[0],
        serde_json::json!(["c/%FF0", "412 Precondition Failed"])
    );
    assert_eq!(v["Response Status"], "400 Bad Request");
    assert_eq!(s.get("/v1/AUTH_test/c/late").0, 404);
}

#[test]
fn an_idle_body_ends_the_upload_with_408_in_the_report() {
    use std::io::Read;
    let s = Setup::new(&["--client-timeout", "1"]);
    let raw = tar_of(&[file("c/a", b"first"), file("c/b", &[1u8; 4000])]);
    let mut sock = std::net::TcpStream::connect(&s.gw.addr).expect("connect");
    let head = format!(
        "PUT /v1/AUTH_test?extract-archive=tar HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        s.admin,
        raw.len()
    );
    sock.write_all(head.as_bytes()).expect("head");
    // The first file whole, the second cut short; then nothing more.
    sock.write_all(&raw[..2048]).expect("part");
    let mut answer = String::new();
    sock.read_to_string(&mut answer).expect("answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("Number Files Created: 1\n"), "{answer}");
    assert!(
        answer.contains("Response Status: 408 Request Timeout\n"),
        "{answer}"
    );
    assert!(
        answer.ends_with("Errors:\nc/b, 408 Request Timeout\n"),
        "{answer}"
    );
    assert_eq!(s.get("/v1/AUTH_test/c/a"), (200, b"first".to_vec()));
    assert_eq!(s.get("/v1/AUTH_test/c/b").0, 404);
}
