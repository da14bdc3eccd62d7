//! `seed-infisical` against a fake Infisical on loopback (`fake.rs`), for both API generations:
//! call counts of a first run, zero writes on a re-run, one update for one change, prune, and the
//! network faults of INFISICAL.md §1.1/§2/§5 (429 + Retry-After, 5xx, timeout, 401/expired token),
//! approval policies, partial failure, and that no value ever reaches output or errors.

mod fake;

use fake::{Fake, FaultKind, Gen, CLIENT_ID, CLIENT_SECRET};
use overworld_secrets::infisical::apply::{self, ApplyOutcome, OpKind, OpStatus};
use overworld_secrets::infisical::client::{
    ApiGeneration, Client, ClientOptions, Credentials, RetryPolicy,
};
use overworld_secrets::infisical::plan::{self, Action, EnvPlan};
use overworld_secrets::infisical::{InfisicalError, Seed};
use overworld_secrets::secret::SecretBytes;
use serde_json::json;
use std::time::{Duration, Instant};

const GENS: [Gen; 2] = [Gen::Current, Gen::Legacy];

fn opts(url: &str) -> ClientOptions {
    ClientOptions {
        host: url.to_string(),
        ca_pem: None,
        ca_only: false,
        insecure: false,
        timeout: Duration::from_secs(1),
        retry: RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(10),
            max_retry_after: Duration::from_secs(5),
        },
    }
}

fn creds() -> Credentials {
    Credentials::new(CLIENT_ID.into(), SecretBytes::from_str(CLIENT_SECRET))
}

/// The layout of the shipped demo seed `secrets/infisical/dev.yaml`, values made up here.
fn demo_seed() -> Seed {
    let mut s = Seed::default();
    s.insert("/", "GHCR_TOKEN", SecretBytes::from_str("ghp_test_token"));
    s.insert(
        "/databases/musmgr",
        "USERNAME",
        SecretBytes::from_str("musmgr"),
    );
    s.insert(
        "/databases/musmgr",
        "PASSWORD",
        SecretBytes::from_str("db-pass"),
    );
    s.insert("/obj-storage", "USERNAME", SecretBytes::from_str("minio"));
    // Leading/trailing blanks: stored trimmed by the server, must still compare equal (§6).
    s.insert(
        "/obj-storage",
        "PASSWORD",
        SecretBytes::from_str("  minio-pass \n"),
    );
    s
}

#[derive(Debug)]
struct Run {
    plan: EnvPlan,
    outcome: ApplyOutcome,
    generation: ApiGeneration,
}

/// The command's sequence, minus the terminal: login, resolve, read, plan, apply, revoke.
fn seed_run(f: &Fake, env: &str, seed: &Seed, prune: bool) -> Result<Run, InfisicalError> {
    let mut c = Client::new(&opts(&f.url), creds())?;
    c.login()?;
    let r = (|| {
        let project = c.resolve_project("overworld")?;
        let state = apply::read_state(&mut c, &project, env, seed)?;
        let plan = plan::compute(env, seed, &state.current, prune)?;
        let outcome = apply::apply(&mut c, &plan, seed, &mut || {});
        Ok(Run {
            plan,
            outcome,
            generation: c.generation(),
        })
    })();
    // An expired token cannot be revoked; the first-run test checks revocation itself.
    let _ = c.revoke();
    r
}

fn expected_seed_state() -> Vec<(String, String)> {
    [
        ("/GHCR_TOKEN", "ghp_test_token"),
        ("/databases/musmgr/PASSWORD", "db-pass"),
        ("/databases/musmgr/USERNAME", "musmgr"),
        ("/obj-storage/PASSWORD", "minio-pass\n"),
        ("/obj-storage/USERNAME", "minio"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect()
}

#[test]
fn first_run_creates_folders_and_secrets_in_the_fewest_calls() {
    for gen in GENS {
        let f = Fake::start(gen);
        let r = seed_run(&f, "dev", &demo_seed(), false).unwrap();
        assert!(r.outcome.complete(), "{gen:?}: {}", r.outcome.render());
        let (secrets, folders) = match gen {
            Gen::Current => ("/api/v4/secrets/batch", "/api/v2/folders"),
            Gen::Legacy => ("/api/v3/secrets/batch/raw", "/api/v1/folders"),
        };
        assert_eq!(
            r.generation,
            if gen == Gen::Current {
                ApiGeneration::Current
            } else {
                ApiGeneration::Legacy
            }
        );
        // Two folder creates (the server makes /databases for /databases/musmgr), one batch
        // create per folder.
        assert_eq!(
            f.writes(),
            [
                format!("POST {folders}"),
                format!("POST {folders}"),
                format!("POST {secrets}"),
                format!("POST {secrets}"),
                format!("POST {secrets}"),
            ],
            "{gen:?}"
        );
        let got: Vec<(String, String)> = f.secrets("dev").into_iter().collect();
        assert_eq!(got, expected_seed_state(), "{gen:?}");
        assert_eq!(
            f.folders("dev"),
            ["/databases", "/databases/musmgr", "/obj-storage"]
        );
        // Exactly one login, and the token was revoked at the end.
        assert_eq!(f.count("POST", "/api/v1/auth/universal-auth/login"), 1);
        assert_eq!(f.count("POST", "/api/v1/auth/token/revoke"), 1);
        assert!(f.state.lock().unwrap().tokens.is_empty());
        // Requests use the id field of their family.
        for r in f.log().iter().filter(|r| r.is_write()) {
            let key = if gen == Gen::Current {
                "projectId"
            } else {
                "workspaceId"
            };
            assert!(r.body.contains(key), "{} {}: {}", r.method, r.path, key);
        }
    }
}

#[test]
fn second_run_writes_nothing() {
    for gen in GENS {
        let f = Fake::start(gen);
        seed_run(&f, "dev", &demo_seed(), false).unwrap();
        f.clear_log();
        let r = seed_run(&f, "dev", &demo_seed(), true).unwrap();
        assert!(!r.plan.has_writes(), "{gen:?}: {:?}", r.plan);
        assert_eq!(r.plan.count(Action::Unchanged), 5);
        assert!(r.outcome.ops.is_empty());
        assert_eq!(f.writes(), Vec::<String>::new(), "{gen:?}");
    }
}

#[test]
fn one_changed_value_is_one_update() {
    for gen in GENS {
        let f = Fake::start(gen);
        seed_run(&f, "dev", &demo_seed(), false).unwrap();
        f.clear_log();
        let mut seed = demo_seed();
        seed.insert(
            "/databases/musmgr",
            "PASSWORD",
            SecretBytes::from_str("rotated"),
        );
        let r = seed_run(&f, "dev", &seed, false).unwrap();
        assert!(r.outcome.complete());
        let batch = if gen == Gen::Current {
            "/api/v4/secrets/batch"
        } else {
            "/api/v3/secrets/batch/raw"
        };
        assert_eq!(f.writes(), [format!("PATCH {batch}")]);
        assert_eq!(
            f.secrets("dev")["/databases/musmgr/PASSWORD"],
            "rotated".to_string()
        );
        assert_eq!(f.version("dev", "/databases/musmgr", "PASSWORD"), Some(2));
        assert_eq!(f.version("dev", "/databases/musmgr", "USERNAME"), Some(1));
    }
}

#[test]
fn prune_deletes_only_what_git_no_longer_has() {
    for gen in GENS {
        let f = Fake::start(gen);
        seed_run(&f, "dev", &demo_seed(), false).unwrap();
        f.put("dev", "/", "OLD_TOKEN", "x");
        f.put("dev", "/retired/app", "KEY", "y");
        f.put("prod", "/", "PROD_ONLY", "z");
        f.clear_log();
        // Without --prune, extra keys stay and nothing is written.
        let r = seed_run(&f, "dev", &demo_seed(), false).unwrap();
        assert!(!r.plan.has_writes());
        assert!(f.writes().is_empty());
        // With --prune: two deletes, one per folder, nothing else touched.
        let r = seed_run(&f, "dev", &demo_seed(), true).unwrap();
        let deletes: Vec<String> = r
            .plan
            .changes
            .iter()
            .filter(|c| c.action == Action::Delete)
            .map(|c| format!("{}:{}", c.folder, c.key))
            .collect();
        assert_eq!(deletes, ["/:OLD_TOKEN", "/retired/app:KEY"]);
        assert!(r.outcome.complete());
        assert_eq!(f.writes().len(), 2, "{:?}", f.writes());
        assert!(f.writes().iter().all(|w| w.starts_with("DELETE ")));
        let got: Vec<(String, String)> = f.secrets("dev").into_iter().collect();
        assert_eq!(got, expected_seed_state());
        assert!(f.secrets("prod").contains_key("/PROD_ONLY"));
    }
}

#[test]
fn rate_limit_waits_for_retry_after() {
    let f = Fake::start(Gen::Current);
    f.fault(
        "GET",
        "/api/v4/secrets",
        FaultKind::Respond(
            429,
            vec![("retry-after", "1".into()), ("x-ratelimit-remaining", "0".into())],
            json!({"statusCode":429,"message":"Rate limit exceeded. Please try again in 1 minute","error":"RateLimitExceeded"}),
        ),
    );
    let t = Instant::now();
    let r = seed_run(&f, "dev", &demo_seed(), false).unwrap();
    assert!(r.outcome.complete());
    assert!(
        t.elapsed() >= Duration::from_millis(950),
        "did not wait: {:?}",
        t.elapsed()
    );
    assert_eq!(f.count("GET", "/api/v4/secrets"), 2);
}

#[test]
fn an_exhausted_rate_limit_window_is_waited_out_before_the_next_call() {
    let f = Fake::start(Gen::Current);
    f.fault(
        "GET",
        "/api/v4/secrets",
        FaultKind::Headers(vec![
            ("x-ratelimit-limit", "40".into()),
            ("x-ratelimit-remaining", "0".into()),
            ("x-ratelimit-reset", "1".into()),
        ]),
    );
    let t = Instant::now();
    let r = seed_run(&f, "dev", &demo_seed(), false).unwrap();
    assert!(r.outcome.complete());
    assert!(
        t.elapsed() >= Duration::from_millis(950),
        "{:?}",
        t.elapsed()
    );
    // No 429 was provoked: one list call, writes as usual.
    assert_eq!(f.count("GET", "/api/v4/secrets"), 1);
    assert_eq!(f.writes().len(), 5);
}

#[test]
fn server_errors_are_retried_with_a_bound() {
    let f = Fake::start(Gen::Current);
    for _ in 0..2 {
        f.fault(
            "POST",
            "/api/v4/secrets/batch",
            FaultKind::Respond(
                503,
                vec![],
                json!({"statusCode":503,"error":"ServiceUnavailable","message":"busy"}),
            ),
        );
    }
    let r = seed_run(&f, "dev", &demo_seed(), false).unwrap();
    assert!(r.outcome.complete(), "{}", r.outcome.render());
    assert_eq!(f.count("POST", "/api/v4/secrets/batch"), 5); // 3 folders + 2 retries

    // A server that keeps failing: 4 attempts, then a failure naming the route, and the run
    // goes on with the other folders.
    let f = Fake::start(Gen::Current);
    for _ in 0..4 {
        f.fault(
            "POST",
            "/api/v4/secrets/batch",
            FaultKind::Respond(
                500,
                vec![],
                json!({"statusCode":500,"error":"InternalServerError","message":"Something went wrong"}),
            ),
        );
    }
    let r = seed_run(&f, "dev", &demo_seed(), false).unwrap();
    assert!(!r.outcome.complete());
    let failed: Vec<&apply::OpResult> = r
        .outcome
        .ops
        .iter()
        .filter(|o| matches!(o.status, OpStatus::Failed(_)))
        .collect();
    assert_eq!(failed.len(), 1, "{}", r.outcome.render());
    assert_eq!(failed[0].folder, "/");
    assert!(
        r.outcome.render().contains("HTTP 500"),
        "{}",
        r.outcome.render()
    );
    assert_eq!(f.count("POST", "/api/v4/secrets/batch"), 6); // 4 for `/`, 1 each for the rest
                                                             // Re-run converges: only the failed folder's keys are created.
    f.clear_log();
    let r = seed_run(&f, "dev", &demo_seed(), false).unwrap();
    assert!(r.outcome.complete());
    assert_eq!(f.writes(), ["POST /api/v4/secrets/batch"]);
    assert_eq!(
        f.secrets("dev").into_iter().collect::<Vec<_>>(),
        expected_seed_state()
    );
}

#[test]
fn a_timeout_is_retried_and_a_write_that_landed_is_not_duplicated() {
    let f = Fake::start(Gen::Legacy);
    // The server commits the batch but answers after the client gave up (timeout 1 s).
    f.fault(
        "POST",
        "/api/v3/secrets/batch/raw",
        FaultKind::Delay(Duration::from_millis(2500)),
    );
    let r = seed_run(&f, "dev", &demo_seed(), false).unwrap();
    assert!(r.outcome.complete(), "{}", r.outcome.render());
    assert_eq!(
        f.secrets("dev").into_iter().collect::<Vec<_>>(),
        expected_seed_state()
    );
    // Every value still at version 1: the retry's "already exist" was re-diffed, not forced.
    for (folder, key) in [("/", "GHCR_TOKEN"), ("/databases/musmgr", "PASSWORD")] {
        assert_eq!(f.version("dev", folder, key), Some(1));
    }
}

#[test]
fn a_timed_out_delete_that_landed_is_not_reported_as_failed() {
    let f = Fake::start(Gen::Current);
    seed_run(&f, "dev", &demo_seed(), false).unwrap();
    f.put("dev", "/", "OLD", "x");
    f.fault(
        "DELETE",
        "/api/v4/secrets/batch",
        FaultKind::Delay(Duration::from_millis(2500)),
    );
    f.clear_log();
    let r = seed_run(&f, "dev", &demo_seed(), true).unwrap();
    assert!(r.outcome.complete(), "{}", r.outcome.render());
    assert!(!f.secrets("dev").contains_key("/OLD"));
    // The retry found the key gone (404) and checked instead of failing or looping.
    assert_eq!(f.count("DELETE", "/api/v4/secrets/batch"), 2);
}

#[test]
fn a_timeout_that_never_ends_fails_after_the_bound() {
    let f = Fake::start(Gen::Current);
    for _ in 0..4 {
        f.fault(
            "GET",
            "/api/v2/folders",
            FaultKind::Delay(Duration::from_millis(1500)),
        );
    }
    let e = seed_run(&f, "dev", &demo_seed(), false).unwrap_err();
    assert!(matches!(e, InfisicalError::Transport { .. }), "{e}");
    assert!(e.to_string().contains("after 4 attempt(s)"), "{e}");
    assert!(f.writes().is_empty());
}

#[test]
fn a_bad_client_secret_is_never_retried() {
    let f = Fake::start(Gen::Current);
    let mut c = Client::new(
        &opts(&f.url),
        Credentials::new(
            CLIENT_ID.into(),
            SecretBytes::from_str("wrong-secret-MARKER"),
        ),
    )
    .unwrap();
    let e = c.login().unwrap_err();
    assert!(
        matches!(e, InfisicalError::Login { status: 401, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("Invalid credentials"));
    assert!(!e.to_string().contains("MARKER"));
    assert_eq!(f.count("POST", "/api/v1/auth/universal-auth/login"), 1);
    assert_eq!(f.log().len(), 1);
}

#[test]
fn an_expired_token_means_one_re_login_and_a_replay() {
    for gen in GENS {
        let f = Fake::start(gen);
        let list = if gen == Gen::Current {
            "/api/v4/secrets"
        } else {
            "/api/v3/secrets/raw"
        };
        f.fault("GET", list, FaultKind::ExpireToken);
        let r = seed_run(&f, "dev", &demo_seed(), false).unwrap();
        assert!(r.outcome.complete());
        assert_eq!(f.count("POST", "/api/v1/auth/universal-auth/login"), 2);
        assert_eq!(f.count("GET", list), 2);
    }
    // A second expiry in the same run is an error, not a login loop.
    let f = Fake::start(Gen::Current);
    f.fault("GET", "/api/v2/folders", FaultKind::ExpireToken);
    f.fault("GET", "/api/v4/secrets", FaultKind::ExpireToken);
    let e = seed_run(&f, "dev", &demo_seed(), false).unwrap_err();
    assert!(matches!(e, InfisicalError::Http { status: 403, .. }), "{e}");
    assert_eq!(f.count("POST", "/api/v1/auth/universal-auth/login"), 2);
}

#[test]
fn an_approval_policy_is_reported_as_pending() {
    let f = Fake::start(Gen::Current);
    f.state.lock().unwrap().approval = true;
    let r = seed_run(&f, "dev", &demo_seed(), false).unwrap();
    assert!(!r.outcome.complete());
    let pending = r
        .outcome
        .ops
        .iter()
        .filter(|o| o.status == OpStatus::PendingApproval)
        .count();
    assert_eq!(pending, 3);
    assert!(r.outcome.render().contains("3 pending approval"));
    assert!(r.outcome.only_pending());
    assert!(f.secrets("dev").is_empty());
}

#[test]
fn a_failed_folder_skips_its_secrets_and_the_rest_goes_on() {
    let f = Fake::start(Gen::Current);
    f.fault(
        "POST",
        "/api/v2/folders",
        FaultKind::Respond(
            403,
            vec![],
            json!({"statusCode":403,"error":"PermissionDenied","message":"You are not allowed to create on folders"}),
        ),
    );
    let r = seed_run(&f, "dev", &demo_seed(), false).unwrap();
    let by_status = |s: fn(&OpStatus) -> bool| {
        r.outcome
            .ops
            .iter()
            .filter(|o| s(&o.status))
            .map(|o| format!("{:?} {}", o.kind, o.folder))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        by_status(|s| matches!(s, OpStatus::Failed(_))),
        ["CreateFolder /databases/musmgr"]
    );
    assert_eq!(
        by_status(|s| *s == OpStatus::NotAttempted),
        ["Create /databases/musmgr"]
    );
    assert_eq!(
        by_status(|s| *s == OpStatus::Applied),
        [
            "CreateFolder /obj-storage",
            "Create /",
            "Create /obj-storage"
        ]
    );
    let text = r.outcome.render();
    assert!(text.contains("/databases/musmgr/PASSWORD"), "{text}");
    assert!(r.outcome.ops.iter().any(|o| o.kind == OpKind::CreateFolder));
}

#[test]
fn an_unknown_environment_or_project_is_refused_before_any_write() {
    let f = Fake::start(Gen::Legacy);
    let e = seed_run(&f, "qa", &demo_seed(), false).unwrap_err();
    assert!(
        matches!(e, InfisicalError::UnknownEnvironment { .. }),
        "{e}"
    );
    assert!(e.to_string().contains("dev, staging, prod"), "{e}");
    assert!(f.writes().is_empty());
    for gen in GENS {
        let f = Fake::start(gen);
        let mut c = Client::new(&opts(&f.url), creds()).unwrap();
        c.login().unwrap();
        let e = c.resolve_project("nope").unwrap_err();
        assert!(
            matches!(e, InfisicalError::ProjectNotFound { .. }),
            "{gen:?}: {e}"
        );
    }
}

#[test]
fn existing_folders_are_not_recreated_and_old_servers_answer_existing() {
    for gen in GENS {
        let f = Fake::start(gen);
        f.put("dev", "/databases", "X", "1");
        let mut seed = demo_seed();
        seed.insert("/databases", "X", SecretBytes::from_str("1"));
        let r = seed_run(&f, "dev", &seed, false).unwrap();
        assert!(r.outcome.complete());
        assert_eq!(
            r.plan.folders_to_create,
            ["/databases/musmgr", "/obj-storage"]
        );
        // A folder create for one that exists (a racing writer) is success on both generations.
        let mut c = Client::new(&opts(&f.url), creds()).unwrap();
        c.login().unwrap();
        c.resolve_project("overworld").unwrap();
        c.create_folder("dev", "/", "obj-storage").unwrap();
        c.revoke().unwrap();
    }
}

/// A unique marker as a value: it reaches the server (so the test can fail) but none of the
/// plan, its JSON, the outcome, an error or a `Debug` print.
#[test]
fn values_never_reach_output_errors_or_debug() {
    let marker = format!("MARKER-{}-{}", std::process::id(), rand_suffix());
    let f = Fake::start(Gen::Current);
    let mut seed = demo_seed();
    seed.insert("/apps/web", "API_KEY", SecretBytes::from_str(&marker));
    seed.insert("/", "GHCR_TOKEN", SecretBytes::from_str(&marker));
    let mut texts = Vec::new();
    // Fail one batch so error texts are produced too.
    f.fault(
        "POST",
        "/api/v4/secrets/batch",
        FaultKind::Respond(
            400,
            vec![],
            json!({"statusCode":400,"error":"BadRequest","message":"Something about the batch"}),
        ),
    );
    let r = seed_run(&f, "dev", &seed, false).unwrap();
    texts.push(plan::render(
        "overworld",
        std::slice::from_ref(&r.plan),
        true,
    ));
    texts.push(serde_json::to_string(&r.plan).unwrap());
    texts.push(serde_json::to_string(&r.outcome).unwrap());
    texts.push(r.outcome.render());
    texts.push(format!("{:?} {:?} {:?}", seed, r.plan, r.outcome));
    let mut c = Client::new(&opts(&f.url), creds()).unwrap();
    c.login().unwrap();
    let project = c.resolve_project("overworld").unwrap();
    let state = apply::read_state(&mut c, &project, "dev", &seed).unwrap();
    texts.push(format!("{c:?} {state:?}"));
    c.revoke().unwrap();
    let e = seed_run(&f, "nope", &seed, false).unwrap_err();
    texts.push(format!("{e} {e:?}"));
    for t in &texts {
        assert!(!t.contains(&marker), "value leaked into: {t}");
        assert!(!t.contains(CLIENT_SECRET), "client secret leaked into: {t}");
        assert!(!t.contains("eyJfake"), "token leaked into: {t}");
    }
    // The marker did travel to the server (the test would notice a broken setup).
    assert!(f.log().iter().any(|r| r.body.contains(&marker)));
    assert!(f.secrets("dev").values().any(|v| v == &marker));
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

#[test]
fn a_bad_ca_bundle_is_refused() {
    let mut o = opts("https://infisical.demo.invalid");
    o.ca_pem = Some(b"not a pem".to_vec());
    let e = Client::new(&o, creds()).unwrap_err();
    assert!(e.to_string().contains("--ca-cert"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// The binary end to end. These decrypt real SOPS YAML seeds, so they need the SOPS YAML store
// (`src/sops/format/yaml.rs`), which lands in a separate branch: remove the `ignore` once it has.

fn repo() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary in a scratch folder with only the demo age key available; `creds` adds the
/// Universal Auth credentials through the environment, as the Infisical CLI takes them.
fn run_bin_with(dir: &std::path::Path, fake: &Fake, args: &[&str], creds: bool) -> Out {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_overworld-secrets"));
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("CI", "1")
        .env(
            "SOPS_AGE_KEY_FILE",
            repo().join("keys/demo/TEST-ONLY-age.agekey"),
        )
        .env("INFISICAL_API_URL", &fake.url)
        .stdin(std::process::Stdio::null());
    if creds {
        cmd.env("INFISICAL_UNIVERSAL_AUTH_CLIENT_ID", CLIENT_ID)
            .env("INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET", CLIENT_SECRET);
    }
    let out = cmd.output().expect("run the binary");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn run_bin(dir: &std::path::Path, fake: &Fake, args: &[&str]) -> Out {
    run_bin_with(dir, fake, args, false)
}

fn run_bin_creds(dir: &std::path::Path, fake: &Fake, args: &[&str]) -> Out {
    run_bin_with(dir, fake, args, true)
}

/// A scratch repository whose `dev` seed is the marker fixture.
fn marker_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("seeds")).unwrap();
    std::fs::copy(
        repo().join("tests/fixtures/infisical/marker-seed.yaml"),
        dir.path().join("seeds/dev.yaml"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("overworld-secrets.yaml"),
        "infisical:\n  host: https://infisical.demo.invalid\n  project: overworld\n  environments: [dev]\n  seeds: seeds\n",
    )
    .unwrap();
    dir
}

#[test]
fn binary_seeds_with_json_output_and_never_prints_a_value() {
    let f = Fake::start(Gen::Current);
    let dir = marker_repo();
    let o = run_bin_creds(dir.path(), &f, &["--json", "seed-infisical", "--yes"]);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    let doc: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    let changes = doc["plan"][0]["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 3);
    assert!(changes.iter().all(|c| c["action"] == "create"));
    assert_eq!(doc["result"]["complete"], true);
    assert_eq!(
        f.secrets("dev")["/apps/web/SPACED"],
        "owmark-7f3a9c1e-spaced"
    );
    // Second run: a plan with nothing to do, zero writes.
    f.clear_log();
    let o2 = run_bin_creds(dir.path(), &f, &["--json", "seed-infisical", "--yes"]);
    assert_eq!(o2.code, 0, "{}", o2.stderr);
    assert!(f.writes().is_empty(), "{:?}", f.writes());
    let doc: serde_json::Value = serde_json::from_str(&o2.stdout).unwrap();
    assert!(doc["result"].is_null());
    // Text mode too, with -v (lists unchanged keys).
    let o3 = run_bin_creds(dir.path(), &f, &["-v", "seed-infisical", "--yes"]);
    assert_eq!(o3.code, 0, "{}", o3.stderr);
    assert!(o3.stdout.contains("= /apps/web/API_KEY"), "{}", o3.stdout);
    for o in [&o, &o2, &o3] {
        for text in [&o.stdout, &o.stderr] {
            assert!(!text.contains("owmark"), "a value leaked: {text}");
            assert!(
                !text.contains(CLIENT_SECRET),
                "the client secret leaked: {text}"
            );
        }
    }
    assert!(
        f.state.lock().unwrap().tokens.is_empty(),
        "token not revoked"
    );
}

#[test]
fn binary_refuses_to_write_without_yes_when_stdin_is_not_a_terminal() {
    let f = Fake::start(Gen::Legacy);
    let dir = marker_repo();
    let o = run_bin_creds(dir.path(), &f, &["seed-infisical"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("--yes"), "{}", o.stderr);
    assert!(o.stdout.contains("+ /apps/web/API_KEY"), "{}", o.stdout);
    assert!(f.writes().is_empty());
    assert_eq!(f.count("POST", "/api/v1/auth/token/revoke"), 1);
    // --dry-run never writes and needs no consent.
    let o = run_bin_creds(dir.path(), &f, &["seed-infisical", "--dry-run"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(f.writes().is_empty());
}

/// The shipped demo: repo config, credentials decrypted from the configured SOPS file.
#[test]
fn binary_plans_the_demo_seeds_with_credentials_from_the_sops_file() {
    let f = Fake::start(Gen::Current);
    {
        let mut s = f.state.lock().unwrap();
        s.client_id = "5b2c8f0e-demo-4c1e-9a7b-000000000001".into();
        s.client_secret = "demo-client-secret-0f9e8d7c6b5a4938271605f4e3d2c1b0".into();
    }
    let o = run_bin(&repo(), &f, &["seed-infisical", "--dry-run"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    for line in [
        "overworld/dev:",
        "+ folder /databases/musmgr",
        "+ /databases/musmgr/PASSWORD",
        "+ /obj-storage/USERNAME",
        "overworld/prod:",
        "+ /databases/vikunja/PASSWORD",
        "+ /applications/garage/RPC_SECRET",
        "+ /GHCR_TOKEN",
    ] {
        assert!(o.stdout.contains(line), "missing {line:?} in\n{}", o.stdout);
    }
    assert!(f.writes().is_empty());
    for v in ["demo-musmgr-db-password", "ghp_demo", "demo-client-secret"] {
        assert!(!o.stdout.contains(v) && !o.stderr.contains(v), "{v} leaked");
    }
}

#[test]
fn key_names_come_from_the_encrypted_file_without_a_key() {
    let bytes = std::fs::read(repo().join("secrets/infisical/prod.yaml")).unwrap();
    let keys: Vec<String> = overworld_secrets::infisical::seed_key_names_from_encrypted(&bytes)
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(
        keys,
        [
            "/GHCR_TOKEN",
            "/applications/garage/ADMIN_TOKEN",
            "/applications/garage/METRICS_TOKEN",
            "/applications/garage/RPC_SECRET",
            "/databases/docmost/APP_SECRET",
            "/databases/docmost/PASSWORD",
            "/databases/vikunja/PASSWORD",
        ]
    );
}

/// Seeds a real Infisical and reads it back. Configure with:
/// - `INFISICAL_E2E_API_URL` — e.g. `https://infisical.home.arpa` (with or without `/api`)
/// - `INFISICAL_E2E_CLIENT_ID`, `INFISICAL_E2E_CLIENT_SECRET` — a Universal Auth machine identity
///   with admin (or secret + folder write) access to the project
/// - `INFISICAL_E2E_PROJECT` — the project slug; `INFISICAL_E2E_ENV` — environment (default `dev`)
/// - `INFISICAL_E2E_CA_CERT` — optional PEM file of a private CA
///
/// It writes only under a fresh folder `/overworld-e2e-<time>` and deletes its secrets at the end
/// (the empty folder stays). Run: `cargo test --test integration live_infisical -- --ignored`.
#[test]
#[ignore = "needs a live Infisical"]
fn live_infisical_round_trip() {
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("set {k}"));
    let env = std::env::var("INFISICAL_E2E_ENV").unwrap_or_else(|_| "dev".into());
    let mut o = opts(&var("INFISICAL_E2E_API_URL"));
    o.timeout = Duration::from_secs(30);
    o.retry = RetryPolicy::default();
    o.ca_pem = std::env::var("INFISICAL_E2E_CA_CERT")
        .ok()
        .map(|p| std::fs::read(p).unwrap());
    let creds = Credentials::new(
        var("INFISICAL_E2E_CLIENT_ID"),
        SecretBytes::from(var("INFISICAL_E2E_CLIENT_SECRET")),
    );
    let folder = format!("/overworld-e2e-{}/db", rand_suffix());
    let mut seed = Seed::default();
    seed.insert(&folder, "USERNAME", SecretBytes::from_str("e2e-user"));
    seed.insert(&folder, "PASSWORD", SecretBytes::from_str("  e2e-pass \n"));
    let mut c = Client::new(&o, creds).unwrap();
    c.login().unwrap();
    let project = c.resolve_project(&var("INFISICAL_E2E_PROJECT")).unwrap();
    let run = |c: &mut Client, seed: &Seed| {
        let state = apply::read_state(c, &project, &env, seed).unwrap();
        let p = plan::compute(&env, seed, &state.current, false).unwrap();
        let out = apply::apply(c, &p, seed, &mut || {});
        assert!(out.complete(), "{}", out.render());
        p
    };
    let p = run(&mut c, &seed);
    assert_eq!(p.count(Action::Create), 2);
    let listed = c.list_secrets(&env, &folder).unwrap();
    assert_eq!(listed.len(), 2, "read back");
    let p = run(&mut c, &seed);
    assert!(!p.has_writes(), "second run must be zero writes: {p:?}");
    seed.insert(&folder, "USERNAME", SecretBytes::from_str("e2e-user-2"));
    let p = run(&mut c, &seed);
    assert_eq!(p.count(Action::Update), 1);
    use overworld_secrets::infisical::client::{BatchEntry, BatchOp};
    let entries = [
        BatchEntry {
            key: "USERNAME",
            value: None,
        },
        BatchEntry {
            key: "PASSWORD",
            value: None,
        },
    ];
    c.batch(BatchOp::Delete, &env, &folder, &entries).unwrap();
    c.revoke().unwrap();
}

/// `infisical pull` adopts a server into an encrypted seed; `diff` and `seed-infisical` then see
/// nothing to do; a change on the server shows in `diff` by name only.
#[test]
fn binary_pull_then_diff_and_seed_are_in_sync() {
    let f = Fake::start(Gen::Legacy);
    f.put("dev", "/", "TOKEN", "  owmark-pull-token \n");
    f.put("dev", "/apps/web", "API_KEY", "owmark-pull-web");
    f.put("dev", "/apps", "SHARED", "owmark-pull-shared");
    let dir = marker_repo();
    std::fs::remove_file(dir.path().join("seeds/dev.yaml")).unwrap();
    std::fs::write(
        dir.path().join(".sops.yaml"),
        "creation_rules:\n  - age: age1nmu0dgexrrr6aklljf83stmkmwjze4lm0zg59pn7a3e5nlepavhq80nn6p\n",
    )
    .unwrap();
    let o = run_bin_creds(dir.path(), &f, &["infisical", "pull", "--env", "dev"]);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    let written = std::fs::read_to_string(dir.path().join("seeds/dev.yaml")).unwrap();
    assert!(
        written.contains("ENC[AES256_GCM") && written.contains("API_KEY:"),
        "{written}"
    );
    assert!(!written.contains("owmark"), "plaintext on disk: {written}");
    let o2 = run_bin_creds(dir.path(), &f, &["infisical", "diff"]);
    assert_eq!(o2.code, 0, "{}\n{}", o2.stdout, o2.stderr);
    f.clear_log();
    let o3 = run_bin_creds(dir.path(), &f, &["seed-infisical", "--prune", "--yes"]);
    assert_eq!(o3.code, 0, "{}", o3.stderr);
    assert!(f.writes().is_empty(), "{:?}", f.writes());
    // Refuses to overwrite; reports drift by name.
    let o4 = run_bin_creds(dir.path(), &f, &["infisical", "pull"]);
    assert_eq!(o4.code, 2, "{}", o4.stderr);
    f.put("dev", "/apps/web", "API_KEY", "owmark-rotated");
    f.put("dev", "/", "EXTRA", "owmark-extra");
    let o5 = run_bin_creds(dir.path(), &f, &["infisical", "diff"]);
    assert_eq!(o5.code, 1, "{}", o5.stderr);
    assert!(o5.stdout.contains("~ /apps/web/API_KEY"), "{}", o5.stdout);
    assert!(o5.stdout.contains("- /EXTRA"), "{}", o5.stdout);
    for o in [&o, &o2, &o3, &o4, &o5] {
        for text in [&o.stdout, &o.stderr] {
            assert!(!text.contains("owmark"), "a value leaked: {text}");
        }
    }
}

/// The oracle Python (with `cryptography`): `OVERWORLD_ORACLE_PYTHON` as scripts/test.sh sets
/// it, else the venv it creates. A missing oracle is an error, not a skip.
fn oracle_python() -> std::path::PathBuf {
    std::env::var_os("OVERWORLD_ORACLE_PYTHON")
        .map(Into::into)
        .or_else(|| {
            let p = repo().join("target/oracles/bin/python");
            p.exists().then_some(p)
        })
        .expect("no oracle Python: run scripts/test.sh (it creates target/oracles)")
}

/// A TLS server on loopback with a throwaway CA (`tls_server.py`); killed on drop.
struct TlsServer {
    child: std::process::Child,
    url: String,
    ca: Vec<u8>,
    _dir: tempfile::TempDir,
}

impl TlsServer {
    fn start(mode: &str) -> TlsServer {
        use std::io::BufRead;
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new(oracle_python())
            .arg(repo().join("tests/fixtures/infisical/tls_server.py"))
            .arg(dir.path())
            .arg(mode)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start tls_server.py");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = line.trim().parse().expect("port from tls_server.py");
        TlsServer {
            child,
            url: format!("https://127.0.0.1:{port}"),
            ca: std::fs::read(dir.path().join("ca.pem")).unwrap(),
            _dir: dir,
        }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn login_via(o: &ClientOptions) -> InfisicalError {
    let mut c = Client::new(o, creds()).unwrap();
    c.login().unwrap_err()
}

/// `--ca-cert` (added to or replacing the system roots) and `--insecure` against a private CA;
/// a CN-only certificate fails with the subjectAltName hint (INFISICAL.md §8).
#[test]
fn private_ca_certificates() {
    let s = TlsServer::start("san");
    let mut o = opts(&s.url);
    o.timeout = Duration::from_secs(5);
    // Unknown CA: a transport error with the hint, and no HTTP exchange.
    let e = login_via(&o);
    assert!(matches!(e, InfisicalError::Transport { .. }), "{e}");
    assert!(e.to_string().contains("--ca-cert"), "{e}");
    // The CA added to the system roots, or alone: TLS works, the server's 401 comes through.
    for only in [false, true] {
        o.ca_pem = Some(s.ca.clone());
        o.ca_only = only;
        let e = login_via(&o);
        assert!(
            matches!(e, InfisicalError::Login { status: 401, .. }),
            "ca_only={only}: {e}"
        );
    }
    // --insecure skips verification.
    let mut o = opts(&s.url);
    o.timeout = Duration::from_secs(5);
    o.insecure = true;
    assert!(matches!(
        login_via(&o),
        InfisicalError::Login { status: 401, .. }
    ));

    let cn = TlsServer::start("cn-only");
    let mut o = opts(&cn.url);
    o.timeout = Duration::from_secs(5);
    o.ca_pem = Some(cn.ca.clone());
    let e = login_via(&o);
    assert!(matches!(e, InfisicalError::Transport { .. }), "{e}");
    assert!(e.to_string().contains("subjectAltName"), "{e}");
}

mod converges {
    //! Property: from any server state left by one seed, seeding another (with --prune) makes the
    //! server hold exactly the second seed as the server normalises it, and a further run writes
    //! nothing — on both API generations.
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    type Model = BTreeMap<String, BTreeMap<String, String>>;

    fn model() -> impl Strategy<Value = Model> {
        let folder = prop::collection::vec("[a-z]{1,3}", 0..3).prop_map(|segs| {
            if segs.is_empty() {
                "/".to_string()
            } else {
                format!("/{}", segs.join("/"))
            }
        });
        let keys = prop::collection::btree_map(
            "[A-Z_]{1,4}",
            "[ \t\n]{0,2}[a-zA-Z0-9 #!-]{0,10}[ \t\n]{0,2}",
            0..4,
        );
        prop::collection::btree_map(folder, keys, 0..4)
    }

    fn to_seed(m: &Model) -> Seed {
        let mut s = Seed::default();
        for (f, ks) in m {
            for (k, v) in ks {
                s.insert(f, k, SecretBytes::from_str(v));
            }
        }
        s
    }

    /// What the server should hold: observed normalisation (INFISICAL.md §6), computed here
    /// independently of the tool and of the fake.
    fn expected(m: &Model) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (f, ks) in m {
            for (k, v) in ks {
                let mut n = v.trim_matches([' ', '\t', '\n']).to_string();
                if v.ends_with('\n') {
                    n.push('\n');
                }
                let path = if f == "/" {
                    format!("/{k}")
                } else {
                    format!("{f}/{k}")
                };
                out.insert(path, n);
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
        #[test]
        fn any_seed_converges_and_then_writes_nothing(a in model(), b in model(), legacy in any::<bool>()) {
            let f = Fake::start(if legacy { Gen::Legacy } else { Gen::Current });
            let r = seed_run(&f, "dev", &to_seed(&a), true).unwrap();
            prop_assert!(r.outcome.complete(), "{}", r.outcome.render());
            prop_assert_eq!(f.secrets("dev"), expected(&a));
            let r = seed_run(&f, "dev", &to_seed(&b), true).unwrap();
            prop_assert!(r.outcome.complete(), "{}", r.outcome.render());
            prop_assert_eq!(f.secrets("dev"), expected(&b));
            f.clear_log();
            let r = seed_run(&f, "dev", &to_seed(&b), true).unwrap();
            prop_assert!(!r.plan.has_writes(), "{:?}", r.plan);
            prop_assert!(f.writes().is_empty(), "{:?}", f.writes());
        }
    }
}

/// `--prune` with a seed that holds no secret would empty the environment: refused before login.
#[test]
fn binary_refuses_prune_with_an_empty_seed() {
    let f = Fake::start(Gen::Current);
    let dir = marker_repo();
    std::fs::copy(
        repo().join("tests/fixtures/infisical/empty-seed.yaml"),
        dir.path().join("seeds/dev.yaml"),
    )
    .unwrap();
    let o = run_bin_creds(dir.path(), &f, &["seed-infisical", "--prune", "--yes"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("refusing --prune"), "{}", o.stderr);
    assert!(f.log().is_empty(), "a request was sent: {:?}", f.log());
    // Without --prune it is a harmless plan: one folder to create.
    let o = run_bin_creds(dir.path(), &f, &["seed-infisical", "--dry-run"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("+ folder /apps"), "{}", o.stdout);
}

/// Issue 9's seed-infisical figure: 500 secrets in 20 folders. Counts requests (not time), so it is
/// a correctness test too: folders + a handful of batch calls, never one call per secret, and
/// zero writes on the second run. `bench/bench.py` runs it with `--nocapture` to report the counts.
#[test]
fn bench_seed_500_secrets_in_20_folders() {
    let f = Fake::start(Gen::Current);
    let mut seed = Seed::default();
    for folder in 0..20 {
        for key in 0..25 {
            seed.insert(
                &format!("/apps/app{folder:02}"),
                &format!("KEY_{key:02}"),
                SecretBytes::from(format!("value-{folder}-{key}")),
            );
        }
    }
    let r = seed_run(&f, "dev", &seed, false).unwrap();
    assert!(r.outcome.complete(), "{}", r.outcome.render());
    let first_total = f.log().len();
    let first_writes = f.writes().len();
    f.clear_log();
    let r = seed_run(&f, "dev", &seed, false).unwrap();
    assert!(!r.plan.has_writes());
    let second_total = f.log().len();
    let second_writes = f.writes().len();
    println!("BENCH seed-infisical secrets=500 folders=20 first_run_requests={first_total} first_run_writes={first_writes} second_run_requests={second_total} second_run_writes={second_writes}");
    assert_eq!(second_writes, 0);
    // 20 folder creates (the server makes /apps) + one batch per folder, plus login/resolve/list/revoke.
    assert!(first_writes <= 20 + 20, "{first_writes} writes");
    assert!(first_total <= first_writes + 10, "{first_total} requests");
}
