//! The cluster code against a mock API service (kube-rs `mock_tests.rs` pattern, STYLE.md): each
//! test plays the API server, asserting the exact request (method, path, query, headers, body)
//! and answering with the shapes a real API server sends. Nothing here opens a socket except the
//! connection-refused test, which dials a closed port on 127.0.0.1.

use super::apply::{self, SecretObject};
use super::status::{object_status, ObjectRef, ObjectStatus};
use super::{fetch_cert, ApiClient, KubeError};
use crate::config::Controller;
use crate::secret::SecretBytes;
use ::kube::client::Body;
use base64::Engine as _;
use http::{Method, Request, Response, StatusCode};
use std::collections::BTreeMap;

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

fn mock() -> (ApiClient, Handle) {
    let (svc, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = ::kube::Client::new(svc, "default");
    (ApiClient::new(client, "https://mock:6443", "mock"), handle)
}

/// One request as the server saw it.
struct Seen {
    method: Method,
    path: String,
    query: BTreeMap<String, String>,
    headers: http::HeaderMap,
    body: Vec<u8>,
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).expect("hex escape"));
            i += 3;
        } else {
            out.push(if b[i] == b'+' { b' ' } else { b[i] });
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// Waits for the next request and answers it with `status` and `body`.
async fn serve(h: &mut Handle, status: u16, body: &str) -> Seen {
    let (req, send) = h.next_request().await.expect("the client sent a request");
    let (parts, body_in) = req.into_parts();
    let bytes = body_in.collect_bytes().await.unwrap().to_vec();
    let query = parts
        .uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    let seen = Seen {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query,
        headers: parts.headers,
        body: bytes,
    };
    let ct = if body.starts_with('{') {
        "application/json"
    } else {
        "text/plain"
    };
    send.send_response(
        Response::builder()
            .status(StatusCode::from_u16(status).unwrap())
            .header("content-type", ct)
            .body(Body::from(body.as_bytes().to_vec()))
            .unwrap(),
    );
    seen
}

fn status_body(code: u16, reason: &str, message: &str) -> String {
    serde_json::json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code,
    })
    .to_string()
}

fn not_found(kind: &str, name: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(&status_body(
        404,
        "NotFound",
        &format!("{kind} \"{name}\" not found"),
    ))
    .unwrap();
    v["details"] = serde_json::json!({ "name": name, "kind": kind });
    v.to_string()
}

fn service(ns: &str, name: &str, port_name: Option<&str>) -> String {
    let mut port = serde_json::json!({ "port": 8080, "protocol": "TCP", "targetPort": 8080 });
    if let Some(p) = port_name {
        port["name"] = p.into();
    }
    serde_json::json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": { "name": name, "namespace": ns, "uid": "u1", "resourceVersion": "1" },
        "spec": { "ports": [port], "clusterIP": "10.0.0.1", "type": "ClusterIP" },
    })
    .to_string()
}

fn demo_pem() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/keys/clusters/demo.pem"
    ))
    .expect("demo certificate")
}

fn ctrl(name: &str, ns: &str) -> Controller {
    Controller {
        name: name.into(),
        namespace: ns.into(),
    }
}

#[tokio::test]
async fn cert_fetch_reads_the_port_name_then_uses_the_service_proxy() {
    let (api, mut h) = mock();
    let server = tokio::spawn(async move {
        let s = serve(
            &mut h,
            200,
            &service("sealed-secrets", "sealed-secrets", Some("http")),
        )
        .await;
        assert_eq!(s.method, Method::GET);
        assert_eq!(
            s.path,
            "/api/v1/namespaces/sealed-secrets/services/sealed-secrets"
        );
        let s = serve(&mut h, 200, &demo_pem()).await;
        assert_eq!(s.method, Method::GET);
        // SEALED-SECRETS.md §4.6: scheme, name and port NAME in the proxy segment.
        assert_eq!(
            s.path,
            "/api/v1/namespaces/sealed-secrets/services/http:sealed-secrets:http/proxy/v1/cert.pem"
        );
        assert_eq!(
            s.headers.get("accept").unwrap(),
            "application/x-pem-file, */*"
        );
        assert!(s.body.is_empty());
    });
    let got = fetch_cert(&api, &ctrl("sealed-secrets", "sealed-secrets"))
        .await
        .unwrap();
    server.await.unwrap();
    assert_eq!(got.pem, demo_pem().into_bytes());
}

#[tokio::test]
async fn cert_fetch_with_an_unnamed_port_ends_the_segment_in_a_colon() {
    let (api, mut h) = mock();
    let server = tokio::spawn(async move {
        serve(
            &mut h,
            200,
            &service("kube-system", "sealed-secrets-controller", None),
        )
        .await;
        let s = serve(&mut h, 200, &demo_pem()).await;
        assert_eq!(
            s.path,
            "/api/v1/namespaces/kube-system/services/http:sealed-secrets-controller:/proxy/v1/cert.pem"
        );
    });
    fetch_cert(&api, &Controller::default()).await.unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn missing_service_reports_the_controller_found_elsewhere() {
    let (api, mut h) = mock();
    let server = tokio::spawn(async move {
        let s = serve(
            &mut h,
            404,
            &not_found("services", "sealed-secrets-controller"),
        )
        .await;
        assert_eq!(
            s.path,
            "/api/v1/namespaces/kube-system/services/sealed-secrets-controller"
        );
        let list = serde_json::json!({
            "apiVersion": "v1", "kind": "ServiceList", "metadata": {"resourceVersion": "9"},
            "items": [
                serde_json::from_str::<serde_json::Value>(&service("sealed-secrets", "sealed-secrets-metrics", Some("metrics"))).unwrap(),
                serde_json::from_str::<serde_json::Value>(&service("sealed-secrets", "sealed-secrets", Some("http"))).unwrap(),
            ],
        });
        let s = serve(&mut h, 200, &list.to_string()).await;
        assert_eq!(s.path, "/api/v1/services");
        assert_eq!(
            s.query["labelSelector"],
            "app.kubernetes.io/name=sealed-secrets"
        );
        let empty = r#"{"apiVersion":"v1","kind":"ServiceList","metadata":{},"items":[]}"#;
        let s = serve(&mut h, 200, empty).await;
        assert_eq!(s.query["labelSelector"], "name=sealed-secrets-controller");
    });
    let e = fetch_cert(&api, &Controller::default()).await.unwrap_err();
    server.await.unwrap();
    let msg = e.to_string();
    assert!(matches!(e, KubeError::ServiceNotFound { .. }), "{msg}");
    assert!(
        msg.contains("kube-system/sealed-secrets-controller"),
        "{msg}"
    );
    assert!(
        msg.contains("controller: {name: sealed-secrets, namespace: sealed-secrets}"),
        "{msg}"
    );
    assert!(
        !msg.contains("metrics"),
        "the -metrics Service is never offered: {msg}"
    );
}

#[tokio::test]
async fn no_endpoints_is_an_actionable_message() {
    let (api, mut h) = mock();
    let server = tokio::spawn(async move {
        serve(
            &mut h,
            200,
            &service("kube-system", "sealed-secrets-controller", None),
        )
        .await;
        serve(
            &mut h,
            503,
            &status_body(
                503,
                "ServiceUnavailable",
                "no endpoints available for service \"sealed-secrets-controller\"",
            ),
        )
        .await;
    });
    let e = fetch_cert(&api, &Controller::default()).await.unwrap_err();
    server.await.unwrap();
    let msg = e.to_string();
    assert!(matches!(e, KubeError::NoEndpoints { .. }), "{msg}");
    assert!(msg.contains("no ready endpoints"), "{msg}");
    assert!(msg.contains("get pods"), "{msg}");
}

#[tokio::test]
async fn forbidden_names_the_action_and_rbac() {
    let (api, mut h) = mock();
    let server = tokio::spawn(async move {
        serve(
            &mut h,
            200,
            &service("kube-system", "sealed-secrets-controller", None),
        )
        .await;
        serve(
            &mut h,
            403,
            &status_body(
                403,
                "Forbidden",
                "services \"http:sealed-secrets-controller:\" is forbidden: User \"dev\" cannot get resource \"services/proxy\"",
            ),
        )
        .await;
    });
    let e = fetch_cert(&api, &Controller::default()).await.unwrap_err();
    server.await.unwrap();
    let msg = e.to_string();
    assert!(matches!(e, KubeError::Forbidden { .. }), "{msg}");
    assert!(msg.contains("403 Forbidden"), "{msg}");
    assert!(msg.contains("services/proxy"), "{msg}");
    assert!(msg.contains("RBAC"), "{msg}");
}

#[tokio::test]
async fn connection_refused_says_the_cluster_is_unreachable() {
    // A port that was just free on loopback: nothing listens there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url: http::Uri = format!("http://127.0.0.1:{port}").parse().unwrap();
    let config = ::kube::Config::new(url);
    let client = ::kube::Client::try_from(config).unwrap();
    let api = ApiClient::new(client, &format!("http://127.0.0.1:{port}"), "test");
    let e = fetch_cert(&api, &Controller::default()).await.unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, KubeError::Unreachable { .. }), "{msg}");
    assert!(msg.contains("connection refused"), "{msg}");
    assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
}

fn sops_age_secret() -> SecretObject {
    let mut s = SecretObject {
        name: "sops-age".into(),
        namespace: "flux-system".into(),
        type_: Some("Opaque".into()),
        ..Default::default()
    };
    s.data.insert(
        "age.agekey".into(),
        SecretBytes::from_str("AGE-SECRET-KEY-1TESTONLY\n"),
    );
    s
}

#[tokio::test]
async fn apply_is_a_forced_server_side_apply_with_our_field_manager() {
    let (api, mut h) = mock();
    let server = tokio::spawn(async move {
        let s = serve(&mut h, 200, r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"sops-age"},"data":{"age.agekey":"eA=="}}"#).await;
        assert_eq!(s.method, Method::PATCH);
        assert_eq!(s.path, "/api/v1/namespaces/flux-system/secrets/sops-age");
        assert_eq!(s.query["fieldManager"], "overworld-secrets");
        assert_eq!(s.query["force"], "true");
        assert_eq!(
            s.headers.get("content-type").unwrap(),
            "application/apply-patch+yaml"
        );
        let body: serde_json::Value = serde_json::from_slice(&s.body).unwrap();
        assert_eq!(body["apiVersion"], "v1");
        assert_eq!(body["kind"], "Secret");
        assert_eq!(body["metadata"]["name"], "sops-age");
        assert_eq!(body["metadata"]["namespace"], "flux-system");
        assert_eq!(body["type"], "Opaque");
        let v = body["data"]["age.agekey"].as_str().unwrap();
        assert_eq!(
            base64::engine::general_purpose::STANDARD.decode(v).unwrap(),
            b"AGE-SECRET-KEY-1TESTONLY\n"
        );
    });
    apply::apply_secret(&api, &sops_age_secret()).await.unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn apply_errors_never_carry_the_value() {
    let (api, mut h) = mock();
    let server = tokio::spawn(async move {
        serve(
            &mut h,
            422,
            &status_body(
                422,
                "Invalid",
                "Secret \"sops-age\" is invalid: data: Invalid value",
            ),
        )
        .await;
    });
    let e = apply::apply_secret(&api, &sops_age_secret())
        .await
        .unwrap_err();
    server.await.unwrap();
    let msg = e.to_string();
    assert!(msg.contains("flux-system/sops-age"), "{msg}");
    assert!(!msg.contains("TESTONLY"), "{msg}");
    assert!(!format!("{e:?}").contains("TESTONLY"));
}

#[tokio::test]
async fn a_missing_namespace_is_created_by_apply() {
    let (api, mut h) = mock();
    let server = tokio::spawn(async move {
        let s = serve(&mut h, 404, &not_found("namespaces", "flux-system")).await;
        assert_eq!(
            (s.method, s.path.as_str()),
            (Method::GET, "/api/v1/namespaces/flux-system")
        );
        let s = serve(
            &mut h,
            201,
            r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"flux-system"}}"#,
        )
        .await;
        assert_eq!(s.method, Method::PATCH);
        assert_eq!(s.path, "/api/v1/namespaces/flux-system");
        assert_eq!(s.query["fieldManager"], "overworld-secrets");
        assert_eq!(
            s.headers.get("content-type").unwrap(),
            "application/apply-patch+yaml"
        );
        let body: serde_json::Value = serde_json::from_slice(&s.body).unwrap();
        assert_eq!(body["kind"], "Namespace");
        assert_eq!(body["metadata"]["name"], "flux-system");
        // Second call: it exists, so only a GET.
        let s = serve(
            &mut h,
            200,
            r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"flux-system"}}"#,
        )
        .await;
        assert_eq!(s.method, Method::GET);
    });
    assert!(apply::ensure_namespace(&api, "flux-system").await.unwrap());
    assert!(!apply::ensure_namespace(&api, "flux-system").await.unwrap());
    server.await.unwrap();
}

#[tokio::test]
async fn sealing_keys_are_listed_by_label_plus_the_legacy_name_and_stripped() {
    let (api, mut h) = mock();
    let crt = base64::engine::general_purpose::STANDARD.encode(demo_pem());
    let server = tokio::spawn(async move {
        let list = serde_json::json!({
            "apiVersion": "v1", "kind": "SecretList", "metadata": {"resourceVersion": "5"},
            "items": [{
                "metadata": {
                    "name": "sealed-secrets-keyabcde", "namespace": "kube-system",
                    "uid": "3f0c", "resourceVersion": "123", "creationTimestamp": "2026-01-01T00:00:00Z",
                    "generateName": "sealed-secrets-key",
                    "labels": {"sealedsecrets.bitnami.com/sealed-secrets-key": "active"},
                    "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{}}"},
                    "managedFields": [{"manager": "controller", "operation": "Update"}],
                },
                "type": "kubernetes.io/tls",
                "data": {"tls.crt": crt, "tls.key": "a2V5"},
            }],
        });
        let s = serve(&mut h, 200, &list.to_string()).await;
        assert_eq!(s.method, Method::GET);
        assert_eq!(s.path, "/api/v1/namespaces/kube-system/secrets");
        assert_eq!(
            s.query["labelSelector"],
            "sealedsecrets.bitnami.com/sealed-secrets-key"
        );
        let s = serve(&mut h, 404, &not_found("secrets", "sealed-secrets-key")).await;
        assert_eq!(
            s.path,
            "/api/v1/namespaces/kube-system/secrets/sealed-secrets-key"
        );
    });
    let keys = apply::list_sealing_keys(&api, "kube-system").await.unwrap();
    server.await.unwrap();
    assert_eq!(keys.len(), 1);
    let k = &keys[0];
    assert_eq!(k.name, "sealed-secrets-keyabcde");
    assert_eq!(k.namespace, "kube-system");
    assert_eq!(k.type_.as_deref(), Some("kubernetes.io/tls"));
    assert!(k.annotations.is_empty(), "last-applied is dropped");
    assert_eq!(k.data["tls.key"].expose(), b"key");
    assert_eq!(k.data["tls.crt"].expose(), demo_pem().as_bytes());
    // What a backup writes has no server fields (§7 step 2).
    let body = serde_json::to_value(k).unwrap();
    for f in [
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "managedFields",
        "generateName",
    ] {
        assert!(body["metadata"].get(f).is_none(), "{f} kept");
    }
}

#[tokio::test]
async fn a_running_controller_is_found_by_its_labels_and_restarted() {
    let (api, mut h) = mock();
    let server = tokio::spawn(async move {
        let pods = serde_json::json!({
            "apiVersion": "v1", "kind": "PodList", "metadata": {},
            "items": [{"metadata": {"name": "sealed-secrets-7d9f-x2", "namespace": "sealed-secrets"},
                       "status": {"phase": "Running"}}],
        });
        let s = serve(&mut h, 200, &pods.to_string()).await;
        assert_eq!(s.path, "/api/v1/namespaces/sealed-secrets/pods");
        assert_eq!(
            s.query["labelSelector"],
            "app.kubernetes.io/name=sealed-secrets"
        );
        let s = serve(
            &mut h,
            200,
            r#"{"apiVersion":"v1","kind":"PodList","metadata":{},"items":[]}"#,
        )
        .await;
        assert_eq!(s.query["labelSelector"], "name=sealed-secrets-controller");
        let s = serve(
            &mut h,
            200,
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"sealed-secrets-7d9f-x2"}}"#,
        )
        .await;
        assert_eq!(s.method, Method::DELETE);
        assert_eq!(
            s.path,
            "/api/v1/namespaces/sealed-secrets/pods/sealed-secrets-7d9f-x2"
        );
    });
    let pods = apply::controller_pods(&api, "sealed-secrets")
        .await
        .unwrap();
    assert_eq!(pods, vec!["sealed-secrets-7d9f-x2".to_string()]);
    apply::restart_controller(&api, "sealed-secrets", &pods)
        .await
        .unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn object_status_reads_conditions_and_tells_missing_from_no_crd() {
    let (api, mut h) = mock();
    let obj = ObjectRef {
        api_version: "bitnami.com/v1alpha1".into(),
        kind: "SealedSecret".into(),
        namespace: "apps".into(),
        name: "db".into(),
    };
    let server = tokio::spawn(async move {
        let body = serde_json::json!({
            "apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
            "metadata": {"name": "db", "namespace": "apps"},
            "status": {"conditions": [{"type": "Synced", "status": "False",
                "reason": "ErrUnsealFailed", "message": "no key could decrypt secret (password)"}]},
        });
        let s = serve(&mut h, 200, &body.to_string()).await;
        assert_eq!(
            s.path,
            "/apis/bitnami.com/v1alpha1/namespaces/apps/sealedsecrets/db"
        );
        serve(&mut h, 404, &not_found("sealedsecrets.bitnami.com", "db")).await;
        serve(&mut h, 404, "404 page not found\n").await;
    });
    match object_status(&api, &obj).await.unwrap() {
        ObjectStatus::Present { condition: Some(c) } => {
            assert_eq!(c.type_, "Synced");
            assert_eq!(c.status, "False");
            assert_eq!(
                c.message.as_deref(),
                Some("no key could decrypt secret (password)")
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        object_status(&api, &obj).await.unwrap(),
        ObjectStatus::Missing
    );
    assert_eq!(
        object_status(&api, &obj).await.unwrap(),
        ObjectStatus::NoCrd
    );
    server.await.unwrap();
}

#[test]
fn external_secret_paths_and_conditions() {
    let o = ObjectRef {
        api_version: "external-secrets.io/v1".into(),
        kind: "ExternalSecret".into(),
        namespace: "apps".into(),
        name: "db".into(),
    };
    assert_eq!(
        o.path(),
        "/apis/external-secrets.io/v1/namespaces/apps/externalsecrets/db"
    );
    assert_eq!(o.condition_type(), "Ready");
}

#[tokio::test]
async fn an_https_server_gets_a_working_tls_stack() {
    // rustls with aws-lc-rs (no OpenSSL, no ring): building the client installs the provider, and
    // a request fails at the TCP connect, not in TLS setup.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url: http::Uri = format!("https://127.0.0.1:{port}").parse().unwrap();
    let client = ::kube::Client::try_from(::kube::Config::new(url)).expect("TLS client builds");
    let api = ApiClient::new(client, &format!("https://127.0.0.1:{port}"), "test");
    let e = fetch_cert(&api, &Controller::default()).await.unwrap_err();
    assert!(matches!(e, KubeError::Unreachable { .. }), "{e}");
}
