//! The store and mailboxes this process uses, and the services built over them.

use std::sync::Arc;

use abaco::{
    fleet::{Fleet, NoFleet},
    mailbox::Mailboxes,
    records::Records,
    settings::Settings,
};
use abaco_admin::AdminService;
use abaco_messages::MessagesService;
use abaco_registration::{Limits, RegistrationService};
use anyhow::Context;

/// Opened backends, shared by every service of the process.
#[derive(Debug, Clone)]
pub struct Backends {
    records: Records,
    mailboxes: Arc<dyn Mailboxes>,
    fleet: Arc<dyn Fleet>,
}

impl Backends {
    /// Opens the store and the mailboxes the settings name.
    pub async fn open(settings: &Settings) -> anyhow::Result<Self> {
        let store = abaco_store::open(settings)
            .await
            .context("opening the store")?;
        let mailboxes = abaco_mailbox::open(settings)
            .await
            .context("opening the mailboxes")?;
        Ok(Self {
            records: Records::new(store),
            mailboxes,
            fleet: Arc::new(NoFleet),
        })
    }

    /// The registration service.
    pub fn registration(&self, settings: &Settings) -> RegistrationService {
        let limits = Limits {
            admins: settings.admins.clone(),
            ..Limits::default()
        };
        RegistrationService::new(
            self.records.clone(),
            self.mailboxes.clone(),
            self.fleet.clone(),
            limits,
        )
    }

    /// The messages service.
    pub fn messages(&self, settings: &Settings) -> MessagesService {
        MessagesService::new(
            self.records.clone(),
            self.mailboxes.clone(),
            self.fleet.clone(),
            settings.admins.clone(),
        )
    }

    /// The admin service.
    pub fn admin(&self, settings: &Settings) -> AdminService {
        AdminService::new(
            self.records.clone(),
            self.fleet.clone(),
            settings.admins.clone(),
        )
    }
}
