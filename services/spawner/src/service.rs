//! The `abaco.v1.Spawner` gRPC service: start, stop and report on this host's workers.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use abaco::{
    AbacoError, Result,
    error::respond,
    pb::{self, spawner_server::Spawner},
    records::{Records, child_key},
    secret::Secret,
    settings::ImagePull,
    store::Table,
};
use abaco_auth::grpc::InternalOnly;
use tonic::{Request, Response, Status};

use crate::{channels::Channels, launcher::Launcher};

/// A spawner: this host's launcher behind gRPC.
#[derive(Debug, Clone)]
pub struct SpawnerService {
    records: Records,
    launcher: Arc<dyn Launcher>,
    info: pb::SpawnerInfo,
    channels: Channels,
    image_pull: ImagePull,
    /// Actor revisions a worker of this host has been asked to pull the image for.
    pulled: Arc<Mutex<HashSet<(String, u32)>>>,
}

impl SpawnerService {
    /// A spawner described by `info`, launching with `launcher`; its calls to workers carry
    /// `internal_token`.
    pub fn new(
        records: Records,
        launcher: Arc<dyn Launcher>,
        info: pb::SpawnerInfo,
        internal_token: Option<Secret>,
    ) -> Self {
        Self {
            records,
            launcher,
            info,
            channels: Channels::new(internal_token),
            image_pull: ImagePull::default(),
            pulled: Arc::default(),
        }
    }

    /// Gives up on a control call to a worker after `timeout`.
    #[must_use]
    pub fn with_call_timeout(mut self, timeout: Duration) -> Self {
        self.channels = self.channels.with_call_timeout(timeout);
        self
    }

    /// Pulls images as `policy` says.
    pub fn with_image_pull(mut self, policy: ImagePull) -> Self {
        self.image_pull = policy;
        self
    }

    /// Whether the worker about to start for `actor_id` at `revision` should pull the image
    /// even if the host has it: the first one of each revision here, under `new-revision`.
    fn first_of_revision(&self, actor_id: &str, revision: u32) -> bool {
        self.image_pull == ImagePull::NewRevision
            && self
                .pulled
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert((actor_id.to_owned(), revision))
    }

    /// The gRPC server for this service: only callers with the internal token reach it.
    pub fn into_server(self) -> InternalOnly<pb::spawner_server::SpawnerServer<Self>> {
        let token = self.channels.internal_token().cloned();
        InternalOnly::new(pb::spawner_server::SpawnerServer::new(self), token)
    }

    async fn spawn(&self, request: pb::SpawnWorkerRequest) -> Result<pb::Worker> {
        if self.launcher.running() >= self.info.capacity {
            return Err(AbacoError::TooMuch(format!(
                "spawner {} is at its capacity of {} workers",
                self.info.id, self.info.capacity
            )));
        }
        let key = child_key(&request.actor_id, &request.worker_id);
        let spawner = self.info.clone();
        let pull = self.first_of_revision(&request.actor_id, request.revision);
        let worker = self
            .records
            .update(Table::Workers, &key, |worker: &mut pb::Worker| {
                worker.set_status(pb::WorkerStatus::SpawnerSetup);
                worker.spawner_id.clone_from(&spawner.id);
                worker.host_id.clone_from(&spawner.host_id);
                worker.pull_image = pull;
                Ok(true)
            })
            .await?;
        if let Err(error) = self.launcher.launch(&worker).await {
            let message = error.to_string();
            self.records
                .update(Table::Workers, &key, |worker: &mut pb::Worker| {
                    worker.set_status(pb::WorkerStatus::Error);
                    worker.status_message.clone_from(&message);
                    Ok(true)
                })
                .await?;
            return Err(error);
        }
        Ok(worker)
    }

    async fn ask_worker_to_stop(&self, worker: &pb::Worker) -> Result<()> {
        let mut client = pb::worker_control_client::WorkerControlClient::new(
            self.channels.get(&worker.control_addr)?,
        );
        client
            .stop(self.channels.request(pb::StopRequest { graceful: true }))
            .await?;
        Ok(())
    }

    async fn stop(&self, request: pb::StopWorkerRequest) -> Result<()> {
        let key = child_key(&request.actor_id, &request.worker_id);
        if request.graceful {
            // A graceful stop never kills a run: the worker is told (by signal when it is this
            // spawner's child, else at its control endpoint) and finishes its run first.
            if self.launcher.terminate(&request.worker_id).await? {
                return Ok(());
            }
            let worker: Option<pb::Worker> = self.records.get(Table::Workers, &key).await?;
            return match worker.filter(|w| !w.control_addr.is_empty()) {
                Some(worker) => self.ask_worker_to_stop(&worker).await,
                None => Err(AbacoError::not_found("worker", &request.worker_id)),
            };
        }
        if !self.launcher.kill(&request.worker_id).await? {
            return Err(AbacoError::not_found("worker", &request.worker_id));
        }
        // A killed worker cannot clear its own record; nothing of it runs any more.
        self.records.delete(Table::Workers, &key).await?;
        Ok(())
    }
}

#[tonic::async_trait]
impl Spawner for SpawnerService {
    async fn spawn_worker(
        &self,
        request: Request<pb::SpawnWorkerRequest>,
    ) -> Result<Response<pb::SpawnWorkerResponse>, Status> {
        respond(
            self.spawn(request.into_inner())
                .await
                .map(|worker| pb::SpawnWorkerResponse {
                    worker: Some(worker),
                }),
        )
    }

    async fn stop_worker(
        &self,
        request: Request<pb::StopWorkerRequest>,
    ) -> Result<Response<pb::StopWorkerResponse>, Status> {
        let request = request.into_inner();
        let worker_id = request.worker_id.clone();
        respond(
            self.stop(request)
                .await
                .map(|()| pb::StopWorkerResponse { worker_id }),
        )
    }

    async fn status(
        &self,
        _request: Request<pb::SpawnerStatusRequest>,
    ) -> Result<Response<pb::SpawnerInfo>, Status> {
        let mut info = self.info.clone();
        info.running = self.launcher.running();
        Ok(Response::new(info))
    }

    async fn report_metrics(
        &self,
        request: Request<pb::MetricSamples>,
    ) -> Result<Response<pb::MetricSamplesAck>, Status> {
        crate::metrics_relay::replay(request.into_inner());
        Ok(Response::new(pb::MetricSamplesAck {}))
    }
}
