//! The gRPC `WorkerControl` service: status, force-quit and stop of one worker. Serving it
//! (with reflection and health) is the process's job.

use abaco::pb::{
    ForceQuitRequest, ForceQuitResponse, StopRequest, StopResponse, WorkerStatusRequest,
    WorkerStatusResponse,
    worker_control_server::{WorkerControl, WorkerControlServer},
};
use tonic::{Request, Response, Status};

use crate::handle::WorkerHandle;

/// `WorkerControl` over a worker's handle.
#[derive(Debug, Clone)]
pub struct WorkerControlService {
    handle: WorkerHandle,
}

impl WorkerControlService {
    /// The service over `handle`, unwrapped (for callers that build their own server).
    pub fn new(handle: WorkerHandle) -> Self {
        Self { handle }
    }
}

/// The service, ready to add to a tonic server.
pub fn control_service(handle: WorkerHandle) -> WorkerControlServer<WorkerControlService> {
    WorkerControlServer::new(WorkerControlService::new(handle))
}

#[tonic::async_trait]
impl WorkerControl for WorkerControlService {
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
