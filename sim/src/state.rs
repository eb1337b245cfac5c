//! The simulated cluster state and the demo data.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::jenkins::{Build, Cause, Job, parse_jenkinsfile};
use crate::util::{self, k8s_time};

pub(crate) const PASSWORD: &str = "P@88w0rd";

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub name: String,
    pub password: String,
    pub email: String,
    pub display: String,
    pub workspaces: Vec<String>,
    /// The user's `iam.kubesphere.io/granted-clusters` annotation: clusters
    /// the user was made a member of. `TN/clusters` lists only these (U6).
    pub granted_clusters: Vec<String>,
    pub created: DateTime<Utc>,
    pub last_login: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub(crate) struct Workspace {
    pub name: String,
    pub manager: String,
    pub clusters: Vec<String>,
    pub created: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub username: String,
    pub refresh: bool,
    pub expires: DateTime<Utc>,
    pub revoked: bool,
}

/// A branch of the (simulated) git repository behind a multi-branch pipeline.
#[derive(Debug, Clone)]
pub(crate) struct RepoBranch {
    pub name: String,
    pub jenkinsfile: Option<String>,
    pub commit: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Pipeline {
    pub cr: Value,
    pub sync_at: DateTime<Utc>,
    /// Key "" for a plain pipeline, the raw branch name for multi-branch.
    pub jobs: BTreeMap<String, Job>,
    /// Multi-branch: the branches in the repository.
    pub repo: Vec<RepoBranch>,
    /// Multi-branch: branches found by the last indexing, in order.
    pub indexed: Vec<String>,
    pub indexing_log: Option<String>,
    /// When the metadata controller last copied Jenkins' branches into the
    /// `jenkins-branches` annotation (U10: it requeues every 10 s, so the
    /// v1alpha3 branch list lags a scan).
    pub branches_copied_at: Option<DateTime<Utc>>,
}

impl Pipeline {
    pub(crate) fn is_multi(&self) -> bool {
        self.cr.pointer("/spec/type").and_then(Value::as_str) == Some("multi-branch-pipeline")
    }
    pub(crate) fn name(&self) -> &str {
        util::meta_name(&self.cr)
    }
    pub(crate) fn jenkinsfile(&self) -> String {
        self.cr
            .pointer("/spec/pipeline/jenkinsfile")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    }
    pub(crate) fn build(&self, branch: Option<&str>, id: u64) -> Option<&Build> {
        self.jobs.get(branch.unwrap_or(""))?.builds.get(&id)
    }
    pub(crate) fn build_mut(&mut self, branch: Option<&str>, id: u64) -> Option<&mut Build> {
        self.jobs.get_mut(branch.unwrap_or(""))?.builds.get_mut(&id)
    }
    /// Jenkinsfile used by a build of `branch` (None for plain pipelines).
    pub(crate) fn script_for(&self, branch: Option<&str>) -> Option<String> {
        match branch {
            None => Some(self.jenkinsfile()),
            Some(b) => self.repo.iter().find(|r| r.name == b)?.jenkinsfile.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct PipelineRun {
    pub cr: Value,
    pub pipeline: String,
    pub branch: Option<String>,
    /// The Jenkins build this run triggered (None if triggering failed).
    pub build: Option<u64>,
    /// Deleted: when the controller has handled the finalizer and the CR
    /// is gone (`crate::runs::finalize_deleted`).
    pub deleting: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub(crate) struct App {
    pub cr: Value,
    /// When the current Argo operation (sync) started.
    pub op_started: Option<DateTime<Utc>>,
    /// The operation Argo CD runs (shown in `operationState.operation`):
    /// a manual `/sync` one (also in `spec.argoApp.operation` until it
    /// ends) or an automated one (never in the spec, U16).
    pub op: Value,
    pub degraded: bool,
    pub revision: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Project {
    pub name: String,
    /// The DevOpsProject CR's `kubesphere.io/workspace` label (what the
    /// project list selects on).
    pub workspace: String,
    /// The namespace's `kubesphere.io/workspace` label, through which
    /// KubeSphere RBAC resolves workspace role bindings (§3.3: a wrong or
    /// missing label hides the project from workspace members).
    pub ns_workspace: Option<String>,
    /// Users with a namespace RoleBinding in the project's namespace (the
    /// creator gets one); they reach it whatever the workspace label says,
    /// and `TN/clusters?roleBindingExists=true` lists their clusters (U6).
    pub role_bindings: Vec<String>,
    pub cr: Value,
    pub sync_at: DateTime<Utc>,
    pub pipelines: BTreeMap<String, Pipeline>,
    pub runs: BTreeMap<String, PipelineRun>,
    pub secrets: BTreeMap<String, Value>,
    /// Credential name -> time its sync status turns successful.
    pub secret_sync: HashMap<String, DateTime<Utc>>,
    pub gitrepos: BTreeMap<String, Value>,
    pub apps: BTreeMap<String, App>,
    /// Pipeline templates (`Template` CRs) of the project.
    pub templates: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct ClusterData {
    pub projects: BTreeMap<String, Project>,
}

#[derive(Debug)]
pub(crate) struct State {
    pub users: BTreeMap<String, User>,
    pub workspaces: BTreeMap<String, Workspace>,
    pub clusters: BTreeMap<String, ClusterData>,
    pub tokens: HashMap<String, Token>,
    pub resource_version: u64,
    pub queue_id: u64,
    pub phase: Duration,
    /// Requeue period of the pipeline metadata controller (U10), 10 s upstream.
    pub branch_refresh: Duration,
    pub started: DateTime<Utc>,
    /// The Git remotes GitRepositories point at, by [`crate::gitbrowse::remote_key`]
    /// (ks-devops' clones of them answer the browsing routes).
    pub git_remotes: BTreeMap<String, crate::gitbrowse::GitRemote>,
}

impl State {
    pub(crate) fn next_rv(&mut self) -> String {
        self.resource_version += 1;
        self.resource_version.to_string()
    }

    pub(crate) fn next_queue_id(&mut self) -> u64 {
        self.queue_id += 1;
        self.queue_id
    }

    pub(crate) fn project(&self, cluster: &str, ns: &str) -> Option<&Project> {
        self.clusters.get(cluster)?.projects.get(ns)
    }

    pub(crate) fn project_mut(&mut self, cluster: &str, ns: &str) -> Option<&mut Project> {
        self.clusters.get_mut(cluster)?.projects.get_mut(ns)
    }

    /// Whether `user` may act in namespace `ns` on `cluster`: a namespace
    /// RoleBinding, or membership of the workspace the *namespace* is
    /// labelled with (KubeSphere RBAC, `kubesphere:pkg/apiserver/authorization/rbac`).
    pub(crate) fn may_access_ns(&self, user: &str, cluster: &str, ns: &str) -> bool {
        match (self.users.get(user), self.project(cluster, ns)) {
            (Some(u), Some(p)) => {
                p.role_bindings.iter().any(|b| b == user)
                    || p.ns_workspace.as_ref().is_some_and(|w| u.workspaces.contains(w))
            }
            _ => false,
        }
    }

    /// Clusters where `user` has a namespace RoleBinding
    /// (`kubesphere:pkg/models/tenant/tenant.go` `getClusterByRoleBinding`).
    pub(crate) fn role_binding_clusters(&self, user: &str) -> Vec<String> {
        self.clusters
            .iter()
            .filter(|(_, c)| c.projects.values().any(|p| p.role_bindings.iter().any(|b| b == user)))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Whether `user` is an admin of workspace `ws`: its manager (the
    /// workspace controller binds `spec.manager` to `{ws}-admin`).
    pub(crate) fn is_workspace_admin(&self, user: &str, ws: &str) -> bool {
        self.is_member(user, ws) && self.workspaces.get(ws).is_some_and(|w| w.manager == user)
    }

    pub(crate) fn is_member(&self, user: &str, ws: &str) -> bool {
        self.users
            .get(user)
            .is_some_and(|u| u.workspaces.iter().any(|w| w == ws))
    }

    /// Advances everything that moves with time (sync statuses, GitOps).
    pub(crate) fn tick(&mut self, now: DateTime<Utc>) {
        let mut rvs = 0u64;
        for c in self.clusters.values_mut() {
            for p in c.projects.values_mut() {
                // U11: the DevOpsProject controller only ever writes
                // `successful` (`ks-devops:controllers/jenkins/devopsproject/devopsproject_controller.go:316`);
                // `synctime` stays what the create handler wrote.
                if now >= p.sync_at
                    && util::annotation(&p.cr, "devopsproject.devops.kubesphere.io/syncstatus") == Some("pending")
                {
                    util::set_annotation(&mut p.cr, "devopsproject.devops.kubesphere.io/syncstatus", "successful");
                }
                for pl in p.pipelines.values_mut() {
                    // U11: a new Pipeline carries no sync annotation until
                    // Jenkins has it; then the controller writes only
                    // `syncstatus=successful` (`ks-devops:controllers/jenkins/pipeline/pipeline_controller.go:283`),
                    // never `failed`, `synctime` or `syncmsg`.
                    if now >= pl.sync_at
                        && util::annotation(&pl.cr, "pipeline.devops.kubesphere.io/syncstatus").is_none()
                    {
                        util::set_annotation(&mut pl.cr, "pipeline.devops.kubesphere.io/syncstatus", "successful");
                        if pl.is_multi() && pl.indexing_log.is_none() {
                            crate::pipelines::index_branches(
                                pl,
                                &p.name,
                                "Branch indexing",
                                now,
                                self.phase,
                                &mut self.queue_id,
                                false,
                            );
                            crate::pipelines::refresh_branch_annotation(pl, now);
                        }
                    }
                    // U10: the metadata controller copies Jenkins' branches
                    // into the `jenkins-branches` annotation and requeues
                    // after 10 s (`ks-devops:controllers/jenkins/pipeline/pipeline_metadata_controller.go:85,124-139`),
                    // so the v1alpha3 branch list lags a scan or a build.
                    if pl.is_multi()
                        && pl.indexing_log.is_some()
                        && pl.branches_copied_at.is_none_or(|at| now >= at + self.branch_refresh)
                    {
                        crate::pipelines::refresh_branch_annotation(pl, now);
                    }
                }
                // U11: credentials get `pending` on create/update, then the
                // controller writes only `successful`
                // (`ks-devops:controllers/jenkins/devopscredential/devopscredential_controller.go:281`).
                for (name, at) in p.secret_sync.iter() {
                    if now >= *at
                        && let Some(s) = p.secrets.get_mut(name)
                        && util::annotation(s, "credential.devops.kubesphere.io/syncstatus") == Some("pending")
                    {
                        util::set_annotation(s, "credential.devops.kubesphere.io/syncstatus", "successful");
                        rvs += 1;
                        // The controller's update is a write like any other:
                        // the Secret gets a new resourceVersion.
                        let rv = (self.resource_version + rvs).to_string();
                        util::set_meta(s, "resourceVersion", serde_json::json!(rv));
                    }
                }
                for app in p.apps.values_mut() {
                    crate::gitops::refresh_app(app, &p.name, now, self.phase);
                }
                crate::runs::finalize_deleted(p, now);
            }
        }
        self.resource_version += rvs;
    }
}

fn project_cr(
    name: &str,
    generate: &str,
    ws: &str,
    alias: Option<&str>,
    creator: &str,
    created: DateTime<Utc>,
) -> Value {
    let mut annotations = json!({
        "kubesphere.io/creator": creator,
        "devopsproject.devops.kubesphere.io/syncstatus": "successful",
        // `ks-devops:pkg/models/devops/common.go:39` GetSyncNowTime: Go's time.Now().String().
        "devopsproject.devops.kubesphere.io/synctime": util::go_time_string(created),
    });
    if let Some(a) = alias {
        annotations["kubesphere.io/alias-name"] = json!(a);
    }
    json!({
        "kind": "DevOpsProject",
        "apiVersion": "devops.kubesphere.io/v1alpha3",
        "metadata": {
            "name": name,
            "generateName": generate,
            "uid": util::uid(),
            "resourceVersion": "1",
            "generation": 1,
            "labels": {"kubesphere.io/workspace": ws},
            "annotations": annotations,
            "finalizers": ["devopsproject.finalizers.kubesphere.io"],
            "creationTimestamp": k8s_time(created),
        },
        "spec": {},
        "status": {"adminNamespace": name},
    })
}

/// A project whose namespace is labelled with its workspace; `role_bindings`
/// are the users with a namespace RoleBinding (the creator, for projects made
/// through the API).
pub(crate) fn new_project(name: &str, ws: &str, cr: Value, sync_at: DateTime<Utc>, role_bindings: &[&str]) -> Project {
    Project {
        name: name.to_string(),
        workspace: ws.to_string(),
        ns_workspace: Some(ws.to_string()),
        role_bindings: role_bindings.iter().map(|u| u.to_string()).collect(),
        cr,
        sync_at,
        pipelines: BTreeMap::new(),
        runs: BTreeMap::new(),
        secrets: BTreeMap::new(),
        secret_sync: HashMap::new(),
        gitrepos: BTreeMap::new(),
        apps: BTreeMap::new(),
        templates: BTreeMap::new(),
    }
}

pub(crate) const HELLO_JENKINSFILE: &str = "pipeline {\n  agent any\n  stages {\n    stage('Hello') {\n      steps {\n        echo 'hello'\n      }\n    }\n  }\n}\n";

pub(crate) const ECHO_MAIN_JENKINSFILE: &str = "pipeline {\n  agent any\n  stages {\n    stage('Checkout') {\n      steps {\n        echo 'checkout main'\n      }\n    }\n    stage('Build') {\n      steps {\n        sh 'echo building demo-echo'\n        archiveArtifacts artifacts: 'target/demo-echo.jar'\n      }\n    }\n    stage('Test') {\n      steps {\n        sh 'echo all tests passed'\n      }\n    }\n  }\n}\n";

pub(crate) const ECHO_FEATURE_JENKINSFILE: &str = "pipeline {\n  agent any\n  stages {\n    stage('Checkout') {\n      steps {\n        echo 'checkout feature-branch'\n      }\n    }\n    stage('Build') {\n      steps {\n        sh 'echo building feature'\n      }\n    }\n  }\n}\n";

/// The Jenkinsfile of branch `feature/login` (a `/` in its name, §16 U3):
/// builds and archives a file, so every run route is exercised on it.
pub(crate) const ECHO_LOGIN_JENKINSFILE: &str = "pipeline {\n  agent any\n  stages {\n    stage('Checkout') {\n      steps {\n        echo 'checkout feature/login'\n      }\n    }\n    stage('Build') {\n      steps {\n        sh 'echo building the login page'\n        archiveArtifacts artifacts: 'target/login.jar'\n      }\n    }\n  }\n}\n";

/// The branch `feature/login` of a demo repository.
pub(crate) fn login_branch(commit: String) -> RepoBranch {
    RepoBranch {
        name: "feature/login".into(),
        jenkinsfile: Some(ECHO_LOGIN_JENKINSFILE.into()),
        commit,
    }
}

/// A pipeline whose tests fail: stage Test, an `sh` step exiting 1 after
/// printing Maven-style errors; Deploy never runs. Build archives a text
/// report.
pub(crate) const BROKEN_JENKINSFILE: &str = "pipeline {\n  agent any\n  stages {\n    stage('Checkout') {\n      steps {\n        echo 'checkout main'\n      }\n    }\n    stage('Build') {\n      steps {\n        sh 'echo compiling 42 source files'\n        archiveArtifacts artifacts: 'target/build-report.txt'\n      }\n    }\n    stage('Test') {\n      steps {\n        sh '''\n          echo \"Running unit tests\"\n          echo \"[ERROR] Tests run: 12, Failures: 2, Errors: 0, Skipped: 0\"\n          echo \"[ERROR] CartTest.testCheckout: expected:<3> but was:<2>\"\n          exit 1\n        '''\n      }\n    }\n    stage('Deploy') {\n      steps {\n        echo 'deploying'\n      }\n    }\n  }\n}\n";

/// A pipeline with a large console log (about 5 MB, generated while
/// streaming) that archives a file.
pub(crate) const NOISY_JENKINSFILE: &str = "pipeline {\n  agent any\n  stages {\n    stage('Build') {\n      steps {\n        simBigLog(5000000)\n      }\n    }\n    stage('Package') {\n      steps {\n        echo 'packaged'\n        archiveArtifacts artifacts: 'dist/noisy-report.txt'\n      }\n    }\n  }\n}\n";

/// A release pipeline that waits for a human at an `input` step without
/// parameters (and without submitters: anyone with access may answer).
pub(crate) const RELEASE_GATE_JENKINSFILE: &str = "pipeline {\n  agent any\n  stages {\n    stage('Build') {\n      steps {\n        echo 'built release 1.4.2'\n      }\n    }\n    stage('Approve') {\n      steps {\n        input message: 'Release 1.4.2 to production?'\n      }\n    }\n    stage('Deploy') {\n      steps {\n        echo 'deployed release 1.4.2'\n      }\n    }\n  }\n}\n";

pub(crate) const WEBHOOK_JENKINSFILE: &str = "pipeline {\n  agent any\n  stages {\n    stage('Build') {\n      steps {\n        echo 'built the pushed commit'\n      }\n    }\n  }\n}\n";

/// A pipeline whose build runs a SonarQube analysis; the simulated quality
/// gate fails (coverage 62.5 < 80, see `crate::quality`).
pub(crate) const QUALITY_JENKINSFILE: &str = "pipeline {\n  agent { label 'maven' }\n  stages {\n    stage('Build') {\n      steps {\n        container('maven') {\n          sh 'mvn -B package'\n        }\n      }\n    }\n    stage('Analyse') {\n      steps {\n        container('maven') {\n          withSonarQubeEnv('sonar') {\n            sh 'mvn sonar:sonar -Dsonar.coverage=62.5'\n          }\n        }\n      }\n    }\n  }\n}\n";

pub(crate) const DEMO_JENKINSFILE: &str = "pipeline {\n  agent any\n  stages {\n    stage('Deploy') {\n      steps {\n        echo 'deploying demo'\n      }\n    }\n  }\n}\n";

pub(crate) fn pipeline_cr(ns: &str, name: &str, spec: Value, created: DateTime<Utc>, creator: Option<&str>) -> Value {
    // U11: a synced Pipeline carries only `syncstatus=successful`.
    let mut annotations = json!({
        "pipeline.devops.kubesphere.io/syncstatus": "successful",
    });
    if let Some(c) = creator {
        annotations["kubesphere.io/creator"] = json!(c);
    }
    json!({
        "kind": "Pipeline",
        "apiVersion": "devops.kubesphere.io/v1alpha3",
        "metadata": {
            "name": name,
            "namespace": ns,
            "uid": util::uid(),
            "resourceVersion": "1",
            "generation": 1,
            "annotations": annotations,
            "finalizers": ["pipeline.finalizers.kubesphere.io"],
            "creationTimestamp": k8s_time(created),
        },
        "spec": spec,
        "status": {},
    })
}

pub(crate) fn seeded_pipeline(cr: Value, created: DateTime<Utc>) -> Pipeline {
    Pipeline {
        cr,
        sync_at: created,
        jobs: BTreeMap::new(),
        repo: Vec::new(),
        indexed: Vec::new(),
        indexing_log: None,
        branches_copied_at: None,
    }
}

/// Adds a finished build plus its PipelineRun CR (as the controller would).
#[allow(clippy::too_many_arguments)]
pub(crate) fn seed_finished_run(
    st: &mut State,
    cluster: &str,
    ns: &str,
    pipeline: &str,
    branch: Option<&str>,
    queued_at: DateTime<Utc>,
    phase: Duration,
    creator: &str,
    script_override: Option<String>,
) -> Option<(String, u64)> {
    let qid = st.next_queue_id();
    let rv = st.next_rv();
    let p = st.project_mut(cluster, ns)?;
    let pl = p.pipelines.get_mut(pipeline)?;
    let script = script_override.or_else(|| pl.script_for(branch))?;
    let job = pl.jobs.entry(branch.unwrap_or("").to_string()).or_default();
    let id = job.allocate();
    let build = Build {
        id,
        branch: branch.map(str::to_string),
        namespace: ns.to_string(),
        pipeline: pipeline.to_string(),
        queued_at,
        phase,
        plan: parse_jenkinsfile(&script),
        parameters: vec![],
        cause: Cause::user(creator),
        stop_at: None,
        input_decision: None,
        commit_id: format!("{:040x}", util::fnv(&format!("{ns}/{pipeline}/{id}")) as u128 * 7919),
        queue_id: qid,
    };
    job.builds.insert(id, build);
    let spec = pl.cr.get("spec").cloned().unwrap_or(json!({}));
    let name = format!("{pipeline}-{}", util::random_suffix());
    // The controller imports runs with `scm.refName = run.pipeline`, the
    // branch job name (upstream: ks-devops
    // controllers/jenkins/pipelinerun/pipelinerun_synchronizer.go:134-150).
    let ref_name = branch.map(util::name_encode);
    let cr = crate::runs::new_pipelinerun_cr(
        ns,
        pipeline,
        &name,
        &spec,
        ref_name.as_deref(),
        &[],
        creator,
        queued_at - phase,
        &rv,
    );
    let mut cr = cr;
    util::set_annotation(&mut cr, "devops.kubesphere.io/jenkins-pipelinerun-id", id.to_string());
    p.runs.insert(
        name.clone(),
        PipelineRun {
            cr,
            pipeline: pipeline.to_string(),
            branch: branch.map(str::to_string),
            build: Some(id),
            deleting: None,
        },
    );
    Some((name, id))
}

/// Adds a finished build that has no PipelineRun: one Jenkins started by
/// itself (a webhook, an SCM poll). ks-devops creates PipelineRuns only
/// for runs started through its API; its Jenkins event receiver
/// (pkg/kapis/devops/v1alpha3/webhook/workflowrun_handler.go) and the
/// synchronizer (controllers/jenkins/pipelinerun/pipelinerun_synchronizer.go,
/// only on request) import the others, so a build that neither covered
/// stays Jenkins-only (§6.3).
pub(crate) fn seed_jenkins_only_build(
    st: &mut State,
    cluster: &str,
    ns: &str,
    pipeline: &str,
    queued_at: DateTime<Utc>,
    phase: Duration,
    cause: Cause,
) -> Option<u64> {
    let qid = st.next_queue_id();
    let pl = st.project_mut(cluster, ns)?.pipelines.get_mut(pipeline)?;
    let script = pl.script_for(None)?;
    let job = pl.jobs.entry(String::new()).or_default();
    let id = job.allocate();
    job.builds.insert(
        id,
        Build {
            id,
            branch: None,
            namespace: ns.to_string(),
            pipeline: pipeline.to_string(),
            queued_at,
            phase,
            plan: parse_jenkinsfile(&script),
            parameters: vec![],
            cause,
            stop_at: None,
            input_decision: None,
            commit_id: format!("{:040x}", util::fnv(&format!("{ns}/{pipeline}/{id}")) as u128 * 7919),
            queue_id: qid,
        },
    );
    Some(id)
}

/// A pipeline whose console log is too large for the run log route
/// (§16 U8) while every step log fits: three stages, each printing 40% of
/// `relay_limit` bytes (together 120% of it).
pub(crate) fn oversized_jenkinsfile(relay_limit: u64) -> String {
    let part = (relay_limit / 5 * 2).max(1);
    format!(
        "pipeline {{\n  agent any\n  stages {{\n    stage('Build') {{\n      steps {{\n        simBigLog({part})\n      }}\n    }}\n    stage('Test') {{\n      steps {{\n        simBigLog({part})\n      }}\n    }}\n    stage('Report') {{\n      steps {{\n        simBigLog({part})\n        echo 'report written'\n      }}\n    }}\n  }}\n}}\n"
    )
}

/// The demo data documented on the crate root. `relay_limit` sizes the
/// `oversized-log` pipeline's log ([`crate::SimOptions::log_relay_limit`]).
pub(crate) fn seed(phase: Duration, relay_limit: u64) -> State {
    let now = Utc::now();
    let day = Duration::days(1);
    let mut users = BTreeMap::new();
    // U6 (clusters): `tenant` was made a member of no cluster (no
    // `iam.kubesphere.io/granted-clusters`), so `TN/clusters` lists nothing
    // for it; its only namespace RoleBinding is in `stone-devops` (host), so
    // `?roleBindingExists=true` adds `host`; workspace `stone` is placed on
    // `host` and `member-1`, and the `member-1` projects are reached through
    // the workspace role only. `demo-admin` is a member of `host`.
    for (name, ws, display, granted) in [
        ("tenant", "stone", "Tenant", &[][..]),
        ("demo-admin", "demo", "Demo Admin", &["host"][..]),
    ] {
        users.insert(
            name.to_string(),
            User {
                name: name.to_string(),
                password: PASSWORD.to_string(),
                email: format!("{name}@kubesphere.io"),
                display: display.to_string(),
                workspaces: vec![ws.to_string()],
                granted_clusters: granted.iter().map(|c| c.to_string()).collect(),
                created: now - day * 30,
                last_login: None,
            },
        );
    }
    let mut workspaces = BTreeMap::new();
    workspaces.insert(
        "stone".to_string(),
        Workspace {
            name: "stone".into(),
            manager: "tenant".into(),
            clusters: vec!["host".into(), "member-1".into()],
            created: now - day * 20,
        },
    );
    workspaces.insert(
        "demo".to_string(),
        Workspace {
            name: "demo".into(),
            manager: "demo-admin".into(),
            clusters: vec!["host".into()],
            created: now - day * 19,
        },
    );

    let mut host = ClusterData::default();
    let mut member = ClusterData::default();

    // member-1 / stone: created by the platform admin for the workspace, so
    // `tenant` has no RoleBinding there (U6: found only through the
    // workspace's clusters).
    for (i, (name, gen_name, alias)) in [
        ("devopstestc2nj7", "devopstest", Some("DevOps Test")),
        ("devopstestxyz12", "devopstest", None),
        ("my-devopstest", "my-devopstest", Some("My DevOps Test")),
    ]
    .into_iter()
    .enumerate()
    {
        let created = now - day * (10 - i as i32);
        member.projects.insert(
            name.to_string(),
            new_project(
                name,
                "stone",
                project_cr(name, gen_name, "stone", alias, "admin", created),
                created,
                &[],
            ),
        );
    }

    // host / stone / stone-devops
    let created = now - day * 9;
    let mut stone = new_project(
        "stone-devops",
        "stone",
        project_cr(
            "stone-devops",
            "stone-devops",
            "stone",
            Some("Stone DevOps"),
            "tenant",
            created,
        ),
        created,
        &["tenant"],
    );
    let hello_created = now - day * 8;
    stone.pipelines.insert(
        "hello".into(),
        seeded_pipeline(
            pipeline_cr(
                "stone-devops",
                "hello",
                json!({"type": "pipeline", "pipeline": {"name": "hello", "description": "says hello", "jenkinsfile": HELLO_JENKINSFILE, "disable_concurrent": true, "discarder": {"days_to_keep": "7", "num_to_keep": "10"}}}),
                hello_created,
                Some("tenant"),
            ),
            hello_created,
        ),
    );
    let echo_created = now - day * 7;
    let mut echo = seeded_pipeline(
        pipeline_cr(
            "stone-devops",
            "echo-pipeline",
            json!({"type": "multi-branch-pipeline", "multi_branch_pipeline": {
                "name": "echo-pipeline", "source_type": "git", "script_path": "Jenkinsfile",
                "discarder": {"days_to_keep": "7", "num_to_keep": "10"},
                "git_source": {"url": "https://github.com/kubesphere-sigs/demo-echo.git", "credential_id": "github-token", "discover_branches": true, "discover_tags": false}}}),
            echo_created,
            Some("tenant"),
        ),
        echo_created,
    );
    echo.repo = vec![
        RepoBranch {
            name: "main".into(),
            jenkinsfile: Some(ECHO_MAIN_JENKINSFILE.into()),
            commit: "f946a1c5b0a3e4d2c1b0a9f8e7d6c5b4a3f2e1d0".into(),
        },
        RepoBranch {
            name: "feature-branch".into(),
            jenkinsfile: Some(ECHO_FEATURE_JENKINSFILE.into()),
            commit: "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567".into(),
        },
        RepoBranch {
            name: "docs".into(),
            jenkinsfile: None,
            commit: "1122334455667788990011223344556677889900".into(),
        },
        login_branch("5e6f7a8b9c0d1e2f3a4b5c6d7e8f90a1b2c3d4e5".into()),
    ];
    stone.pipelines.insert("echo-pipeline".into(), echo);
    let noisy_created = now - day * 3;
    stone.pipelines.insert(
        "noisy-build".into(),
        seeded_pipeline(
            pipeline_cr(
                "stone-devops",
                "noisy-build",
                json!({"type": "pipeline", "pipeline": {"name": "noisy-build", "description": "writes a 5 MB log", "jenkinsfile": NOISY_JENKINSFILE}}),
                noisy_created,
                Some("tenant"),
            ),
            noisy_created,
        ),
    );
    let oversized_created = now - day * 2;
    stone.pipelines.insert(
        "oversized-log".into(),
        seeded_pipeline(
            pipeline_cr(
                "stone-devops",
                "oversized-log",
                json!({"type": "pipeline", "pipeline": {"name": "oversized-log", "description": "its console log is too large for the run log route; read it per step", "jenkinsfile": oversized_jenkinsfile(relay_limit)}}),
                oversized_created,
                Some("tenant"),
            ),
            oversized_created,
        ),
    );
    let broken_created = now - day * 3;
    stone.pipelines.insert(
        "broken-build".into(),
        seeded_pipeline(
            pipeline_cr(
                "stone-devops",
                "broken-build",
                json!({"type": "pipeline", "pipeline": {"name": "broken-build", "description": "its tests fail", "jenkinsfile": BROKEN_JENKINSFILE}}),
                broken_created,
                Some("tenant"),
            ),
            broken_created,
        ),
    );
    let webhook_created = now - day * 2;
    stone.pipelines.insert(
        "webhook-build".into(),
        seeded_pipeline(
            pipeline_cr(
                "stone-devops",
                "webhook-build",
                json!({"type": "pipeline", "pipeline": {"name": "webhook-build", "description": "also built by a Git push webhook", "jenkinsfile": WEBHOOK_JENKINSFILE}}),
                webhook_created,
                Some("tenant"),
            ),
            webhook_created,
        ),
    );
    let gate_created = now - day * 2;
    stone.pipelines.insert(
        "release-gate".into(),
        seeded_pipeline(
            pipeline_cr(
                "stone-devops",
                "release-gate",
                json!({"type": "pipeline", "pipeline": {"name": "release-gate", "description": "waits for a release approval", "jenkinsfile": RELEASE_GATE_JENKINSFILE}}),
                gate_created,
                Some("tenant"),
            ),
            gate_created,
        ),
    );
    stone.secrets.insert(
        "github-token".into(),
        crate::creds::seeded_secret(
            "stone-devops",
            "github-token",
            "credential.devops.kubesphere.io/basic-auth",
            &[("username", "tenant"), ("password", "ghp_simulatedTokenValue123")],
            now - day * 8,
        ),
    );
    stone.secrets.insert(
        "app-config".into(),
        crate::creds::seeded_secret(
            "stone-devops",
            "app-config",
            "Opaque",
            &[("API_KEY", "sim-api-key-0123456789"), ("LOG_LEVEL", "debug")],
            now - day * 8,
        ),
    );
    stone.secrets.insert(
        "default-token-x7f2k".into(),
        crate::creds::seeded_secret(
            "stone-devops",
            "default-token-x7f2k",
            "kubernetes.io/service-account-token",
            &[
                (
                    "token",
                    "eyJhbGciOiJSUzI1NiIsImtpZCI6InNpbSJ9.c2ltdWxhdGVkLXNlcnZpY2UtYWNjb3VudA.c2ln",
                ),
                ("namespace", "stone-devops"),
                (
                    "ca.crt",
                    "-----BEGIN CERTIFICATE-----\nMIIBsimulated\n-----END CERTIFICATE-----\n",
                ),
            ],
            now - day * 9,
        ),
    );
    stone.gitrepos.insert(
        "demo-echo".into(),
        crate::gitops::seeded_gitrepo(
            "stone-devops",
            "demo-echo",
            "https://github.com/kubesphere-sigs/demo-echo.git",
            now - day * 6,
        ),
    );
    for (name, degraded, age) in [("guestbook", false, Duration::zero()), ("broken-app", true, day)] {
        let app = crate::gitops::seeded_app("stone-devops", name, degraded, now - day * 5, now - age);
        stone.apps.insert(name.into(), app);
    }
    let quality_created = now - day * 2;
    stone.pipelines.insert(
        "quality-check".into(),
        seeded_pipeline(
            pipeline_cr(
                "stone-devops",
                "quality-check",
                json!({"type": "pipeline", "pipeline": {"name": "quality-check", "description": "builds and runs a SonarQube analysis", "jenkinsfile": QUALITY_JENKINSFILE}}),
                quality_created,
                Some("tenant"),
            ),
            quality_created,
        ),
    );
    stone.templates.insert(
        "node-ci".into(),
        crate::templates::seeded_namespace_template("stone-devops", now - day * 6),
    );
    host.projects.insert("stone-devops".into(), stone);

    // host / demo / demo-project
    let created = now - day * 6;
    let mut demo = new_project(
        "demo-project",
        "demo",
        project_cr(
            "demo-project",
            "demo-project",
            "demo",
            Some("Demo Project"),
            "demo-admin",
            created,
        ),
        created,
        &["demo-admin"],
    );
    demo.pipelines.insert(
        "deploy".into(),
        seeded_pipeline(
            pipeline_cr(
                "demo-project",
                "deploy",
                json!({"type": "pipeline", "pipeline": {"name": "deploy", "jenkinsfile": DEMO_JENKINSFILE}}),
                created,
                Some("demo-admin"),
            ),
            created,
        ),
    );
    host.projects.insert("demo-project".into(), demo);

    seed_label_mismatch(&mut users, &mut workspaces, &mut host, now);

    let mut clusters = BTreeMap::new();
    clusters.insert("host".to_string(), host);
    clusters.insert("member-1".to_string(), member);

    let mut st = State {
        users,
        workspaces,
        clusters,
        tokens: HashMap::new(),
        resource_version: 1000,
        queue_id: 10,
        phase,
        branch_refresh: Duration::seconds(10),
        started: now,
        git_remotes: BTreeMap::new(),
    };
    st.git_remotes.insert(
        crate::gitbrowse::remote_key("https://github.com/kubesphere-sigs/demo-echo.git"),
        crate::gitbrowse::demo_echo_remote(now),
    );
    // Pre-existing finished runs.
    let five = Duration::seconds(5);
    let _ = seed_finished_run(
        &mut st,
        "host",
        "stone-devops",
        "hello",
        None,
        now - Duration::hours(2),
        five,
        "tenant",
        None,
    );
    let _ = seed_finished_run(
        &mut st,
        "host",
        "stone-devops",
        "echo-pipeline",
        Some("main"),
        now - Duration::hours(1),
        five,
        "tenant",
        None,
    );
    let _ = seed_finished_run(
        &mut st,
        "host",
        "stone-devops",
        "noisy-build",
        None,
        now - Duration::minutes(40),
        five,
        "tenant",
        None,
    );
    let _ = seed_finished_run(
        &mut st,
        "host",
        "stone-devops",
        "broken-build",
        None,
        now - Duration::minutes(30),
        five,
        "tenant",
        None,
    );
    // webhook-build: run 1 started in the console (a PipelineRun), run 2
    // by the generic webhook trigger: Jenkins has it, no PipelineRun does.
    let _ = seed_finished_run(
        &mut st,
        "host",
        "stone-devops",
        "webhook-build",
        None,
        now - Duration::minutes(50),
        five,
        "tenant",
        None,
    );
    let _ = seed_jenkins_only_build(
        &mut st,
        "host",
        "stone-devops",
        "webhook-build",
        now - Duration::minutes(35),
        five,
        Cause::webhook(),
    );
    // Run 1 of release-gate: Build done, paused at the input step since.
    let _ = seed_finished_run(
        &mut st,
        "host",
        "stone-devops",
        "release-gate",
        None,
        now - Duration::minutes(20),
        five,
        "tenant",
        None,
    );
    let _ = seed_finished_run(
        &mut st,
        "host",
        "stone-devops",
        "oversized-log",
        None,
        now - Duration::minutes(20),
        five,
        "tenant",
        None,
    );
    let _ = seed_finished_run(
        &mut st,
        "host",
        "stone-devops",
        "quality-check",
        None,
        now - Duration::minutes(50),
        five,
        "tenant",
        None,
    );
    let _ = seed_finished_run(
        &mut st,
        "host",
        "demo-project".trim(),
        "deploy",
        None,
        now - Duration::hours(3),
        five,
        "demo-admin",
        None,
    );
    // Index the multi-branch pipeline once, as the controller did at creation.
    if let Some(pl) = st
        .project_mut("host", "stone-devops")
        .and_then(|p| p.pipelines.get_mut("echo-pipeline"))
    {
        let mut q = 100;
        crate::pipelines::index_branches(
            pl,
            "stone-devops",
            "Branch indexing",
            echo_created,
            phase,
            &mut q,
            false,
        );
        crate::pipelines::refresh_branch_annotation(pl, now);
    }
    st
}

// ---------------------------------------------------------------------------
// Demo data: a DevOps project whose namespace lost its workspace label (the
// playbook's "workspace API returns empty" case).

/// Workspace `lab` (cluster `host`), its only member `lab-tenant`, and its
/// only DevOps project `lab-ci` (pipeline `build`). The DevOpsProject CR is
/// labelled `kubesphere.io/workspace=lab`, so `DV3/workspaces/lab/namespaces`
/// selects it (`ks-devops:pkg/models/devops/devops.go:267-305`
/// ListDevOpsProject), but the namespace carries no workspace label, so the
/// per-project RBAC check (`get devopsprojects` in namespace `lab-ci`,
/// resolved through the namespace label) fails for the workspace member:
/// the list answers `{"items":null,"totalItems":0}` and every
/// `namespaces/lab-ci/...` route answers 403. The admin fix is
/// `kubectl label ns lab-ci kubesphere.io/workspace=lab --overwrite`.
fn seed_label_mismatch(
    users: &mut BTreeMap<String, User>,
    workspaces: &mut BTreeMap<String, Workspace>,
    host: &mut ClusterData,
    now: DateTime<Utc>,
) {
    let day = Duration::days(1);
    users.insert(
        "lab-tenant".into(),
        User {
            name: "lab-tenant".into(),
            password: PASSWORD.to_string(),
            email: "lab-tenant@kubesphere.io".into(),
            display: "Lab Tenant".into(),
            workspaces: vec!["lab".into()],
            // A workspace-only member: granted no cluster (U6).
            granted_clusters: Vec::new(),
            created: now - day * 15,
            last_login: None,
        },
    );
    workspaces.insert(
        "lab".into(),
        Workspace {
            name: "lab".into(),
            manager: "admin".into(),
            clusters: vec!["host".into()],
            created: now - day * 15,
        },
    );
    let created = now - day * 14;
    let mut lab = new_project(
        "lab-ci",
        "lab",
        project_cr("lab-ci", "lab-ci", "lab", Some("Lab CI"), "admin", created),
        created,
        &[],
    );
    lab.ns_workspace = None;
    lab.pipelines.insert(
        "build".into(),
        seeded_pipeline(
            pipeline_cr(
                "lab-ci",
                "build",
                json!({"type": "pipeline", "pipeline": {"name": "build", "jenkinsfile": HELLO_JENKINSFILE}}),
                created,
                Some("admin"),
            ),
            created,
        ),
    );
    host.projects.insert("lab-ci".into(), lab);
}
