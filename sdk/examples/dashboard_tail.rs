//! A dashboard tailing a page's delivery events: `cargo run -p otn-sdk --example dashboard_tail -- [AFTER] [LIMIT]`.

use otn_sdk::examples::{self, dashboard_tail};

#[tokio::main]
async fn main() -> Result<(), examples::BoxError> {
    let after: i64 = examples::arg(1, "0").parse()?;
    let limit = std::env::args().nth(2).map(|l| l.parse()).transpose()?;
    let tail = dashboard_tail::run(
        &examples::url_from_env(),
        examples::key_from_env().as_deref(),
        &examples::page_from_env(),
        after,
        limit,
        &mut std::io::stdout(),
    )
    .await?;
    println!("resume with: {}", tail.last_sequence);
    Ok(())
}
