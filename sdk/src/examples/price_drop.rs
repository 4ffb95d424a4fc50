//! Example: a pricing service tells the people who asked that a SKU got cheaper, and asks them again.

use std::io::Write;
use std::time::Duration;

use super::BoxError;
use crate::{Client, Progress, proto};

/// What a pricing service does when `sku` drops from `was` to `now`: tells everyone who asked
/// (except those tagged `bought-<sku>`), with rolling consent so that a person who engages is
/// asked at once about the next drop, then waits until the notification is final. Writes a
/// line per step to `out` and returns the final notification.
pub async fn run(
    url: &str,
    api_key: Option<&str>,
    page: &str,
    sku: &str,
    was: &str,
    now: &str,
    out: &mut (dyn Write + Send),
) -> Result<proto::Notification, BoxError> {
    let client = Client::builder(url)
        .api_key_opt(api_key.map(str::to_string))
        .connect()
        .await?;
    let sent = client
        .price_drop(page, sku)
        .text(format!("Price drop: {sku} is now {now} (was {was})."))
        .tags_none_of([format!("bought-{sku}")])
        .rolling_consent("Tell me about the next price drop")
        .send()
        .await?;
    let n = sent.notification.unwrap_or_default();
    let planned = n.plan.map(|p| p.grant_sends).unwrap_or(0);
    writeln!(
        out,
        "notification {} for {planned} people",
        n.notification_id
    )?;
    let done = client
        .wait_final(&n.notification_id, Duration::from_millis(200))
        .await?;
    writeln!(
        out,
        "{}: {}",
        done.state().as_str_name(),
        Progress::of(&done)
    )?;
    Ok(done)
}
