//! The gRPC `WorkerControl` service: status, force-quit, stop, and the output of the current
//! run as it comes. Serving it (with reflection and health) is the process's job.

use std::pin::Pin;

use abaco::pb::{
    FollowLogsRequest, ForceQuitRequest, ForceQuitResponse, LogChunk, StopRequest, StopResponse,
    WorkerStatusRequest, WorkerStatusResponse,
    worker_control_server::{WorkerControl, WorkerControlServer},
};
use futures::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use crate::{container::DockerRunner, handle::WorkerHandle};

/// `WorkerControl` over a worker's handle and its Docker engine.
#[derive(Debug, Clone)]
pub struct WorkerControlService {
    handle: WorkerHandle,
    runner: DockerRunner,
    log_cap: usize,
}

impl WorkerControlService {
    /// The service over `handle`, unwrapped (for callers that build their own server); a
    /// followed run's output comes from `runner`, at most `log_cap` bytes.
    pub fn new(handle: WorkerHandle, runner: DockerRunner, log_cap: usize) -> Self {
        Self {
            handle,
            runner,
            log_cap,
        }
    }
}

/// The service, ready to add to a tonic server.
pub fn control_service(
    handle: WorkerHandle,
    runner: DockerRunner,
    log_cap: usize,
) -> WorkerControlServer<WorkerControlService> {
    WorkerControlServer::new(WorkerControlService::new(handle, runner, log_cap))
}

#[tonic::async_trait]
impl WorkerControl for WorkerControlService {
    type FollowLogsStream = Pin<Box<dyn Stream<Item = Result<LogChunk, Status>> + Send>>;

    async fn follow_logs(
        &self,
        request: Request<FollowLogsRequest>,
    ) -> Result<Response<Self::FollowLogsStream>, Status> {
        let execution_id = request.into_inner().execution_id;
        let not_here = || {
            Status::not_found(format!(
                "execution {execution_id} is not running on worker {}",
                self.handle.worker_id()
            ))
        };
        if self.handle.current_execution().as_deref() != Some(execution_id.as_str()) {
            return Err(not_here());
        }
        let stream = self
            .runner
            .follow_logs(&execution_id, self.log_cap)
            .await
            .map_err(|error| Status::unavailable(error.to_string()))?
            .ok_or_else(not_here)?;
        Ok(Response::new(
            stream
                .map(|text| {
                    text.map(|text| LogChunk {
                        text,
                        ..LogChunk::default()
                    })
                    .map_err(Status::from)
                })
                .boxed(),
        ))
    }

    async fn status(
        &self,
        _request: Request<WorkerStatusRequest>,
    ) -> Result<Response<WorkerStatusResponse>, Status> {
        let worker = self.handle.worker_record().await?;
        Ok(Response::new(WorkerStatusResponse {
            worker: Some(worker),
            execution_id: self.handle.current_execution().unwrap_or_default(),
        }))
    }

    /// Answers at once; the run loop records the execution once the container is gone.
    async fn force_quit(
        &self,
        request: Request<ForceQuitRequest>,
    ) -> Result<Response<ForceQuitResponse>, Status> {
        let execution_id = request.into_inner().execution_id;
        if !self.handle.force_quit(&execution_id) {
            return Err(Status::not_found(format!(
                "execution {execution_id} is not running on worker {}",
                self.handle.worker_id()
            )));
        }
        Ok(Response::new(ForceQuitResponse {
            execution_id,
            stopped: true,
        }))
    }

    /// Answers at once; the worker stops taking messages and exits after (graceful) or
    /// instead of finishing its current run.
    async fn stop(&self, request: Request<StopRequest>) -> Result<Response<StopResponse>, Status> {
        self.handle.stop(request.into_inner().graceful);
        Ok(Response::new(StopResponse {
            worker_id: self.handle.worker_id().to_string(),
        }))
    }
}
