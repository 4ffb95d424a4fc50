//! otn-sdk: the Rust client of the otn service; the generated types and client, re-exported.

pub use otn::v1 as proto;
pub use otn::v1::notification_service_client::NotificationServiceClient;
pub use otn::{prost_types, tonic};

/// Connects to an otn server at `url` (for example `http://127.0.0.1:50051`).
pub async fn connect(
    url: impl Into<String>,
) -> Result<NotificationServiceClient<tonic::transport::Channel>, tonic::transport::Error> {
    let channel = tonic::transport::Endpoint::from_shared(url.into())?
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(std::time::Duration::from_secs(30))
        .connect()
        .await?;
    Ok(NotificationServiceClient::new(channel))
}
