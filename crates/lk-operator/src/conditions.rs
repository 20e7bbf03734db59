//! Status conditions: their types, and merging new values into the previous list so that
//! `lastTransitionTime` only moves when a condition's status changes. Pure.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

pub const SPEC_ACCEPTED: &str = "SpecAccepted";
pub const PROVISIONING: &str = "Provisioning";
pub const LNET_READY: &str = "LNetReady";
pub const FORMATTED: &str = "Formatted";
pub const MOUNTED: &str = "Mounted";
pub const READY: &str = "Ready";
pub const DEGRADED: &str = "Degraded";
pub const DELETION_IS_BLOCKED: &str = "DeletionIsBlocked";
/// The StorageClass of `spec.kubernetes.csi.storageClass` is published.
pub const STORAGE_CLASS_READY: &str = "StorageClassReady";

/// Every condition, in the order status lists them.
pub const ALL: [&str; 9] = [
    SPEC_ACCEPTED,
    PROVISIONING,
    LNET_READY,
    FORMATTED,
    MOUNTED,
    READY,
    DEGRADED,
    DELETION_IS_BLOCKED,
    STORAGE_CLASS_READY,
];

/// A condition's new value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cond {
    pub type_: &'static str,
    pub status: bool,
    /// CamelCase reason.
    pub reason: String,
    pub message: String,
}

impl Cond {
    pub fn new(
        type_: &'static str,
        status: bool,
        reason: &str,
        message: impl Into<String>,
    ) -> Self {
        Cond {
            type_,
            status,
            reason: reason.to_string(),
            message: message.into(),
        }
    }
}

/// Merges `new` into `prev`: conditions named in `new` take its values (keeping the old
/// transition time when the status is unchanged); others keep their previous value.
pub fn merge(
    prev: &[Condition],
    new: &[Cond],
    now: &Time,
    generation: Option<i64>,
) -> Vec<Condition> {
    ALL.iter()
        .filter_map(|type_| {
            let old = prev.iter().find(|c| c.type_ == *type_);
            match new.iter().find(|c| c.type_ == *type_) {
                Some(c) => {
                    let status = if c.status { "True" } else { "False" };
                    let since = old
                        .filter(|o| o.status == status)
                        .map(|o| o.last_transition_time.clone())
                        .unwrap_or_else(|| now.clone());
                    Some(Condition {
                        type_: c.type_.to_string(),
                        status: status.to_string(),
                        reason: c.reason.clone(),
                        message: c.message.clone(),
                        last_transition_time: since,
                        observed_generation: generation,
                    })
                }
                None => old.cloned(),
            }
        })
        .collect()
}

pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    conditions
        .iter()
        .any(|c| c.type_ == type_ && c.status == "True")
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    #[test]
    fn transition_time_moves_only_on_change() {
        let t0 = Time(Timestamp::from_second(1000).unwrap());
        let t1 = Time(Timestamp::from_second(2000).unwrap());
        let first = merge(
            &[],
            &[Cond::new(READY, false, "Provisioning", "wait")],
            &t0,
            Some(1),
        );
        let same = merge(
            &first,
            &[Cond::new(READY, false, "Other", "still")],
            &t1,
            Some(2),
        );
        assert_eq!(same[0].last_transition_time, t0);
        assert_eq!(same[0].reason, "Other");
        let flipped = merge(
            &same,
            &[Cond::new(READY, true, "Ready", "ok")],
            &t1,
            Some(2),
        );
        assert_eq!(flipped[0].last_transition_time, t1);
        assert_eq!(flipped[0].observed_generation, Some(2));
    }
}
