//! The client: a configured channel, the API-key interceptor, retries, and one method per RPC.

use std::future::Future;
use std::time::Duration;

use otn::v1::notification_service_client::NotificationServiceClient;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::error::Error;
use crate::retry::{RetryPolicy, Safety};

/// Adds `authorization: Bearer <key>` to every call when a key is set.
#[derive(Clone, Default)]
pub struct ApiKey(Option<MetadataValue<Ascii>>);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = if self.0.is_some() {
            "[redacted]"
        } else {
            "none"
        };
        write!(f, "ApiKey({shown})")
    }
}

impl ApiKey {
    /// The interceptor for `key` (`None`: add nothing).
    pub fn new(key: Option<&str>) -> Result<Self, Error> {
        match key {
            None => Ok(Self(None)),
            Some(k) => {
                let mut v: MetadataValue<Ascii> = format!("Bearer {k}")
                    .parse()
                    .map_err(|_| Error::Config("the API key must be printable ASCII".into()))?;
                v.set_sensitive(true);
                Ok(Self(Some(v)))
            }
        }
    }
}

impl Interceptor for ApiKey {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
        Ok(req)
    }
}

/// The transport under the generated client: a channel with the API-key interceptor.
pub type Transport = InterceptedService<Channel, ApiKey>;

/// Configures a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    url: String,
    connect_timeout: Duration,
    request_timeout: Option<Duration>,
    keep_alive: Option<Duration>,
    api_key: Option<String>,
    retry: RetryPolicy,
    tls: bool,
}

impl ClientBuilder {
    /// A builder for the server at `url` (`http://host:port`, or `https://` with feature `tls`).
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Some(Duration::from_secs(30)),
            keep_alive: Some(Duration::from_secs(30)),
            api_key: None,
            retry: RetryPolicy::default(),
            tls: false,
        }
    }

    /// How long connecting may take (default 5 s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// How long one attempt of a unary call may take (default 30 s). It does not limit how
    /// long a stream stays open.
    pub fn request_timeout(mut self, d: Duration) -> Self {
        self.request_timeout = Some(d);
        self
    }

    /// HTTP/2 keep-alive pings, so a dead connection under an idle stream is noticed
    /// (default every 30 s; `None` turns them off).
    pub fn keep_alive(mut self, every: Option<Duration>) -> Self {
        self.keep_alive = every;
        self
    }

    /// Sends `authorization: Bearer <key>` with every call.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Sets the API key if one is given (convenient with an optional flag or variable).
    pub fn api_key_opt(mut self, key: Option<String>) -> Self {
        self.api_key = key;
        self
    }

    /// The retry policy of unary calls (default [`RetryPolicy::default`]).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Uses TLS with the platform's root certificates (implied by an `https://` URL).
    #[cfg(feature = "tls")]
    pub fn tls(mut self) -> Self {
        self.tls = true;
        self
    }

    fn endpoint(&self) -> Result<Endpoint, Error> {
        let shaped = ["http://", "https://"]
            .iter()
            .any(|s| self.url.starts_with(s) && self.url.len() > s.len());
        if !shaped {
            return Err(Error::Config(format!(
                "bad URL {:?}: give http://host:port or https://host:port",
                self.url
            )));
        }
        let mut ep = Endpoint::from_shared(self.url.clone())
            .map_err(|e| Error::Config(format!("bad URL {:?}: {e}", self.url)))?
            .connect_timeout(self.connect_timeout);
        if let Some(t) = self.request_timeout {
            ep = ep.timeout(t);
        }
        if let Some(k) = self.keep_alive {
            ep = ep
                .http2_keep_alive_interval(k)
                .keep_alive_timeout(k.min(Duration::from_secs(20)))
                .keep_alive_while_idle(true);
        }
        let https = self.url.starts_with("https://");
        if self.tls || https {
            ep = tls(ep)?;
        }
        Ok(ep)
    }

    fn client(&self, channel: Channel) -> Result<Client, Error> {
        let auth = ApiKey::new(self.api_key.as_deref())?;
        Ok(Client {
            inner: NotificationServiceClient::with_interceptor(channel, auth),
            retry: self.retry.clone(),
        })
    }

    /// Connects now: fails fast when the server cannot be reached.
    pub async fn connect(self) -> Result<Client, Error> {
        let channel = self
            .endpoint()?
            .connect()
            .await
            .map_err(|source| Error::Connect {
                url: self.url.clone(),
                source,
            })?;
        self.client(channel)
    }

    /// Returns a client that connects on its first call (and reconnects as needed).
    pub fn connect_lazy(self) -> Result<Client, Error> {
        let channel = self.endpoint()?.connect_lazy();
        self.client(channel)
    }
}

#[cfg(feature = "tls")]
fn tls(ep: Endpoint) -> Result<Endpoint, Error> {
    ep.tls_config(tonic::transport::ClientTlsConfig::new().with_native_roots())
        .map_err(|e| Error::Config(format!("TLS: {e}")))
}

#[cfg(not(feature = "tls"))]
fn tls(_: Endpoint) -> Result<Endpoint, Error> {
    Err(Error::Config(
        "https:// needs otn-sdk's `tls` feature".into(),
    ))
}

/// A client of `otn.v1.NotificationService`. Cheap to clone; clones share the connection.
#[derive(Debug, Clone)]
pub struct Client {
    pub(crate) inner: NotificationServiceClient<Transport>,
    pub(crate) retry: RetryPolicy,
}

/// A new request id: a UUID v4.
pub(crate) fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Client {
    /// Connects to `url` with the default settings.
    pub async fn connect(url: impl Into<String>) -> Result<Client, Error> {
        ClientBuilder::new(url).connect().await
    }

    /// A builder for `url`.
    pub fn builder(url: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(url)
    }

    /// The generated client (same channel and API key, no SDK retries), for anything the SDK
    /// does not wrap.
    pub fn raw(&self) -> NotificationServiceClient<Transport> {
        self.inner.clone()
    }

    /// The retry policy of this client.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// Runs one unary call under the retry policy. `req` is sent again unchanged on a retry
    /// (so a request id in it is kept).
    pub(crate) async fn call<Req, Resp, F, Fut>(
        &self,
        safety: Safety,
        req: Req,
        f: F,
    ) -> Result<Resp, Error>
    where
        Req: Clone,
        F: Fn(NotificationServiceClient<Transport>, Req) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
    {
        let mut attempt = 1;
        loop {
            match f(self.inner.clone(), req.clone()).await {
                Ok(resp) => return Ok(resp.into_inner()),
                Err(status) => {
                    let err = Error::from(status);
                    match self.retry.next_delay(safety, attempt, &err) {
                        Some(delay) => tokio::time::sleep(delay).await,
                        None => return Err(err),
                    }
                }
            }
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_key_goes_out_as_a_bearer_token() {
        let mut key = ApiKey::new(Some("s3cret")).unwrap();
        let req = key.call(tonic::Request::new(())).unwrap();
        let v = req.metadata().get("authorization").unwrap();
        assert_eq!(v.to_str().unwrap(), "Bearer s3cret");
        assert!(v.is_sensitive());
        assert_eq!(format!("{key:?}"), "ApiKey([redacted])");
    }

    #[test]
    fn no_api_key_adds_no_header() {
        let mut key = ApiKey::new(None).unwrap();
        let req = key.call(tonic::Request::new(())).unwrap();
        assert!(req.metadata().get("authorization").is_none());
    }

    #[test]
    fn an_api_key_with_a_newline_is_a_configuration_error() {
        assert!(matches!(ApiKey::new(Some("a\nb")), Err(Error::Config(_))));
    }

    #[test]
    fn new_request_ids_are_uuid_v4() {
        let id = new_request_id();
        let u = uuid::Uuid::parse_str(&id).unwrap();
        assert_eq!(u.get_version_num(), 4);
        assert_ne!(id, new_request_id());
    }

    #[tokio::test]
    async fn a_malformed_url_is_a_configuration_error() {
        for bad in ["not a url", "not-a-url", "127.0.0.1:50051", "http://"] {
            let e = Client::connect(bad).await.unwrap_err();
            assert!(matches!(e, Error::Config(_)), "{bad}: {e:?}");
        }
    }

    #[cfg(not(feature = "tls"))]
    #[tokio::test]
    async fn https_without_the_tls_feature_says_so() {
        let e = Client::builder("https://example.invalid")
            .connect_lazy()
            .unwrap_err();
        assert!(e.to_string().contains("tls"), "{e}");
    }
}
