//! The Infisical REST client: Universal Auth login, project lookup with API-generation probing,
//! folders, secret listing and the batch writes, token revocation (INFISICAL.md §2–§6).
//!
//! It owns the network policy: 429 honours `Retry-After`, 5xx and timeouts back off, all bounded;
//! a failed login is never retried (the identity locks after a few failures, §2.1); an expired
//! or revoked token triggers one re-login and a replay (§2.2). It must never put the client
//! secret, the access token or a secret value into a message: errors carry the method, the route,
//! the status and the server's `error`/`message` fields, and reqwest errors are reduced to their
//! cause chain (they never contain bodies).
//!
//! Blocking reqwest, not async: the seeding sequence is strictly ordered (each call depends on the
//! previous answer), so a runtime and futures would add nothing but noise.

use super::plan::RemoteValue;
use super::{InfisicalError, Result};
use crate::secret::SecretBytes;
use reqwest::blocking::{Client as Http, Response};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde_json::Value;
use std::fmt;
use std::time::Duration;
use zeroize::Zeroizing;

/// Which endpoint families the server has (INFISICAL.md §0, §12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ApiGeneration {
    /// `/api/v4/secrets*`, `/api/v2/folders`, `/api/v1/projects/slug/{slug}`.
    #[serde(rename = "v4")]
    Current,
    /// `/api/v3/secrets/raw*`, `/api/v1/folders`, `/api/v2/workspace/{slug}` (servers ≈2024).
    #[serde(rename = "v3")]
    Legacy,
}

/// Bounded retries for 429, 5xx and timeouts / connection failures.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// First backoff; doubled per attempt, ±20 % jitter.
    pub base_delay: Duration,
    /// Upper bound on a server-requested `Retry-After` (the window is 60 s, §5).
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_retry_after: Duration::from_secs(65),
        }
    }
}

/// Machine-identity credentials. `Debug` shows the client id only.
#[derive(Clone)]
pub struct Credentials {
    pub client_id: String,
    client_secret: SecretBytes,
}

impl Credentials {
    pub fn new(client_id: String, client_secret: SecretBytes) -> Self {
        Credentials {
            client_id,
            client_secret,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish()
    }
}

/// A bearer token, wiped on drop, never printed.
struct AccessToken(Zeroizing<String>);

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken([redacted])")
    }
}

#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// What the user gave (`https://infisical.example`, with or without `/api`).
    pub host: String,
    /// Extra trust anchors (PEM bundle bytes) for a private CA.
    pub ca_pem: Option<Vec<u8>>,
    /// Trust only `ca_pem`, not the system roots.
    pub ca_only: bool,
    /// Skip certificate verification (loud; also allows `http://` to non-loopback hosts).
    pub insecure: bool,
    /// Per-request timeout.
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

/// The project as resolved from its slug.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: String,
    pub slug: String,
    pub environments: Vec<String>,
}

/// One secret of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteSecret {
    pub folder: String,
    pub key: String,
    pub value: RemoteValue,
}

/// The three batch writes (INFISICAL.md §6.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BatchOp {
    Create,
    Update,
    Delete,
}

/// What a write did: applied, or parked behind a change-approval policy (§6.3, §12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Applied,
    PendingApproval,
}

/// The server's error body (§1.1).
#[derive(Debug, Default)]
struct ServerError {
    status: u16,
    error: String,
    message: String,
}

impl ServerError {
    /// Fastify's "no such route" 404, as opposed to an application 404 (§0).
    fn route_missing(&self) -> bool {
        self.status == 404 && self.message.starts_with("Route ") && self.error == "Not Found"
    }
}

pub struct Client {
    http: Http,
    base: Url,
    creds: Credentials,
    token: Option<AccessToken>,
    relogged: bool,
    /// Set when the server said the rate-limit window is used up: wait until then (§5).
    not_before: Option<std::time::Instant>,
    retry: RetryPolicy,
    secrets_gen: ApiGeneration,
    folders_gen: ApiGeneration,
    project_id: Option<String>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("creds", &self.creds)
            .field("token", &self.token)
            .field("secrets", &self.secrets_gen)
            .field("folders", &self.folders_gen)
            .finish()
    }
}

/// `https://h`, `https://h/`, `https://h/api` → `https://h/api/` (the go-sdk's normalisation,
/// INFISICAL.md §1). Plain `http://` only for loopback unless `insecure`.
pub fn api_base(host: &str, insecure: bool) -> Result<Url> {
    let trimmed = host.trim().trim_end_matches('/');
    let trimmed = trimmed.strip_suffix("/api").unwrap_or(trimmed);
    let url = Url::parse(&format!("{trimmed}/api/"))
        .map_err(|e| InfisicalError::Config(format!("host {host:?} is not a URL: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" => {
            let h = url.host_str().unwrap_or("");
            let ip = h.trim_start_matches('[').trim_end_matches(']');
            let loopback = h == "localhost"
                || ip
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|a| a.is_loopback());
            if !loopback && !insecure {
                return Err(InfisicalError::Config(format!(
                    "host {host:?} uses plain http: the client secret would cross the network unencrypted; \
                     use https (or --insecure if you really mean it)"
                )));
            }
        }
        s => {
            return Err(InfisicalError::Config(format!(
                "host {host:?}: unsupported scheme {s:?} (use https)"
            )))
        }
    }
    Ok(url)
}

/// The cause chain of a transport error, with a hint for the TLS failures homelabs hit (§8).
fn transport_detail(e: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut cur: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = cur {
        let s = err.to_string();
        if !parts.contains(&s) {
            parts.push(s);
        }
        cur = err.source();
    }
    let mut detail = parts.join(": ");
    if e.is_timeout() {
        detail.push_str(" (timed out)");
    }
    let lower = detail.to_ascii_lowercase();
    if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        detail.push_str(
            " — hint: for a private CA pass --ca-cert FILE; the certificate must name the host in \
             its subjectAltName (rustls ignores a CN-only certificate)",
        );
    }
    detail
}

fn parse_server_error(status: StatusCode, body: &[u8]) -> ServerError {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let error = v
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or_else(|| status.canonical_reason().unwrap_or(""))
        .to_string();
    // A 422 carries an array of zod issues; their paths are ours, their `received` is a type name.
    let message = match v.get("message") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => {
            let paths: Vec<String> = items
                .iter()
                .filter_map(|i| i.get("path"))
                .map(|p| p.to_string())
                .collect();
            format!(
                "{} validation issue(s) at {}",
                items.len(),
                paths.join(", ")
            )
        }
        _ => String::new(),
    };
    let mut message: String = message.chars().take(300).collect();
    if message.is_empty() {
        message = "(no message)".into();
    }
    ServerError {
        status: status.as_u16(),
        error,
        message,
    }
}

/// A JSON body that may hold values: serialised straight into a buffer that is wiped on drop.
fn body_bytes<T: Serialize>(body: &T) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(serde_json::to_vec(body).expect("plain data serialises"))
}

/// Serialises a [`SecretBytes`] as a JSON string at the last moment (the request body).
struct ExposedValue<'a>(&'a SecretBytes);

impl Serialize for ExposedValue<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        // Seeds are validated as UTF-8 before planning; lossy is only a fallback.
        s.serialize_str(&String::from_utf8_lossy(self.0.expose()))
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BatchItem<'a> {
    secret_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_value: Option<ExposedValue<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    r#type: Option<&'static str>,
}

/// One secret for a batch write: a key, and its value for create/update.
pub struct BatchEntry<'a> {
    pub key: &'a str,
    pub value: Option<&'a SecretBytes>,
}

enum Reply {
    Ok(Value),
    Err(ServerError),
}

impl Client {
    /// Builds the HTTP client (TLS settings, timeout). Nothing is sent yet.
    pub fn new(opts: &ClientOptions, creds: Credentials) -> Result<Client> {
        let base = api_base(&opts.host, opts.insecure)?;
        let mut b = Http::builder()
            .timeout(opts.timeout)
            .connect_timeout(opts.timeout)
            .user_agent(concat!("overworld-secrets/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = &opts.ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
                InfisicalError::Tls(format!("--ca-cert: not a PEM certificate bundle: {e}"))
            })?;
            if certs.is_empty() {
                return Err(InfisicalError::Tls(
                    "--ca-cert: no certificate in the file".into(),
                ));
            }
            b = if opts.ca_only {
                b.tls_certs_only(certs)
            } else {
                b.tls_certs_merge(certs)
            };
        }
        if opts.insecure {
            b = b.tls_danger_accept_invalid_certs(true);
        }
        let http = b.build().map_err(|e| {
            InfisicalError::Tls(format!(
                "cannot set up the HTTP client: {}",
                transport_detail(&e)
            ))
        })?;
        Ok(Client {
            http,
            base,
            creds,
            token: None,
            relogged: false,
            not_before: None,
            retry: opts.retry.clone(),
            secrets_gen: ApiGeneration::Current,
            folders_gen: ApiGeneration::Current,
            project_id: None,
        })
    }

    /// The base URL in use (`…/api/`).
    pub fn base(&self) -> &str {
        self.base.as_str()
    }

    /// The secret endpoint family in use (after probing).
    pub fn generation(&self) -> ApiGeneration {
        self.secrets_gen
    }

    fn url(&self, route: &str, query: &[(&str, &str)]) -> Url {
        let mut u = self.base.join(route).expect("static route");
        if !query.is_empty() {
            u.query_pairs_mut().extend_pairs(query);
        }
        u
    }

    fn sleep_backoff(&self, attempt: u32) {
        let base = self.retry.base_delay.as_millis() as f64 * 2f64.powi(attempt as i32 - 1);
        let jitter = 0.8 + rand::random::<f64>() * 0.4;
        std::thread::sleep(Duration::from_millis((base * jitter) as u64));
    }

    /// `Retry-After` in seconds (the form Infisical sends, §5), capped.
    fn retry_after(&self, r: &Response) -> Option<Duration> {
        let secs: u64 = r
            .headers()
            .get(reqwest::header::RETRY_AFTER)?
            .to_str()
            .ok()?
            .trim()
            .parse()
            .ok()?;
        Some(Duration::from_secs(secs).min(self.retry.max_retry_after))
    }

    /// `x-ratelimit-remaining: 0` with `x-ratelimit-reset: <s>` (on every response, §5): the next
    /// call would get a 429, so wait for the window instead of provoking one.
    fn window_exhausted(&self, r: &Response) -> Option<std::time::Instant> {
        let h = |n: &str| {
            r.headers()
                .get(n)?
                .to_str()
                .ok()?
                .trim()
                .parse::<u64>()
                .ok()
        };
        if h("x-ratelimit-remaining")? != 0 {
            return None;
        }
        let wait = Duration::from_secs(h("x-ratelimit-reset")?).min(self.retry.max_retry_after);
        Some(std::time::Instant::now() + wait)
    }

    /// Universal Auth login (§2.1). Exactly one attempt, whatever happens.
    pub fn login(&mut self) -> Result<()> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Login<'a> {
            client_id: &'a str,
            client_secret: ExposedValue<'a>,
        }
        let body = body_bytes(&Login {
            client_id: &self.creds.client_id,
            client_secret: ExposedValue(&self.creds.client_secret),
        });
        let route = "v1/auth/universal-auth/login";
        let host = self.base.as_str().trim_end_matches('/').to_string();
        let resp = self.post_once(route, &body)?;
        let status = resp.status();
        let bytes = Zeroizing::new(resp.bytes().map(|b| b.to_vec()).unwrap_or_default());
        if !status.is_success() {
            let e = parse_server_error(status, &bytes);
            return Err(InfisicalError::Login {
                host,
                status: e.status,
                error: e.error,
                message: e.message,
            });
        }
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let token = v
            .get("accessToken")
            .and_then(Value::as_str)
            .ok_or_else(|| InfisicalError::Shape {
                method: "POST".into(),
                route: format!("/api/{route}"),
                detail: "no accessToken in the login answer".into(),
            })?;
        self.token = Some(AccessToken(Zeroizing::new(token.to_string())));
        Ok(())
    }

    /// One POST of a JSON body outside the retrying `call` path (login, revoke): a transport
    /// failure is an error naming the route.
    fn post_once(&self, route: &str, body: &[u8]) -> Result<Response> {
        self.http
            .post(self.url(route, &[]))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec())
            .send()
            .map_err(|e| InfisicalError::Transport {
                method: "POST".into(),
                route: format!("/api/{route}"),
                detail: transport_detail(&e),
            })
    }

    /// Revokes the token (§2.3). Best effort, one attempt; the caller warns on failure.
    pub fn revoke(&mut self) -> Result<()> {
        let Some(token) = self.token.take() else {
            return Ok(());
        };
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Revoke<'a> {
            access_token: &'a str,
        }
        let body = body_bytes(&Revoke {
            access_token: &token.0,
        });
        let route = "v1/auth/token/revoke";
        let resp = self.post_once(route, &body)?;
        let status = resp.status();
        if status.is_success() {
            Ok(())
        } else {
            let bytes = resp.bytes().map(|b| b.to_vec()).unwrap_or_default();
            let e = parse_server_error(status, &bytes);
            Err(InfisicalError::Http {
                method: "POST".into(),
                route: format!("/api/{route}"),
                status: e.status,
                error: e.error,
                message: e.message,
            })
        }
    }

    /// One authenticated call with the retry policy. Returns the JSON answer of a 2xx, or the
    /// server's error after retries (4xx other than an expired token are never retried).
    fn call(
        &mut self,
        method: Method,
        route: &str,
        query: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Reply> {
        let url = self.url(route, query);
        let shown = format!("/api/{route}");
        let mut attempt = 0;
        loop {
            attempt += 1;
            if let Some(t) = self.not_before.take() {
                std::thread::sleep(t.saturating_duration_since(std::time::Instant::now()));
            }
            let token = match &self.token {
                Some(t) => t.0.clone(),
                None => {
                    return Err(InfisicalError::Config("not logged in".into()));
                }
            };
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(token.as_str());
            if let Some(b) = body {
                req = req
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(b.to_vec());
            }
            let resp = match req.send() {
                Ok(r) => r,
                Err(e) => {
                    let retryable = e.is_timeout() || e.is_connect();
                    if retryable && attempt < self.retry.max_attempts {
                        self.sleep_backoff(attempt);
                        continue;
                    }
                    return Err(InfisicalError::Transport {
                        method: method.to_string(),
                        route: shown,
                        detail: format!("{} (after {attempt} attempt(s))", transport_detail(&e)),
                    });
                }
            };
            let status = resp.status();
            let wait = self.retry_after(&resp);
            self.not_before = self.window_exhausted(&resp);
            let bytes = match resp.bytes() {
                Ok(b) => Zeroizing::new(b.to_vec()),
                Err(e) => {
                    if attempt < self.retry.max_attempts {
                        self.sleep_backoff(attempt);
                        continue;
                    }
                    return Err(InfisicalError::Transport {
                        method: method.to_string(),
                        route: shown,
                        detail: transport_detail(&e),
                    });
                }
            };
            if status.is_success() {
                let v: Value =
                    serde_json::from_slice(&bytes).map_err(|e| InfisicalError::Shape {
                        method: method.to_string(),
                        route: shown.clone(),
                        // Line and column only: serde's message may quote the body.
                        detail: format!("not JSON (line {}, column {})", e.line(), e.column()),
                    })?;
                return Ok(Reply::Ok(v));
            }
            let err = parse_server_error(status, &bytes);
            let retry_left = attempt < self.retry.max_attempts;
            if status == StatusCode::TOO_MANY_REQUESTS && retry_left {
                match wait {
                    Some(d) => std::thread::sleep(d),
                    None => self.sleep_backoff(attempt),
                }
                continue;
            }
            if status.is_server_error() && retry_left {
                self.sleep_backoff(attempt);
                continue;
            }
            // Expired/revoked token (401, or 403 TokenError, §1.1/§2.2): log in again once and
            // replay. A second expiry in one run is an error, not a loop.
            let expired = status == StatusCode::UNAUTHORIZED
                || (status == StatusCode::FORBIDDEN && err.error == "TokenError");
            if expired && !self.relogged {
                self.relogged = true;
                self.login()?;
                attempt -= 1;
                continue;
            }
            return Ok(Reply::Err(err));
        }
    }

    fn fail(method: &str, route: &str, e: ServerError) -> InfisicalError {
        InfisicalError::Http {
            method: method.into(),
            route: format!("/api/{route}"),
            status: e.status,
            error: e.error,
            message: e.message,
        }
    }

    /// Resolves the project by slug and probes the API generation (§3.1, §12): the v1
    /// `projects/slug` route exists only on current servers.
    pub fn resolve_project(&mut self, slug: &str) -> Result<Project> {
        let route = format!("v1/projects/slug/{slug}");
        let v = match self.call(Method::GET, &route, &[], None)? {
            Reply::Ok(v) => v,
            Reply::Err(e) if e.route_missing() => {
                self.secrets_gen = ApiGeneration::Legacy;
                self.folders_gen = ApiGeneration::Legacy;
                let route = format!("v2/workspace/{slug}");
                match self.call(Method::GET, &route, &[], None)? {
                    Reply::Ok(v) => v,
                    Reply::Err(e) => return Err(project_error(slug, "GET", &route, e)),
                }
            }
            Reply::Err(e) => return Err(project_error(slug, "GET", &route, e)),
        };
        // Top-level object (§3.1); tolerate a `project`/`workspace` wrapper.
        let obj = v
            .get("project")
            .or_else(|| v.get("workspace"))
            .filter(|o| o.is_object())
            .unwrap_or(&v);
        let id = obj
            .get("id")
            .or_else(|| obj.get("_id"))
            .and_then(Value::as_str)
            .ok_or_else(|| InfisicalError::Shape {
                method: "GET".into(),
                route: format!("/api/{route}"),
                detail: "no project id".into(),
            })?
            .to_string();
        let environments = obj
            .get("environments")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|e| e.get("slug").and_then(Value::as_str))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        self.project_id = Some(id.clone());
        Ok(Project {
            id,
            slug: slug.to_string(),
            environments,
        })
    }

    fn project_id(&self) -> Result<String> {
        self.project_id
            .clone()
            .ok_or_else(|| InfisicalError::Config("project not resolved".into()))
    }

    /// Names of the direct child folders of `path` (§4.1). A missing path lists as empty.
    pub fn list_folders(&mut self, env: &str, path: &str) -> Result<Vec<String>> {
        let pid = self.project_id()?;
        loop {
            let (route, id_key) = match self.folders_gen {
                ApiGeneration::Current => ("v2/folders", "projectId"),
                ApiGeneration::Legacy => ("v1/folders", "workspaceId"),
            };
            let q = [(id_key, pid.as_str()), ("environment", env), ("path", path)];
            match self.call(Method::GET, route, &q, None)? {
                Reply::Ok(v) => {
                    let folders = v.get("folders").and_then(Value::as_array).ok_or_else(|| {
                        InfisicalError::Shape {
                            method: "GET".into(),
                            route: format!("/api/{route}"),
                            detail: "no folders array".into(),
                        }
                    })?;
                    return Ok(folders
                        .iter()
                        .filter_map(|f| f.get("name").and_then(Value::as_str))
                        .map(str::to_string)
                        .collect());
                }
                Reply::Err(e)
                    if e.route_missing() && self.folders_gen == ApiGeneration::Current =>
                {
                    self.folders_gen = ApiGeneration::Legacy;
                }
                Reply::Err(e) => return Err(Self::fail("GET", route, e)),
            }
        }
    }

    /// Creates folder `name` under `parent` (parents are created by the server, §4.2). "Already
    /// exists" (400 on the newest servers) is success.
    pub fn create_folder(&mut self, env: &str, parent: &str, name: &str) -> Result<()> {
        let pid = self.project_id()?;
        loop {
            let (route, id_key) = match self.folders_gen {
                ApiGeneration::Current => ("v2/folders", "projectId"),
                ApiGeneration::Legacy => ("v1/folders", "workspaceId"),
            };
            let body = serde_json::json!({
                id_key: pid, "environment": env, "name": name, "path": parent,
            });
            let body = body_bytes(&body);
            match self.call(Method::POST, route, &[], Some(&body))? {
                Reply::Ok(_) => return Ok(()),
                Reply::Err(e) if e.status == 400 && e.message.contains("already exists") => {
                    return Ok(())
                }
                Reply::Err(e)
                    if e.route_missing() && self.folders_gen == ApiGeneration::Current =>
                {
                    self.folders_gen = ApiGeneration::Legacy;
                }
                Reply::Err(e) => return Err(Self::fail("POST", route, e)),
            }
        }
    }

    /// Every shared secret at and below `path` (one recursive list, §6.1), raw stored values:
    /// references not expanded, imports not included.
    pub fn list_secrets(&mut self, env: &str, path: &str) -> Result<Vec<RemoteSecret>> {
        let pid = self.project_id()?;
        loop {
            let (route, id_key) = match self.secrets_gen {
                ApiGeneration::Current => ("v4/secrets", "projectId"),
                ApiGeneration::Legacy => ("v3/secrets/raw", "workspaceId"),
            };
            let mut q = vec![
                (id_key, pid.as_str()),
                ("environment", env),
                ("secretPath", path),
                ("recursive", "true"),
                ("include_imports", "false"),
                ("expandSecretReferences", "false"),
            ];
            if self.secrets_gen == ApiGeneration::Current {
                q.push(("viewSecretValue", "true"));
            }
            match self.call(Method::GET, route, &q, None)? {
                Reply::Ok(v) => return parse_secrets(route, path, &v),
                Reply::Err(e)
                    if e.route_missing() && self.secrets_gen == ApiGeneration::Current =>
                {
                    self.secrets_gen = ApiGeneration::Legacy;
                }
                Reply::Err(e) => return Err(Self::fail("GET", route, e)),
            }
        }
    }

    /// One batch write for one folder (§6.6): all-or-nothing on the server.
    pub fn batch(
        &mut self,
        op: BatchOp,
        env: &str,
        folder: &str,
        entries: &[BatchEntry<'_>],
    ) -> Result<WriteOutcome> {
        let pid = self.project_id()?;
        let method = match op {
            BatchOp::Create => Method::POST,
            BatchOp::Update => Method::PATCH,
            BatchOp::Delete => Method::DELETE,
        };
        let items: Vec<BatchItem<'_>> = entries
            .iter()
            .map(|e| BatchItem {
                secret_key: e.key,
                secret_value: match op {
                    BatchOp::Delete => None,
                    _ => e.value.map(ExposedValue),
                },
                r#type: (op == BatchOp::Delete).then_some("shared"),
            })
            .collect();
        loop {
            let (route, id_key) = match self.secrets_gen {
                ApiGeneration::Current => ("v4/secrets/batch", "projectId"),
                ApiGeneration::Legacy => ("v3/secrets/batch/raw", "workspaceId"),
            };
            #[derive(Serialize)]
            #[serde(rename_all = "camelCase")]
            struct Batch<'a> {
                #[serde(rename = "projectId", skip_serializing_if = "Option::is_none")]
                project_id: Option<&'a str>,
                #[serde(rename = "workspaceId", skip_serializing_if = "Option::is_none")]
                workspace_id: Option<&'a str>,
                environment: &'a str,
                secret_path: &'a str,
                secrets: &'a [BatchItem<'a>],
            }
            let current = id_key == "projectId";
            let body = body_bytes(&Batch {
                project_id: current.then_some(pid.as_str()),
                workspace_id: (!current).then_some(pid.as_str()),
                environment: env,
                secret_path: folder,
                secrets: &items,
            });
            match self.call(method.clone(), route, &[], Some(&body))? {
                Reply::Ok(v) => {
                    if v.get("approval").is_some() {
                        return Ok(WriteOutcome::PendingApproval);
                    }
                    if v.get("secrets").is_some() {
                        return Ok(WriteOutcome::Applied);
                    }
                    return Err(InfisicalError::Shape {
                        method: method.to_string(),
                        route: format!("/api/{route}"),
                        detail: "neither secrets nor approval in the answer".into(),
                    });
                }
                Reply::Err(e)
                    if e.route_missing() && self.secrets_gen == ApiGeneration::Current =>
                {
                    self.secrets_gen = ApiGeneration::Legacy;
                }
                Reply::Err(e) => return Err(Self::fail(method.as_str(), route, e)),
            }
        }
    }
}

fn project_error(slug: &str, method: &str, route: &str, e: ServerError) -> InfisicalError {
    // Unknown slug: 404 on current servers, 500 "Failed to find project by slug" on old ones.
    if e.status == 404 || (e.status == 500 && e.message.contains("find project")) {
        InfisicalError::ProjectNotFound {
            slug: slug.to_string(),
        }
    } else {
        Client::fail(method, route, e)
    }
}

/// A folder path as the server compares them: absolute, no trailing `/` (§1).
fn clean_path(p: &str) -> String {
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        "/".into()
    } else if t.starts_with('/') {
        t.to_string()
    } else {
        format!("/{t}")
    }
}

fn parse_secrets(route: &str, path: &str, v: &Value) -> Result<Vec<RemoteSecret>> {
    let shape = |d: &str| InfisicalError::Shape {
        method: "GET".into(),
        route: format!("/api/{route}"),
        detail: d.into(),
    };
    let list = v
        .get("secrets")
        .and_then(Value::as_array)
        .ok_or_else(|| shape("no secrets array"))?;
    let mut out = Vec::with_capacity(list.len());
    for s in list {
        // Personal secrets belong to a user; the tool manages shared ones only (§6).
        if s.get("type").and_then(Value::as_str) == Some("personal") {
            continue;
        }
        let key = s
            .get("secretKey")
            .and_then(Value::as_str)
            .ok_or_else(|| shape("a secret without secretKey"))?;
        let folder = clean_path(s.get("secretPath").and_then(Value::as_str).unwrap_or(path));
        let hidden = s.get("secretValueHidden").and_then(Value::as_bool) == Some(true);
        let value = if hidden {
            RemoteValue::Hidden
        } else {
            let raw = s
                .get("secretValue")
                .and_then(Value::as_str)
                .ok_or_else(|| shape("a secret without secretValue"))?;
            RemoteValue::Known(SecretBytes::from_str(raw))
        };
        out.push(RemoteSecret {
            folder,
            key: key.to_string(),
            value,
        });
    }
    Ok(out)
}

/// The client's response decoding without a network, for `fuzz/fuzz_targets/infisical_decode.rs`
/// (issue 10): a listing body as `list_secrets` reads it, and an error body as every call
/// summarises it. Not part of the API.
#[doc(hidden)]
pub fn decode_for_fuzzing(status: u16, body: &[u8]) -> (Result<Vec<RemoteSecret>>, Option<String>) {
    let listing = match serde_json::from_slice::<Value>(body) {
        Ok(v) => parse_secrets("v3/secrets/raw", "/", &v),
        Err(e) => Err(InfisicalError::Shape {
            method: "GET".into(),
            route: "/api/v3/secrets/raw".into(),
            detail: format!("not JSON at line {} column {}", e.line(), e.column()),
        }),
    };
    let error = StatusCode::from_u16(status).ok().map(|s| {
        let e = parse_server_error(s, body);
        format!(
            "{} {}: {} (route missing: {})",
            e.status,
            e.error,
            e.message,
            e.route_missing()
        )
    });
    (listing, error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_base_normalises_and_guards_plain_http() {
        for h in [
            "https://i.example",
            "https://i.example/",
            "https://i.example/api",
            "https://i.example/api/",
        ] {
            assert_eq!(
                api_base(h, false).unwrap().as_str(),
                "https://i.example/api/",
                "{h}"
            );
        }
        assert!(api_base("http://127.0.0.1:8080", false).is_ok());
        assert!(api_base("http://localhost:8080", false).is_ok());
        assert!(api_base("http://infisical.lan", false).is_err());
        assert!(api_base("http://infisical.lan", true).is_ok());
        assert!(api_base("ftp://x", true).is_err());
    }

    #[test]
    fn server_errors_are_summarised() {
        let e = parse_server_error(
            StatusCode::NOT_FOUND,
            br#"{"message":"Route GET:/api/v4/secrets not found","error":"Not Found","statusCode":404}"#,
        );
        assert!(e.route_missing());
        let e = parse_server_error(
            StatusCode::NOT_FOUND,
            br#"{"message":"Folder with path '/nope' in environment with slug 'prod' not found","error":"NotFound","statusCode":404}"#,
        );
        assert!(!e.route_missing());
        let e = parse_server_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            br#"{"statusCode":422,"error":"ValidationFailure","message":[{"code":"invalid_type","path":["secrets",0,"secretKey"],"message":"Required"}]}"#,
        );
        assert!(
            e.message.starts_with("1 validation issue(s)"),
            "{}",
            e.message
        );
    }

    #[test]
    fn listing_parses_paths_values_and_hidden() {
        let v: Value = serde_json::from_str(
            r#"{"secrets":[
              {"secretKey":"A","secretValue":"1","secretPath":"/db/","type":"shared"},
              {"secretKey":"B","secretValue":"","secretValueHidden":true,"secretPath":"/"},
              {"secretKey":"P","secretValue":"x","type":"personal","secretPath":"/"},
              {"secretKey":"C","secretValue":"3"}
            ],"imports":[]}"#,
        )
        .unwrap();
        let got = parse_secrets("v4/secrets", "/apps", &v).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!((got[0].folder.as_str(), got[0].key.as_str()), ("/db", "A"));
        assert_eq!(got[1].value, RemoteValue::Hidden);
        assert_eq!(got[2].folder, "/apps");
    }

    #[test]
    fn debug_is_redacted() {
        let c = Credentials::new("id-1".into(), SecretBytes::from_str("MARKER-secret"));
        let t = AccessToken(Zeroizing::new("MARKER-token".into()));
        let d = format!("{c:?} {t:?}");
        assert!(d.contains("id-1") && !d.contains("MARKER"), "{d}");
    }
}
