//! What each RPC needs: one scope per method of `otn.v1.NotificationService`.

/// A permission an API key (or client certificate) carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Scope {
    /// Reading the ledger, notifications and the event stream.
    Read,
    /// Changing consent: opt-ins, interactions, tags and regions, revocations, assignments.
    Consent,
    /// Sending and cancelling notifications, resuming a page's tripped circuit breaker.
    Send,
    /// Erasing a person.
    Erase,
}

impl Scope {
    /// Every scope.
    pub(crate) const ALL: [Scope; 4] = [Scope::Read, Scope::Consent, Scope::Send, Scope::Erase];

    /// The scope's name, as given to `api-key create --scope`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Consent => "consent",
            Scope::Send => "send",
            Scope::Erase => "erase",
        }
    }

    /// The scope named `s`.
    pub(crate) fn parse(s: &str) -> Result<Scope, String> {
        Scope::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| format!("unknown scope {s:?} (read, consent, send, erase)"))
    }
}

/// The methods of NotificationService (the `method` label of the RPC metrics).
pub(crate) const METHODS: [&str; 15] = [
    "RequestOptIn",
    "RecordOptIn",
    "ListEligible",
    "RecordInteraction",
    "UpdateRecipient",
    "RevokeGrant",
    "AssignGrant",
    "ForgetRecipient",
    "SendNotification",
    "GetNotification",
    "CancelNotification",
    "ListNotifications",
    "StreamDeliveryEvents",
    "GetFunnel",
    "ResumePage",
];

/// The scope the method `name` of NotificationService needs; `None` for a name the service
/// does not have (the call is refused before it reaches the service).
pub(crate) fn scope_of(name: &str) -> Option<Scope> {
    Some(match name {
        "ListEligible"
        | "GetNotification"
        | "ListNotifications"
        | "StreamDeliveryEvents"
        | "GetFunnel" => Scope::Read,
        "RequestOptIn" | "RecordOptIn" | "RecordInteraction" | "UpdateRecipient"
        | "RevokeGrant" | "AssignGrant" => Scope::Consent,
        "SendNotification" | "CancelNotification" | "ResumePage" => Scope::Send,
        "ForgetRecipient" => Scope::Erase,
        _ => return None,
    })
}

/// Whether the method changes something (logged once with its caller).
pub(crate) fn mutates(name: &str) -> bool {
    !matches!(scope_of(name), Some(Scope::Read) | None)
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    #[test]
    fn every_method_of_the_contract_needs_a_scope() {
        let set = prost_types::FileDescriptorSet::decode(otn::FILE_DESCRIPTOR_SET).unwrap();
        let methods: Vec<String> = set
            .file
            .iter()
            .flat_map(|f| f.service.iter())
            .filter(|s| s.name() == "NotificationService")
            .flat_map(|s| s.method.iter().map(|m| m.name().to_string()))
            .collect();
        assert!(methods.len() >= 13, "{methods:?}");
        for m in &methods {
            assert!(scope_of(m).is_some(), "{m} has no scope");
            assert!(METHODS.contains(&m.as_str()), "{m} is not a metric label");
        }
        assert_eq!(
            METHODS.len(),
            methods.len(),
            "METHODS lists a method the contract lacks"
        );
        assert_eq!(scope_of("SendNotification"), Some(Scope::Send));
        assert_eq!(scope_of("ForgetRecipient"), Some(Scope::Erase));
        assert!(mutates("RecordOptIn") && !mutates("ListEligible"));
    }

    #[test]
    fn scopes_parse_by_name() {
        for s in Scope::ALL {
            assert_eq!(Scope::parse(s.as_str()), Ok(s));
        }
        assert!(Scope::parse("admin").is_err());
    }
}
