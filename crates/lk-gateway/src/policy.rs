// SPDX-License-Identifier: Apache-2.0
//! Storage policies. A Swift container is created in one policy and keeps it; here a policy
//! is a name and, on Lustre, a file layout: the container's directory gets the policy's
//! OST pool and striping (`lfs setstripe`), which every object created below it inherits.
//! Without a layout a policy is only a name (what a tmpfs or ext4 root can hold).
//!
//! Given as `--policy NAME[:OPTION,...]` (repeatable) or `[[policies]]` in the config file;
//! with none, the one policy is `Policy-0`, as in a Swift cluster without `swift.conf`
//! policies.

use std::path::Path;
use std::process::Command;

use serde::Deserialize;

/// Where a container's metadata keeps its policy's name.
pub const CONTAINER_POLICY_KEY: &str = "X-Lk-Storage-Policy";

/// The policy Swift uses when none is configured.
pub const DEFAULT_POLICY_NAME: &str = "Policy-0";

/// The Lustre layout a policy gives its containers' directories.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StripeLayout {
    /// OST pool (`lfs setstripe -p`).
    pub pool: Option<String>,
    /// Stripe count (`-c`; -1 = all OSTs).
    pub stripe_count: Option<i64>,
    /// Stripe size (`-S`, e.g. `1M`, `4M`).
    pub stripe_size: Option<String>,
}

impl StripeLayout {
    /// Whether it asks for anything (an empty layout is only a name).
    pub fn is_empty(&self) -> bool {
        self.pool.is_none() && self.stripe_count.is_none() && self.stripe_size.is_none()
    }

    /// `lfs setstripe` arguments for `dir`.
    pub fn setstripe_args(&self, dir: &Path) -> Vec<String> {
        let mut args = vec!["setstripe".to_string()];
        if let Some(p) = &self.pool {
            args.extend(["-p".into(), p.clone()]);
        }
        if let Some(c) = self.stripe_count {
            args.extend(["-c".into(), c.to_string()]);
        }
        if let Some(s) = &self.stripe_size {
            args.extend(["-S".into(), s.clone()]);
        }
        args.push(dir.display().to_string());
        args
    }

    /// Applies the layout to a new (empty) container directory.
    pub fn apply(&self, dir: &Path) -> Result<(), String> {
        if self.is_empty() {
            return Ok(());
        }
        let args = self.setstripe_args(dir);
        let out = Command::new("lfs")
            .args(&args)
            .output()
            .map_err(|e| format!("running lfs {}: {e}", args.join(" ")))?;
        if out.status.success() {
            return Ok(());
        }
        Err(format!(
            "lfs {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// One storage policy.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StoragePolicy {
    /// Name (letters, digits and `-`; compared without case, as Swift).
    pub name: String,
    /// New containers get it when they name none.
    #[serde(default)]
    pub default: bool,
    /// Layout of its containers' directories.
    #[serde(flatten)]
    pub layout: StripeLayout,
}

/// The configured policies: never empty, exactly one default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policies(Vec<StoragePolicy>);

impl Default for Policies {
    fn default() -> Self {
        Policies(vec![StoragePolicy {
            name: DEFAULT_POLICY_NAME.into(),
            default: true,
            layout: StripeLayout::default(),
        }])
    }
}

/// Why a policy list is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A `--policy` value that does not parse.
    #[error("invalid --policy {value:?}: {reason}")]
    Syntax {
        /// The value.
        value: String,
        /// The rule it breaks.
        reason: String,
    },
    /// A name that breaks Swift's rules.
    #[error("invalid storage policy name {0:?}: use 1-64 letters, digits and '-'")]
    Name(String),
    /// The same name twice (case-insensitive).
    #[error("storage policy {0:?} is given twice")]
    Duplicate(String),
    /// More than one marked default.
    #[error("storage policies {0:?} and {1:?} are both marked default; mark one")]
    TwoDefaults(String, String),
}

/// Parses `NAME[:OPTION,...]`, options `default`, `pool=P`, `stripe-count=N`,
/// `stripe-size=S`.
pub fn parse_policy(value: &str) -> Result<StoragePolicy, PolicyError> {
    let syntax = |reason: String| PolicyError::Syntax {
        value: value.into(),
        reason,
    };
    let (name, opts) = value.split_once(':').unwrap_or((value, ""));
    let mut p = StoragePolicy {
        name: name.to_string(),
        default: false,
        layout: StripeLayout::default(),
    };
    for opt in opts.split(',').filter(|o| !o.is_empty()) {
        match opt.split_once('=') {
            None if opt == "default" => p.default = true,
            Some(("pool", v)) if !v.is_empty() => p.layout.pool = Some(v.into()),
            Some(("stripe-count", v)) => {
                let n: i64 = v
                    .parse()
                    .ok()
                    .filter(|n| *n == -1 || *n >= 1)
                    .ok_or_else(|| syntax(format!("stripe-count {v:?} is not -1 or >= 1")))?;
                p.layout.stripe_count = Some(n);
            }
            Some(("stripe-size", v)) if valid_size(v) => p.layout.stripe_size = Some(v.into()),
            Some(("stripe-size", v)) => {
                return Err(syntax(format!(
                    "stripe-size {v:?} is not a size such as 1M or 65536"
                )))
            }
            _ => {
                return Err(syntax(format!(
                    "unknown option {opt:?} (default, pool=P, stripe-count=N, stripe-size=S)"
                )))
            }
        }
    }
    Ok(p)
}

fn valid_size(v: &str) -> bool {
    let digits = v.trim_end_matches(['k', 'K', 'm', 'M', 'g', 'G']);
    !digits.is_empty() && v.len() - digits.len() <= 1 && digits.bytes().all(|b| b.is_ascii_digit())
}

fn valid_name(n: &str) -> bool {
    (1..=64).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl Policies {
    /// Checks a list: names valid and unique, at most one default (the first is the default
    /// when none is marked). An empty list is the single `Policy-0`.
    pub fn new(mut list: Vec<StoragePolicy>) -> Result<Policies, PolicyError> {
        if list.is_empty() {
            return Ok(Policies::default());
        }
        for (i, p) in list.iter().enumerate() {
            if !valid_name(&p.name) {
                return Err(PolicyError::Name(p.name.clone()));
            }
            if list[..i]
                .iter()
                .any(|q| q.name.eq_ignore_ascii_case(&p.name))
            {
                return Err(PolicyError::Duplicate(p.name.clone()));
            }
        }
        let defaults: Vec<&StoragePolicy> = list.iter().filter(|p| p.default).collect();
        if let [a, b, ..] = defaults.as_slice() {
            return Err(PolicyError::TwoDefaults(a.name.clone(), b.name.clone()));
        }
        if defaults.is_empty() {
            list[0].default = true;
        }
        Ok(Policies(list))
    }

    /// All, in the configured order.
    pub fn all(&self) -> &[StoragePolicy] {
        &self.0
    }

    /// The default policy.
    pub fn default_policy(&self) -> &StoragePolicy {
        self.0.iter().find(|p| p.default).unwrap_or(&self.0[0])
    }

    /// A policy by name, without case.
    pub fn get(&self, name: &str) -> Option<&StoragePolicy> {
        self.0.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// The policy a container's stored name means: an older container without one, or one
    /// whose policy is no longer configured, is reported under its stored name or the
    /// default's.
    pub fn name_of<'a>(&'a self, stored: Option<&'a str>) -> &'a str {
        match stored {
            Some(s) => self.get(s).map_or(s, |p| p.name.as_str()),
            None => &self.default_policy().name,
        }
    }

    /// `/info`'s `swift.policies`.
    pub fn info(&self) -> serde_json::Value {
        self.0
            .iter()
            .map(|p| {
                let mut v = serde_json::json!({"name": p.name, "aliases": p.name});
                if p.default {
                    v["default"] = true.into();
                }
                v
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_policies() {
        let p = parse_policy("gold:default,pool=flash,stripe-count=4,stripe-size=4M").unwrap();
        assert_eq!(p.name, "gold");
        assert!(p.default);
        assert_eq!(
            p.layout.setstripe_args(Path::new("/mnt/fs/c")),
            [
                "setstripe",
                "-p",
                "flash",
                "-c",
                "4",
                "-S",
                "4M",
                "/mnt/fs/c"
            ]
        );
        let plain = parse_policy("silver").unwrap();
        assert!(!plain.default && plain.layout.is_empty());
        assert!(plain.layout.apply(Path::new("/nonexistent")).is_ok());
        for bad in [
            "x:stripe-count=0",
            "x:stripe-count=a",
            "x:stripe-size=4Q",
            "x:pool=",
            "x:colour=red",
        ] {
            assert!(
                matches!(parse_policy(bad), Err(PolicyError::Syntax { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn checks_lists() {
        let p = |s: &str| parse_policy(s).unwrap();
        let ps = Policies::new(vec![p("gold"), p("silver")]).unwrap();
        assert_eq!(ps.default_policy().name, "gold");
        assert_eq!(ps.get("SILVER").unwrap().name, "silver");
        assert_eq!(ps.name_of(Some("Silver")), "silver");
        assert_eq!(ps.name_of(Some("gone")), "gone");
        assert_eq!(ps.name_of(None), "gold");
        let ps = Policies::new(vec![p("gold"), p("silver:default")]).unwrap();
        assert_eq!(ps.default_policy().name, "silver");
        assert_eq!(
            ps.info(),
            serde_json::json!([
                {"name": "gold", "aliases": "gold"},
                {"name": "silver", "aliases": "silver", "default": true}
            ])
        );
        assert_eq!(
            Policies::new(vec![p("gold"), p("Gold")]),
            Err(PolicyError::Duplicate("Gold".into()))
        );
        assert!(matches!(
            Policies::new(vec![p("a:default"), p("b:default")]),
            Err(PolicyError::TwoDefaults(..))
        ));
        assert_eq!(
            Policies::new(vec![p("a b")]),
            Err(PolicyError::Name("a b".into()))
        );
        assert_eq!(Policies::new(vec![]).unwrap(), Policies::default());
    }
}
