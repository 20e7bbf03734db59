// SPDX-License-Identifier: Apache-2.0
//! The one door the sync daemon (`lk-sync`) uses into the gateway: opening a [`Gateway`] over
//! a tree, the rules for names in it, the metadata keys and record it shares with the
//! gateway, and the listing [`Index`] it writes through [`Batch`]es. Anything not re-exported
//! here is the gateway's own business and may change without touching `lk-sync`.

pub use crate::config::{valid_account_name, Limits, Settings, XattrOverflow, DEFAULT_STATE_DIR};
pub use crate::error::{StartError, SwiftError};
pub use crate::gateway::{container_key, guess_content_type, object_key, Gateway, ObjectInfo};
pub use crate::index::{Batch, Index, IndexError, ObjectRecord};
pub use crate::layout;
pub use crate::meta::keys;
pub use crate::path::{check_container_name, check_object_name, TMP_PREFIX};
pub use crate::store::resolve_self;
pub use crate::time::Timestamp;
