// SPDX-License-Identifier: Apache-2.0
//! Legacy versioned writes (`X-Versions-Location`, `X-History-Location`): archiving on
//! overwrite, restoring or marking on DELETE, the container headers, and who may do what.

use std::ops::Deref;

use serde_json::Value;

use crate::common::Cluster;

/// The shared cluster plus the two containers and this module's helpers.
struct Setup(Cluster);

impl Deref for Setup {
    type Target = Cluster;
    fn deref(&self) -> &Cluster {
        &self.0
    }
}

impl Setup {
    /// A gateway with container `vers` and container `objs` versioned into it by `header`
    /// (`X-Versions-Location` or `X-History-Location`).
    fn new(header: &str) -> Setup {
        let s = Setup(Cluster::start());
        assert_eq!(s.req("PUT", "/v1/AUTH_test/vers", &[], b"").status, 201);
        let r = s.req("PUT", "/v1/AUTH_test/objs", &[(header, "vers")], b"");
        assert_eq!(r.status, 201, "{}", r.text());
        s
    }

    /// `(name, content_type)` of every object of a container, in listing order.
    fn listing(&self, c: &str) -> Vec<(String, String)> {
        let r = self.req("GET", &format!("/v1/AUTH_test/{c}?format=json"), &[], b"");
        assert_eq!(r.status, 200, "{}", r.text());
        let v: Value = serde_json::from_slice(&r.body).expect("json");
        v.as_array()
            .expect("array")
            .iter()
            .map(|o| {
                let s = |k: &str| o[k].as_str().expect(k).to_string();
                (s("name"), s("content_type"))
            })
            .collect()
    }

    fn body_of(&self, path: &str) -> (u16, Vec<u8>) {
        let r = self.req("GET", path, &[], b"");
        (r.status, r.body)
    }
}

const OBJ: &str = "/v1/AUTH_test/objs/o";

#[test]
fn stack_mode_archives_overwrites_and_restores_them() {
    let s = Setup::new("X-Versions-Location");
    let h1 = [("Content-Type", "text/one"), ("X-Object-Meta-Color", "red")];
    let first = s.req("PUT", OBJ, &h1, b"aaaaa");
    assert_eq!(first.status, 201);
    let ts1 = first.header("x-timestamp").expect("timestamp").to_string();
    assert!(
        s.listing("vers").is_empty(),
        "a first write archives nothing"
    );
    assert_eq!(s.req("PUT", OBJ, &[], b"bbbbb").status, 201);
    // Swift's name: the name's length in 3 hex digits, the name, `/`, its X-Timestamp.
    let archived = format!("001o/{ts1}");
    assert_eq!(
        s.listing("vers"),
        vec![(archived.clone(), "text/one".into())]
    );
    let a = s.req("GET", &format!("/v1/AUTH_test/vers/{archived}"), &[], b"");
    assert_eq!((a.status, a.body.as_slice()), (200, &b"aaaaa"[..]));
    assert_eq!(a.header("x-object-meta-color"), Some("red"));
    // It is a plain file of the tree.
    assert_eq!(
        std::fs::read(s.gw.root.join("test/vers/001o").join(&ts1)).expect("archive file"),
        b"aaaaa"
    );
    // A POST archives nothing; a COPY and a PUT with X-Copy-From onto it archive.
    assert_eq!(
        s.req("POST", OBJ, &[("X-Object-Meta-A", "b")], b"").status,
        202
    );
    assert_eq!(s.listing("vers").len(), 1);
    assert_eq!(
        s.req("PUT", "/v1/AUTH_test/vers/src", &[], b"ccccc").status,
        201
    );
    let copy = [("Destination", "objs/o")];
    assert_eq!(
        s.req("COPY", "/v1/AUTH_test/vers/src", &copy, b"").status,
        201
    );
    let from = [("X-Copy-From", "vers/src"), ("Content-Length", "0")];
    assert_eq!(s.req("PUT", OBJ, &from, b"").status, 201);
    let names: Vec<String> = s.listing("vers").into_iter().map(|e| e.0).collect();
    assert_eq!(names.iter().filter(|n| n.starts_with("001o/")).count(), 3);
    // DELETE pops the versions back, newest first, then deletes.
    for want in [&b"ccccc"[..], b"bbbbb", b"aaaaa"] {
        assert_eq!(s.req("DELETE", OBJ, &[], b"").status, 204);
        assert_eq!(s.body_of(OBJ), (200, want.to_vec()));
    }
    let restored = s.req("HEAD", OBJ, &[], b"");
    assert_eq!(restored.header("content-type"), Some("text/one"));
    assert_eq!(restored.header("x-object-meta-color"), Some("red"));
    assert_eq!(
        s.listing("vers"),
        vec![("src".into(), "application/octet-stream".into())]
    );
    assert_eq!(s.req("DELETE", OBJ, &[], b"").status, 204);
    assert_eq!(s.req("GET", OBJ, &[], b"").status, 404);
    assert_eq!(s.req("DELETE", OBJ, &[], b"").status, 404);
}

#[test]
fn history_mode_archives_and_leaves_delete_markers() {
    let s = Setup::new("X-History-Location");
    assert_eq!(s.req("PUT", OBJ, &[], b"v1").status, 201);
    assert_eq!(s.req("PUT", OBJ, &[], b"v2").status, 201);
    // Without write access to `objs`: no archive, no marker.
    assert_eq!(s.as_(&s.reader, "DELETE", OBJ, &[], b"").status, 403);
    assert_eq!(s.as_(&s.other, "DELETE", OBJ, &[], b"").status, 403);
    assert_eq!(s.listing("vers").len(), 1);
    assert_eq!(s.req("DELETE", OBJ, &[], b"").status, 204);
    assert_eq!(s.req("GET", OBJ, &[], b"").status, 404);
    // A DELETE of nothing is a 404 and still leaves a marker.
    assert_eq!(s.req("DELETE", OBJ, &[], b"").status, 404);
    let marker = "application/x-deleted;swift_versions_deleted=1";
    let types: Vec<String> = s.listing("vers").into_iter().map(|e| e.1).collect();
    assert_eq!(types.len(), 4);
    assert_eq!(&types[2..], [marker, marker]);
    let first = &s.listing("vers")[0].0;
    assert_eq!(s.body_of(&format!("/v1/AUTH_test/vers/{first}")).1, b"v1");
    // Back to stack mode: the top marker goes and the version below it comes back.
    let stack = [("X-Versions-Location", "vers")];
    assert_eq!(s.req("POST", "/v1/AUTH_test/objs", &stack, b"").status, 204);
    assert_eq!(s.req("DELETE", OBJ, &[], b"").status, 204);
    assert_eq!(s.listing("vers").len(), 3);
    assert_eq!(s.req("GET", OBJ, &[], b"").status, 404);
    assert_eq!(s.req("DELETE", OBJ, &[], b"").status, 204);
    assert_eq!(s.body_of(OBJ), (200, b"v2".to_vec()));
    assert_eq!(s.listing("vers").len(), 1);
}

#[test]
fn container_headers_as_swift_answers_them() {
    let s = Setup::new("X-History-Location");
    let c = "/v1/AUTH_test/objs";
    let head = s.req("HEAD", c, &[], b"");
    assert_eq!(head.header("x-history-location"), Some("vers"));
    assert_eq!(head.header("x-versions-location"), None);
    let both = [("X-Versions-Location", "a"), ("X-History-Location", "b")];
    let r = s.req("POST", c, &both, b"");
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        "Only one of x-versions-location or x-history-location may be specified"
    );
    let r = s.req("POST", c, &[("X-Versions-Location", "a/b")], b"");
    assert_eq!(
        (r.status, r.text().as_str()),
        (412, "Container name cannot contain slashes")
    );
    // Neither changed anything.
    let head = s.req("HEAD", c, &[], b"");
    assert_eq!(head.header("x-history-location"), Some("vers"));
    // Only the account's admin sets it: a writer and another account are refused.
    let acl = [("X-Container-Write", "test:reader")];
    assert_eq!(s.req("POST", c, &acl, b"").status, 204);
    let set = [("X-Versions-Location", "elsewhere")];
    assert_eq!(s.as_(&s.reader, "POST", c, &set, b"").status, 403);
    assert_eq!(s.as_(&s.other, "POST", c, &set, b"").status, 403);
    // A location in the same request wins over X-Remove-*.
    let r = s.req(
        "POST",
        c,
        &[("X-Remove-Versions-Location", "x"), set[0]],
        b"",
    );
    assert_eq!(r.status, 204);
    let head = s.req("HEAD", c, &[], b"");
    assert_eq!(head.header("x-versions-location"), Some("elsewhere"));
    assert_eq!(head.header("x-history-location"), None);
    assert_eq!(
        s.req("POST", c, &[("X-Remove-History-Location", "x")], b"")
            .status,
        204
    );
    assert_eq!(
        s.req("HEAD", c, &[], b"").header("x-versions-location"),
        None
    );
    assert_eq!(
        s.req("POST", c, &[("X-History-Location", "vers")], b"")
            .status,
        204
    );
    assert_eq!(
        s.req("POST", c, &[("X-History-Location", "")], b"").status,
        204
    );
    let head = s.req("HEAD", c, &[], b"");
    assert_eq!(head.header("x-history-location"), None);
    // Unversioned again: overwrites archive nothing.
    assert_eq!(s.req("PUT", OBJ, &[], b"1").status, 201);
    assert_eq!(s.req("PUT", OBJ, &[], b"2").status, 201);
    assert!(s.listing("vers").is_empty());
}

#[test]
fn a_missing_versions_container_fails_the_overwrite_with_412() {
    let s = Setup::new("X-Versions-Location");
    let gone = [("X-Versions-Location", "nonexistent")];
    assert_eq!(s.req("POST", "/v1/AUTH_test/objs", &gone, b"").status, 204);
    assert_eq!(s.req("PUT", OBJ, &[], b"first").status, 201);
    assert_eq!(s.req("PUT", OBJ, &[], b"second").status, 412);
    assert_eq!(s.body_of(OBJ), (200, b"first".to_vec()));
    // Stack mode without versions: a plain delete.
    assert_eq!(s.req("DELETE", OBJ, &[], b"").status, 204);
    assert_eq!(s.req("GET", OBJ, &[], b"").status, 404);
}

#[test]
fn writers_version_through_the_container_acl_only() {
    let s = Setup::new("X-Versions-Location");
    let c = "/v1/AUTH_test/objs";
    // The reader may write `objs`, nothing of `vers`.
    let acl = [("X-Container-Write", "test:reader")];
    assert_eq!(s.req("POST", c, &acl, b"").status, 204);
    assert_eq!(s.as_(&s.reader, "PUT", OBJ, &[], b"one").status, 201);
    assert_eq!(s.as_(&s.reader, "PUT", OBJ, &[], b"two").status, 201);
    let archived = s.listing("vers");
    assert_eq!(
        archived.len(),
        1,
        "archived on the writer's behalf, as Swift"
    );
    let path = format!("/v1/AUTH_test/vers/{}", archived[0].0);
    // Yet the archive stays out of the writer's reach.
    assert_eq!(s.as_(&s.reader, "GET", &path, &[], b"").status, 403);
    assert_eq!(s.as_(&s.reader, "DELETE", &path, &[], b"").status, 403);
    // Another account: no write, no delete, no copy in, and nothing archived or restored.
    assert_eq!(s.as_(&s.other, "PUT", OBJ, &[], b"x").status, 403);
    assert_eq!(s.as_(&s.other, "DELETE", OBJ, &[], b"").status, 403);
    let src = "/v1/AUTH_other/src";
    assert_eq!(s.as_(&s.other, "PUT", src, &[], b"").status, 201);
    assert_eq!(
        s.as_(&s.other, "PUT", &format!("{src}/x"), &[], b"x")
            .status,
        201
    );
    let from = [
        ("X-Copy-From", "src/x"),
        ("X-Copy-From-Account", "AUTH_other"),
        ("Content-Length", "0"),
    ];
    assert_eq!(s.as_(&s.other, "PUT", OBJ, &from, b"").status, 403);
    assert_eq!(s.listing("vers").len(), 1);
    assert_eq!(s.body_of(OBJ), (200, b"two".to_vec()));
    // Without a token: 401, nothing changes.
    assert_eq!(s.gw.req("DELETE", OBJ, &[], b"").status, 401);
    assert_eq!(s.listing("vers").len(), 1);
    // The writer's DELETE restores the version it may not read directly.
    assert_eq!(s.as_(&s.reader, "DELETE", OBJ, &[], b"").status, 204);
    assert_eq!(s.body_of(OBJ), (200, b"one".to_vec()));
    assert!(s.listing("vers").is_empty());
    // Write access is what counts: a read-only user restores nothing.
    let ro = [
        ("X-Container-Read", "test:reader"),
        ("X-Remove-Container-Write", "x"),
    ];
    assert_eq!(s.req("POST", c, &ro, b"").status, 204);
    assert_eq!(s.req("PUT", OBJ, &[], b"three").status, 201);
    assert_eq!(s.as_(&s.reader, "DELETE", OBJ, &[], b"").status, 403);
    assert_eq!(s.as_(&s.reader, "PUT", OBJ, &[], b"four").status, 403);
    assert_eq!(s.listing("vers").len(), 1);
    assert_eq!(s.body_of(OBJ), (200, b"three".to_vec()));
}

#[test]
fn slo_manifests_are_archived_as_manifests() {
    let s = Setup::new("X-Versions-Location");
    assert_eq!(s.req("PUT", "/v1/AUTH_test/segs", &[], b"").status, 201);
    let mut manifests = Vec::new();
    for (seg, byte) in [("a", b'a'), ("b", b'b')] {
        let body = vec![byte; 1000];
        let r = s.req("PUT", &format!("/v1/AUTH_test/segs/{seg}"), &[], &body);
        let etag = r.header("etag").expect("etag").to_string();
        manifests.push(format!(
            r#"[{{"path": "/segs/{seg}", "etag": "{etag}", "size_bytes": 1000}}]"#
        ));
    }
    let put = "/v1/AUTH_test/objs/o?multipart-manifest=put";
    assert_eq!(s.req("PUT", put, &[], manifests[0].as_bytes()).status, 201);
    assert_eq!(s.req("PUT", put, &[], manifests[1].as_bytes()).status, 201);
    let archived = s.listing("vers");
    assert_eq!(archived.len(), 1);
    let path = format!("/v1/AUTH_test/vers/{}", archived[0].0);
    let m = s.req("GET", &format!("{path}?multipart-manifest=get"), &[], b"");
    assert_eq!(m.header("x-static-large-object"), Some("True"));
    let v: Value = serde_json::from_slice(&m.body).expect("manifest json");
    assert_eq!(v[0]["name"], "/segs/a");
    assert_eq!(s.body_of(&path), (200, vec![b'a'; 1000]));
    assert_eq!(s.req("DELETE", OBJ, &[], b"").status, 204);
    assert_eq!(s.body_of(OBJ), (200, vec![b'a'; 1000]));
    let listed = s.req("GET", "/v1/AUTH_test/objs?format=json", &[], b"");
    let v: Value = serde_json::from_slice(&listed.body).expect("json");
    assert_eq!(v[0]["bytes"], 1000);
}

#[test]
fn bulk_deletes_go_through_the_versioning() {
    let s = Setup::new("X-Versions-Location");
    assert_eq!(s.req("PUT", OBJ, &[], b"old").status, 201);
    assert_eq!(s.req("PUT", OBJ, &[], b"new").status, 201);
    let bulk = "/v1/AUTH_test?bulk-delete";
    let h = [
        ("Accept", "application/json"),
        ("Content-Type", "text/plain"),
    ];
    let r = s.req("POST", bulk, &h, b"/objs/o\n");
    assert_eq!(r.status, 200, "{}", r.text());
    let v: Value = serde_json::from_slice(&r.body).expect("json");
    assert_eq!(v["Number Deleted"], 1, "{v}");
    // Stack mode: the bulk delete popped the previous version back.
    assert_eq!(s.body_of(OBJ), (200, b"old".to_vec()));
    assert!(s.listing("vers").is_empty());
    // Bulk deletes are the account admin's: the reader restores nothing.
    let r = s.as_(&s.reader, "POST", bulk, &h, b"/objs/o\n");
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(s.body_of(OBJ), (200, b"old".to_vec()));
}

#[test]
fn dlo_manifests_are_archived_and_restored_as_manifests() {
    let s = Setup::new("X-Versions-Location");
    assert_eq!(s.req("PUT", "/v1/AUTH_test/segs", &[], b"").status, 201);
    for (i, body) in [(1, b"11"), (2, b"22")] {
        let p = format!("/v1/AUTH_test/segs/part/{i}");
        assert_eq!(s.req("PUT", &p, &[], body).status, 201);
    }
    assert_eq!(s.req("PUT", OBJ, &[], b"old content").status, 201);
    let dlo = [("X-Object-Manifest", "segs/part/")];
    assert_eq!(s.req("PUT", OBJ, &dlo, b"").status, 201);
    assert_eq!(s.body_of(OBJ), (200, b"1122".to_vec()));
    assert_eq!(s.req("PUT", OBJ, &[], b"new content").status, 201);
    let archived = s.listing("vers");
    assert_eq!(archived.len(), 2);
    let newest = format!("/v1/AUTH_test/vers/{}", archived[1].0);
    let r = s.req("GET", &newest, &[], b"");
    assert_eq!((r.status, r.body.as_slice()), (200, &b"1122"[..]));
    assert_eq!(r.header("x-object-manifest"), Some("segs/part/"));
    assert_eq!(s.req("DELETE", OBJ, &[], b"").status, 204);
    let r = s.req("GET", OBJ, &[], b"");
    assert_eq!((r.status, r.body.as_slice()), (200, &b"1122"[..]));
    assert_eq!(r.header("x-object-manifest"), Some("segs/part/"));
    assert_eq!(s.req("DELETE", OBJ, &[], b"").status, 204);
    assert_eq!(s.body_of(OBJ), (200, b"old content".to_vec()));
}

#[test]
fn symlinks_are_archived_and_restored_as_links() {
    let s = Setup::new("X-Versions-Location");
    for (name, body) in [("a", b"aaaaa"), ("b", b"bbbbb")] {
        let p = format!("/v1/AUTH_test/objs/{name}");
        assert_eq!(s.req("PUT", &p, &[], body).status, 201);
    }
    let link = |t: &'static str| [("X-Symlink-Target", t), ("Content-Length", "0")];
    assert_eq!(s.req("PUT", OBJ, &link("objs/a"), b"").status, 201);
    // A link overwriting a link archives the old link, as a link.
    assert_eq!(s.req("PUT", OBJ, &link("objs/b"), b"").status, 201);
    assert_eq!(s.body_of(OBJ), (200, b"bbbbb".to_vec()));
    let archived = s.listing("vers");
    assert_eq!(archived.len(), 1);
    assert_eq!(archived[0].1, "application/symlink");
    let old = format!("/v1/AUTH_test/vers/{}", archived[0].0);
    assert_eq!(s.body_of(&old), (200, b"aaaaa".to_vec()));
    let raw = s.req("HEAD", &format!("{old}?symlink=get"), &[], b"");
    assert_eq!(raw.header("x-symlink-target"), Some("objs/a"));
    // A plain overwrite archives the current link; a copy of the archived link with
    // `?symlink=get` restores it as a link and archives the plain object.
    assert_eq!(s.req("PUT", OBJ, &[], b"plain").status, 201);
    assert_eq!(s.listing("vers").len(), 2);
    let copy = [("Destination", "objs/o")];
    let r = s.req("COPY", &format!("{old}?symlink=get"), &copy, b"");
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(s.body_of(OBJ), (200, b"aaaaa".to_vec()));
    assert_eq!(s.listing("vers").len(), 3);
    // DELETE pops the plain object back, then the link to b, then the link to a.
    assert_eq!(s.req("DELETE", OBJ, &[], b"").status, 204);
    assert_eq!(s.body_of(OBJ), (200, b"plain".to_vec()));
    assert_eq!(s.req("DELETE", OBJ, &[], b"").status, 204);
    assert_eq!(s.body_of(OBJ), (200, b"bbbbb".to_vec()));
    let raw = s.req("HEAD", &format!("{OBJ}?symlink=get"), &[], b"");
    assert_eq!(raw.header("x-symlink-target"), Some("objs/b"));
    assert_eq!(raw.header("content-type"), Some("application/symlink"));
    assert_eq!(s.req("DELETE", OBJ, &[], b"").status, 204);
    assert_eq!(s.body_of(OBJ), (200, b"aaaaa".to_vec()));
    assert!(s.listing("vers").is_empty());
}

#[test]
fn a_null_version_delete_goes_through_legacy_versioning() {
    // Stack mode: `DELETE ?version-id=null` pops the newest archived version back.
    let s = Setup::new("X-Versions-Location");
    for body in [&b"v1"[..], b"v2", b"v3"] {
        assert_eq!(s.req("PUT", OBJ, &[], body).status, 201);
    }
    let null = format!("{OBJ}?version-id=null");
    assert_eq!(s.req("DELETE", &null, &[], b"").status, 204);
    assert_eq!(s.body_of(OBJ), (200, b"v2".to_vec()));
    assert_eq!(s.listing("vers").len(), 1);

    // History mode: it archives the object and leaves a delete marker.
    let s = Setup::new("X-History-Location");
    for body in [&b"v1"[..], b"v2"] {
        assert_eq!(s.req("PUT", OBJ, &[], body).status, 201);
    }
    assert_eq!(s.req("DELETE", &null, &[], b"").status, 204);
    assert_eq!(s.req("GET", OBJ, &[], b"").status, 404);
    let types: Vec<String> = s.listing("vers").into_iter().map(|e| e.1).collect();
    assert_eq!(types.len(), 3);
    assert!(types[2].starts_with("application/x-deleted"), "{types:?}");
}
