//! A pricing service's "price drop" alert: `cargo run -p otn-sdk --example price_drop -- [SKU] [WAS] [NOW]`.

use otn_sdk::examples::{self, price_drop};

#[tokio::main]
async fn main() -> Result<(), examples::BoxError> {
    let page = examples::page_from_env();
    let sku = examples::arg(1, "sku-9");
    examples::sandbox::opt_in_shoppers(
        &examples::sandbox::url_from_env(),
        &page,
        &format!("price-drop:{sku}"),
        &["dee", "eli"],
        &mut std::io::stdout(),
    )
    .await?;
    let done = price_drop::run(
        &examples::url_from_env(),
        examples::key_from_env().as_deref(),
        &page,
        &sku,
        &examples::arg(2, "49 EUR"),
        &examples::arg(3, "39 EUR"),
        &mut std::io::stdout(),
    )
    .await?;
    println!("done: {}", done.notification_id);
    Ok(())
}
