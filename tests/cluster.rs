//! The cluster commands (`cert fetch`, `keys backup`, `bootstrap`, `status`) run as a user runs
//! them: the built binary, a kubeconfig, and an API server — here a fake one on 127.0.0.1 that
//! answers the real API shapes and records every request, so the tests assert what went over the
//! wire (paths, query, headers, bodies, order). SOPS files are checked with the real `sops`.
//!
//! What it must never do: contact any address but loopback. The live-cluster tests at the end are
//! `#[ignore = "needs a cluster"]`; run them against a throwaway kind/k3d cluster with
//! `OVERWORLD_E2E_KUBECONFIG=<kubeconfig> OVERWORLD_E2E_CONTEXT=<context> \
//!  cargo test --test integration cluster::e2e -- --ignored --test-threads 1`
//! (the sealed-secrets controller installed by the plain manifest in `kube-system`; the tests
//! create and overwrite `flux-system/sops-age` and sealing key Secrets there — never point them at
//! a cluster you care about).

use crate::util::{identity_file, Scratch};
use base64::Engine as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const RECIPIENT_A: &str = "age1ks8uufh9q0l3ae7vseg5pj3ns42kdfqd2jfz86sm8tp862wc5y8swyackd";

/// One request the fake API server received.
#[derive(Debug, Clone)]
struct Req {
    method: String,
    /// Path and query, as sent.
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Req {
    fn path(&self) -> &str {
        self.target.split('?').next().unwrap()
    }
    fn query(&self, key: &str) -> Option<String> {
        let q = self.target.split_once('?')?.1;
        q.split('&').find_map(|p| {
            let (k, v) = p.split_once('=')?;
            (k == key).then(|| decode(v))
        })
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

fn decode(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

type Route = dyn Fn(&Req) -> (u16, String) + Send + Sync;

/// A minimal HTTP/1.1 API server on 127.0.0.1: keep-alive, Content-Length bodies. It stops when
/// dropped, and on its own after a minute whatever happens.
struct FakeApi {
    port: u16,
    seen: Arc<Mutex<Vec<Req>>>,
    stop: Arc<AtomicBool>,
}

impl FakeApi {
    fn start(route: impl Fn(&Req) -> (u16, String) + Send + Sync + 'static) -> FakeApi {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let route: Arc<Route> = Arc::new(route);
        let (seen2, stop2) = (seen.clone(), stop.clone());
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            while !stop2.load(Ordering::SeqCst) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (route, seen) = (route.clone(), seen2.clone());
                        std::thread::spawn(move || serve_conn(stream, &*route, &seen));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        FakeApi { port, seen, stop }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn requests(&self) -> Vec<Req> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn serve_conn(stream: TcpStream, route: &Route, seen: &Mutex<Vec<Req>>) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, target) = (
            parts.next().unwrap_or("").to_string(),
            parts.next().unwrap_or("").to_string(),
        );
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let req = Req {
            method,
            target,
            headers,
            body,
        };
        let (status, text) = route(&req);
        seen.lock().unwrap().push(req);
        let ct = if text.starts_with('{') {
            "application/json"
        } else {
            "text/plain"
        };
        let resp = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: {ct}\r\ncontent-length: {}\r\n\r\n{text}",
            text.len()
        );
        if out.write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}

fn status(code: u16, reason: &str, message: &str) -> (u16, String) {
    let mut v = serde_json::json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": code});
    if code == 404 {
        v["details"] = serde_json::json!({"name": "x"});
    }
    (code, v.to_string())
}

fn service(ns: &str, name: &str, port: &str) -> (u16, String) {
    let v = serde_json::json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"ports": [{"name": port, "port": 8080, "protocol": "TCP"}]}});
    (200, v.to_string())
}

fn demo_pem() -> String {
    std::fs::read_to_string(crate::util::repo_root().join("keys/clusters/demo.pem")).unwrap()
}

fn shared_fixture(rel: &str) -> std::path::PathBuf {
    crate::util::fixture(rel)
}

/// A scratch repository: config, `.sops.yaml` for recipient a, a kubeconfig for `server`.
fn repo(server: &str, controller: (&str, &str), extra: &str) -> Scratch {
    let s = Scratch::new();
    s.write(
        "overworld-secrets.yaml",
        format!(
            "clusters:\n  demo:\n    controller:\n      name: {}\n      namespace: {}\n{extra}",
            controller.0, controller.1
        ),
    );
    s.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - path_regex: ^secrets/\n    encrypted_regex: ^(data|stringData)$\n    age: {RECIPIENT_A}\n"
        ),
    );
    s.write(
        "kubeconfig",
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {server}\nusers:\n- name: fake\n  user:\n    token: test-only-token\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\ncurrent-context: fake\n"
        ),
    );
    s
}

fn ours(s: &Scratch) -> crate::util::TestCommand {
    let mut c = s.ours();
    c.env("KUBECONFIG", s.path("kubeconfig"))
        .age_key_file(&identity_file("a"));
    c
}

#[test]
fn cert_fetch_uses_the_service_proxy_and_writes_only_on_change() {
    let api = FakeApi::start(|r| match r.path() {
        "/api/v1/namespaces/sealed-secrets/services/sealed-secrets" => {
            service("sealed-secrets", "sealed-secrets", "http")
        }
        "/api/v1/namespaces/sealed-secrets/services/http:sealed-secrets:http/proxy/v1/cert.pem" => {
            (200, demo_pem())
        }
        _ => status(404, "NotFound", "not found"),
    });
    let s = repo(&api.url(), ("sealed-secrets", "sealed-secrets"), "");
    let run = ours(&s).args(["cert", "fetch", "--cluster", "demo"]).ok();
    assert_eq!(
        String::from_utf8(s.read("keys/clusters/demo.pem")).unwrap(),
        demo_pem()
    );
    // The fingerprint is the SHA-256 of the DER certificate (`openssl x509 -fingerprint -sha256`).
    let der = base64::engine::general_purpose::STANDARD
        .decode(
            demo_pem()
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<String>(),
        )
        .unwrap();
    let want: String = <sha2::Sha256 as sha2::Digest>::digest(&der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(run.stderr_str().contains(&want), "{run}");
    assert!(run.stderr_str().contains("written"), "{run}");
    let reqs = api.requests();
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    assert_eq!(
        reqs[1].header("accept"),
        Some("application/x-pem-file, */*")
    );
    // The kubeconfig's credentials are used.
    assert_eq!(
        reqs[0].header("authorization"),
        Some("Bearer test-only-token")
    );
    let again = ours(&s)
        .args(["cert", "fetch", "--cluster", "demo", "--json"])
        .ok();
    let v: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(v[0]["changed"], false, "{again}");
    assert_eq!(v[0]["cert_sha256"], want.as_str());
}

#[test]
fn cert_fetch_with_a_wrong_service_name_says_what_it_found() {
    let api = FakeApi::start(|r| {
        match (r.path(), r.query("labelSelector").as_deref()) {
        ("/api/v1/services", Some("app.kubernetes.io/name=sealed-secrets")) => (
            200,
            serde_json::json!({"apiVersion": "v1", "kind": "ServiceList", "metadata": {},
                "items": [serde_json::from_str::<serde_json::Value>(&service("sealed-secrets", "sealed-secrets", "http").1).unwrap()]})
            .to_string(),
        ),
        ("/api/v1/services", _) => (
            200,
            r#"{"apiVersion":"v1","kind":"ServiceList","metadata":{},"items":[]}"#.into(),
        ),
        _ => status(404, "NotFound", "services \"sealed-secrets-controller\" not found"),
    }
    });
    let s = repo(&api.url(), ("sealed-secrets-controller", "kube-system"), "");
    let run = ours(&s).args(["cert", "fetch"]).run();
    assert_eq!(run.code, Some(2), "{run}");
    let err = run.stderr_str();
    assert!(err.contains("cluster demo"), "{run}");
    assert!(
        err.contains("controller: {name: sealed-secrets, namespace: sealed-secrets}"),
        "{run}"
    );
    assert!(!s.path("keys/clusters/demo.pem").exists());
}

#[test]
fn an_unreachable_api_server_is_named() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let s = repo(
        &format!("http://127.0.0.1:{port}"),
        ("sealed-secrets-controller", "kube-system"),
        "",
    );
    let run = ours(&s).args(["cert", "fetch", "--cluster", "demo"]).run();
    assert_eq!(run.code, Some(2), "{run}");
    assert!(run.stderr_str().contains("connection refused"), "{run}");
    assert!(
        run.stderr_str().contains(&format!("127.0.0.1:{port}")),
        "{run}"
    );
}

/// The TEST-ONLY key Secret fixture's `data`, base64 as in the manifest.
fn fixture_key_data() -> (String, String) {
    let text = std::fs::read_to_string(shared_fixture("sealed/TEST-ONLY-sealing-key.secret.yaml"))
        .unwrap();
    let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    (
        v["data"]["tls.crt"].as_str().unwrap().to_string(),
        v["data"]["tls.key"].as_str().unwrap().to_string(),
    )
}

fn key_list() -> String {
    let (crt, key) = fixture_key_data();
    serde_json::json!({"apiVersion": "v1", "kind": "SecretList", "metadata": {"resourceVersion": "7"},
        "items": [{"metadata": {"name": "sealed-secrets-keytest1", "namespace": "sealed-secrets",
            "uid": "0b9e", "resourceVersion": "41", "creationTimestamp": "2026-01-01T00:00:00Z",
            "managedFields": [{"manager": "controller"}],
            "labels": {"sealedsecrets.bitnami.com/sealed-secrets-key": "active"}},
          "type": "kubernetes.io/tls", "data": {"tls.crt": crt, "tls.key": key}}]})
    .to_string()
}

/// Encrypts `plain` to recipient a with the real sops, into `rel`.
fn sops_encrypt(s: &Scratch, rel: &str, plain: &str, binary: bool) {
    let src = s.write(&format!("{rel}.plain"), plain);
    let mut cmd = s.sops();
    cmd.args(["encrypt", "--age", RECIPIENT_A]);
    if binary {
        cmd.args(["--input-type", "binary", "--output-type", "binary"]);
    } else {
        cmd.args(["--input-type", "yaml", "--output-type", "yaml"]);
    }
    let run = cmd.arg(&src).ok();
    std::fs::remove_file(src).unwrap();
    s.write(rel, run.stdout);
}

#[test]
fn keys_backup_is_sops_encrypted_stripped_and_stable() {
    let api = FakeApi::start(|r| match r.path() {
        "/api/v1/namespaces/sealed-secrets/secrets" => (200, key_list()),
        _ => status(404, "NotFound", "not found"),
    });
    let s = repo(&api.url(), ("sealed-secrets", "sealed-secrets"), "");
    ours(&s).args(["keys", "backup", "--cluster", "demo"]).ok();
    let rel = "secrets/bootstrap/demo/sealed-secrets-keys.yaml";
    let first = s.read(rel);
    let text = String::from_utf8(first.clone()).unwrap();
    assert!(
        !text.contains(&fixture_key_data().1),
        "the key is encrypted"
    );
    // The real sops decrypts it, and it is the upstream backup shape without server fields.
    let dec = s
        .sops()
        .age_key_file(&identity_file("a"))
        .args(["decrypt", rel])
        .ok();
    let v: serde_yaml_ng::Value = serde_yaml_ng::from_slice(&dec.stdout).unwrap();
    assert_eq!(v["kind"].as_str(), Some("List"));
    let item = &v["items"][0];
    assert_eq!(
        item["metadata"]["name"].as_str(),
        Some("sealed-secrets-keytest1")
    );
    assert_eq!(item["type"].as_str(), Some("kubernetes.io/tls"));
    assert_eq!(
        item["data"]["tls.key"].as_str(),
        Some(fixture_key_data().1.as_str())
    );
    for f in [
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "managedFields",
    ] {
        assert!(item["metadata"].get(f).is_none(), "{f} kept");
    }
    // metadata stays readable (encrypted_regex from .sops.yaml).
    assert!(text.contains("name: sealed-secrets-keytest1"), "{text}");
    // The legacy-named Secret was asked for too, and the label selector is the key label.
    let reqs = api.requests();
    assert_eq!(
        reqs[0].query("labelSelector").as_deref(),
        Some("sealedsecrets.bitnami.com/sealed-secrets-key")
    );
    assert!(reqs
        .iter()
        .any(|r| r.path() == "/api/v1/namespaces/sealed-secrets/secrets/sealed-secrets-key"));
    // Same keys again: the file is not rewritten (a fresh data key would change every byte).
    let run = ours(&s).args(["keys", "backup", "--cluster", "demo"]).ok();
    assert!(run.stderr_str().contains("unchanged"), "{run}");
    assert_eq!(s.read(rel), first);
}

fn bootstrap_repo(server: &str) -> Scratch {
    let s = repo(
        server,
        ("sealed-secrets", "sealed-secrets"),
        "    bootstrap:\n      secrets: [secrets/bootstrap/demo/universal-auth.yaml]\n",
    );
    let identity = std::fs::read_to_string(identity_file("b")).unwrap();
    sops_encrypt(&s, "secrets/bootstrap/demo/age.agekey", &identity, true);
    let (crt, key) = fixture_key_data();
    sops_encrypt(
        &s,
        "secrets/bootstrap/demo/sealed-secrets-keys.yaml",
        &format!("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: sealed-secrets-keytest1\n    namespace: kube-system\n  type: kubernetes.io/tls\n  data:\n    tls.crt: {crt}\n    tls.key: {key}\n"),
        false,
    );
    sops_encrypt(
        &s,
        "secrets/bootstrap/demo/universal-auth.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: universal-auth\n  namespace: external-secrets\nstringData:\n  clientId: test-only-client\n  clientSecret: test-only-marker-secret\n",
        false,
    );
    s
}

#[test]
fn bootstrap_dry_run_lists_kinds_names_and_namespaces_only() {
    // No API server at all: a dry run must not need one.
    let s = bootstrap_repo("http://127.0.0.1:9");
    let run = ours(&s)
        .args(["bootstrap", "--cluster", "demo", "--dry-run"])
        .ok();
    let out = run.stdout_str();
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    assert_eq!(
        lines,
        [
            "cluster demo (dry run: nothing applied)",
            "Namespace flux-system (created if missing)",
            "Secret flux-system/sops-age (Flux SOPS age key)",
            "Namespace sealed-secrets (created if missing)",
            "Secret sealed-secrets/sealed-secrets-keytest1 (sealing key)",
            "Namespace external-secrets (created if missing)",
            "Secret external-secrets/universal-auth (bootstrap Secret)",
        ],
        "{run}"
    );
    assert!(!format!("{run}").contains("AGE-SECRET-KEY"), "{run}");
    assert!(
        !format!("{run}").contains("test-only-marker-secret"),
        "{run}"
    );
}

#[test]
fn bootstrap_applies_in_order_creates_namespaces_and_restarts_the_controller() {
    let api = FakeApi::start(|r| {
        let p = r.path();
        match r.method.as_str() {
            "GET" if p == "/api/v1/namespaces/sealed-secrets" => (
                200,
                r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"sealed-secrets"}}"#
                    .into(),
            ),
            "GET" if p.starts_with("/api/v1/namespaces/") && p.matches('/').count() == 4 => {
                status(404, "NotFound", "namespaces not found")
            }
            "GET" if p == "/api/v1/namespaces/sealed-secrets/pods" => {
                let items = if r.query("labelSelector").as_deref()
                    == Some("app.kubernetes.io/name=sealed-secrets")
                {
                    r#"[{"metadata":{"name":"sealed-secrets-5f-abc","namespace":"sealed-secrets"},"status":{"phase":"Running"}}]"#
                } else {
                    "[]"
                };
                (
                    200,
                    format!(
                        r#"{{"apiVersion":"v1","kind":"PodList","metadata":{{}},"items":{items}}}"#
                    ),
                )
            }
            // The controller already ran and made its own key, newer than the restored one.
            "GET" if p == "/api/v1/namespaces/sealed-secrets/secrets" => {
                let crt = base64::engine::general_purpose::STANDARD.encode(demo_pem());
                let (old_crt, old_key) = fixture_key_data();
                (
                    200,
                    serde_json::json!({"apiVersion": "v1", "kind": "SecretList", "metadata": {},
                        "items": [
                            {"metadata": {"name": "sealed-secrets-keyauto1"}, "type": "kubernetes.io/tls",
                             "data": {"tls.crt": crt, "tls.key": "a2V5"}},
                            {"metadata": {"name": "sealed-secrets-keytest1"}, "type": "kubernetes.io/tls",
                             "data": {"tls.crt": old_crt, "tls.key": old_key}},
                        ]})
                    .to_string(),
                )
            }
            "PATCH" => (200, String::from_utf8(r.body.clone()).unwrap()),
            "DELETE" => (
                200,
                r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"sealed-secrets-5f-abc"}}"#
                    .into(),
            ),
            _ => status(404, "NotFound", "not found"),
        }
    });
    let s = bootstrap_repo(&api.url());
    let run = ours(&s)
        .args(["bootstrap", "--cluster", "demo", "--yes"])
        .ok();
    let reqs = api.requests();
    let calls: Vec<String> = reqs
        .iter()
        .map(|r| format!("{} {}", r.method, r.path()))
        .collect();
    assert_eq!(
        calls,
        [
            "GET /api/v1/namespaces/flux-system",
            "PATCH /api/v1/namespaces/flux-system",
            "PATCH /api/v1/namespaces/flux-system/secrets/sops-age",
            "GET /api/v1/namespaces/sealed-secrets",
            "PATCH /api/v1/namespaces/sealed-secrets/secrets/sealed-secrets-keytest1",
            "GET /api/v1/namespaces/external-secrets",
            "PATCH /api/v1/namespaces/external-secrets",
            "PATCH /api/v1/namespaces/external-secrets/secrets/universal-auth",
            "GET /api/v1/namespaces/sealed-secrets/pods",
            "GET /api/v1/namespaces/sealed-secrets/pods",
            "GET /api/v1/namespaces/sealed-secrets/secrets",
            "GET /api/v1/namespaces/sealed-secrets/secrets/sealed-secrets-key",
            "DELETE /api/v1/namespaces/sealed-secrets/pods/sealed-secrets-5f-abc",
        ],
        "{run}"
    );
    for r in reqs.iter().filter(|r| r.method == "PATCH") {
        assert_eq!(
            r.header("content-type"),
            Some("application/apply-patch+yaml")
        );
        assert_eq!(
            r.query("fieldManager").as_deref(),
            Some("overworld-secrets")
        );
        assert_eq!(r.query("force").as_deref(), Some("true"));
    }
    let b64 = |v: &serde_json::Value| {
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap()
    };
    // (1) Flux's key under a `.agekey` name, holding identity b exactly.
    let flux = reqs[2].json();
    assert_eq!(
        b64(&flux["data"]["age.agekey"]),
        std::fs::read(identity_file("b")).unwrap()
    );
    // (2) The key lands in the controller's namespace (not the backup's), labelled active.
    let key = reqs[4].json();
    assert_eq!(key["metadata"]["namespace"], "sealed-secrets");
    assert_eq!(
        key["metadata"]["labels"]["sealedsecrets.bitnami.com/sealed-secrets-key"],
        "active"
    );
    assert_eq!(key["type"], "kubernetes.io/tls");
    let (_, fixture_key) = fixture_key_data();
    assert_eq!(
        b64(&key["data"]["tls.key"]),
        base64::engine::general_purpose::STANDARD
            .decode(fixture_key)
            .unwrap()
    );
    // (3) stringData from SOPS arrives as data.
    let ua = reqs[7].json();
    assert_eq!(b64(&ua["data"]["clientSecret"]), b"test-only-marker-secret");
    let err = run.stderr_str();
    assert!(err.contains("no reseal needed"), "{run}");
    // Identity b's public recipient (fixtures/sops/recipients.txt) is named for .sops.yaml.
    assert!(
        err.contains("age1cdrwk9r9p3qeatkhm0p9qyra2jk5834l8r38eyc2ml9l5d59wsfq3u2ccj"),
        "{run}"
    );
    // demo.pem was issued after the fixture key: the controller's own key stays the sealing key.
    assert!(
        err.contains("delete secret sealed-secrets-keyauto1\n"),
        "{run}"
    );
    assert!(!err.contains("test-only-marker-secret"), "{run}");
    // The renewal warning depends on the restored certificate's age (SEALED-SECRETS.md §6).
    let crt = base64::engine::general_purpose::STANDARD
        .decode(fixture_key_data().0)
        .unwrap();
    let cert = overworld_secrets::sealed::SealingCert::from_pem(&crt).unwrap();
    let old = (chrono::Utc::now() - cert.not_before()).num_days() > 30;
    assert_eq!(err.contains("keyrenewperiod"), old, "{run}");
}

#[test]
fn status_reports_conditions_and_missing_objects() {
    let api = FakeApi::start(|r| match r.path() {
        "/apis/bitnami.com/v1alpha1/namespaces/apps/sealedsecrets/db" => (
            200,
            serde_json::json!({"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
                "metadata": {"name": "db", "namespace": "apps"},
                "status": {"conditions": [{"type": "Synced", "status": "True"}]}})
            .to_string(),
        ),
        "/apis/bitnami.com/v1alpha1/namespaces/apps/sealedsecrets/cache" => (
            200,
            serde_json::json!({"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
                "metadata": {"name": "cache", "namespace": "apps"},
                "status": {"conditions": [{"type": "Synced", "status": "False",
                    "message": "no key could decrypt secret (password)"}]}})
            .to_string(),
        ),
        _ => status(404, "NotFound", "not found"),
    });
    let s = repo(&api.url(), ("sealed-secrets-controller", "kube-system"), "");
    let ss = |name: &str| {
        format!("apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: {name}\n  namespace: apps\nspec:\n  encryptedData: {{}}\n")
    };
    s.write("manifests/demo/sealed/apps/db.yaml", ss("db"));
    s.write("manifests/demo/sealed/apps/cache.yaml", ss("cache"));
    s.write(
        "manifests/demo/external-secrets/minio.yaml",
        "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata:\n  name: minio\n  namespace: storage\nspec: {}\n",
    );
    let run = ours(&s).args(["status", "--cluster", "demo"]).run();
    assert_eq!(run.code, Some(1), "{run}");
    let out = run.stdout_str();
    assert!(out.contains("SealedSecret apps/db: Synced=True"), "{run}");
    assert!(
        out.contains(
            "SealedSecret apps/cache: Synced=False: no key could decrypt secret (password)"
        ),
        "{run}"
    );
    assert!(
        out.contains("ExternalSecret storage/minio: MISSING"),
        "{run}"
    );
    let run = ours(&s)
        .args(["status", "--cluster", "demo", "--json"])
        .run();
    let v: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 3, "{run}");
    let minio = rows.iter().find(|r| r["name"] == "minio").unwrap();
    assert_eq!(minio["state"], "missing");
    assert_eq!(minio["ok"], false);
    assert!(api.requests().iter().any(
        |r| r.path() == "/apis/external-secrets.io/v1/namespaces/storage/externalsecrets/minio"
    ));
}

/// Live-cluster tests: see the module doc for the environment variables.
mod e2e {
    use super::*;

    fn live() -> (String, String) {
        (
            std::env::var("OVERWORLD_E2E_KUBECONFIG").expect("OVERWORLD_E2E_KUBECONFIG"),
            std::env::var("OVERWORLD_E2E_CONTEXT").expect("OVERWORLD_E2E_CONTEXT"),
        )
    }

    fn live_repo() -> (Scratch, String) {
        let (kubeconfig, context) = live();
        let s = repo("unused", ("sealed-secrets-controller", "kube-system"), "");
        s.write("kubeconfig", std::fs::read(kubeconfig).unwrap());
        (s, context)
    }

    #[test]
    #[ignore = "needs a cluster"]
    fn e2e_cert_fetch_matches_the_controller() {
        let (s, context) = live_repo();
        ours(&s)
            .args(["cert", "fetch", "--cluster", "demo", "--context", &context])
            .ok();
        let pem = s.read("keys/clusters/demo.pem");
        overworld_secrets::sealed::SealingCert::from_pem(&pem).expect("a certificate");
    }

    #[test]
    #[ignore = "needs a cluster"]
    fn e2e_backup_then_bootstrap_restores_the_same_key() {
        let (s, context) = live_repo();
        ours(&s)
            .args(["keys", "backup", "--cluster", "demo", "--context", &context])
            .ok();
        assert!(s
            .path("secrets/bootstrap/demo/sealed-secrets-keys.yaml")
            .exists());
        let identity = std::fs::read_to_string(identity_file("b")).unwrap();
        sops_encrypt(&s, "secrets/bootstrap/demo/age.agekey", &identity, true);
        let run = ours(&s)
            .args([
                "bootstrap",
                "--cluster",
                "demo",
                "--yes",
                "--context",
                &context,
            ])
            .ok();
        assert!(run.stderr_str().contains("no reseal needed"), "{run}");
        // A second run is idempotent (server-side apply, same owner).
        ours(&s)
            .args([
                "bootstrap",
                "--cluster",
                "demo",
                "--yes",
                "--context",
                &context,
            ])
            .ok();
    }
}

/// How the faulty API server answers the first request of `cert fetch`.
#[derive(Clone, Copy, Debug)]
enum KubeFault {
    /// The connection is closed with the request unanswered.
    Reset,
    /// A 200 whose body stops before its announced length.
    Truncated,
    /// A 200 whose body is not the JSON it announces.
    Malformed,
    /// Every request answered 503, as an overloaded API server or a proxy in front of it does.
    Storm503,
    /// No answer for longer than `--request-timeout`.
    Slow,
    /// The service answers, then the certificate proxy returns an HTML page with status 200.
    HtmlCert,
}

/// An API server on 127.0.0.1 that misbehaves as `fault` says, on every connection.
fn faulty_api(fault: KubeFault) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(stream) = conn else { return };
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut out = stream;
                loop {
                    // One request head (GETs only: no body).
                    let mut first = String::new();
                    if reader.read_line(&mut first).unwrap_or(0) == 0 {
                        return;
                    }
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                            break;
                        }
                    }
                    let path = first.split_whitespace().nth(1).unwrap_or("").to_string();
                    let json = |code: u16, body: &str| {
                        format!("HTTP/1.1 {code} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len())
                    };
                    let svc = service("kube-system", "sealed-secrets-controller", "http").1;
                    let answer = match fault {
                        KubeFault::Reset => return,
                        KubeFault::Slow => {
                            std::thread::sleep(Duration::from_secs(8));
                            return;
                        }
                        KubeFault::Truncated => {
                            let _ = out.write_all(format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{}", svc.len(), &svc[..svc.len() / 2]).as_bytes());
                            return;
                        }
                        KubeFault::Malformed => json(200, "{\"kind\": \"Serv"),
                        KubeFault::Storm503 => json(
                            503,
                            &status(
                                503,
                                "ServiceUnavailable",
                                "the server is currently unable to handle the request",
                            )
                            .1,
                        ),
                        KubeFault::HtmlCert if path.ends_with("/proxy/v1/cert.pem") => {
                            let html = "<html><body>502 Bad Gateway</body></html>";
                            format!("HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\n\r\n{html}", html.len())
                        }
                        KubeFault::HtmlCert => json(200, &svc),
                    };
                    if out.write_all(answer.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

/// Network faults between us and the API server (issue 10): each ends in a clear error naming
/// the cluster and what was being done, with a non-zero exit, within the request timeout, with
/// no certificate written; a re-run against a healthy server converges.
#[test]
fn kube_api_faults_fail_clearly_and_a_rerun_converges() {
    for fault in [
        KubeFault::Reset,
        KubeFault::Truncated,
        KubeFault::Malformed,
        KubeFault::Storm503,
        KubeFault::Slow,
        KubeFault::HtmlCert,
    ] {
        let url = faulty_api(fault);
        let s = repo(&url, ("sealed-secrets-controller", "kube-system"), "");
        let t = Instant::now();
        let run = ours(&s)
            .args([
                "cert",
                "fetch",
                "--cluster",
                "demo",
                "--request-timeout",
                "2",
            ])
            .run();
        let took = t.elapsed();
        assert_ne!(run.code, Some(0), "{fault:?}: {run}");
        let err = run.stderr_str();
        assert!(
            err.contains("cluster demo"),
            "{fault:?}: the error must name the cluster: {run}"
        );
        assert!(
            err.contains("services") || err.contains("certificate"),
            "{fault:?}: the error must say what was being done: {run}"
        );
        assert!(!err.contains("panicked"), "{fault:?}: {run}");
        assert!(took < Duration::from_secs(20), "{fault:?}: took {took:?}");
        assert!(
            !s.path("keys/clusters/demo.pem").exists(),
            "{fault:?}: wrote a certificate"
        );

        // The same repository against a healthy API server: the re-run converges.
        let api = FakeApi::start(|r| {
            match r.path() {
            "/api/v1/namespaces/kube-system/services/sealed-secrets-controller" => {
                service("kube-system", "sealed-secrets-controller", "http")
            }
            "/api/v1/namespaces/kube-system/services/http:sealed-secrets-controller:http/proxy/v1/cert.pem" => {
                (200, demo_pem())
            }
            _ => status(404, "NotFound", "not found"),
        }
        });
        let kubeconfig = String::from_utf8(s.read("kubeconfig"))
            .unwrap()
            .replace(&url, &api.url());
        s.write("kubeconfig", kubeconfig);
        ours(&s).args(["cert", "fetch", "--cluster", "demo"]).ok();
        assert_eq!(
            String::from_utf8(s.read("keys/clusters/demo.pem")).unwrap(),
            demo_pem()
        );
        eprintln!("{fault:?}: {}", err.lines().next().unwrap_or(""));
    }
}
