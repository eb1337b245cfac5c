//! `ks-sim`: a stateful, simulated KubeSphere (ks-apiserver + ks-devops +
//! Jenkins + Argo CD) for testing the ks-devops-mcp HTTP client over real
//! HTTP. It speaks upstream JSON (built with `serde_json::Value`) following
//! `kubesphere-devops-api.md`.
//!
//! # Demo data
//!
//! * Users (password `P@88w0rd`): `tenant` (member of workspace `stone`
//!   only, granted no cluster: `TN/clusters` lists nothing for it, and
//!   `?roleBindingExists=true` lists `host`, where it has a RoleBinding in
//!   `stone-devops`) and `demo-admin` (member of workspace `demo` only,
//!   granted `host`). A workspace's manager is its admin (`tenant` for
//!   `stone`, `demo-admin` for `demo`, `admin` for `lab`): only admins
//!   create DevOps projects in it; a project's creator or its workspace's
//!   admin deletes it.
//! * OAuth client `kubesphere` / `kubesphere` (trusted): password and
//!   refresh_token grants, form-encoded only.
//! * Workspaces `stone` (clusters `host`, `member-1`) and `demo` (`host`).
//! * Cluster `member-1`, workspace `stone`: DevOps projects
//!   `devopstestc2nj7` and `devopstestxyz12` (generateName `devopstest`) and
//!   `my-devopstest` (generateName `my-devopstest`), created by `admin`, so
//!   `tenant` reaches them through the workspace only. No pipelines.
//! * The simulated Jenkins has one GitLab server, named `default`.
//! * Cluster `host`, workspace `stone`: project `stone-devops` with
//!   - pipeline `hello` (type `pipeline`, Jenkinsfile echoes `hello`), run 1
//!     finished `SUCCESS` (PipelineRun `hello-xxxxx`);
//!   - multi-branch pipeline `echo-pipeline` (git
//!     `https://github.com/kubesphere-sigs/demo-echo.git`, script_path
//!     `Jenkinsfile`); the repo has branches `main`, `feature-branch` and
//!     `feature/login` (with a Jenkinsfile; `feature/login` archives
//!     `target/login.jar`) and `docs` (without); the `jenkins-branches`
//!     annotation holds `main`, `feature-branch` and `feature%2Flogin`
//!     (Jenkins job names, §16 U3); `main` run 1 finished `SUCCESS` and
//!     archived `target/demo-echo.jar`;
//!   - pipeline `broken-build` (type `pipeline`): stages Checkout, Build
//!     (archives `target/build-report.txt`), Test (an `sh` step prints
//!     `[ERROR] Tests run: 12, Failures: 2, ...` and exits 1), Deploy (never
//!     runs); run 1 finished `FAILURE`;
//!   - pipeline `noisy-build`: a ~5 MB generated console log (`simBigLog`),
//!     then archives `dist/noisy-report.txt`; run 1 finished `SUCCESS`;
//!   - pipeline `oversized-log`: stages Build, Test, Report, each one
//!     `simBigLog` step of 40% of [`SimOptions::log_relay_limit`], then
//!     Report echoes `report written`; run 1 finished `SUCCESS`. Its run
//!     log is too large for the run log route (§16 U8), its step logs are
//!     not;
//!   - pipeline `release-gate`: stages Build, Approve (`input message:
//!     'Release 1.4.2 to production?'`, no parameters, no submitter),
//!     Deploy; run 1 is paused at the input (state `PAUSED`, phase
//!     `Pending`) until someone answers it;
//!   - credentials: `github-token` (basic-auth), plus the non-credential
//!     secrets `app-config` (Opaque) and `default-token-x7f2k`
//!     (service-account token) that are returned by GET-by-name only;
//!   - GitRepository `demo-echo` (credential `github-token`), browsable
//!     (`gitbrowse.rs`): branches `main`, `feature-branch`, `docs`,
//!     `feature/login` and tag `v1.0.0`, files `Jenkinsfile`, `README.md`,
//!     `main.go`, `deploy/k8s/deployment.yaml`, `assets/logo.png`
//!     (binary), `testdata/large.txt` (100 KB), `docs/über.md`; any other
//!     repository URL has `main` and `feature/login` with a Jenkinsfile;
//!   - Applications `guestbook` (OutOfSync /
//!     Progressing, becomes Synced / Healthy after one `run_phase`) and
//!     `broken-app` (Degraded, failed operation with a message).
//! * Cluster `host`, workspace `demo`: project `demo-project` with pipeline
//!   `deploy` (run 1 SUCCESS). Forbidden to `tenant`, visible to `demo-admin`.
//!
//! * A new multi-branch pipeline's repository (any URL but `demo-echo`)
//!   has branches `main` and `feature/login`.
//!
//! # Routing
//!
//! Like ks-apiserver and go-restful, the whole path is decoded once, then
//! split on `/` (§16 U3): `%2F` inside a segment makes two segments, a
//! branch travels as its job name `feature%2Flogin` encoded once more
//! (`feature%252Flogin`), a path with `.`, `..` or empty segments gets the
//! Go ServeMux's 301 to the cleaned path (after authorization), a
//! malformed escape gets Go's `400 Bad Request`.
//!
//! # Runs and timing
//!
//! A PipelineRun created through v1alpha3 is unsynced for one `run_phase`
//! (no Jenkins id annotation, empty phase), then QUEUED for one phase, then
//! RUNNING for one phase (split evenly across the steps), then FINISHED.
//! Builds triggered through v1alpha2 start QUEUED at once. The Jenkinsfile
//! is interpreted loosely: `stage('X')` blocks containing `echo`, `sh`,
//! `error(...)`, `input(...)`, `archiveArtifacts` steps; `sh 'exit 1'` /
//! `sh 'false'` / `error(...)` fail the build (an `sh` step logs each
//! command of its script as `+ cmd` and what `echo` prints); `input` pauses it until
//! submitted; `simBigLog(N)` prints N generated bytes while it runs.
//! [`Sim::add_big_log_run`] creates a finished run with an N-byte log that is
//! generated on the fly while streaming.
//!
//! A new Pipeline has no sync annotation for one `run_phase`, then
//! `syncstatus=successful`. The `jenkins-branches` annotation (the
//! v1alpha3 branch list) is copied from Jenkins every
//! [`SimOptions::branch_refresh`] (10 s), so it lags a scan or a build;
//! the v1alpha2 branch list is live.
//!
//! # Logs
//!
//! The v1alpha2 log routes follow upstream's rules (`logs.rs`): raw offsets
//! counting hidden console notes, CRLF text, at most 10,000 lines per answer
//! while a log is written, the last 150 KB without `start`, Blue Ocean's
//! appended block error on failed steps, `X-` headers only on the step
//! route and only for answers that fit the response buffer, the relay limit
//! of ks-devops, and go-restful's exact Accept match.

// Handlers return `Result<_, Response>`; boxing every early answer would not help readability.
#![allow(clippy::result_large_err)]

mod auth;
mod authoring;
mod ci;
mod creds;
mod gitbrowse;
mod gitops;
mod jenkins;
mod logs;
mod pipelines;
mod projects;
mod quality;
mod routes;
mod runs;
mod state;
mod templates;
mod util;

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Request, State as AxState};
use axum::response::Response;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Options of the simulated server.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// Access token lifetime (`expires_in`), default 7200 s.
    pub token_ttl: Duration,
    /// Refresh token lifetime, default 9000 s.
    pub refresh_ttl: Duration,
    /// How long a run stays in each of QUEUED and RUNNING (and unsynced
    /// before that for v1alpha3 runs); default 1 s.
    pub run_phase: Duration,
    /// §3.2 ambiguity: `GET TN/workspaces/{other}` answers 403 `Status`
    /// (false, default) or 200 (true).
    pub foreign_workspace_get_allowed: bool,
    /// API groups whose extension is not installed (e.g.
    /// `devops.kubesphere.io`, `gitops.kubesphere.io`): every `/kapis/{group}/...`
    /// route of them answers go-restful's 404, as ks-apiserver does when no
    /// APIService proxies the group. Default: none (everything installed).
    pub uninstalled_groups: Vec<String>,
    /// How often the pipeline metadata controller copies Jenkins' branches
    /// into the `jenkins-branches` annotation, which the v1alpha3 branch
    /// list reads (U10); upstream requeues every 10 s (default).
    pub branch_refresh: Duration,
    /// §16 U8: ks-devops reads a whole Jenkins log answer into memory with a
    /// 30 s client timeout (`pkg/client/devops/jenkins/pure_request.go:48`)
    /// and answers 500 when that fails. A run or step log answer with more
    /// raw bytes than this fails that way. Default 64 MiB (upstream's limit
    /// is time, not size: hundreds of MB at best).
    pub log_relay_limit: u64,
    /// How long a log answer over [`SimOptions::log_relay_limit`] takes to
    /// fail. Upstream waits the full 30 s; default 10 s so the sandbox stays
    /// usable. Tests set it near zero.
    pub log_relay_delay: Duration,
    /// Blue Ocean adds `X-Text-Size`/`X-More-Data` after writing the log
    /// text (`LogResource.writeLogs`); once the text overflowed the servlet
    /// response buffer (Jetty: 32 KiB) the response is committed and the
    /// headers are lost. A step log answer larger than this has no `X-`
    /// headers. Default 32 KiB.
    pub log_header_buffer: u64,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            token_ttl: Duration::from_secs(7200),
            refresh_ttl: Duration::from_secs(9000),
            run_phase: Duration::from_secs(1),
            foreign_workspace_get_allowed: false,
            uninstalled_groups: Vec::new(),
            branch_refresh: Duration::from_secs(10),
            log_relay_limit: 64 << 20,
            log_relay_delay: Duration::from_secs(10),
            log_header_buffer: 32 << 10,
        }
    }
}

/// One request as received (path is the raw path incl. any cluster prefix).
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
}

/// A fault injected by a test. Matches requests whose method equals
/// `method` (if set, case-insensitive) and whose raw path contains
/// `path_contains`; applies to `times` matching requests.
#[derive(Clone, Debug)]
pub struct Fault {
    pub method: Option<String>,
    pub path_contains: String,
    pub kind: FaultKind,
    pub times: u32,
}

#[derive(Clone, Debug)]
pub enum FaultKind {
    /// Answer this instead of handling the request.
    Status {
        code: u16,
        body: String,
        content_type: String,
    },
    /// Delay, then handle normally.
    Latency(Duration),
    /// 200 with a truncated JSON body.
    Garbage,
    /// Handle the request (state changes), then drop the connection
    /// without writing a response.
    DropAfterProcessing,
    /// Handle the request (state changes), send the status, the headers and
    /// the first half of the body, then break the connection (a reset or
    /// a proxy timing out mid-answer).
    BreakMidBody,
    /// Never answer (the request is not handled). With `path_contains:
    /// "/nodesdetail"` this is upstream's `nodesdetail` hang (U7): when one
    /// stage's step fetch fails, `GetNodesDetail` returns from the goroutine
    /// before `wg.Done()` and `wg.Wait()` blocks forever.
    /// upstream: ks-devops pkg/models/devops/devops.go:658-673 (plain
    /// pipeline), :831-845 (branch form). The input submit route reads the
    /// nodes the same way first (v1alpha2/devops.go:384-433), so
    /// `"/steps/"` with method POST reproduces that hang too.
    Hang,
}

/// Identifiers of a run made by [`Sim::add_big_log_run`].
#[derive(Clone, Debug)]
pub struct SeededRun {
    /// v1alpha3 PipelineRun name.
    pub pipelinerun: String,
    /// Jenkins build number (v1alpha2 run id).
    pub run_id: String,
}

pub(crate) struct Shared {
    pub opts: SimOptions,
    pub state: Mutex<state::State>,
    faults: Mutex<Vec<Fault>>,
    log: Mutex<Vec<RecordedRequest>>,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, state::State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
    pub(crate) fn phase(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.opts.run_phase).unwrap_or(chrono::Duration::seconds(1))
    }
}

/// A running simulated KubeSphere.
pub struct Sim {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Sim {
    /// Binds `listen` (use port 0 for a free port), spawns the server on the
    /// current tokio runtime and returns once it is listening.
    pub async fn start(opts: SimOptions, listen: SocketAddr) -> io::Result<Sim> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let phase = chrono::Duration::from_std(opts.run_phase).unwrap_or(chrono::Duration::seconds(1));
        let mut st = state::seed(phase, opts.log_relay_limit);
        st.branch_refresh = chrono::Duration::from_std(opts.branch_refresh).unwrap_or(chrono::Duration::seconds(10));
        let shared = Arc::new(Shared {
            opts,
            state: Mutex::new(st),
            faults: Mutex::new(Vec::new()),
            log: Mutex::new(Vec::new()),
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let l = KillableListener { inner: listener };
            let res = axum::serve(l, app.into_make_service_with_connect_info::<ConnKill>())
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
            if let Err(e) = res {
                tracing::warn!(error = %e, "ks-sim server stopped with an error");
            }
        });
        tracing::debug!(%addr, "ks-sim listening");
        Ok(Sim {
            addr,
            shared,
            stop: Some(tx),
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn inject(&self, fault: Fault) {
        self.shared.faults.lock().unwrap_or_else(|e| e.into_inner()).push(fault);
    }

    pub fn clear_faults(&self) {
        self.shared.faults.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        self.shared.log.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Invalidates every issued access token (next use: 401). Refresh tokens stay valid.
    pub fn revoke_tokens(&self) {
        let mut st = self.shared.lock();
        for t in st.tokens.values_mut() {
            if !t.refresh {
                t.revoked = true;
            }
        }
    }

    /// Issues an access token for a demo user without going through OAuth.
    pub fn issue_token(&self, user: &str) -> Option<String> {
        let mut st = self.shared.lock();
        if !st.users.contains_key(user) {
            return None;
        }
        let (access, _) = auth::issue_pair(&mut st, &self.shared.opts, user);
        Some(access)
    }

    /// Adds a branch to the simulated git repository of a multi-branch
    /// pipeline (`jenkinsfile: None` = branch without a Jenkinsfile). It
    /// appears in the branch list after the next scan. Replaces the
    /// Jenkinsfile if the branch exists. Returns false if the pipeline is
    /// missing or not multi-branch.
    pub fn add_repo_branch(
        &self,
        cluster: &str,
        namespace: &str,
        pipeline: &str,
        branch: &str,
        jenkinsfile: Option<&str>,
    ) -> bool {
        let mut st = self.shared.lock();
        let Some(pl) = st
            .project_mut(cluster, namespace)
            .and_then(|p| p.pipelines.get_mut(pipeline))
        else {
            return false;
        };
        if !pl.is_multi() {
            return false;
        }
        let commit = format!(
            "{:016x}{:016x}{:08x}",
            util::fnv(branch),
            util::fnv(&util::random_hex(8)),
            7u32
        );
        match pl.repo.iter_mut().find(|r| r.name == branch) {
            Some(r) => {
                r.jenkinsfile = jenkinsfile.map(str::to_string);
                r.commit = commit;
            }
            None => pl.repo.push(state::RepoBranch {
                name: branch.to_string(),
                jenkinsfile: jenkinsfile.map(str::to_string),
                commit,
            }),
        }
        true
    }

    /// Creates an already finished (SUCCESS) run of `pipeline` (branch
    /// `branch` for multi-branch) whose console log is about `bytes` bytes of
    /// generated text. The log is generated while streaming, never stored.
    pub fn add_big_log_run(
        &self,
        cluster: &str,
        namespace: &str,
        pipeline: &str,
        branch: Option<&str>,
        bytes: u64,
    ) -> Option<SeededRun> {
        self.add_split_log_run(cluster, namespace, pipeline, branch, bytes, 1)
    }

    /// Like [`Sim::add_big_log_run`], the `bytes` split evenly over `steps`
    /// stages of one step each (`Generate 1`, ...): a log that can be too
    /// large for the run log route (§16 U8) while each step log is not.
    pub fn add_split_log_run(
        &self,
        cluster: &str,
        namespace: &str,
        pipeline: &str,
        branch: Option<&str>,
        bytes: u64,
        steps: u32,
    ) -> Option<SeededRun> {
        let mut st = self.shared.lock();
        let now = chrono::Utc::now();
        let steps = u64::from(steps.max(1));
        let stages: String = (0..steps)
            .map(|i| {
                let part = bytes / steps + u64::from(i < bytes % steps);
                format!(
                    "    stage('Generate {}') {{\n      steps {{\n        simBigLog({part})\n      }}\n    }}\n",
                    i + 1
                )
            })
            .collect();
        let script = format!("pipeline {{\n  agent any\n  stages {{\n{stages}  }}\n}}\n");
        let phase = chrono::Duration::seconds(2);
        let (name, id) = state::seed_finished_run(
            &mut st,
            cluster,
            namespace,
            pipeline,
            branch,
            now - phase - phase - chrono::Duration::seconds(1),
            phase,
            "tenant",
            Some(script),
        )?;
        Some(SeededRun {
            pipelinerun: name,
            run_id: id.to_string(),
        })
    }

    /// Adds a plain pipeline (type `pipeline`, already synced) with this
    /// Jenkinsfile to an existing project. Returns false if the project is
    /// missing or the name is taken.
    pub fn add_pipeline(&self, cluster: &str, namespace: &str, name: &str, jenkinsfile: &str) -> bool {
        let mut st = self.shared.lock();
        let now = chrono::Utc::now();
        let Some(p) = st.project_mut(cluster, namespace) else {
            return false;
        };
        if p.pipelines.contains_key(name) {
            return false;
        }
        let cr = state::pipeline_cr(
            namespace,
            name,
            serde_json::json!({"type": "pipeline", "pipeline": {"name": name, "jenkinsfile": jenkinsfile}}),
            now,
            Some("tenant"),
        );
        p.pipelines.insert(
            name.to_string(),
            state::seeded_pipeline(cr, now - chrono::Duration::seconds(1)),
        );
        true
    }

    /// Sets the `kubesphere.io/workspace` label of a project's *namespace*
    /// (`None` removes it). KubeSphere RBAC resolves workspace roles through
    /// it, so an unlabelled namespace hides the project from plain workspace
    /// members (U17). Returns false if the project is missing.
    pub fn set_namespace_workspace(&self, cluster: &str, namespace: &str, workspace: Option<&str>) -> bool {
        let mut st = self.shared.lock();
        match st.project_mut(cluster, namespace) {
            Some(p) => {
                p.ns_workspace = workspace.map(str::to_string);
                true
            }
            None => false,
        }
    }

    /// Replaces a user's `iam.kubesphere.io/granted-clusters` (U6). Returns
    /// false if the user is unknown.
    pub fn set_granted_clusters(&self, user: &str, clusters: &[&str]) -> bool {
        let mut st = self.shared.lock();
        match st.users.get_mut(user) {
            Some(u) => {
                u.granted_clusters = clusters.iter().map(|c| c.to_string()).collect();
                true
            }
            None => false,
        }
    }

    /// Names of the PipelineRun CRs in a namespace.
    pub fn pipelinerun_names(&self, cluster: &str, namespace: &str) -> Vec<String> {
        let st = self.shared.lock();
        st.project(cluster, namespace)
            .map(|p| p.runs.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Number of Jenkins builds of a pipeline (all branches).
    pub fn build_count(&self, cluster: &str, namespace: &str, pipeline: &str) -> usize {
        let st = self.shared.lock();
        st.project(cluster, namespace)
            .and_then(|p| p.pipelines.get(pipeline))
            .map(|pl| pl.jobs.values().map(|j| j.builds.len()).sum())
            .unwrap_or(0)
    }

    /// Names of the pipelines in a namespace.
    pub fn pipeline_names(&self, cluster: &str, namespace: &str) -> Vec<String> {
        let st = self.shared.lock();
        st.project(cluster, namespace)
            .map(|p| p.pipelines.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Names of the secrets (all types) in a namespace.
    pub fn secret_names(&self, cluster: &str, namespace: &str) -> Vec<String> {
        let st = self.shared.lock();
        st.project(cluster, namespace)
            .map(|p| p.secrets.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Full names of the DevOps projects (on any cluster) that `text` names
    /// other than by their full name: their short name (`generateName`) or
    /// display name (`kubesphere.io/alias-name` annotation).
    pub fn projects_known_as(&self, text: &str) -> Vec<String> {
        let st = self.shared.lock();
        st.clusters
            .values()
            .flat_map(|c| c.projects.values())
            .filter(|p| {
                let meta = &p.cr["metadata"];
                meta["annotations"]["kubesphere.io/alias-name"].as_str() == Some(text)
                    || meta["generateName"].as_str() == Some(text)
            })
            .map(|p| p.name.clone())
            .collect()
    }

    /// Names of the DevOps projects (namespaces) on a cluster.
    pub fn project_names(&self, cluster: &str) -> Vec<String> {
        let st = self.shared.lock();
        st.clusters
            .get(cluster)
            .map(|c| c.projects.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Stops the server (waits at most 2 s for open connections).
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let abort = self.task.abort_handle();
        if tokio::time::timeout(Duration::from_secs(2), &mut self.task)
            .await
            .is_err()
        {
            abort.abort();
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

// ---------------------------------------------------------------------------
// Connection plumbing: a listener whose connections can be killed from a
// handler (for FaultKind::DropAfterProcessing).

struct KillableListener {
    inner: TcpListener,
}

struct KillableStream {
    inner: TcpStream,
    kill: Arc<AtomicBool>,
}

#[derive(Clone)]
struct ConnKill(Arc<AtomicBool>);

impl Listener for KillableListener {
    type Io = KillableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((s, a)) => {
                    let _ = s.set_nodelay(true);
                    return (
                        KillableStream {
                            inner: s,
                            kill: Arc::new(AtomicBool::new(false)),
                        },
                        a,
                    );
                }
                Err(e) => {
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

impl Connected<IncomingStream<'_, KillableListener>> for ConnKill {
    fn connect_info(stream: IncomingStream<'_, KillableListener>) -> Self {
        ConnKill(stream.io().kill.clone())
    }
}

impl AsyncRead for KillableStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        if me.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        Pin::new(&mut me.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        if me.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        Pin::new(&mut me.inner).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        if me.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        Pin::new(&mut me.inner).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Maximum accepted request body.
const BODY_LIMIT: usize = 64 * 1024 * 1024;

async fn handle(
    AxState(shared): AxState<Arc<Shared>>,
    ConnectInfo(kill): ConnectInfo<ConnKill>,
    req: Request,
) -> Response {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    // The request log, also on stderr for `ks-devops-mcp sandbox --log ks_sim=debug`.
    tracing::debug!(target: "ks_sim::requests", method = %method, path = %path, query = query.as_deref().unwrap_or(""), "request");
    shared
        .log
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(RecordedRequest {
            method: method.clone(),
            path: path.clone(),
            query: query.clone(),
        });
    // Faults are looked up before routing.
    let fault = {
        let mut faults = shared.faults.lock().unwrap_or_else(|e| e.into_inner());
        let pos = faults.iter().position(|f| {
            f.times > 0
                && f.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(&method))
                && path.contains(&f.path_contains)
        });
        match pos {
            Some(i) => {
                let f = faults[i].kind.clone();
                faults[i].times -= 1;
                if faults[i].times == 0 {
                    faults.remove(i);
                }
                Some(f)
            }
            None => None,
        }
    };
    let mut drop_after = false;
    let mut break_body = false;
    match fault {
        Some(FaultKind::Status {
            code,
            body,
            content_type,
        }) => {
            return util::resp(code, &content_type, body);
        }
        Some(FaultKind::Latency(d)) => tokio::time::sleep(d).await,
        Some(FaultKind::Garbage) => {
            return util::resp(
                200,
                "application/json",
                "{\"items\":[{\"kind\":\"DevOpsProject\",\"metadata\":{\"name\":\"trunc",
            );
        }
        Some(FaultKind::DropAfterProcessing) => drop_after = true,
        Some(FaultKind::BreakMidBody) => break_body = true,
        Some(FaultKind::Hang) => {
            std::future::pending::<()>().await;
        }
        None => {}
    }
    let headers = req.headers().clone();
    let body = match axum::body::to_bytes(req.into_body(), BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => return util::text_err(400, "request body too large or unreadable"),
    };
    let r = routes::Req {
        method,
        path,
        query,
        headers,
        body,
    };
    let mut resp = routes::route(&shared, &r);
    // A handler asked for a delay (slow upstream failure): wait without
    // holding the state lock.
    if let Some(logs::DelayBy(d)) = resp.extensions_mut().remove::<logs::DelayBy>() {
        tokio::time::sleep(d).await;
    }
    if break_body {
        let (mut parts, body) = resp.into_parts();
        let bytes = axum::body::to_bytes(body, BODY_LIMIT).await.unwrap_or_default();
        let half = bytes.slice(..bytes.len() / 2);
        parts.headers.remove(axum::http::header::CONTENT_LENGTH);
        // The head and the first half go out first; the break follows.
        let chunks = futures::stream::unfold(Some(half), |state| async move {
            match state {
                Some(half) => Some((Ok(half), None)),
                None => {
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    Some((
                        Err(io::Error::new(io::ErrorKind::ConnectionReset, "fault: body broken off")),
                        None,
                    ))
                }
            }
        });
        return Response::from_parts(parts, Body::from_stream(chunks));
    }
    if drop_after {
        kill.0.store(true, Ordering::SeqCst);
        let mut r = Response::new(Body::empty());
        *r.status_mut() = axum::http::StatusCode::OK;
        return r;
    }
    resp
}
