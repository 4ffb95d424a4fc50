//! sea-orm entities of every table; times are epoch milliseconds (BIGINT) on both backends.

/// Pages (tenants). Secrets stay in the configuration, never in the database.
pub mod page {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "pages")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub page_id: String,
        pub region: Option<String>,
        pub paused_at: Option<i64>,
        pub pause_reason: Option<String>,
        pub created_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// People known to a page.
pub mod recipient {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "recipients")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub page_id: String,
        pub psid: String,
        pub region: Option<String>,
        pub last_interaction_at: Option<i64>,
        pub created_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Segmentation tags of recipients.
pub mod recipient_tag {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "recipient_tags")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub recipient_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub tag: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Topics people opt in to.
pub mod topic {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "topics")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub page_id: String,
        pub topic_key: String,
        pub title: String,
        pub created_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Consent grants. `token` is a secret.
pub mod grant {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "grants")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub page_id: String,
        pub recipient_id: i64,
        pub topic_id: i64,
        pub kind: i32,
        pub token: String,
        pub payload: String,
        pub opted_in_at: i64,
        pub expires_at: Option<i64>,
        pub state: i32,
        pub state_changed_at: i64,
        pub last_sent_at: Option<i64>,
        pub created_at: i64,
    }

    impl std::fmt::Debug for Model {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Grant")
                .field("id", &self.id)
                .field("recipient_id", &self.recipient_id)
                .field("topic_id", &self.topic_id)
                .field("kind", &self.kind)
                .field("token", &"[redacted]")
                .field("state", &self.state)
                .finish_non_exhaustive()
        }
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Opt-in requests sent to people (the outbox row is written before Meta is called).
pub mod opt_in_request {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "opt_in_requests")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub page_id: String,
        pub request_id: String,
        pub recipient_id: i64,
        pub topic_id: i64,
        pub title: String,
        pub payload: String,
        pub message_id: Option<String>,
        pub sent_at: Option<i64>,
        pub created_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The durable delivery-event log; `seq` is assigned under the counter row's lock.
pub mod event {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "events")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub seq: i64,
        pub at: i64,
        pub kind: i32,
        pub page_id: String,
        pub topic_key: Option<String>,
        pub notification_id: Option<String>,
        pub delivery_id: Option<String>,
        pub psid: Option<String>,
        pub grant_id: Option<i64>,
        pub message_id: Option<String>,
        pub path: i32,
        pub rule: Option<String>,
        pub failure: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The single row that hands out event sequence numbers in commit order.
pub mod event_counter {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "event_counter")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        pub last_seq: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
