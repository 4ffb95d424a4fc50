//! Table and column names for the statements sea-query builds (the DDL is in `migration/`).

use sea_orm::DeriveIden;

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum Pages {
    Table,
    PageId,
    Region,
    PauseReason,
    CreatedAt,
    NextSlotUs,
    PausedUntil,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum Recipients {
    Table,
    Id,
    PageId,
    Psid,
    Region,
    LastInteractionAt,
    CreatedAt,
    DeliveredWatermark,
    ReadWatermark,
    TimeZone,
    OptinTimeZone,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum RecipientTags {
    Table,
    RecipientId,
    Tag,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum Topics {
    Table,
    Id,
    PageId,
    TopicKey,
    Title,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum Grants {
    Table,
    Id,
    PageId,
    RecipientId,
    TopicId,
    Kind,
    Token,
    Payload,
    OptedInAt,
    ExpiresAt,
    State,
    StateChangedAt,
    LastSentAt,
    CreatedAt,
    RevokedBy,
    StatusAt,
    MetaStopped,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum OptInRequests {
    Table,
    Id,
    PageId,
    RequestId,
    RecipientId,
    TopicId,
    Title,
    Payload,
    MessageId,
    SentAt,
    CreatedAt,
    Template,
    RequestedBy,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum TokenStatuses {
    Table,
    Token,
    PageId,
    Psid,
    Stopped,
    At,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum Notifications {
    Table,
    Id,
    PageId,
    RequestId,
    RequestHash,
    TopicKey,
    Message,
    State,
    Plan,
    RollingTitle,
    ScheduledAt,
    CreatedAt,
    CompletedAt,
    MessageTag,
    CreatedBy,
    Pending,
    TraceParent,
    Audience,
    Planning,
    PlanCursor,
    Polite,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum Deliveries {
    Table,
    Id,
    NotificationId,
    PageId,
    RecipientId,
    Psid,
    TopicKey,
    GrantId,
    Path,
    Rule,
    State,
    Attempts,
    Ambiguous,
    NextAttemptAt,
    LeaseUntil,
    MessageId,
    Failure,
    SentAt,
    EngagedAt,
    CreatedAt,
    AttemptStartedAt,
    FirstAttemptAt,
    EchoMid,
    EchoAt,
    ClickedAt,
    QuietZone,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum EarlyReceipts {
    Table,
    MessageId,
    PageId,
    Psid,
    At,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum Events {
    Table,
    Seq,
    At,
    Kind,
    PageId,
    TopicKey,
    NotificationId,
    DeliveryId,
    Psid,
    GrantId,
    MessageId,
    Path,
    Rule,
    Failure,
    Actor,
    Interaction,
    NotBefore,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum EventCounter {
    Table,
    Id,
    LastSeq,
    PrunedThrough,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum ApiKeys {
    Table,

    Name,
    KeyId,
    #[sea_orm(iden = "secret_sha256")]
    SecretSha256,
    Scopes,
    Pages,
    CreatedAt,
    LastUsedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum ConsoleSessions {
    Table,
    #[sea_orm(iden = "id_sha256")]
    IdSha256,
    KeyId,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum Erasures {
    Table,
    PageId,
    PersonHmac,
    ErasedAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum FunnelDays {
    Table,
    PageId,
    TopicKey,
    NotificationId,
    Day,
    Step,
    N,
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum PageSignals {
    Table,
    PageId,
    Kind,
    At,
}
