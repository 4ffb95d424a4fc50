//! StreamDeliveryEvents served with each event encoded once per process: the generated
//! service's route for the method is overridden by this one, whose codec writes response
//! messages framed around bytes every subscriber shares (`events::shared`), one event per
//! message or — when the request asks — several.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{BufMut, Bytes, BytesMut};
use futures::StreamExt;
use futures::future::BoxFuture;
use otn::v1 as pb;
use prost::Message;
use tokio_util::sync::CancellationToken;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::{Request, Response, Status};

use super::stream::{Holder, known_pages, parse_request, subscribe};
use crate::access::{Authenticator, Caller};
use crate::events::Events;
use crate::events::shared::Shared;
use crate::service::Consent;

/// The method's path (the route this service takes over).
pub(crate) const PATH: &str = "/otn.v1.NotificationService/StreamDeliveryEvents";

/// The encoded `DeliveryEvent` of a shared event.
fn encoded(s: &Shared) -> Bytes {
    s.proto(|e| Bytes::from(super::stream::event_to_proto(e).encode_to_vec()))
}

/// One response message: `field` (1: `event`, 2: `events`) holding each event.
fn frame(field: u32, events: &[Arc<Shared>]) -> Bytes {
    let parts: Vec<Bytes> = events.iter().map(|e| encoded(e)).collect();
    let len: usize = parts
        .iter()
        .map(|p| 1 + prost::length_delimiter_len(p.len()) + p.len())
        .sum();
    let mut out = BytesMut::with_capacity(len);
    for p in &parts {
        prost::encoding::encode_key(field, prost::encoding::WireType::LengthDelimited, &mut out);
        prost::encoding::encode_varint(p.len() as u64, &mut out);
        out.put_slice(p);
    }
    out.freeze()
}

/// Writes response messages already encoded; reads requests with prost.
#[derive(Debug, Clone, Copy, Default)]
struct FramedCodec;

#[derive(Debug)]
struct FramedEncoder;

impl Encoder for FramedEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

#[derive(Debug)]
struct RequestDecoder;

impl Decoder for RequestDecoder {
    type Item = pb::StreamDeliveryEventsRequest;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Status> {
        pb::StreamDeliveryEventsRequest::decode(buf)
            .map(Some)
            .map_err(|e| Status::internal(format!("decoding the request: {e}")))
    }
}

impl Codec for FramedCodec {
    type Encode = Bytes;
    type Decode = pb::StreamDeliveryEventsRequest;
    type Encoder = FramedEncoder;
    type Decoder = RequestDecoder;

    fn encoder(&mut self) -> FramedEncoder {
        FramedEncoder
    }

    fn decoder(&mut self) -> RequestDecoder {
        RequestDecoder
    }
}

/// The method, as a gRPC server-streaming service.
#[derive(Debug, Clone)]
pub(crate) struct FramedStream {
    consent: Consent,
    events: Events,
    authn: Arc<Authenticator>,
    shutdown: CancellationToken,
}

impl FramedStream {
    /// Serves the method over `events`; streams end with `shutdown` or their caller's key.
    pub(crate) fn new(
        consent: Consent,
        events: Events,
        authn: Arc<Authenticator>,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            consent,
            events,
            authn,
            shutdown,
        }
    }

    async fn open(
        &self,
        req: Request<pb::StreamDeliveryEventsRequest>,
    ) -> Result<Response<futures::stream::BoxStream<'static, Result<Bytes, Status>>>, Status> {
        let caller = Caller::of(&req);
        let batch = req.get_ref().max_events_per_message.max(1) as usize;
        let (filter, start) = parse_request(req.get_ref())?;
        let filter = caller.restrict(filter)?;
        known_pages(&filter, self.consent.deps().pages())?;
        let holder = Holder {
            authn: self.authn.clone(),
            credential: caller.credential().clone(),
        };
        let s = subscribe(&self.events, self.shutdown.clone(), filter, start, holder).await?;
        let out = match batch {
            1 => s.map(|r| r.map(|e| frame(1, &[e]))).boxed(),
            n => s
                .ready_chunks(n)
                .flat_map(|items| {
                    // Events up to the first error go as one message; the error ends the stream.
                    let mut ok = Vec::with_capacity(items.len());
                    let mut err = None;
                    for r in items {
                        match r {
                            Ok(e) if err.is_none() => ok.push(e),
                            Ok(_) => {}
                            Err(s) => {
                                err.get_or_insert(s);
                            }
                        }
                    }
                    let first = (!ok.is_empty()).then(|| Ok(frame(2, &ok)));
                    futures::stream::iter(first.into_iter().chain(err.map(Err)))
                })
                .boxed(),
        };
        Ok(Response::new(out))
    }
}

impl tonic::server::NamedService for FramedStream {
    const NAME: &'static str = "otn.v1.NotificationService";
}

struct Method(FramedStream);

impl tonic::server::ServerStreamingService<pb::StreamDeliveryEventsRequest> for Method {
    type Response = Bytes;
    type ResponseStream = futures::stream::BoxStream<'static, Result<Bytes, Status>>;
    type Future = BoxFuture<'static, Result<Response<Self::ResponseStream>, Status>>;

    fn call(&mut self, request: Request<pb::StreamDeliveryEventsRequest>) -> Self::Future {
        let svc = self.0.clone();
        Box::pin(async move { svc.open(request).await })
    }
}

impl tower::Service<http::Request<tonic::body::Body>> for FramedStream {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        let method = Method(self.clone());
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(FramedCodec)
                .apply_max_message_size_config(Some(otn::limits::REQUEST_BYTES_MAX), None);
            Ok(grpc.server_streaming(method, req).await)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::{Event, NewEvent};
    use crate::domain::vocab::EventKind;

    fn shared(seq: i64) -> Arc<Shared> {
        Shared::new(Event {
            seq,
            at_ms: 1_000,
            event: NewEvent::new(EventKind::Sent, "p1"),
        })
    }

    #[test]
    fn a_frame_is_exactly_what_prost_encodes_for_the_response() {
        let one = frame(1, &[shared(7)]);
        let decoded = pb::StreamDeliveryEventsResponse::decode(one).unwrap();
        assert_eq!(decoded.event.unwrap().sequence, 7);
        let many = frame(2, &[shared(1), shared(2), shared(3)]);
        let decoded = pb::StreamDeliveryEventsResponse::decode(many).unwrap();
        assert!(decoded.event.is_none());
        let seqs: Vec<i64> = decoded.events.iter().map(|e| e.sequence).collect();
        assert_eq!(seqs, [1, 2, 3]);
    }
}
