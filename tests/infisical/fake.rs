//! A fake Infisical on 127.0.0.1: a tiny stateful HTTP/1.1 server answering the shapes of
//! INFISICAL.md for both API generations — `Current` (v4 secrets, v2 folders, v1 projects, plus
//! the older routes newer servers still serve) and `Legacy` (v3 raw, v1 folders, v2 workspace
//! only; anything else is Fastify's route-missing 404). It keeps state (folders, secrets with the
//! server's value normalisation, tokens) so that a second run can be checked for zero writes, logs
//! every request, and injects faults (429, 5xx, slow answers, expired tokens) on demand.

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gen {
    Current,
    Legacy,
}

#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub body: String,
}

impl Req {
    /// Anything that changes state (login/revoke excluded).
    pub fn is_write(&self) -> bool {
        self.method != "GET" && !self.path.starts_with("/api/v1/auth/")
    }
}

/// A one-shot fault: the next request matching `method` and `path` gets this answer instead.
#[derive(Debug, Clone)]
pub struct Fault {
    pub method: &'static str,
    pub path: &'static str,
    pub kind: FaultKind,
}

#[derive(Debug, Clone)]
pub enum FaultKind {
    /// Answer with this status, headers and JSON body; nothing is done.
    Respond(u16, Vec<(&'static str, String)>, Value),
    /// Handle the request normally but answer only after this delay.
    Delay(Duration),
    /// Handle the request normally and add these headers to the answer.
    Headers(Vec<(&'static str, String)>),
    /// Invalidate every token, then answer 403 TokenError (an expired JWT, §1.1).
    ExpireToken,
}

#[derive(Default)]
pub struct State {
    pub project_id: String,
    pub slug: String,
    pub environments: Vec<String>,
    /// (env, folder path); `/` is implicit.
    pub folders: BTreeSet<(String, String)>,
    /// (env, folder, key) → (value, version).
    pub secrets: BTreeMap<(String, String, String), (String, u32)>,
    pub tokens: BTreeSet<String>,
    pub issued: u32,
    pub client_id: String,
    pub client_secret: String,
    pub log: Vec<Req>,
    pub faults: VecDeque<Fault>,
    /// Change-approval policy on every write (§6.3).
    pub approval: bool,
}

pub struct Fake {
    pub url: String,
    pub state: Arc<Mutex<State>>,
}

pub const CLIENT_ID: &str = "5b2c8f0e-fake-4c1e-9a7b-000000000001";
pub const CLIENT_SECRET: &str = "fake-client-secret-0123456789abcdef";

impl Fake {
    pub fn start(gen: Gen) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            project_id: "6f1d0c2a-proj-0000-0000-000000000042".into(),
            slug: "overworld".into(),
            environments: vec!["dev".into(), "staging".into(), "prod".into()],
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            ..State::default()
        }));
        let st = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                std::thread::spawn(move || serve(conn, gen, &st));
            }
        });
        Fake { url, state }
    }

    pub fn fault(&self, method: &'static str, path: &'static str, kind: FaultKind) {
        self.state
            .lock()
            .unwrap()
            .faults
            .push_back(Fault { method, path, kind });
    }

    pub fn log(&self) -> Vec<Req> {
        self.state.lock().unwrap().log.clone()
    }

    pub fn clear_log(&self) {
        self.state.lock().unwrap().log.clear();
    }

    /// `METHOD /route` of every write, in order.
    pub fn writes(&self) -> Vec<String> {
        self.log()
            .iter()
            .filter(|r| r.is_write())
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    pub fn count(&self, method: &str, path: &str) -> usize {
        self.log()
            .iter()
            .filter(|r| r.method == method && r.path == path)
            .count()
    }

    /// The stored secrets of an environment: `/folder/KEY` → value.
    pub fn secrets(&self, env: &str) -> BTreeMap<String, String> {
        let s = self.state.lock().unwrap();
        s.secrets
            .iter()
            .filter(|((e, _, _), _)| e == env)
            .map(|((_, f, k), (v, _))| (join(f, k), v.clone()))
            .collect()
    }

    pub fn version(&self, env: &str, folder: &str, key: &str) -> Option<u32> {
        let s = self.state.lock().unwrap();
        s.secrets
            .get(&(env.into(), folder.into(), key.into()))
            .map(|(_, v)| *v)
    }

    pub fn folders(&self, env: &str) -> Vec<String> {
        let s = self.state.lock().unwrap();
        s.folders
            .iter()
            .filter(|(e, _)| e == env)
            .map(|(_, f)| f.clone())
            .collect()
    }

    /// Puts a secret on the server directly (as if someone had created it by hand).
    pub fn put(&self, env: &str, folder: &str, key: &str, value: &str) {
        let mut s = self.state.lock().unwrap();
        add_folder(&mut s, env, folder);
        s.secrets.insert(
            (env.into(), folder.into(), key.into()),
            (normalise(value), 1),
        );
    }
}

fn join(f: &str, k: &str) -> String {
    if f == "/" {
        format!("/{k}")
    } else {
        format!("{f}/{k}")
    }
}

/// The server's normalisation as observed (INFISICAL.md §6): trim, keep one trailing `\n` if
/// the value ended with one. Written independently of the tool's own version on purpose.
fn normalise(v: &str) -> String {
    let t = v.trim();
    if v.ends_with('\n') {
        format!("{t}\n")
    } else {
        t.to_string()
    }
}

fn add_folder(s: &mut State, env: &str, path: &str) {
    let mut acc = String::new();
    for seg in path.split('/').filter(|x| !x.is_empty()) {
        acc.push('/');
        acc.push_str(seg);
        s.folders.insert((env.to_string(), acc.clone()));
    }
}

fn folder_exists(s: &State, env: &str, path: &str) -> bool {
    path == "/" || s.folders.contains(&(env.to_string(), path.to_string()))
}

fn clean(p: &str) -> String {
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        "/".into()
    } else {
        t.into()
    }
}

fn serve(mut conn: TcpStream, gen: Gen, st: &Arc<Mutex<State>>) {
    let Some(req) = read_request(&mut conn) else {
        return;
    };
    let (status, headers, body, delay) = handle(gen, st, &req);
    if let Some(d) = delay {
        std::thread::sleep(d);
    }
    let text = body.to_string();
    let mut out = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n",
        text.len()
    );
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&text);
    let _ = conn.write_all(out.as_bytes());
    let _ = conn.flush();
}

struct Raw {
    req: Req,
    auth: Option<String>,
}

fn read_request(conn: &mut TcpStream) -> Option<Raw> {
    let mut r = BufReader::new(conn.try_clone().ok()?);
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut len = 0usize;
    let mut auth = None;
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        let v = v.trim();
        match k.to_ascii_lowercase().as_str() {
            "content-length" => len = v.parse().ok()?,
            "authorization" => auth = v.strip_prefix("Bearer ").map(str::to_string),
            _ => {}
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    let (path, qs) = target.split_once('?').unwrap_or((&target, ""));
    let query = qs
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    Some(Raw {
        req: Req {
            method,
            path: path.to_string(),
            query,
            body: String::from_utf8_lossy(&body).into_owned(),
        },
        auth,
    })
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap_or(b'?'));
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

type Answer = (u16, Vec<(&'static str, String)>, Value, Option<Duration>);

fn err(status: u16, error: &str, message: &str) -> Answer {
    (
        status,
        vec![],
        json!({"statusCode": status, "message": message, "error": error}),
        None,
    )
}

fn route_missing(method: &str, path: &str) -> Answer {
    err(
        404,
        "Not Found",
        &format!("Route {method}:{path} not found"),
    )
}

fn handle(gen: Gen, st: &Arc<Mutex<State>>, raw: &Raw) -> Answer {
    let mut s = st.lock().unwrap();
    let req = &raw.req;
    s.log.push(req.clone());
    let mut delay = None;
    let mut extra = Vec::new();
    if let Some(i) = s
        .faults
        .iter()
        .position(|f| f.method == req.method && f.path == req.path)
    {
        let f = s.faults.remove(i).unwrap();
        match f.kind {
            FaultKind::Respond(status, headers, body) => return (status, headers, body, None),
            FaultKind::Delay(d) => delay = Some(d),
            FaultKind::Headers(h) => extra = h,
            FaultKind::ExpireToken => {
                s.tokens.clear();
                return err(
                    403,
                    "TokenError",
                    "Your token has expired. Please re-authenticate.",
                );
            }
        }
    }
    let body: Value = serde_json::from_str(&req.body).unwrap_or(Value::Null);
    let m = req.method.as_str();
    let p = req.path.as_str();
    let mut a = route(gen, &mut s, m, p, &req.query, &body, raw.auth.as_deref());
    a.3 = delay;
    a.1.extend(extra);
    a
}

fn route(
    gen: Gen,
    s: &mut State,
    m: &str,
    p: &str,
    q: &BTreeMap<String, String>,
    body: &Value,
    auth: Option<&str>,
) -> Answer {
    let current = gen == Gen::Current;
    // Unauthenticated routes.
    match (m, p) {
        ("POST", "/api/v1/auth/universal-auth/login") => {
            if body["clientId"] == s.client_id.as_str()
                && body["clientSecret"] == s.client_secret.as_str()
            {
                s.issued += 1;
                let t = format!("eyJfake.token{}.sig", s.issued);
                s.tokens.insert(t.clone());
                return (
                    200,
                    vec![],
                    json!({"accessToken": t, "expiresIn": 3600, "accessTokenMaxTTL": 86400, "tokenType": "Bearer"}),
                    None,
                );
            }
            return err(401, "UnauthorizedError", "Invalid credentials");
        }
        ("POST", "/api/v1/auth/token/revoke") => {
            let t = body["accessToken"].as_str().unwrap_or("");
            if s.tokens.remove(t) {
                return (
                    200,
                    vec![],
                    json!({"message": "Successfully revoked access token"}),
                    None,
                );
            }
            return err(401, "UnauthorizedError", "No identity access token found");
        }
        _ => {}
    }
    let known_route = matches!(
        (m, p, current),
        (_, "/api/v3/secrets/batch/raw", _)
            | ("GET", "/api/v3/secrets/raw", _)
            | (_, "/api/v1/folders", _)
            | (_, "/api/v4/secrets/batch", true)
            | ("GET", "/api/v4/secrets", true)
            | (_, "/api/v2/folders", true)
    ) || p.starts_with("/api/v2/workspace/")
        || (current && p.starts_with("/api/v1/projects/slug/"));
    if !known_route {
        return route_missing(m, p);
    }
    match auth {
        None => return err(401, "UnauthorizedError", "Token missing"),
        Some(t) if !s.tokens.contains(t) => {
            return err(401, "UnauthorizedError", "No identity access token found")
        }
        _ => {}
    }
    // Project lookups.
    if let Some(slug) = p
        .strip_prefix("/api/v1/projects/slug/")
        .or_else(|| p.strip_prefix("/api/v2/workspace/"))
    {
        if slug != s.slug {
            return if current {
                err(
                    404,
                    "NotFound",
                    &format!("Project with slug '{slug}' not found"),
                )
            } else {
                err(500, "InternalServerError", "Failed to find project by slug")
            };
        }
        let envs: Vec<Value> = s
            .environments
            .iter()
            .map(|e| json!({"id": format!("env-{e}"), "name": e.to_uppercase(), "slug": e}))
            .collect();
        return (
            200,
            vec![],
            json!({"id": s.project_id, "_id": s.project_id, "name": "Overworld", "slug": s.slug,
                   "orgId": "org-1", "version": 3, "environments": envs}),
            None,
        );
    }
    // Which id field this family takes.
    let id_key = if p.starts_with("/api/v4/") || p == "/api/v2/folders" {
        "projectId"
    } else {
        "workspaceId"
    };
    let arg = |k: &str| -> String {
        if m == "GET" {
            q.get(k).cloned().unwrap_or_default()
        } else {
            body[k].as_str().unwrap_or_default().to_string()
        }
    };
    if arg(id_key) != s.project_id {
        return err(
            422,
            "ValidationFailure",
            &format!("bad or missing {id_key}"),
        );
    }
    let env = arg("environment");
    if p.ends_with("/folders") {
        if m == "GET" {
            let path = clean(&arg("path"));
            let prefix = if path == "/" {
                "/".to_string()
            } else {
                format!("{path}/")
            };
            let names: Vec<Value> = s
                .folders
                .iter()
                .filter(|(e, f)| e == &env && f.starts_with(&prefix) && !f[prefix.len()..].contains('/'))
                .map(|(_, f)| json!({"id": format!("fld-{f}"), "name": &f[prefix.len()..], "version": 1, "isReserved": false}))
                .collect();
            return (200, vec![], json!({"folders": names}), None);
        }
        let name = arg("name");
        let parent = clean(&arg("path"));
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return if current {
                err(422, "ValidationFailure", "Invalid folder name")
            } else {
                err(500, "InternalServerError", "Something went wrong")
            };
        }
        let full = join(&parent, &name);
        if folder_exists(s, &env, &full) && current {
            return err(
                400,
                "BadRequest",
                &format!("Folder with name '{name}' already exists in path '{parent}'"),
            );
        }
        add_folder(s, &env, &full);
        return (
            200,
            vec![],
            json!({"folder": {"id": format!("fld-{full}"), "name": name}}),
            None,
        );
    }
    if m == "GET" {
        // Secrets list.
        let path = clean(&arg("secretPath"));
        let recursive = q.get("recursive").map(String::as_str) == Some("true");
        let list: Vec<Value> = s
            .secrets
            .iter()
            .filter(|((e, f, _), _)| {
                e == &env
                    && (f == &path
                        || (recursive && (path == "/" || f.starts_with(&format!("{path}/")))))
            })
            .map(|((_, f, k), (v, ver))| {
                json!({"id": format!("sec-{f}-{k}"), "_id": "x", "workspace": s.project_id, "environment": env,
                       "version": ver, "type": "shared", "secretKey": k, "secretValue": v,
                       "secretComment": "", "skipMultilineEncoding": false, "secretPath": f, "tags": []})
            })
            .collect();
        return (200, vec![], json!({"secrets": list, "imports": []}), None);
    }
    // Batch writes: one env + one folder, all-or-nothing (§6.6).
    let folder = clean(&arg("secretPath"));
    let items = body["secrets"].as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        return err(422, "ValidationFailure", "secrets: at least one item");
    }
    if !folder_exists(s, &env, &folder) {
        return err(
            404,
            "NotFound",
            &format!("Folder with path '{folder}' in environment with slug '{env}' not found"),
        );
    }
    let key_of = |i: &Value| i["secretKey"].as_str().unwrap_or_default().to_string();
    let exists = |s: &State, k: &str| {
        s.secrets
            .contains_key(&(env.clone(), folder.clone(), k.to_string()))
    };
    match m {
        "POST" => {
            if items.iter().any(|i| exists(s, &key_of(i))) {
                return err(400, "BadRequest", "Secret already exist");
            }
        }
        "PATCH" | "DELETE" => {
            let missing: Vec<String> = items.iter().map(key_of).filter(|k| !exists(s, k)).collect();
            if !missing.is_empty() {
                return err(
                    404,
                    "NotFound",
                    &format!("Secret does not exist: {}", missing.join(",")),
                );
            }
        }
        _ => return route_missing(m, p),
    }
    if s.approval {
        return (
            200,
            vec![],
            json!({"approval": {"id": "appr-1", "status": "open"}}),
            None,
        );
    }
    for i in &items {
        let k = (env.clone(), folder.clone(), key_of(i));
        match m {
            "POST" => {
                let v = normalise(i["secretValue"].as_str().unwrap_or_default());
                s.secrets.insert(k, (v, 1));
            }
            "PATCH" => {
                let e = s.secrets.get_mut(&k).unwrap();
                if let Some(v) = i["secretValue"].as_str() {
                    e.0 = normalise(v);
                }
                e.1 += 1;
            }
            _ => {
                s.secrets.remove(&k);
            }
        }
    }
    let out: Vec<Value> = items
        .iter()
        .map(|i| json!({"secretKey": key_of(i)}))
        .collect();
    (200, vec![], json!({"secrets": out}), None)
}
