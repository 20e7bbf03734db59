//! Errors of the operator crate: one variant per step that can fail, with the object involved.

#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("failed to {action} {kind} {name}")]
    Kube {
        action: &'static str,
        kind: &'static str,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("the LustreCluster has no {0}")]
    MissingField(&'static str),
    #[error("failed to reach the agent of node {node} at {address}: {reason}")]
    Agent {
        node: String,
        address: String,
        reason: String,
    },
    #[error("failed to serialize {what}")]
    Serialize {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("{kind} {name} has an invalid {field}: {reason}")]
    Malformed {
        kind: &'static str,
        name: String,
        field: String,
        reason: String,
    },
    #[error("the plan has no script {path} for phase {phase} on node {node}")]
    MissingScript {
        phase: String,
        node: String,
        path: String,
    },
    #[error("failed to write {what} as YAML")]
    Yaml {
        what: &'static str,
        #[source]
        source: serde_yaml_ng::Error,
    },
    #[error("the plan has a VM for node {node}, which the topology does not have")]
    UnknownNode { node: String },
    #[error("failed to load the Kubernetes client configuration")]
    Config(#[source] kube::Error),
    #[error("failed to start the operator runtime")]
    Runtime(#[source] std::io::Error),
}

impl OperatorError {
    pub(crate) fn kube(
        action: &'static str,
        kind: &'static str,
        name: impl Into<String>,
    ) -> impl FnOnce(kube::Error) -> OperatorError {
        let name = name.into();
        move |source| OperatorError::Kube {
            action,
            kind,
            name,
            source,
        }
    }
}

pub type Result<T, E = OperatorError> = std::result::Result<T, E>;
