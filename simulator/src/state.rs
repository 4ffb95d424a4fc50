//! The simulator's in-memory world: pages, people, tokens and the record of accepted sends.

use std::{
    collections::HashMap,
    hash::{BuildHasher, Hash, RandomState},
    sync::{
        Arc, Mutex, MutexGuard, PoisonError, RwLock,
        atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering},
    },
};

use serde::{Deserialize, Serialize};

/// Number of lock shards for people and tokens.
const SHARDS: usize = 64;

/// Which consent a token carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantKind {
    /// A single-use One-Time Notification token (`one_time_notif_token`).
    OneTimeNotification,
    /// A reusable marketing-messages token (`notification_messages_token`).
    NotificationMessages,
}

/// One send the simulator accepted.
#[derive(Debug, Clone, Serialize)]
pub struct AcceptedMessage {
    /// Page that sent it.
    pub page_id: String,
    /// Recipient's page-scoped id.
    pub recipient_psid: String,
    /// Grant token used, if the send addressed a token.
    pub token: Option<String>,
    /// Kind of that token.
    pub token_kind: Option<GrantKind>,
    /// The `message` object as received.
    pub message: serde_json::Value,
    /// Message id answered (`message_id`).
    pub mid: String,
    /// Acceptance time, epoch ms by the simulator clock.
    pub accepted_at_ms: i64,
    /// `messaging_type` as received.
    pub messaging_type: Option<String>,
    /// `tag` as received.
    pub tag: Option<String>,
}

/// An opt-in request template (`one_time_notif_req` or `notification_messages`) the simulator accepted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OptInRequestSent {
    /// Which consent the request asks for.
    pub kind: GrantKind,
    /// The request's title.
    pub title: String,
    /// The request's opaque payload.
    pub payload: String,
    /// A `notification_messages` template's whole payload as sent (null for the legacy one).
    pub template: serde_json::Value,
    /// Message id answered.
    pub mid: String,
    /// Acceptance time, epoch ms.
    pub sent_at_ms: i64,
}

/// Counters for `/_sim/stats` and exactly-once checks.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SimStats {
    /// Sends accepted since start.
    pub accepted_total: u64,
    /// Accepted sends per grant token (only tokens used at least once).
    pub per_token: HashMap<String, u32>,
}

/// A page the simulator knows, with its per-second call counter.
#[derive(Debug)]
pub(super) struct Page {
    pub id: String,
    window_sec: AtomicI64,
    calls_in_window: AtomicU32,
    /// When each Send API call arrived (epoch ms), oldest first, up to [`MAX_CALLS`].
    calls: Mutex<Vec<i64>>,
}

/// The most call times a page keeps.
const MAX_CALLS: usize = 2_000_000;

impl Page {
    /// Remembers a call at `now_ms`.
    pub(crate) fn log_call(&self, now_ms: i64) {
        let mut calls = lock(&self.calls);
        if calls.len() < MAX_CALLS {
            calls.push(now_ms);
        }
    }

    /// When each call arrived.
    pub(crate) fn call_times(&self) -> Vec<i64> {
        lock(&self.calls).clone()
    }

    /// Counts one call at `now_ms`; returns the (approximate) number of calls in the current second.
    pub(crate) fn count_call(&self, now_ms: i64) -> u32 {
        let sec = now_ms.div_euclid(1000);
        if self.window_sec.swap(sec, Ordering::AcqRel) != sec {
            self.calls_in_window.store(0, Ordering::Release);
        }
        self.calls_in_window.fetch_add(1, Ordering::AcqRel) + 1
    }
}

/// What the simulator remembers about one person of one page.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(super) struct Person {
    /// Last message/postback/reaction, epoch ms.
    pub last_action_ms: Option<i64>,
    /// Last time each opt-in request title was sent, epoch ms.
    pub optin_titles: HashMap<String, i64>,
    /// Opt-in requests accepted for this person.
    pub requests: Vec<OptInRequestSent>,
}

/// A grant token the simulator issued.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct TokenEntry {
    pub kind: GrantKind,
    pub page_id: String,
    pub psid: String,
    pub expires_ms: Option<i64>,
    pub accepted: u32,
    pub last_sent_ms: Option<i64>,
    pub stopped: bool,
}

type PeopleShard = HashMap<String, HashMap<String, Person>>;

/// All mutable simulator state, sharded so concurrent sends rarely contend.
#[derive(Debug)]
pub(super) struct World {
    pages_by_token: RwLock<HashMap<String, Arc<Page>>>,
    people: Vec<Mutex<PeopleShard>>,
    tokens: Vec<Mutex<HashMap<String, TokenEntry>>>,
    accepted: Mutex<Vec<AcceptedMessage>>,
    accepted_total: AtomicU64,
    seq: AtomicU64,
    id_prefix: String,
    hasher: RandomState,
    /// Bumped by every change a snapshot would keep (people and tokens).
    changes: AtomicU64,
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl World {
    /// An empty world.
    pub(crate) fn new() -> Self {
        Self {
            pages_by_token: RwLock::new(HashMap::new()),
            people: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            tokens: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            accepted: Mutex::new(Vec::new()),
            accepted_total: AtomicU64::new(0),
            seq: AtomicU64::new(0),
            id_prefix: format!("{:08x}", rand::random::<u32>()),
            hasher: RandomState::new(),
            changes: AtomicU64::new(0),
        }
    }

    fn shard_of<K: Hash + ?Sized>(&self, key: &K) -> usize {
        // The modulo keeps the value below SHARDS, so the cast cannot truncate meaningfully.
        (self.hasher.hash_one(key) % SHARDS as u64) as usize
    }

    /// Registers `access_token` as a token of `page_id`.
    pub(crate) fn add_page(&self, page_id: &str, access_token: &str) {
        let mut pages = self
            .pages_by_token
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let existing = pages.values().find(|p| p.id == page_id).cloned();
        let page = existing.unwrap_or_else(|| {
            Arc::new(Page {
                id: page_id.to_owned(),
                window_sec: AtomicI64::new(0),
                calls_in_window: AtomicU32::new(0),
                calls: Mutex::new(Vec::new()),
            })
        });
        pages.insert(access_token.to_owned(), page);
    }

    /// Forgets `access_token` (the page's other tokens stay valid).
    pub(crate) fn remove_token(&self, access_token: &str) {
        self.pages_by_token
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(access_token);
    }

    /// The page owning `access_token`.
    pub(crate) fn page_for_token(&self, access_token: &str) -> Option<Arc<Page>> {
        self.pages_by_token
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(access_token)
            .cloned()
    }

    /// The page with this id, if registered.
    pub(crate) fn page_by_id(&self, page_id: &str) -> Option<Arc<Page>> {
        self.pages_by_token
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .find(|p| p.id == page_id)
            .cloned()
    }

    /// Runs `f` on the person `psid` of `page_id`, creating the record if needed.
    pub(crate) fn with_person<R>(
        &self,
        page_id: &str,
        psid: &str,
        f: impl FnOnce(&mut Person) -> R,
    ) -> R {
        self.changes.fetch_add(1, Ordering::Relaxed);
        let mut shard = lock(&self.people[self.shard_of(&(page_id, psid))]);
        let page = match shard.get_mut(page_id) {
            Some(p) => p,
            None => shard.entry(page_id.to_owned()).or_default(),
        };
        let person = match page.get_mut(psid) {
            Some(p) => p,
            None => page.entry(psid.to_owned()).or_default(),
        };
        f(person)
    }

    /// Runs `f` on the person `psid` of `page_id` if the simulator knows them.
    pub(crate) fn read_person<R>(
        &self,
        page_id: &str,
        psid: &str,
        f: impl FnOnce(&Person) -> R,
    ) -> Option<R> {
        let shard = lock(&self.people[self.shard_of(&(page_id, psid))]);
        shard.get(page_id).and_then(|p| p.get(psid)).map(f)
    }

    /// Stores a freshly issued token.
    pub(crate) fn insert_token(&self, token: String, entry: TokenEntry) {
        self.changes.fetch_add(1, Ordering::Relaxed);
        lock(&self.tokens[self.shard_of(token.as_str())]).insert(token, entry);
    }

    /// Runs `f` on the token entry, if the token exists.
    pub(crate) fn with_token<R>(
        &self,
        token: &str,
        f: impl FnOnce(&mut TokenEntry) -> R,
    ) -> Option<R> {
        self.changes.fetch_add(1, Ordering::Relaxed);
        lock(&self.tokens[self.shard_of(token)])
            .get_mut(token)
            .map(f)
    }

    /// A new unique id with the given prefix, e.g. `m_` for message ids.
    pub(crate) fn next_id(&self, prefix: &str) -> String {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        format!("{prefix}{}{n:010x}", self.id_prefix)
    }

    /// A new unguessable grant token.
    pub(crate) fn new_token(&self, prefix: &str) -> String {
        format!("{prefix}{:032x}", rand::random::<u128>())
    }

    /// Counts an accepted send and keeps its record when given.
    pub(crate) fn record(&self, msg: Option<AcceptedMessage>) {
        self.accepted_total.fetch_add(1, Ordering::Relaxed);
        if let Some(msg) = msg {
            lock(&self.accepted).push(msg);
        }
    }

    /// Number of accepted sends.
    pub(crate) fn accepted_total(&self) -> u64 {
        self.accepted_total.load(Ordering::Relaxed)
    }

    /// A copy of the recorded accepted messages.
    pub(crate) fn accepted_messages(&self) -> Vec<AcceptedMessage> {
        lock(&self.accepted).clone()
    }

    /// Accepted sends per token, for tokens used at least once.
    pub(crate) fn per_token(&self) -> HashMap<String, u32> {
        let mut out = HashMap::new();
        for shard in &self.tokens {
            for (token, entry) in lock(shard).iter() {
                if entry.accepted > 0 {
                    out.insert(token.clone(), entry.accepted);
                }
            }
        }
        out
    }
}

/// What survives a restart: every person and every token (sends and call times are not kept).
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Snapshot {
    people: Vec<(String, String, Person)>,
    tokens: Vec<(String, TokenEntry)>,
}

impl World {
    /// How many changes were made so far.
    pub(crate) fn changes(&self) -> u64 {
        self.changes.load(Ordering::Relaxed)
    }

    /// A copy of the people and tokens.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let mut out = Snapshot::default();
        for shard in &self.people {
            for (page, people) in lock(shard).iter() {
                for (psid, p) in people {
                    out.people.push((page.clone(), psid.clone(), p.clone()));
                }
            }
        }
        for shard in &self.tokens {
            out.tokens
                .extend(lock(shard).iter().map(|(t, e)| (t.clone(), e.clone())));
        }
        out
    }

    /// Puts back the people and tokens of a snapshot.
    pub(crate) fn restore(&self, s: Snapshot) {
        for (page, psid, p) in s.people {
            self.with_person(&page, &psid, |slot| *slot = p);
        }
        for (token, entry) in s.tokens {
            self.insert_token(token, entry);
        }
    }
}
