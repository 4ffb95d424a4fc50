//! An inventory service's "back in stock" alert: `cargo run -p otn-sdk --example back_in_stock -- [SKU] [MAX]`.

use otn_sdk::examples::{self, back_in_stock};

#[tokio::main]
async fn main() -> Result<(), examples::BoxError> {
    let sku = examples::arg(1, "sku-123");
    let max: u32 = examples::arg(2, "40").parse()?;
    let restock = std::process::id().to_string();
    let page = examples::page_from_env();
    let topic = format!("back-in-stock:{sku}");
    examples::sandbox::opt_in_shoppers(
        &examples::sandbox::url_from_env(),
        &page,
        &topic,
        &["ana", "ben", "cai"],
        &mut std::io::stdout(),
    )
    .await?;
    let done = back_in_stock::run(
        &examples::url_from_env(),
        examples::key_from_env().as_deref(),
        &page,
        &sku,
        &restock,
        max,
        &mut std::io::stdout(),
    )
    .await?;
    println!("done: {}", done.notification_id);
    Ok(())
}
