//! The domain's words: every kind, state, path and reason is an enum here, translated once
//! toward the proto (`api/grpc/convert.rs`) and once toward SQL (`store/codes.rs`).

/// Declares a fieldless enum with `ALL`, its variants in declaration order.
macro_rules! words {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub(crate) enum $name { $($(#[$vm])* $v),+ }

        impl $name {
            /// Every variant, in declaration order.
            #[allow(dead_code, reason = "not every word is enumerated outside tests")]
            pub(crate) const ALL: &'static [$name] = &[$($name::$v),+];
        }
    };
}

words!(
    /// The kind of consent a grant records.
    GrantKind {
        /// One message within a year of the opt-in.
        OneTimeNotification,
        /// Marketing Messages: reusable, with a cooldown between sends.
        MarketingMessages,
        /// A paid Marketing Message API subscription: recorded, not sent.
        MarketingSubscription,
    }
);

impl GrantKind {
    /// The kind's name in the policy data.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::OneTimeNotification => "one_time_notification",
            Self::MarketingMessages => "marketing_messages",
            Self::MarketingSubscription => "marketing_subscription",
        }
    }

    /// Whether the service sends with grants of this kind (the paid Marketing Message API,
    /// `act_<ad account>/messages`, is not supported: its grants are planned out, never sent
    /// the wrong way).
    pub(crate) fn sendable(self) -> bool {
        !matches!(self, Self::MarketingSubscription)
    }
}

words!(
    /// Where a grant is in its life; only ACTIVE grants are usable.
    GrantState {
        Active,
        Reserved,
        Consumed,
        Expired,
        Stopped,
        Revoked,
        Invalid,
    }
);

words!(
    /// What a person did that opened their 24-hour window.
    InteractionKind {
        Message,
        Postback,
        Reaction,
        Referral,
    }
);

impl InteractionKind {
    /// Whether it counts as engagement with a notification (a message or a postback).
    pub(crate) fn engages(self) -> bool {
        matches!(self, Self::Message | Self::Postback)
    }
}

words!(
    /// Why a person is not sent to.
    ExclusionReason {
        NoGrant,
        Expired,
        Stopped,
        Consumed,
        Reserved,
        Revoked,
        Invalid,
        TagFilter,
        RegionFilter,
        RegionPolicy,
        Cooldown,
        MaxRecipients,
        TagRetired,
        KindNotSupported,
        /// Over the person's frequency cap, and the send asked to leave such people out.
        FrequencyCap,
        /// Inside the person's quiet hours, on a path that would not hold until they end.
        QuietHours,
    }
);

words!(
    /// Lifecycle of a notification.
    NotificationState {
        Scheduled,
        Dispatching,
        Completed,
        Cancelled,
        Planned,
    }
);

impl NotificationState {
    /// Whether deliveries may still be sent (cancel is allowed).
    pub(crate) fn is_open(self) -> bool {
        matches!(self, Self::Scheduled | Self::Dispatching)
    }
}

words!(
    /// Where one delivery is.
    DeliveryState {
        Queued,
        Sending,
        Sent,
        Delivered,
        Read,
        /// Meta certainly did not deliver it.
        Failed,
        Cancelled,
        /// Given up after an attempt that may have reached Meta, with nothing from Meta saying
        /// whether it did: never retried, its grant spent; an echo turns it into SENT.
        Unconfirmed,
    }
);

impl DeliveryState {
    /// States a delivery never leaves for an unsent one: its notification is done with it.
    #[expect(dead_code, reason = "completion counts final deliveries (issue 9)")]
    pub(crate) const FINAL: [DeliveryState; 6] = [
        Self::Sent,
        Self::Delivered,
        Self::Read,
        Self::Failed,
        Self::Cancelled,
        Self::Unconfirmed,
    ];
    /// States of an accepted message (receipts and engagement apply to these).
    pub(crate) const ACCEPTED: [DeliveryState; 3] = [Self::Sent, Self::Delivered, Self::Read];
}

words!(
    /// Which way a delivery may reach a person.
    DeliveryPath {
        /// Spends one grant.
        Grant,
        /// Inside the 24-hour window.
        Window,
        /// Outside the window, with a message tag.
        Tag,
    }
);

words!(
    /// The kind of a delivery-log event.
    EventKind {
        Queued,
        Sent,
        Delivered,
        Read,
        Failed,
        GrantConsumed,
        OptInRecorded,
        Engaged,
        Cancelled,
        RetryScheduled,
        GrantRevoked,
        RecipientForgotten,
        GrantStopped,
        GrantResumed,
        GrantAssigned,
        /// A delivery given up after an attempt that may have reached Meta.
        Unconfirmed,
        /// An opt-in request reached the person (Meta accepted it).
        OptInRequested,
        /// The person opened a tracked link of a delivery (once per delivery).
        Clicked,
        /// A grant expired unused.
        GrantExpired,
        /// A delivery waits (a frequency cap, quiet hours) until its not-before time.
        Deferred,
    }
);

words!(
    /// A message tag a send may name (HUMAN_AGENT is refused by the contract's rules).
    #[allow(clippy::enum_variant_names, reason = "Meta's names")]
    MessageTag {
        ConfirmedEventUpdate,
        PostPurchaseUpdate,
        AccountUpdate,
    }
);

impl MessageTag {
    /// Meta's name of the tag.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::ConfirmedEventUpdate => "CONFIRMED_EVENT_UPDATE",
            Self::PostPurchaseUpdate => "POST_PURCHASE_UPDATE",
            Self::AccountUpdate => "ACCOUNT_UPDATE",
        }
    }

    /// The tag Meta calls `name`.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|t| t.as_str() == name)
    }
}

words!(
    /// The consent template of an opt-in request.
    OptInTemplate {
        /// `one_time_notif_req`.
        OneTimeNotification,
        /// `notification_messages`.
        NotificationMessages,
    }
);

impl OptInTemplate {
    /// The grant kind a person who accepts it gives.
    pub(crate) fn kind(self) -> GrantKind {
        match self {
            Self::OneTimeNotification => GrantKind::OneTimeNotification,
            Self::NotificationMessages => GrantKind::MarketingMessages,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_tag_is_a_tag_of_the_contract() {
        let names: Vec<&str> = MessageTag::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(names, otn::rules::MESSAGE_TAGS);
        for t in MessageTag::ALL {
            assert_eq!(MessageTag::from_name(t.as_str()), Some(*t));
        }
    }
}
