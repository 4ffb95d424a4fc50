//! Schema migrations (sea-orm-migration), one per file, written as portable DDL for SQLite and
//! PostgreSQL; index predicates take their numbers from `store::codes`.

mod m0001_ledger;
mod m0002_token_status;
mod m0003_sending;
mod m0004_early_receipts;
mod m0005_actors;
mod m0006_replicas;
mod m0007_grant_status;
mod m0008_api_keys;
mod m0009_trace_parent;
mod m0010_edges;
mod m0011_planner;
mod m0012_echoes;
mod m0013_sent_indexes;
mod m0030_polite;
mod m0031_breaker;
mod m0040_funnel;

use sea_orm::{ConnectionTrait, DatabaseBackend};
use sea_orm_migration::prelude::*;

/// Every migration, oldest first.
#[derive(Debug)]
pub(crate) struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_ledger::M0001Ledger),
            Box::new(m0002_token_status::M0002TokenStatus),
            Box::new(m0003_sending::M0003Sending),
            Box::new(m0004_early_receipts::M0004EarlyReceipts),
            Box::new(m0005_actors::M0005Actors),
            Box::new(m0006_replicas::M0006Replicas),
            Box::new(m0007_grant_status::M0007GrantStatus),
            Box::new(m0008_api_keys::M0008ApiKeys),
            Box::new(m0009_trace_parent::M0009TraceParent),
            Box::new(m0010_edges::M0010Edges),
            Box::new(m0011_planner::M0011Planner),
            Box::new(m0012_echoes::M0012Echoes),
            Box::new(m0013_sent_indexes::M0013SentIndexes),
            Box::new(m0030_polite::M0030Polite),
            Box::new(m0031_breaker::M0031Breaker),
            Box::new(m0040_funnel::M0040Funnel),
        ]
    }
}

/// Runs each statement, replacing `{pk}` with the backend's auto-increment key column.
pub(super) async fn run(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    let conn = manager.get_connection();
    let pk = match conn.get_database_backend() {
        DatabaseBackend::Postgres => "BIGSERIAL PRIMARY KEY",
        _ => "INTEGER PRIMARY KEY AUTOINCREMENT",
    };
    for sql in statements {
        conn.execute_unprepared(&sql.replace("{pk}", pk)).await?;
    }
    Ok(())
}
