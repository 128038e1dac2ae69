//! Smoke tests: a command in a fresh, isolated container of the built image.

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::errors::Error as BollardError;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    AttachContainerOptions, CreateContainerOptions, RemoveContainerOptions, StartContainerOptions,
    WaitContainerOptions,
};
use futures::StreamExt;
use tokio::sync::mpsc;

use super::lines::LineBuffer;
use super::{BuildSettings, Engine, EngineError, send_all};

impl Engine {
    /// Runs `/bin/sh -c command` in a new container of `image` named `container_name`, without
    /// any mount and without network, under the memory and CPU limits of `settings`; streams
    /// its stdout and stderr to `log` line by line and returns its exit code. The container is
    /// removed afterwards, also on error. If this future is dropped (timeout, cancellation) the
    /// container is left running: call [`Engine::remove_container`].
    pub async fn run_command(
        &self,
        image: &str,
        container_name: &str,
        command: &str,
        settings: &BuildSettings,
        log: &mpsc::Sender<String>,
    ) -> Result<i64, EngineError> {
        let docker = self.docker().await?;
        let config = ContainerCreateBody {
            image: Some(image.to_owned()),
            // The entrypoint is replaced too: an image's ENTRYPOINT would otherwise receive the
            // shell command as its arguments.
            entrypoint: Some(vec!["/bin/sh".into(), "-c".into()]),
            cmd: Some(vec![command.to_owned()]),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(false),
            open_stdin: Some(false),
            host_config: Some(HostConfig {
                network_mode: Some("none".into()),
                memory: settings.memory_bytes,
                memory_swap: settings.memory_bytes,
                nano_cpus: settings.cpus.map(|cpus| (cpus * 1e9).round() as i64),
                binds: None,
                mounts: None,
                auto_remove: Some(false),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = CreateContainerOptions {
            name: Some(container_name.to_owned()),
            ..Default::default()
        };
        docker
            .create_container(Some(options), config)
            .await
            .map_err(|e| self.error(e))?;
        let result = self.attach_start_wait(docker, container_name, log).await;
        self.remove_container(container_name).await;
        result
    }

    async fn attach_start_wait(
        &self,
        docker: &Docker,
        name: &str,
        log: &mpsc::Sender<String>,
    ) -> Result<i64, EngineError> {
        // Attached before the start, so that not a byte of output is missed.
        let options = AttachContainerOptions {
            stream: true,
            stdout: true,
            stderr: true,
            logs: true,
            ..Default::default()
        };
        let attached = docker
            .attach_container(name, Some(options))
            .await
            .map_err(|e| self.error(e))?;
        docker
            .start_container(name, None::<StartContainerOptions>)
            .await
            .map_err(|e| self.error(e))?;
        let mut output = attached.output;
        let (mut stdout, mut stderr) = (LineBuffer::default(), LineBuffer::default());
        while let Some(chunk) = output.next().await {
            match chunk.map_err(|e| self.error(e))? {
                LogOutput::StdErr { message } => send_all(log, stderr.push(&message)).await,
                LogOutput::StdOut { message } | LogOutput::Console { message } => {
                    send_all(log, stdout.push(&message)).await
                }
                LogOutput::StdIn { .. } => {}
            }
        }
        send_all(log, stdout.flush().into_iter().chain(stderr.flush())).await;
        let mut wait = docker.wait_container(name, None::<WaitContainerOptions>);
        match wait.next().await {
            Some(Ok(exit)) => Ok(exit.status_code),
            // bollard reports a non-zero exit as an error; for a smoke test it is a result.
            Some(Err(BollardError::DockerContainerWaitError { code, .. })) => Ok(code),
            Some(Err(e)) => Err(self.error(e)),
            None => Err(EngineError::Engine(format!(
                "the engine did not report how container {name} exited"
            ))),
        }
    }

    /// Removes a container and its anonymous volumes, stopping it first if needed. A container
    /// that does not exist (any more) is not an error; other failures are only logged, because
    /// this runs in cleanup paths that must not mask the original outcome.
    pub async fn remove_container(&self, name: &str) {
        let options = RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        let result = match self.docker().await {
            Ok(docker) => docker
                .remove_container(name, Some(options))
                .await
                .map_err(|e| self.error_ignoring_gone(e)),
            Err(e) => Err(Some(e)),
        };
        if let Err(Some(e)) = result {
            tracing::warn!(container = name, error = %e, "could not remove a container");
        }
    }
}
