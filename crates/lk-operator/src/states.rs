//! The words the operator writes into `status` and reads back from the cluster (node and
//! target states, the summary phase) and reads from KubeVirt (VMI phases), as enums.
//!
//! Each serializes to exactly the word it was before (the CRD keeps `type: string`, so the
//! committed CRD and old status objects stay valid). A word this operator does not know (a
//! status written by another version, a new KubeVirt phase) is kept as `Unknown(word)`, not
//! dropped: a status that failed to deserialize would stop the whole resource from being
//! reconciled, and the callers report the unknown word in an event.

use std::fmt;

/// Defines a string-backed enum with an `Unknown(String)` variant for words not listed.
macro_rules! word_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $word:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[serde(from = "String", into = "String")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A word this operator does not know, kept as read.
            Unknown(String),
        }

        impl $name {
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $word,)+
                    $name::Unknown(s) => s,
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                match s.as_str() {
                    $($word => $name::$variant,)+
                    _ => $name::Unknown(s),
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name::from(s.to_string())
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.as_str().to_string()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

word_enum! {
    /// Per-node state (see [`crate::decide::nodes`] for the machine).
    #[derive(Default)]
    NodeState {
        /// No VM yet (also: no previous status for the node).
        #[default]
        Pending = "Pending",
        /// A VM without a running instance, or a running one whose agent is not up yet.
        Booting = "Booting",
        /// The agent answers.
        Running = "Running",
        /// Running, agent silent (not yet for `replaceAfterSeconds`).
        Unreachable = "Unreachable",
        /// The instance is being powered off before a replacement.
        Fencing = "Fencing",
        /// Fenced; a new instance with the same PVCs and NIDs is starting.
        Restarting = "Restarting",
        BootTimedOut = "BootTimedOut",
    }
}

word_enum! {
    /// Per-target state.
    #[derive(Default)]
    TargetState {
        #[default]
        Pending = "Pending",
        Formatted = "Formatted",
        Mounted = "Mounted",
        Recovering = "Recovering",
        Down = "Down",
        Draining = "Draining",
        Drained = "Drained",
    }
}

word_enum! {
    /// The one-word summary in `status.phase` (the printer column).
    #[derive(Default)]
    ClusterPhase {
        Invalid = "Invalid",
        #[default]
        Provisioning = "Provisioning",
        Ready = "Ready",
        Degraded = "Degraded",
        Draining = "Draining",
        Deleting = "Deleting",
    }
}

word_enum! {
    /// KubeVirt's `VirtualMachineInstance.status.phase`.
    VmiPhase {
        Pending = "Pending",
        Scheduling = "Scheduling",
        Scheduled = "Scheduled",
        Running = "Running",
        Succeeded = "Succeeded",
        Failed = "Failed",
        /// KubeVirt's own `Unknown` (the node lost contact), not a word we do not know.
        KubevirtUnknown = "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_unknown_words_are_kept() {
        for s in [
            "Pending",
            "Booting",
            "Running",
            "Unreachable",
            "Fencing",
            "Restarting",
            "BootTimedOut",
        ] {
            let v: NodeState = serde_json::from_value(serde_json::json!(s)).unwrap();
            assert!(!matches!(v, NodeState::Unknown(_)), "{s}");
            assert_eq!(serde_json::to_value(&v).unwrap(), serde_json::json!(s));
        }
        let v: TargetState = serde_json::from_value(serde_json::json!("Frozen")).unwrap();
        assert_eq!(v, TargetState::Unknown("Frozen".into()));
        assert_eq!(
            serde_json::to_value(&v).unwrap(),
            serde_json::json!("Frozen")
        );
        assert_eq!(VmiPhase::from("Unknown"), VmiPhase::KubevirtUnknown);
        assert_eq!(
            VmiPhase::from("Migrating"),
            VmiPhase::Unknown("Migrating".into())
        );
    }
}
