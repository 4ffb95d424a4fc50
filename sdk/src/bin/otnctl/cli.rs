//! The command line of otnctl (clap derive): global flags, subcommands and their help.

use clap::{Args, Parser, Subcommand, ValueEnum};
use otn_sdk::prost_types::Timestamp;

const ABOUT: &str = "Operate the otn service: record and list opt-ins, send notifications, follow \
                     delivery events.";

const LONG_ABOUT: &str = "\
otnctl is the operator's and developer's hands on otn, the one-time-notification service for \
Facebook Messenger. It talks gRPC to the server at --url (or OTN_URL) and sends --api-key (or \
OTN_API_KEY) as a bearer token when given.

Output is a table when standard output is a terminal and JSON otherwise (one object, or one \
per line for streams); --output table|json chooses. Exit codes: 0 ok, 2 usage (bad flags or \
URL), 3 invalid argument, 4 not found, 5 failed precondition or already exists, 6 unavailable \
(server unreachable), 7 `send --wait` ended with failed deliveries, 8 unauthenticated or \
permission denied, 1 anything else. Errors go to stderr with their reason and the fields at \
fault.

In sandbox mode (otn-server started with no configuration) `otnctl sandbox …` plays the \
shopper through the simulator's control API on the server's HTTP listener (--sandbox-url).";

const EXAMPLES: &str = "\
Examples:
  # Who can be told that sku-123 is back, and why the others cannot
  otnctl opt-ins list --page sandbox-page --topic back-in-stock:sku-123 --explain

  # What a send would do, without sending
  otnctl send --page sandbox-page --topic back-in-stock:sku-123 --text 'Back in stock!' --dry-run

  # Send to at most 40 people and follow it to the end (a progress bar on a terminal)
  otnctl send --page sandbox-page --topic back-in-stock:sku-123 --text 'Back in stock!' --max 40 --wait

  # A button template
  otnctl send --page sandbox-page --topic back-in-stock:sku-123 --text 'SL13 is back' \
    --button 'Buy now=https://shop.example/sl13' --button 'Not now=postback:LATER'

  # The consent funnel of a topic over the last 30 days, and one day at a time
  otnctl topics funnel --page sandbox-page --topic back-in-stock:sku-123 --days

  # Tail delivery events as JSON lines, resuming after event 1200
  otnctl --output json events tail --page sandbox-page --after 1200

  # In the sandbox: a shopper writes and taps Notify me
  otnctl sandbox message --psid alice
  otnctl sandbox notify-me --psid alice --topic back-in-stock:sku-123";

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Output {
    /// Aligned columns for people.
    Table,
    /// JSON: one object, or one object per line for streams.
    Json,
}

#[derive(Debug, Parser)]
#[command(
    name = "otnctl",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = EXAMPLES,
    propagate_version = true
)]
pub(crate) struct Cli {
    /// The server's gRPC URL.
    #[arg(long, global = true, env = "OTN_URL", default_value = otn_sdk::DEFAULT_URL)]
    pub url: String,
    /// An API key, sent as `authorization: Bearer <key>`.
    #[arg(long, global = true, env = "OTN_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// How to print results (default: a table on a terminal, JSON otherwise).
    #[arg(long, global = true, value_enum)]
    pub output: Option<Output>,
    /// The sandbox server's HTTP listener, for `otnctl sandbox`.
    #[arg(
        long,
        global = true,
        env = "OTN_SANDBOX_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub sandbox_url: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Record, list and revoke opt-ins (grants).
    #[command(subcommand)]
    OptIns(OptIns),
    /// Send a text notification on a topic (or plan one with --dry-run).
    #[command(
        after_help = "Examples:\n  otnctl send --page P --topic back-in-stock:sku-1 --text 'Back!' --dry-run\n  otnctl send --page P --topic back-in-stock:sku-1 --text 'Back!' --max 40 --wait"
    )]
    Send(SendArgs),
    /// Show or cancel a notification.
    #[command(subcommand)]
    Notifications(Notifications),
    /// Follow the delivery-event log.
    #[command(subcommand)]
    Events(Events),
    /// What a topic's opt-ins and sends came to: the consent funnel.
    #[command(subcommand)]
    Topics(Topics),
    /// Play the shopper on a sandbox server: write, tap "Notify me", read, reply.
    #[command(subcommand)]
    Sandbox(crate::sandbox::Sandbox),
}

/// The kind of consent recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Kind {
    /// A Messenger one-time notification token: one message within a year.
    OneTime,
    /// A Marketing Messages token: reusable, with a cooldown.
    Marketing,
}

#[derive(Debug, Subcommand)]
pub(crate) enum OptIns {
    /// Record a grant (normally the webhook does this). Replaying the same token is harmless.
    Record {
        /// The page.
        #[arg(long)]
        page: String,
        /// The person (page-scoped id).
        #[arg(long)]
        psid: String,
        /// The topic key, for example back-in-stock:sku-123.
        #[arg(long)]
        topic: String,
        /// The token Meta issued.
        #[arg(long)]
        token: String,
        /// The kind of consent.
        #[arg(long, value_enum, default_value_t = Kind::OneTime)]
        kind: Kind,
    },
    /// List the people who can be sent a message on a topic now.
    #[command(
        after_help = "Examples:\n  otnctl opt-ins list --page P --topic back-in-stock:sku-1 --tag vip --explain\n  otnctl --output json opt-ins list --page P --topic T --all"
    )]
    List {
        /// The page.
        #[arg(long)]
        page: String,
        /// The topic key.
        #[arg(long)]
        topic: String,
        /// Only people with every one of these tags (repeatable).
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        /// Only people with at least one of these tags (repeatable).
        #[arg(long = "any-tag", value_name = "TAG")]
        any_tags: Vec<String>,
        /// Only people in these regions, ISO 3166-1 alpha-2 (repeatable).
        #[arg(long = "region", value_name = "CC")]
        regions: Vec<String>,
        /// People per page (1 to 1000; default 100).
        #[arg(long, value_name = "N")]
        page_size: Option<i32>,
        /// Follow every page instead of printing the first.
        #[arg(long)]
        all: bool,
        /// Also count the people left out, per reason.
        #[arg(long)]
        explain: bool,
    },
    /// Revoke one grant (--grant), or every usable grant of a person on a topic.
    Revoke {
        /// The grant id.
        #[arg(long, required_unless_present = "page", conflicts_with_all = ["page", "psid", "topic"])]
        grant: Option<String>,
        /// The page (with --psid and --topic).
        #[arg(long, requires_all = ["psid", "topic"])]
        page: Option<String>,
        /// The person.
        #[arg(long, requires = "page")]
        psid: Option<String>,
        /// The topic key.
        #[arg(long, requires = "page")]
        topic: Option<String>,
    },
}

#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    /// The page to send from.
    #[arg(long)]
    pub page: String,
    /// The topic whose grants are spent.
    #[arg(long)]
    pub topic: String,
    /// The message: 1 to 2000 characters, or with --button the template's text (1 to 640).
    #[arg(long)]
    pub text: String,
    /// A button of a button template (1 to 3): `TITLE=https://…` opens a URL,
    /// `TITLE=postback:PAYLOAD` posts back.
    #[arg(long = "button", value_name = "TITLE=ACTION", value_parser = parse_button)]
    pub buttons: Vec<otn_sdk::Button>,
    /// At most this many recipients, oldest opt-in first.
    #[arg(long = "max", value_name = "N")]
    pub max: Option<u32>,
    /// Plan only: print the counts per path and per exclusion reason; send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also send (spending no grant) to people inside their 24-hour window.
    #[arg(long)]
    pub include_window: bool,
    /// Only people with every one of these tags (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Send at this time (RFC 3339, for example 2026-05-01T09:00:00Z).
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub schedule: Option<Timestamp>,
    /// The idempotency key (default: a new UUID); reuse it to retry safely.
    #[arg(long, value_name = "ID")]
    pub request_id: Option<String>,
    /// Follow the notification until it is final (default when stdout is a terminal).
    #[arg(long, conflicts_with_all = ["no_wait", "dry_run"])]
    pub wait: bool,
    /// Print the notification and return at once.
    #[arg(long)]
    pub no_wait: bool,
}

fn parse_button(s: &str) -> Result<otn_sdk::Button, String> {
    let (title, action) = s
        .split_once('=')
        .ok_or_else(|| "a button is TITLE=https://… or TITLE=postback:PAYLOAD".to_string())?;
    Ok(match action.strip_prefix("postback:") {
        Some(payload) => otn_sdk::Button::postback(title, payload),
        None => otn_sdk::Button::url(title, action),
    })
}

fn parse_time(s: &str) -> Result<Timestamp, String> {
    s.parse::<Timestamp>()
        .map_err(|e| format!("not an RFC 3339 time ({e}); for example 2026-05-01T09:00:00Z"))
}

#[derive(Debug, Subcommand)]
pub(crate) enum Notifications {
    /// Show a notification: state, plan and delivery counts.
    Show {
        /// The notification id.
        id: String,
    },
    /// Cancel what has not been sent yet; reserved grants are returned.
    Cancel {
        /// The notification id.
        id: String,
    },
    /// Resume a page whose circuit breaker tripped (STOPs, blocks, policy enforcement): its
    /// queued deliveries go again.
    ResumePage {
        /// The page.
        #[arg(long)]
        page: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum Events {
    /// Follow the live delivery-event log (reconnecting and resuming by itself).
    #[command(
        after_help = "Examples:\n  otnctl events tail --page P --topic back-in-stock:sku-1\n  otnctl --output json events tail --after 1200 --limit 50"
    )]
    Tail {
        /// Only events of this page.
        #[arg(long)]
        page: Option<String>,
        /// Only events of this topic.
        #[arg(long)]
        topic: Option<String>,
        /// Only events of this notification.
        #[arg(long)]
        notification: Option<String>,
        /// Start after this sequence number (0: the whole log).
        #[arg(long, value_name = "SEQ", conflicts_with = "from_now")]
        after: Option<i64>,
        /// Only events from now on.
        #[arg(long)]
        from_now: bool,
        /// Exit after this many events.
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum Topics {
    /// The consent funnel of a topic (or of one notification): opt-in requests, opt-ins, grants
    /// used, sent, delivered, read, engaged, with the rate of each step over the one before.
    #[command(
        after_help = "Counts are of events on UTC days within the range (default: the last 30 days \
for a topic; a notification's whole life). A rate is a step over the step before it, 0 when that \
is 0, and can exceed 1 (opt-ins to requests asked before the range, sends on the 24-hour window \
that spend no grant).\n\nExamples:\n  otnctl topics funnel --page P --topic back-in-stock:sku-1\n  \
otnctl topics funnel --notification 0190… --days\n  otnctl --output json topics funnel --page P \
--topic T --from 2026-11-01 --to 2026-11-30"
    )]
    Funnel {
        /// The page (with --topic).
        #[arg(long, requires = "topic", required_unless_present = "notification")]
        page: Option<String>,
        /// The topic key (with --page).
        #[arg(long, requires = "page")]
        topic: Option<String>,
        /// One notification instead of a topic.
        #[arg(long, conflicts_with_all = ["page", "topic"])]
        notification: Option<String>,
        /// The first UTC day, YYYY-MM-DD.
        #[arg(long, value_name = "DATE")]
        from: Option<String>,
        /// The last UTC day, YYYY-MM-DD (default today).
        #[arg(long, value_name = "DATE")]
        to: Option<String>,
        /// Also print each day (a table per day's counts; JSON always has them).
        #[arg(long)]
        days: bool,
    },
}
