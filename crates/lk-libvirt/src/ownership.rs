//! Ownership marks read with a real XML reader (quick-xml, namespace-aware): the `<lk:owner>`
//! element of a domain (as the metadata API returns it, or inside a whole domain XML), the
//! bridge of a network and the directory of a pool. These parsers guard "gc never touches
//! what is not ours": malformed XML, or an owner element in lustrekit's namespace without a
//! cluster and a run, is an error, never "ours".

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::NsReader;

use crate::xml::{Owner, LK_NS};

#[derive(Debug, thiserror::Error)]
pub enum OwnershipError {
    #[error("unreadable XML near byte {position}")]
    Xml {
        position: u64,
        #[source]
        source: quick_xml::Error,
    },

    #[error("unreadable XML: {open} element(s) not closed")]
    Unclosed { open: usize },

    #[error("lustrekit owner metadata without a non-empty <{0}>")]
    Missing(&'static str),

    #[error("lustrekit owner metadata with more than one <{0}>")]
    Duplicate(&'static str),
}

/// Walks `xml`, calling `visit(depth, namespace-is-lustrekit's, event)` for every element
/// start (depth 1 = root) and text; checks that the document is well formed.
fn walk(
    xml: &str,
    mut visit: impl FnMut(usize, bool, &Event<'_>) -> Result<(), OwnershipError>,
) -> Result<(), OwnershipError> {
    let mut r = NsReader::from_str(xml);
    let mut depth = 0usize;
    loop {
        let (ns, ev) = match r.read_resolved_event() {
            Ok(x) => x,
            Err(source) => {
                return Err(OwnershipError::Xml {
                    position: r.error_position(),
                    source,
                })
            }
        };
        let ours = matches!(ns, ResolveResult::Bound(Namespace(n)) if n == LK_NS.as_bytes());
        match &ev {
            Event::Start(_) => {
                depth += 1;
                visit(depth, ours, &ev)?;
            }
            Event::Empty(_) => visit(depth + 1, ours, &ev)?,
            Event::End(_) => {
                visit(depth, ours, &ev)?;
                depth = depth.saturating_sub(1);
            }
            Event::Text(_) | Event::CData(_) => visit(depth, false, &ev)?,
            Event::Eof => break,
            _ => {}
        }
    }
    if depth != 0 {
        return Err(OwnershipError::Unclosed { open: depth });
    }
    Ok(())
}

fn local(e: &BytesStart<'_>) -> Vec<u8> {
    e.local_name().as_ref().to_vec()
}

fn text(ev: &Event<'_>) -> Result<String, OwnershipError> {
    let s = match ev {
        Event::Text(t) => t.unescape().map(|c| c.into_owned()),
        Event::CData(c) => Ok(String::from_utf8_lossy(c).into_owned()),
        _ => Ok(String::new()),
    };
    s.map_err(|source| OwnershipError::Xml {
        position: 0,
        source,
    })
}

/// Which owner field the reader is in.
#[derive(Clone, Copy, PartialEq)]
enum Field {
    None,
    Cluster,
    Run,
}

/// The owner tag as libvirt's metadata API returns it for lustrekit's namespace: the element
/// with its namespace stripped (`<owner><cluster>..`). The API call already selected the
/// namespace, so the element is read as if declared in it.
pub fn parse_metadata_element(element: &str) -> Result<Option<Owner>, OwnershipError> {
    parse_owner(&format!("<metadata xmlns='{LK_NS}'>{element}</metadata>"))
}

/// lustrekit's owner tag in `xml` (a whole domain XML, or the metadata element alone).
/// `Ok(None)`: no element in lustrekit's namespace names an owner (a foreign domain).
pub fn parse_owner(xml: &str) -> Result<Option<Owner>, OwnershipError> {
    let mut found: Option<(Option<String>, Option<String>)> = None;
    let mut owner_depth = None;
    let mut field = Field::None;
    walk(xml, |depth, ours, ev| {
        match ev {
            Event::Start(e) | Event::Empty(e) if ours && local(e) == b"owner" => {
                if found.is_some() {
                    return Err(OwnershipError::Duplicate("owner"));
                }
                found = Some((None, None));
                if matches!(ev, Event::Start(_)) {
                    owner_depth = Some(depth);
                }
            }
            Event::Start(e) if ours && owner_depth == Some(depth - 1) => {
                field = match local(e).as_slice() {
                    b"cluster" => Field::Cluster,
                    b"run" => Field::Run,
                    _ => Field::None,
                };
            }
            Event::Text(_) | Event::CData(_) if field != Field::None => {
                let t = text(ev)?;
                let slot = match (&mut found, field) {
                    (Some((c, _)), Field::Cluster) => c,
                    (Some((_, r)), Field::Run) => r,
                    _ => return Ok(()),
                };
                if slot.is_some() {
                    return Err(OwnershipError::Duplicate(match field {
                        Field::Cluster => "cluster",
                        _ => "run",
                    }));
                }
                *slot = Some(t.trim().to_string());
            }
            Event::End(_) => {
                field = Field::None;
                if owner_depth == Some(depth) {
                    owner_depth = None;
                }
            }
            _ => {}
        }
        Ok(())
    })?;
    let Some((cluster, run)) = found else {
        return Ok(None);
    };
    let cluster = cluster
        .filter(|c| !c.is_empty())
        .ok_or(OwnershipError::Missing("cluster"))?;
    let run = run
        .filter(|r| !r.is_empty())
        .ok_or(OwnershipError::Missing("run"))?;
    Ok(Some(Owner { cluster, run }))
}

/// The `name` of a network's `<bridge>` (a child of the root `<network>`), if it has one.
pub fn network_bridge(xml: &str) -> Result<Option<String>, OwnershipError> {
    let mut bridge = None;
    walk(xml, |depth, _, ev| {
        if let Event::Start(e) | Event::Empty(e) = ev {
            if depth == 2 && local(e) == b"bridge" && bridge.is_none() {
                let attr = e
                    .try_get_attribute("name")
                    .map_err(|e| OwnershipError::Xml {
                        position: 0,
                        source: e.into(),
                    })?;
                if let Some(a) = attr {
                    let v = a.unescape_value().map_err(|source| OwnershipError::Xml {
                        position: 0,
                        source,
                    })?;
                    bridge = Some(v.into_owned());
                }
            }
        }
        Ok(())
    })?;
    Ok(bridge)
}

/// The directory of a `dir` pool: `<pool><target><path>`.
pub fn pool_path(xml: &str) -> Result<Option<String>, OwnershipError> {
    let mut in_target = false;
    let mut in_path = false;
    let mut path = None;
    walk(xml, |depth, _, ev| {
        match ev {
            Event::Start(e) if depth == 2 => in_target = local(e) == b"target",
            Event::Start(e) if depth == 3 && in_target => in_path = local(e) == b"path",
            Event::Text(_) if in_path && path.is_none() => path = Some(text(ev)?.trim().into()),
            Event::End(_) if depth == 3 => in_path = false,
            Event::End(_) if depth == 2 => in_target = false,
            _ => {}
        }
        Ok(())
    })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(cluster: &str, run: &str) -> Option<Owner> {
        Some(Owner {
            cluster: cluster.into(),
            run: run.into(),
        })
    }

    #[test]
    fn owner_as_the_metadata_api_and_dumpxml_return_it() {
        let element = "<lk:owner xmlns:lk=\"https://lustrekit.dev/xmlns/1\"><lk:cluster>lab</lk:cluster><lk:run>r1</lk:run><lk:node>mds1</lk:node></lk:owner>";
        assert_eq!(parse_owner(element).ok(), Some(owner("lab", "r1")));
        // libvirt may re-serialise with a default namespace and indentation.
        let default_ns = "<owner xmlns=\"https://lustrekit.dev/xmlns/1\">\n  <cluster>lab</cluster>\n  <run>r&amp;1</run>\n</owner>";
        assert_eq!(parse_owner(default_ns).ok(), Some(owner("lab", "r&1")));
        let whole = format!(
            "<domain type='qemu'><name>lab-mds1</name><metadata>{element}</metadata></domain>"
        );
        assert_eq!(parse_owner(&whole).ok(), Some(owner("lab", "r1")));
    }

    #[test]
    fn owner_as_libvirt_9_metadata_api_returns_it() {
        // Recorded from `virsh metadata DOMAIN https://lustrekit.dev/xmlns/1` (libvirt 9.0,
        // the same call as virDomainGetMetadata): the element comes back without its
        // namespace, which the call itself selected.
        let recorded =
            "<owner>\n  <cluster>lab</cluster>\n  <run>r1</run>\n  <node>mds1</node>\n</owner>\n";
        assert_eq!(
            parse_metadata_element(recorded).ok(),
            Some(owner("lab", "r1"))
        );
        // Read as a whole document instead, the same text is not ours: the namespace matters.
        assert_eq!(parse_owner(recorded).ok(), Some(None));
        // The prefixed form some libvirt versions return is read the same.
        let prefixed = "<lk:owner xmlns:lk=\"https://lustrekit.dev/xmlns/1\"><lk:cluster>lab</lk:cluster><lk:run>r1</lk:run></lk:owner>";
        assert_eq!(
            parse_metadata_element(prefixed).ok(),
            Some(owner("lab", "r1"))
        );
        assert!(parse_metadata_element("<owner><cluster>lab</cluster></owner>").is_err());
    }

    #[test]
    fn foreign_objects_are_not_ours() {
        // The same local names in another namespace, or no namespace at all.
        let other = "<domain><metadata><x:owner xmlns:x=\"https://example.org/ns\"><x:cluster>lab</x:cluster><x:run>r</x:run></x:owner></metadata></domain>";
        assert_eq!(parse_owner(other).ok(), Some(None));
        let bare = "<domain><owner><cluster>lab</cluster><run>r</run></owner></domain>";
        assert_eq!(parse_owner(bare).ok(), Some(None));
        // Our namespace URI as text is not a namespace declaration.
        let text = "<domain><description>https://lustrekit.dev/xmlns/1 <cluster>lab</cluster></description></domain>";
        assert!(matches!(parse_owner(text), Ok(None) | Err(_)));
        assert_eq!(
            parse_owner("<domain><name>plain</name></domain>").ok(),
            Some(None)
        );
    }

    #[test]
    fn another_clusters_object_names_that_cluster() {
        let x = "<lk:owner xmlns:lk=\"https://lustrekit.dev/xmlns/1\"><lk:cluster>other</lk:cluster><lk:run>r9</lk:run></lk:owner>";
        assert_eq!(parse_owner(x).ok(), Some(owner("other", "r9")));
    }

    #[test]
    fn malformed_metadata_is_an_error_never_ours() {
        let ns = "xmlns:lk=\"https://lustrekit.dev/xmlns/1\"";
        for bad in [
            "garbage <<< >".to_string(),
            format!("<lk:owner {ns}><lk:cluster>lab</lk:cluster><lk:run>r1</lk:run>"),
            format!("<lk:owner {ns}><lk:cluster>lab</lk:run></lk:owner>"),
            format!("<lk:owner {ns}><lk:cluster>lab</lk:cluster></lk:owner>"),
            format!("<lk:owner {ns}><lk:cluster> </lk:cluster><lk:run>r</lk:run></lk:owner>"),
            format!("<lk:owner {ns}/>"),
            format!("<lk:owner {ns}><lk:cluster>a</lk:cluster><lk:cluster>b</lk:cluster><lk:run>r</lk:run></lk:owner>"),
            format!("<m><lk:owner {ns}><lk:cluster>a</lk:cluster><lk:run>r</lk:run></lk:owner><lk:owner {ns}><lk:cluster>b</lk:cluster><lk:run>r</lk:run></lk:owner></m>"),
            format!("<lk:owner {ns}><lk:cluster>a&bogus;</lk:cluster><lk:run>r</lk:run></lk:owner>"),
        ] {
            assert!(parse_owner(&bad).is_err(), "accepted {bad}");
        }
    }

    #[test]
    fn network_bridge_and_pool_path() {
        let net = "<network>\n  <name>lab-tcp0</name>\n  <forward mode='nat'/>\n  <bridge name=\"lk1234abcd\" stp='off'/>\n  <ip address='10.0.0.1'><dhcp><host mac='m' name='bridge'/></dhcp></ip></network>";
        assert_eq!(network_bridge(net).ok(), Some(Some("lk1234abcd".into())));
        assert_eq!(
            network_bridge("<network><name>x</name></network>").ok(),
            Some(None)
        );
        assert!(network_bridge("<network><bridge name='x'>").is_err());
        let pool = "<pool type='dir'><name>lab</name><source><path>/elsewhere</path></source><target><path>/var/lib/lustrekit/clusters/lab/pool</path></target></pool>";
        assert_eq!(
            pool_path(pool).ok(),
            Some(Some("/var/lib/lustrekit/clusters/lab/pool".into()))
        );
        assert_eq!(pool_path("<pool><name>x</name></pool>").ok(), Some(None));
        assert!(pool_path("<pool><target><path>/x</target></pool>").is_err());
    }
}
