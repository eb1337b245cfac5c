//! The tools, one file each: name, description, input/output types,
//! handler and tests together.

use super::registry::ToolEntry;

pub mod approve_input;
pub mod create_application;
pub mod create_credential;
pub mod create_devops_project;
pub mod create_multibranch_pipeline;
pub mod create_pipeline;
pub mod delete_application;
pub mod delete_credential;
pub mod delete_devops_project;
pub mod delete_git_repository;
pub mod delete_pipeline;
pub mod diagnose_access;
pub mod diagnose_run;
pub mod download_artifact;
pub mod get_application_status;
pub mod get_git_repository;
pub mod get_pipeline;
pub mod get_run;
pub mod get_run_log;
pub mod get_scan_log;
pub mod git_repositories;
pub mod list_applications;
pub mod list_artifacts;
pub mod list_branches;
pub mod list_credentials;
pub mod list_devops_projects;
pub mod list_pipelines;
pub mod list_runs;
pub mod list_workspaces;
pub mod read_repository_file;
pub mod resolve_devops_project;
pub mod scan_repository;
pub mod stop_run;
pub mod sync_application;
pub mod trigger_run;
pub mod update_application;
pub mod wait_for_run;
pub mod whoami;

/// Every tool of the binary, in catalog order.
pub fn all() -> Vec<ToolEntry> {
    vec![
        ToolEntry::of::<whoami::Whoami>(),
        ToolEntry::of::<list_workspaces::ListWorkspaces>(),
        ToolEntry::of::<list_devops_projects::ListDevopsProjects>(),
        ToolEntry::of::<resolve_devops_project::ResolveDevopsProject>(),
        ToolEntry::of::<list_pipelines::ListPipelines>(),
        ToolEntry::of::<get_pipeline::GetPipeline>(),
        ToolEntry::of::<create_pipeline::CreatePipeline>(),
        ToolEntry::of::<create_multibranch_pipeline::CreateMultibranchPipeline>(),
        ToolEntry::of::<delete_pipeline::DeletePipeline>(),
        ToolEntry::of::<list_branches::ListBranches>(),
        ToolEntry::of::<scan_repository::ScanRepository>(),
        ToolEntry::of::<get_scan_log::GetScanLog>(),
        ToolEntry::of::<trigger_run::TriggerRun>(),
        ToolEntry::of::<list_runs::ListRuns>(),
        ToolEntry::of::<get_run::GetRun>(),
        ToolEntry::of::<wait_for_run::WaitForRun>(),
        ToolEntry::of::<stop_run::StopRun>(),
        ToolEntry::of::<approve_input::ApproveInput>(),
        ToolEntry::of::<get_run_log::GetRunLog>(),
        ToolEntry::of::<diagnose_run::DiagnoseRun>(),
        ToolEntry::of::<list_artifacts::ListArtifacts>(),
        ToolEntry::of::<download_artifact::DownloadArtifact>(),
        ToolEntry::of::<list_credentials::ListCredentials>(),
        ToolEntry::of::<create_credential::CreateCredential>(),
        ToolEntry::of::<delete_credential::DeleteCredential>(),
        ToolEntry::of::<list_applications::ListApplications>(),
        ToolEntry::of::<get_application_status::GetApplicationStatus>(),
        ToolEntry::of::<create_application::CreateApplication>(),
        ToolEntry::of::<sync_application::SyncApplication>(),
        ToolEntry::of::<update_application::UpdateApplication>(),
        ToolEntry::of::<delete_application::DeleteApplication>(),
        ToolEntry::of::<git_repositories::CreateGitRepository>(),
        ToolEntry::of::<git_repositories::ListGitRepositories>(),
        ToolEntry::of::<get_git_repository::GetGitRepository>(),
        ToolEntry::of::<read_repository_file::ReadRepositoryFile>(),
        ToolEntry::of::<delete_git_repository::DeleteGitRepository>(),
        ToolEntry::of::<create_devops_project::CreateDevopsProject>(),
        ToolEntry::of::<delete_devops_project::DeleteDevopsProject>(),
        ToolEntry::of::<diagnose_access::DiagnoseAccess>(),
    ]
}
