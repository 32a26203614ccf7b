//! The `docker context` named `berth`, so the unmodified docker CLI reaches the machine.

use std::process::Command;

/// What happened to the docker context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DockerContext {
    /// Created.
    Created,
    /// Already there, endpoint updated.
    Updated,
    /// The docker CLI is not installed.
    NoDockerCli,
    /// The docker CLI failed; the message says why.
    Failed(String),
}

/// Creates or updates the `berth` context to point at `docker_host`. Does not switch to it.
pub fn ensure_docker_context(docker_host: &str) -> DockerContext {
    let exists = match Command::new("docker").args(["context", "inspect", "berth"]).output() {
        Ok(o) => o.status.success(),
        Err(_) => return DockerContext::NoDockerCli,
    };
    let verb = if exists { "update" } else { "create" };
    let endpoint = format!("host={docker_host}");
    let out = Command::new("docker")
        .args(["context", verb, "berth", "--description", "Berth machine", "--docker", &endpoint])
        .output();
    match out {
        Ok(o) if o.status.success() => {
            if exists {
                DockerContext::Updated
            } else {
                DockerContext::Created
            }
        }
        Ok(o) => DockerContext::Failed(String::from_utf8_lossy(&o.stderr).trim().to_string()),
        Err(e) => DockerContext::Failed(e.to_string()),
    }
}
