//! Reflection as a generic tool uses it: v1alpha (older tools) lists the service, and an error's
//! google.rpc details decode with nothing but the descriptors the server serves.

use otn::v1 as pb;
use otn_testkit::spawn_app;
use prost::Message;
use tonic_reflection::pb::v1alpha::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
};

async fn ask(addr: std::net::SocketAddr, req: MessageRequest) -> MessageResponse {
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = ServerReflectionClient::new(channel);
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(req),
    };
    let mut stream = client
        .server_reflection_info(futures::stream::iter([req]))
        .await
        .unwrap()
        .into_inner();
    stream
        .message()
        .await
        .unwrap()
        .unwrap()
        .message_response
        .unwrap()
}

#[tokio::test]
async fn a_v1alpha_client_lists_the_service_and_decodes_error_details_from_reflection_alone() {
    let mut app = spawn_app().await;
    let addr = app.running.grpc_addr;
    let MessageResponse::ListServicesResponse(list) =
        ask(addr, MessageRequest::ListServices(String::new())).await
    else {
        panic!("not a service list");
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&"otn.v1.NotificationService"), "{names:?}");

    // A refusal with a BadRequest, as any client receives it: the Status bytes.
    let err = app
        .client
        .send_notification(pb::SendNotificationRequest::default())
        .await
        .unwrap_err();
    let details = err.details().to_vec();
    assert!(!details.is_empty());

    // As a generic tool does: the files of the symbols, then each file's imports by name.
    let mut protos: std::collections::BTreeMap<String, prost_types::FileDescriptorProto> =
        Default::default();
    let mut wanted: Vec<MessageRequest> = ["google.rpc.Status", "google.rpc.BadRequest"]
        .map(|s| MessageRequest::FileContainingSymbol(s.into()))
        .to_vec();
    while let Some(req) = wanted.pop() {
        let MessageResponse::FileDescriptorResponse(f) = ask(addr, req.clone()).await else {
            panic!("not served: {req:?}");
        };
        for bytes in f.file_descriptor_proto {
            let file = prost_types::FileDescriptorProto::decode(bytes.as_slice()).unwrap();
            for dep in &file.dependency {
                if !protos.contains_key(dep) {
                    wanted.push(MessageRequest::FileByFilename(dep.clone()));
                }
            }
            protos.insert(file.name().to_string(), file);
        }
    }
    let mut pool = prost_reflect::DescriptorPool::new();
    let set = prost_types::FileDescriptorSet {
        file: protos.into_values().collect(),
    };
    pool.add_file_descriptor_set(set)
        .expect("the served files are complete");
    let status = pool.get_message_by_name("google.rpc.Status").unwrap();
    let decoded = prost_reflect::DynamicMessage::decode(status, details.as_slice()).unwrap();
    let details = decoded.get_field_by_name("details").unwrap();
    let by_type = |name: &str| {
        let url = format!("type.googleapis.com/google.rpc.{name}");
        let any = details
            .as_list()
            .unwrap()
            .iter()
            .map(|a| a.as_message().unwrap().clone())
            .find(|a| a.get_field_by_name("type_url").unwrap().as_str() == Some(url.as_str()))
            .unwrap_or_else(|| panic!("no {name} among the details"));
        let value = any.get_field_by_name("value").unwrap();
        let desc = pool
            .get_message_by_name(&format!("google.rpc.{name}"))
            .unwrap();
        prost_reflect::DynamicMessage::decode(desc, value.as_bytes().unwrap().clone()).unwrap()
    };
    let info = by_type("ErrorInfo");
    let reason = info.get_field_by_name("reason").unwrap();
    assert_eq!(reason.as_str(), Some("INVALID_FIELD"));
    let bad = by_type("BadRequest");
    let violations = bad.get_field_by_name("field_violations").unwrap();
    let fields: Vec<String> = violations
        .as_list()
        .unwrap()
        .iter()
        .map(|v| {
            let m = v.as_message().unwrap();
            m.get_field_by_name("field")
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(fields.contains(&"request_id".to_string()), "{fields:?}");
}
