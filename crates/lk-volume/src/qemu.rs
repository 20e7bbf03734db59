// SPDX-License-Identifier: Apache-2.0
//! `qemu-img` through a [`CommandRunner`]: create, overlay, info (`--output=json`), convert,
//! resize, rebase. Paths are given absolute; backing names are given relative, so qemu
//! stores them as they are and a volume directory can move.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::runner::{run_checked, CommandError, CommandRunner};

/// Image formats a volume can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Sparse raw file.
    Raw,
    /// qcow2 with `preallocation=metadata`.
    Qcow2,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::Qcow2 => "qcow2",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "raw" => Ok(Self::Raw),
            "qcow2" => Ok(Self::Qcow2),
            other => Err(format!(
                "unknown volume format {other:?} (use raw or qcow2)"
            )),
        }
    }
}

#[derive(Debug, Error)]
pub enum QemuError {
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error("`qemu-img info` of {path} printed JSON this version does not understand")]
    Info {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("path {0} is not valid UTF-8")]
    Path(String),
}

/// What `qemu-img info --output=json` says about one image (the fields lustrekit reads).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageInfo {
    pub format: String,
    #[serde(rename = "virtual-size")]
    pub virtual_size: u64,
    #[serde(rename = "actual-size", default)]
    pub actual_size: u64,
    #[serde(
        rename = "backing-filename",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub backing_filename: Option<String>,
    #[serde(rename = "dirty-flag", default)]
    pub dirty: bool,
}

impl ImageInfo {
    /// Parses `qemu-img info --output=json` of one image.
    pub fn parse(json: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(json)
    }
}

/// The `qemu-img` program and where it runs.
#[derive(Clone)]
pub struct QemuImg {
    runner: Arc<dyn CommandRunner>,
    program: String,
}

fn p(path: &Path) -> Result<String, QemuError> {
    path.to_str()
        .map(str::to_string)
        .ok_or_else(|| QemuError::Path(path.display().to_string()))
}

impl QemuImg {
    pub fn new(runner: Arc<dyn CommandRunner>) -> Self {
        Self {
            runner,
            program: "qemu-img".into(),
        }
    }

    fn run(&self, args: Vec<String>) -> Result<Vec<u8>, QemuError> {
        let mut argv = vec![self.program.clone()];
        argv.extend(args);
        Ok(run_checked(self.runner.as_ref(), &argv)?.stdout)
    }

    /// A new image of `size` bytes: raw is sparse, qcow2 has `preallocation=metadata`.
    pub fn create(&self, path: &Path, format: Format, size: u64) -> Result<(), QemuError> {
        let mut a = vec![
            "create".to_string(),
            "-q".into(),
            "-f".into(),
            format.to_string(),
        ];
        if format == Format::Qcow2 {
            a.extend(["-o".into(), "preallocation=metadata".into()]);
        }
        a.extend([p(path)?, size.to_string()]);
        self.run(a).map(drop)
    }

    /// A qcow2 overlay at `path` over `backing` (a name relative to `path`'s directory) of
    /// format `backing_format`, `size` bytes large.
    pub fn overlay(
        &self,
        path: &Path,
        backing: &str,
        backing_format: Format,
        size: u64,
    ) -> Result<(), QemuError> {
        let a = vec![
            "create".into(),
            "-q".into(),
            "-f".into(),
            "qcow2".into(),
            "-b".into(),
            backing.into(),
            "-F".into(),
            backing_format.to_string(),
            p(path)?,
            size.to_string(),
        ];
        self.run(a).map(drop)
    }

    /// `qemu-img info` of one image, without taking its lock (`-U`: a running VM may hold it).
    pub fn info(&self, path: &Path) -> Result<ImageInfo, QemuError> {
        let path = p(path)?;
        let out = self.run(vec![
            "info".into(),
            "--output=json".into(),
            "-U".into(),
            path.clone(),
        ])?;
        ImageInfo::parse(&out).map_err(|source| QemuError::Info { path, source })
    }

    /// Copies the whole chain ending at `src` into a new independent image `dst`.
    pub fn convert(
        &self,
        src: &Path,
        src_format: &str,
        dst: &Path,
        format: Format,
    ) -> Result<(), QemuError> {
        let mut a = vec![
            "convert".to_string(),
            "-q".into(),
            "-U".into(),
            "-f".into(),
            src_format.into(),
            "-O".into(),
            format.to_string(),
        ];
        if format == Format::Qcow2 {
            a.extend(["-o".into(), "preallocation=metadata".into()]);
        }
        a.extend([p(src)?, p(dst)?]);
        self.run(a).map(drop)
    }

    /// Grows (or, with `shrink`, shrinks) the image at `path` to `size` bytes.
    pub fn resize(
        &self,
        path: &Path,
        format: Format,
        size: u64,
        shrink: bool,
    ) -> Result<(), QemuError> {
        let mut a = vec![
            "resize".to_string(),
            "-q".into(),
            "-f".into(),
            format.to_string(),
        ];
        if shrink {
            a.push("--shrink".into());
        }
        a.extend([p(path)?, size.to_string()]);
        self.run(a).map(drop)
    }

    /// Points the qcow2 image at `path` to a new backing `backing` (relative name), copying
    /// into it whatever differs (safe mode), so its content stays the same.
    pub fn rebase(
        &self,
        path: &Path,
        backing: &str,
        backing_format: Format,
    ) -> Result<(), QemuError> {
        let a = vec![
            "rebase".into(),
            "-q".into(),
            "-f".into(),
            "qcow2".into(),
            "-b".into(),
            backing.into(),
            "-F".into(),
            backing_format.to_string(),
            p(path)?,
        ];
        self.run(a).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_recorded_info() {
        // Captured from qemu-img 7.2 (Debian 12): `qemu-img info --output=json -U` of an
        // overlay over a raw base, made with relative backing names.
        let json = br#"{
    "backing-filename-format": "raw",
    "virtual-size": 1073741824,
    "filename": "/tmp/qi/layer-1.qcow2",
    "cluster-size": 65536,
    "format": "qcow2",
    "actual-size": 200704,
    "format-specific": {
        "type": "qcow2",
        "data": {
            "compat": "1.1",
            "compression-type": "zlib",
            "lazy-refcounts": false,
            "refcount-bits": 16,
            "corrupt": false,
            "extended-l2": false
        }
    },
    "full-backing-filename": "/tmp/qi/base.raw",
    "backing-filename": "base.raw",
    "dirty-flag": false
}"#;
        let info = ImageInfo::parse(json).expect("parses");
        assert_eq!(info.virtual_size, 1 << 30);
        assert_eq!(info.backing_filename.as_deref(), Some("base.raw"));
        assert_eq!(info.format, "qcow2");
        assert!(ImageInfo::parse(b"{}").is_err());
    }

    #[test]
    fn format_parses_and_refuses_unknown() {
        assert_eq!("qcow2".parse::<Format>(), Ok(Format::Qcow2));
        assert!("vmdk"
            .parse::<Format>()
            .expect_err("refused")
            .contains("raw or qcow2"));
    }
}
