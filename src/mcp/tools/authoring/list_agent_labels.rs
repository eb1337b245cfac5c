//! `list_agent_labels`: the Jenkins agent labels usable in
//! `agent { label '…' }` (`GET DV3/ci/nodelabels`, read-only).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::kubesphere::Cluster;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Hints, ToolDef, Toolset};

pub struct ListAgentLabels;

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListAgentLabelsInput {
    /// Cluster whose Jenkins runs the pipeline (the DevOps project's cluster; default: the host cluster).
    #[serde(default)]
    pub cluster: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListAgentLabelsOutput {
    pub cluster: String,
    /// Labels of the Jenkins agents (pod templates), e.g. base, go, maven, nodejs.
    pub labels: Vec<String>,
    /// How to use them.
    pub usage: String,
}

impl ToolDef for ListAgentLabels {
    const NAME: &'static str = "list_agent_labels";
    const TITLE: &'static str = "List Jenkins agent labels";
    const DESCRIPTION: &'static str = "Lists the Jenkins agent labels of a cluster, i.e. the values that work in a Jenkinsfile's agent { label '...' } (a label that no agent has makes a run wait forever). Each label's agent usually has a container of the same name for container('...') steps.";
    const EXAMPLE: &'static str = r#"{}"#;
    const TOOLSET: Toolset = Toolset::Authoring;
    const HINTS: Hints = Hints::READ;
    type Input = ListAgentLabelsInput;
    type Output = ListAgentLabelsOutput;

    async fn call(ctx: ToolCtx, input: ListAgentLabelsInput) -> Result<ListAgentLabelsOutput, ToolError> {
        let cluster = match input.cluster.as_deref() {
            Some(c) => Cluster::parse(c)?,
            None => ctx.client.default_cluster().clone(),
        };
        let mut labels = ctx.client.agent_labels(&cluster).await?;
        labels.sort();
        labels.dedup();
        let usage = match labels.first() {
            Some(l) => format!(
                "pipeline {{ agent {{ label '{l}' }} ... }}; steps in that agent's container: container('{l}') {{ sh '...' }}"
            ),
            None => "This Jenkins lists no agent labels: use agent any.".into(),
        };
        Ok(ListAgentLabelsOutput {
            cluster: cluster.name().to_string(),
            labels,
            usage,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{call, ctx, sim};

    #[tokio::test]
    async fn lists_the_labels() {
        let sim = sim().await;
        let out = call(&ctx(&sim), "list_agent_labels", serde_json::json!({}))
            .await
            .unwrap();
        assert_eq!(out["cluster"], "host");
        assert_eq!(
            out["labels"],
            serde_json::json!(["base", "go", "maven", "nodejs", "python"])
        );
        let err = call(&ctx(&sim), "list_agent_labels", serde_json::json!({"cluster": "../x"}))
            .await
            .unwrap_err();
        assert!(!err.to_string().is_empty());
    }
}
