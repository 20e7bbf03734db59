//! The Debian mirror apt on this host uses, read from /etc/apt/sources.list{,.d/*}.

use std::path::Path;

pub const FALLBACK_MIRROR: &str = "http://deb.debian.org/debian";

/// The first main-archive Debian URI configured for apt, or [`FALLBACK_MIRROR`].
pub fn host_mirror() -> String {
    let mut texts = Vec::new();
    if let Ok(t) = std::fs::read_to_string("/etc/apt/sources.list") {
        texts.push(t);
    }
    let dir = Path::new("/etc/apt/sources.list.d");
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            let name = p.to_string_lossy();
            if name.ends_with(".list") || name.ends_with(".sources") {
                if let Ok(t) = std::fs::read_to_string(&p) {
                    texts.push(t);
                }
            }
        }
    }
    texts
        .iter()
        .find_map(|t| find_mirror(t))
        .unwrap_or_else(|| FALLBACK_MIRROR.to_string())
}

/// A Debian main-archive URI from one sources file, in one-line (`deb URI suite ...`) or
/// deb822 (`URIs: ...`) format. Security and backports archives are skipped.
pub fn find_mirror(text: &str) -> Option<String> {
    let usable = |uri: &str| {
        (uri.starts_with("http://") || uri.starts_with("https://"))
            && uri.trim_end_matches('/').ends_with("/debian")
            && !uri.contains("security")
    };
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        match words.next() {
            Some("deb") => {
                // Skip an options block such as `[signed-by=...]`.
                let uri = words.find(|w| !w.starts_with('[') && !w.ends_with(']'));
                if let Some(uri) = uri.filter(|u| usable(u)) {
                    return Some(uri.trim_end_matches('/').to_string());
                }
            }
            Some("URIs:") => {
                if let Some(uri) = words.find(|u| usable(u)) {
                    return Some(uri.trim_end_matches('/').to_string());
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::find_mirror;

    #[test]
    fn deb822() {
        let t = "Types: deb\n# http://snapshot.debian.org/archive/debian/2025\nURIs: http://deb.debian.org/debian\nSuites: bookworm\n\nTypes: deb\nURIs: http://deb.debian.org/debian-security\n";
        assert_eq!(
            find_mirror(t).as_deref(),
            Some("http://deb.debian.org/debian")
        );
    }

    #[test]
    fn one_line() {
        let t = "# deb http://old/debian bookworm main\ndeb http://security.debian.org/debian-security bookworm-security main\ndeb [arch=amd64] http://ftp.fr.debian.org/debian/ bookworm main\n";
        assert_eq!(
            find_mirror(t).as_deref(),
            Some("http://ftp.fr.debian.org/debian")
        );
    }

    #[test]
    fn nothing_usable() {
        assert_eq!(
            find_mirror("deb http://ppa.example/ubuntu jammy main\n"),
            None
        );
    }
}
