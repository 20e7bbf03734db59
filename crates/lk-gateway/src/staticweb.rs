// SPDX-License-Identifier: Apache-2.0
//! Static web, the pure part: a container's `X-Container-Meta-Web-*` settings and the pages
//! Swift's staticweb middleware writes (HTML listings, the "listing disabled" page), with
//! its quoting, escaping and size formatting. The request flow is in
//! [`crate::handlers::staticweb`].

use percent_encoding::{utf8_percent_encode, AsciiSet};

use crate::index::{Entry, ObjectRecord};
use crate::meta::Meta;
use crate::path::quote;
use crate::time::Timestamp;

/// As Swift's `quote`, also keeping `:` (absolute stylesheet URLs).
const QUOTE_URL: &AsciiSet = &crate::path::QUOTE_SAFE.remove(b':');

/// `X-Container-Meta-Web-Listings`: whether it is set at all matters (a redirect adds the
/// trailing `/`), and whether it is a true value (only then is a listing written).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Listings {
    /// Not set (or blank).
    #[default]
    Unset,
    /// Set to something that is not a true value: listings answer the "disabled" page.
    Disabled,
    /// Set to a true value.
    Enabled,
}

/// A container's static web settings (each value trimmed; empty means unset).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WebConfig {
    /// `Web-Index`: the object served for a directory.
    pub index: String,
    /// `Web-Error`: suffix of the error pages (`<status><suffix>`).
    pub error: String,
    /// `Web-Listings`.
    pub listings: Listings,
    /// `Web-Listings-Label`: replaces the path up to the container in listing titles.
    pub listings_label: String,
    /// `Web-Listings-CSS`: stylesheet of listings.
    pub listings_css: String,
    /// `Web-Directory-Type`: content type of directory marker objects.
    pub dir_type: String,
}

/// Swift's `config_true_value`.
pub fn config_true(v: &str) -> bool {
    matches!(
        v.to_ascii_lowercase().as_str(),
        "true" | "1" | "yes" | "on" | "t" | "y"
    )
}

fn meta_value(meta: &Meta, name: &str) -> String {
    let key = format!("x-container-meta-{name}");
    meta.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(&key))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default()
}

impl WebConfig {
    /// The settings held in a container's metadata.
    pub fn from_meta(meta: &Meta) -> WebConfig {
        let listings = meta_value(meta, "web-listings");
        WebConfig {
            index: meta_value(meta, "web-index"),
            error: meta_value(meta, "web-error"),
            listings: match listings.as_str() {
                "" => Listings::Unset,
                v if config_true(v) => Listings::Enabled,
                _ => Listings::Disabled,
            },
            listings_label: meta_value(meta, "web-listings-label"),
            listings_css: meta_value(meta, "web-listings-css"),
            dir_type: meta_value(meta, "web-directory-type"),
        }
    }

    /// Whether static web is configured at all (an index or a listings setting).
    pub fn active(&self) -> bool {
        self.listings != Listings::Unset || !self.index.is_empty()
    }

    /// The content type that marks directory objects (`application/directory` by default).
    pub fn directory_type(&self) -> &str {
        if self.dir_type.is_empty() {
            "application/directory"
        } else {
            &self.dir_type
        }
    }

    /// The title of a listing of `path` (the decoded request path).
    pub fn label(&self, path: &str) -> String {
        if self.listings_label.is_empty() {
            return path.to_string();
        }
        let rest: Vec<&str> = path.split('/').skip(4).collect();
        format!("{}/{}", self.listings_label, rest.join("/"))
    }

    /// The stylesheet link of a listing of `prefix` (relative to the listed directory).
    pub fn css_path(&self, prefix: &str) -> String {
        let css = &self.listings_css;
        if css.starts_with('/') || css.starts_with("http://") || css.starts_with("https://") {
            utf8_percent_encode(css, QUOTE_URL).to_string()
        } else {
            "../".repeat(prefix.matches('/').count()) + &quote(css)
        }
    }
}

/// Python's `html.escape(s, quote=True)`.
pub fn html_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#x27;"),
            c => o.push(c),
        }
    }
    o
}

/// Swift's `human_readable`: `1023`, `1Ki`, `2Mi` (each step rounded half to even).
pub fn human_readable(bytes: u64) -> String {
    const SUFFIXES: [char; 8] = ['K', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y'];
    let mut value = bytes as f64;
    let mut index = None;
    while value >= 1024.0 && index.map_or(0, |i| i + 1) < SUFFIXES.len() {
        let next = index.map_or(0, |i| i + 1);
        index = Some(next);
        value = (value / 1024.0).round_ties_even();
    }
    match index {
        None => format!("{}", value as u64),
        Some(i) => format!("{}{}i", value.round_ties_even() as u64, SUFFIXES[i]),
    }
}

/// `2026-12-04 06:32:26`: a listing's date column.
fn listing_date(timestamp: &str) -> String {
    let iso = Timestamp::parse(timestamp).unwrap_or(Timestamp(0)).iso();
    let secs = iso.split('.').next().unwrap_or_default();
    html_escape(secs).replace('T', " ")
}

fn style_or_css(cfg: &WebConfig, prefix: &str, style: &str) -> String {
    if cfg.listings_css.is_empty() {
        format!("  <style type=\"text/css\">\n{style}  </style>\n")
    } else {
        format!(
            "  <link rel=\"stylesheet\" type=\"text/css\" href=\"{}\" />\n",
            cfg.css_path(prefix)
        )
    }
}

const DOCTYPE: &str = "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01 Transitional//EN\" \
                       \"http://www.w3.org/TR/html4/loose.dtd\">\n";

/// The 404 page of a container whose listings are not enabled.
pub fn disabled_page(cfg: &WebConfig, label: &str, prefix: &str) -> String {
    let mut b = format!(
        "{DOCTYPE}<html>\n<head>\n<title>Listing of {}</title>\n",
        html_escape(label)
    );
    b += &style_or_css(
        cfg,
        prefix,
        "   h1 {font-size: 1em; font-weight: bold;}\n   p {font-size: 2}\n",
    );
    b += "</head>\n<body>  <h1>Web Listing Disabled</h1>   <p>The owner of this web site has \
          disabled web listing.   <p>If you are the owner of this web site, you can enable   \
          web listing by setting X-Container-Meta-Web-Listings.</p>";
    if !cfg.index.is_empty() {
        b += &format!(
            "<h1>Index File Not Found</h1> <p>The owner of this web site has set  \
             <b>X-Container-Meta-Web-Index: {}</b>.  However, this file is not found.</p>",
            html_escape(&cfg.index)
        );
    }
    b + " </body>\n</html>\n"
}

/// The HTML listing of `entries` (a delimiter `/` listing under `prefix`), titled `label`.
pub fn listing_page(
    cfg: &WebConfig,
    label: &str,
    prefix: &str,
    entries: &[Entry<ObjectRecord>],
) -> String {
    let title = html_escape(label);
    let mut b = format!("{DOCTYPE}<html>\n <head>\n  <title>Listing of {title}</title>\n");
    b += &style_or_css(
        cfg,
        prefix,
        "   h1 {font-size: 1em; font-weight: bold;}\n   \
         th {text-align: left; padding: 0px 1em 0px 1em;}\n   \
         td {padding: 0px 1em 0px 1em;}\n   a {text-decoration: none;}\n",
    );
    b += &format!(
        " </head>\n <body>\n  <h1 id=\"title\">Listing of {title}</h1>\n  <table id=\"listing\">\n   \
         <tr id=\"heading\">\n    <th class=\"colname\">Name</th>\n    \
         <th class=\"colsize\">Size</th>\n    <th class=\"coldate\">Date</th>\n   </tr>\n"
    );
    const BLANK: &str =
        "    <td class=\"colsize\">&nbsp;</td>\n    <td class=\"coldate\">&nbsp;</td>\n   </tr>\n";
    if !prefix.is_empty() {
        b += "   <tr id=\"parent\" class=\"item\">\n    <td class=\"colname\"><a href=\"../\">../</a></td>\n";
        b += BLANK;
    }
    let strip = |n: &str| n.strip_prefix(prefix).unwrap_or(n).to_string();
    for e in entries {
        if let Entry::Subdir(d) = e {
            let d = strip(d);
            b += &format!(
                "   <tr class=\"item subdir\">\n    <td class=\"colname\"><a href=\"{}\">{}</a></td>\n{BLANK}",
                quote(&d),
                html_escape(&d)
            );
        }
    }
    for e in entries {
        if let Entry::Item(r) = e {
            b += &item_row(r, &strip(&r.name));
        }
    }
    b + "  </table>\n </body>\n</html>\n"
}

fn item_row(r: &ObjectRecord, name: &str) -> String {
    let classes: Vec<String> = r
        .content_type
        .split('/')
        .map(|t| format!("type-{}", html_escape(&t.to_lowercase())))
        .collect();
    format!(
        "   <tr class=\"item {}\">\n    <td class=\"colname\"><a href=\"{}\">{}</a></td>\n    \
         <td class=\"colsize\">{}</td>\n    <td class=\"coldate\">{}</td>\n   </tr>\n",
        classes.join(" "),
        quote(name),
        html_escape(name),
        human_readable(r.size),
        listing_date(&r.timestamp)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> WebConfig {
        let meta: Meta = pairs
            .iter()
            .map(|(k, v)| (format!("X-Container-Meta-{k}"), v.to_string()))
            .collect();
        WebConfig::from_meta(&meta)
    }

    #[test]
    fn settings_are_read_trimmed_and_case_insensitively() {
        let c = cfg(&[
            ("Web-Index", " index.html "),
            ("Web-Listings-Css", "s.css"),
            ("Web-Listings", "TRUE"),
        ]);
        assert_eq!(c.index, "index.html");
        assert_eq!(c.listings_css, "s.css");
        assert_eq!(c.listings, Listings::Enabled);
        assert!(c.active());
        assert_eq!(c.directory_type(), "application/directory");
        let off = cfg(&[("Web-Listings", "off")]);
        assert_eq!(off.listings, Listings::Disabled);
        assert!(
            off.active(),
            "a listings value that is not true still counts as set"
        );
        assert!(!cfg(&[("Web-Error", "e.html")]).active());
        assert_eq!(
            cfg(&[("Web-Directory-Type", "text/dir")]).directory_type(),
            "text/dir"
        );
    }

    #[test]
    fn quote_and_escape_as_python() {
        assert_eq!(quote("a b%c/d~_.-é"), "a%20b%25c/d~_.-%C3%A9");
        assert_eq!(
            html_escape("<a href='x'>&\"</a>"),
            "&lt;a href=&#x27;x&#x27;&gt;&amp;&quot;&lt;/a&gt;"
        );
    }

    #[test]
    fn sizes_as_swift_human_readable() {
        assert_eq!(human_readable(0), "0");
        assert_eq!(human_readable(1023), "1023");
        assert_eq!(human_readable(1024), "1Ki");
        assert_eq!(human_readable(1536), "2Ki");
        assert_eq!(human_readable(2560), "2Ki"); // 2.5 rounds to even
        assert_eq!(human_readable(1024 * 1024 * 3), "3Mi");
    }

    #[test]
    fn css_paths_relative_to_the_listed_directory() {
        let c = cfg(&[("Web-Listings-Css", "my style.css")]);
        assert_eq!(c.css_path(""), "my%20style.css");
        assert_eq!(c.css_path("a/b/"), "../../my%20style.css");
        let abs = cfg(&[("Web-Listings-Css", "https://cdn.example/s s.css")]);
        assert_eq!(abs.css_path("a/"), "https://cdn.example/s%20s.css");
    }

    #[test]
    fn labels_replace_the_path_up_to_the_container() {
        let c = cfg(&[("Web-Listings-Label", "site")]);
        assert_eq!(c.label("/v1/AUTH_test/c/dir/"), "site/dir/");
        assert_eq!(cfg(&[]).label("/v1/AUTH_test/c/"), "/v1/AUTH_test/c/");
    }

    fn rec(name: &str, size: u64, ct: &str) -> ObjectRecord {
        ObjectRecord {
            name: name.into(),
            size,
            etag: "d41d8cd98f00b204e9800998ecf8427e".into(),
            content_type: ct.into(),
            timestamp: "1700000000.12345".into(),
            mtime_ns: 0,
        }
    }

    #[test]
    fn listing_lists_subdirs_then_objects_relative_to_the_prefix() {
        let c = cfg(&[("Web-Listings", "true")]);
        let entries = vec![
            Entry::Item(rec("d/a <b>.txt", 2048, "Text/Plain")),
            Entry::Subdir("d/sub dir/".into()),
        ];
        let page = listing_page(&c, "/v1/AUTH_test/c/d/", "d/", &entries);
        assert!(page.contains("<title>Listing of /v1/AUTH_test/c/d/</title>"));
        assert!(page.contains("<a href=\"../\">../</a>"));
        assert!(page.contains("<a href=\"sub%20dir/\">sub dir/</a>"));
        assert!(page.contains("<tr class=\"item type-text type-plain\">"));
        assert!(page.contains("<a href=\"a%20%3Cb%3E.txt\">a &lt;b&gt;.txt</a>"));
        assert!(page.contains("<td class=\"colsize\">2Ki</td>"));
        assert!(page.contains("<td class=\"coldate\">2023-11-14 22:13:20</td>"));
        assert!(page.find("sub dir/").unwrap() < page.find("a &lt;b&gt;").unwrap());
        assert!(page.contains("a {text-decoration: none;}"));
    }

    #[test]
    fn top_listing_has_no_parent_and_css_links() {
        let c = cfg(&[("Web-Listings", "true"), ("Web-Listings-Css", "l.css")]);
        let page = listing_page(&c, "/v1/AUTH_test/c/", "", &[]);
        assert!(!page.contains("id=\"parent\""));
        assert!(page.contains("<link rel=\"stylesheet\" type=\"text/css\" href=\"l.css\" />"));
        assert!(!page.contains("<style"));
    }

    #[test]
    fn disabled_page_names_the_missing_index() {
        let c = cfg(&[("Web-Index", "index.html")]);
        let page = disabled_page(&c, "/v1/AUTH_test/c/", "");
        assert!(page.contains("<h1>Web Listing Disabled</h1>"));
        assert!(page.contains("<b>X-Container-Meta-Web-Index: index.html</b>"));
        assert!(!disabled_page(&cfg(&[]), "x", "").contains("Index File Not Found"));
    }
}
