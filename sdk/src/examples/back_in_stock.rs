//! Example: an inventory service tells the people who asked that a SKU is back in stock.

use std::io::Write;
use std::time::Duration;

use futures::StreamExt;

use super::BoxError;
use crate::{Button, Client, Progress, proto};

/// What an inventory service does when `sku` is restocked (restock event `restock_id`):
/// previews who would be told (a dry run), tells at most `max` of them with a button to the
/// product page, and follows the notification to its end. The request id is derived from the
/// restock event, so a service that crashes and handles the same event again does not send
/// twice. Writes a line per step to `out` and returns the final notification.
pub async fn run(
    url: &str,
    api_key: Option<&str>,
    page: &str,
    sku: &str,
    restock_id: &str,
    max: u32,
    out: &mut (dyn Write + Send),
) -> Result<proto::Notification, BoxError> {
    let client = Client::builder(url)
        .api_key_opt(api_key.map(str::to_string))
        .connect()
        .await?;
    let alert = |c: &Client| {
        c.back_in_stock(page, sku)
            .max_recipients(max)
            .button_template(
                format!("Good news: {sku} is back in stock!"),
                [
                    Button::url("Buy now", format!("https://shop.example/p/{sku}")),
                    Button::postback("Not now", format!("not-now:{sku}")),
                ],
            )
    };

    let preview = alert(&client).dry_run().send().await?;
    let plan = preview
        .notification
        .and_then(|n| n.plan)
        .unwrap_or_default();
    writeln!(
        out,
        "plan for {sku}: {} by grant, {} inside the window, {} excluded",
        plan.grant_sends,
        plan.window_sends,
        plan.exclusions.iter().map(|e| e.count).sum::<i64>()
    )?;

    let sent = alert(&client)
        .request_id(format!("restock:{sku}:{restock_id}"))
        .send()
        .await?;
    let id = sent
        .notification
        .map(|n| n.notification_id)
        .unwrap_or_default();
    writeln!(out, "notification {id} (replayed: {})", sent.replayed)?;

    let mut watch = client.follow_notification(&id, Duration::from_millis(200));
    let mut last = None;
    while let Some(n) = watch.next().await {
        let n = n?;
        writeln!(out, "{}: {}", n.state().as_str_name(), Progress::of(&n))?;
        last = Some(n);
    }
    last.ok_or_else(|| "the notification could not be followed".into())
}
