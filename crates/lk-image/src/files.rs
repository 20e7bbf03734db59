//! File helpers of the build: each names its step and path in the error.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::ImageError;

pub(crate) fn mkdir(p: &Path, step: &'static str) -> Result<(), ImageError> {
    std::fs::create_dir_all(p).map_err(ImageError::io(step, "create directory", p))
}

pub(crate) fn set_mode(p: &Path, mode: u32, step: &'static str) -> Result<(), ImageError> {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
        .map_err(ImageError::io(step, "chmod", p))
}

pub(crate) fn remove_tree(p: &Path, step: &'static str) -> Result<(), ImageError> {
    match std::fs::remove_dir_all(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ImageError::Io {
            step,
            action: "remove",
            path: p.to_path_buf(),
            source: e,
        }),
    }
}

pub(crate) fn tmp_path(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_os_string();
    s.push(".tmp");
    PathBuf::from(s)
}

pub(crate) fn copy_atomic(from: &Path, to: &Path, step: &'static str) -> Result<(), ImageError> {
    let tmp = tmp_path(to);
    std::fs::copy(from, &tmp).map_err(ImageError::io(step, "copy", from))?;
    set_mode(&tmp, 0o644, step)?;
    std::fs::rename(&tmp, to).map_err(ImageError::io(step, "rename to", to))
}

pub(crate) fn write_atomic(to: &Path, bytes: &[u8], step: &'static str) -> Result<(), ImageError> {
    let tmp = tmp_path(to);
    std::fs::write(&tmp, bytes).map_err(ImageError::io(step, "write", &tmp))?;
    std::fs::rename(&tmp, to).map_err(ImageError::io(step, "rename to", to))
}
