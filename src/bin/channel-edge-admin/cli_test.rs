use super::*;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use channel_edge::core::auth::{verify, Principal};
use std::sync::atomic::{AtomicUsize, Ordering};

fn parse_args(args: &[&str]) -> Result<Command, CliError> {
    let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
    parse(&args)
}

/// Parses `token --key k.pem --principal ops` followed by `extra`.
fn parse_token(extra: &[&str]) -> Result<Command, CliError> {
    parse_args(
        &[
            &["token", "--key", "k.pem", "--principal", "ops"][..],
            extra,
        ]
        .concat(),
    )
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "channel-edge-admin-test-{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let dir = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs keygen into `dir` and returns the key path and the printed public key.
fn make_key(dir: &TempDir) -> (PathBuf, String) {
    let out = dir.0.join("key.pem");
    let output = run(Command::Keygen {
        out: Some(out.clone()),
        force: false,
    })
    .unwrap();
    let json: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    (out, json["public_key"].as_str().unwrap().to_owned())
}

#[test]
fn no_args_and_help_flags_ask_for_usage() {
    for args in [
        &[][..],
        &["help"],
        &["--help"],
        &["-h"],
        &["keygen", "--help"],
        &["token", "--key", "k.pem", "-h"],
    ] {
        assert_eq!(parse_args(args).unwrap(), Command::Help, "{args:?}");
    }
    let text = run(Command::Help).unwrap().stdout;
    for needle in [
        KEYGEN,
        PUBLIC_KEY,
        TOKEN,
        "principals:write",
        "audit:read",
        "*",
    ] {
        assert!(text.contains(needle), "usage lacks {needle}");
    }
}

#[test]
fn parses_keygen() {
    assert_eq!(
        parse_args(&["keygen", "--out", "a.pem"]).unwrap(),
        Command::Keygen {
            out: Some("a.pem".into()),
            force: false
        }
    );
    assert_eq!(
        parse_args(&["keygen", "--force", "--out=b.pem"]).unwrap(),
        Command::Keygen {
            out: Some("b.pem".into()),
            force: true
        }
    );
    assert_eq!(
        parse_args(&["keygen"]).unwrap(),
        Command::Keygen {
            out: None,
            force: false
        }
    );
}

#[test]
fn keygen_defaults_to_a_key_path_outside_the_repository() {
    assert_eq!(
        default_key_path(Some("/cfg".into()), Some("/home/me".into())).unwrap(),
        PathBuf::from("/cfg/channel-edge/keys/principal.pem")
    );
    assert_eq!(
        default_key_path(Some("".into()), Some("/home/me".into())).unwrap(),
        PathBuf::from("/home/me/.config/channel-edge/keys/principal.pem")
    );
    let error = default_key_path(None, None).unwrap_err();
    assert!(matches!(error, CliError::NoKeyDirectory));
    assert!(error.to_string().contains("pass --out <path>"));
    assert_eq!(error.exit_code(), 1);
    // The directory is made, owner only.
    let dir = TempDir::new();
    let path = key_directory(dir.0.join("a/b/principal.pem")).unwrap();
    assert!(dir.0.join("a/b").is_dir());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.0.join("a/b"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }
    assert_eq!(path, dir.0.join("a/b/principal.pem"));
}

#[test]
fn parses_public_key() {
    assert_eq!(
        parse_args(&["public-key", "--key", "a.pem"]).unwrap(),
        Command::PublicKey {
            key: "a.pem".into()
        }
    );
}

#[test]
fn parses_token_with_default_and_given_ttl() {
    assert_eq!(
        parse_token(&["--scope", "bindings:read"]).unwrap(),
        Command::Token {
            key: "k.pem".into(),
            principal: "ops".into(),
            scopes: ScopeSet::parse("bindings:read").unwrap(),
            ttl: DEFAULT_TTL_SECONDS,
        }
    );
    for ttl in ["1", "60", "3600"] {
        match parse_token(&["--scope", "*", "--ttl", ttl]).unwrap() {
            Command::Token { ttl: parsed, .. } => assert_eq!(parsed.to_string(), ttl),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn repeated_scope_flags_are_joined() {
    let command = parse_args(&[
        "token",
        "--scope",
        "bindings:read",
        "--key",
        "a.pem",
        "--scope",
        "audit:read rollout:write",
        "--principal",
        "ops",
    ])
    .unwrap();
    match command {
        Command::Token { scopes, .. } => assert_eq!(
            scopes,
            ScopeSet::parse("bindings:read audit:read rollout:write").unwrap()
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_values_are_usage_errors() {
    for (args, missing) in [
        (&["keygen", "--out"][..], "--out"),
        (&["keygen", "--out", "--force"], "--out"),
        (&["keygen", "--out="], "--out"),
        (&["public-key", "--key", ""], "--key"),
        (&["token", "--key", "k", "--scope"], "--scope"),
    ] {
        let error = parse_args(args).unwrap_err();
        assert!(
            matches!(error, CliError::MissingValue { flag } if flag == missing),
            "{args:?}: {error:?}"
        );
        assert!(error.to_string().contains(missing));
        assert_eq!(error.exit_code(), 2);
    }
}

#[test]
fn missing_flags_are_usage_errors() {
    for (args, missing) in [
        (&["public-key"][..], "--key"),
        (&["token", "--key", "k", "--principal", "p"], "--scope"),
        (&["token", "--key", "k", "--scope", "*"], "--principal"),
        (&["token", "--principal", "p", "--scope", "*"], "--key"),
    ] {
        let error = parse_args(args).unwrap_err();
        assert!(
            matches!(error, CliError::MissingFlag { flag, .. } if flag == missing),
            "{args:?}: {error:?}"
        );
        let message = error.to_string();
        assert!(message.contains(missing) && message.contains("usage:"));
        assert_eq!(error.exit_code(), 2);
    }
}

#[test]
fn unknown_commands_and_arguments_are_named() {
    let error = parse_args(&["mint"]).unwrap_err();
    assert!(matches!(error, CliError::UnknownCommand { .. }));
    assert!(error.to_string().contains("`mint`"));
    assert_eq!(error.exit_code(), 2);

    for (args, unknown) in [
        (&["keygen", "a.pem"][..], "a.pem"),
        (&["keygen", "--out", "a.pem", "--overwrite"], "--overwrite"),
        (&["public-key", "--key", "a.pem", "--force"], "--force"),
        (&["token", "--lifetime", "60"], "--lifetime"),
    ] {
        let error = parse_args(args).unwrap_err();
        assert!(
            matches!(&error, CliError::UnknownArgument { argument, .. } if argument == unknown),
            "{args:?}: {error:?}"
        );
        assert!(error.to_string().contains(&format!("`{unknown}`")));
        assert_eq!(error.exit_code(), 2);
    }
}

#[test]
fn single_value_flags_may_not_repeat() {
    let error = parse_args(&["keygen", "--out", "a.pem", "--out", "b.pem"]).unwrap_err();
    assert!(matches!(error, CliError::RepeatedFlag { flag: "--out" }));
    let error = parse_token(&["--scope", "*", "--ttl", "5", "--ttl", "6"]).unwrap_err();
    assert!(matches!(error, CliError::RepeatedFlag { flag: "--ttl" }));
    assert_eq!(error.exit_code(), 2);
}

#[test]
fn ttl_outside_the_allowed_range_is_a_usage_error() {
    for ttl in ["0", "3601", "-5", "15m", "99999999999999999999"] {
        let error = parse_token(&["--scope", "*", "--ttl", ttl]).unwrap_err();
        assert!(matches!(error, CliError::BadTtl { .. }), "{ttl}: {error:?}");
        assert!(error.to_string().contains("from 1 to 3600"));
        assert_eq!(error.exit_code(), 2);
    }
}

#[test]
fn unknown_scope_is_named_with_the_valid_ones() {
    let error = parse_token(&["--scope", "bindings:read bindings:admin"]).unwrap_err();
    assert!(matches!(error, CliError::BadScope { .. }));
    let message = error.to_string();
    assert!(message.contains("bindings:admin"), "{message}");
    assert!(message.contains(&scope_names()), "{message}");
    assert_eq!(error.exit_code(), 2);
}

#[test]
fn empty_scope_is_a_usage_error() {
    let error = parse_token(&["--scope", "  "]).unwrap_err();
    assert!(matches!(error, CliError::EmptyScope));
    assert!(error.to_string().contains("principals:write"));
    assert_eq!(error.exit_code(), 2);
}

#[test]
fn keygen_makes_the_missing_directory_of_out() {
    let dir = TempDir::new();
    let out = dir.0.join("keys/ops.pem");
    run(Command::Keygen {
        out: Some(out.clone()),
        force: false,
    })
    .unwrap();
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .starts_with("-----BEGIN PRIVATE KEY-----"));
}

#[test]
fn keygen_writes_an_owner_only_key_and_refuses_to_overwrite() {
    let dir = TempDir::new();
    let (out, public_key) = make_key(&dir);
    let pem = std::fs::read_to_string(&out).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert_eq!(public_key_from_pem(&pem).unwrap(), public_key);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let error = run(Command::Keygen {
        out: Some(out.clone()),
        force: false,
    })
    .unwrap_err();
    assert!(matches!(error, CliError::KeyExists { .. }));
    assert!(error.to_string().contains("--force"));
    assert_eq!(error.exit_code(), 1);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        pem,
        "key was changed"
    );

    // --force replaces the key, and tightens the mode of a file it did not create.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let loose = std::fs::Permissions::from_mode(0o644);
        std::fs::set_permissions(&out, loose).unwrap();
    }
    let output = run(Command::Keygen {
        out: Some(out.clone()),
        force: true,
    })
    .unwrap();
    let json: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(json["private_key_file"], out.display().to_string());
    assert_ne!(json["public_key"], public_key.as_str());
    assert!(output.note.unwrap().contains("POST /v1/principals"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn keygen_where_no_directory_can_be_made_names_the_path() {
    let dir = TempDir::new();
    std::fs::write(dir.0.join("a-file"), "").unwrap();
    let out = dir.0.join("a-file").join("key.pem");
    let error = run(Command::Keygen {
        out: Some(out.clone()),
        force: false,
    })
    .unwrap_err();
    assert!(matches!(error, CliError::WriteKey { .. }));
    assert!(error.to_string().contains(&out.display().to_string()));
    assert_eq!(error.exit_code(), 1);
}

#[test]
fn public_key_matches_keygen() {
    let dir = TempDir::new();
    let (key, public_key) = make_key(&dir);
    let output = run(Command::PublicKey { key }).unwrap();
    assert_eq!(output.stdout, format!("{public_key}\n"));
}

#[test]
fn token_verifies_against_the_registered_public_key() {
    let dir = TempDir::new();
    let (key, public_key) = make_key(&dir);
    let scopes = ScopeSet::parse("bindings:read audit:read").unwrap();
    let output = run(Command::Token {
        key,
        principal: "ops".into(),
        scopes: scopes.clone(),
        ttl: 120,
    })
    .unwrap();
    let token = output.stdout.strip_suffix('\n').unwrap();
    assert!(!token.contains(char::is_whitespace));

    let principal = Principal {
        id: "ops".into(),
        public_key,
        scopes: ScopeSet::parse("*").unwrap(),
        active: true,
        expires_at: None,
        restriction: Default::default(),
    };
    let caller = verify(token, &principal, now()).unwrap();
    assert_eq!(caller.principal_id, "ops");
    assert_eq!(caller.scopes, scopes);

    let payload = token.split('.').nth(1).unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let lifetime = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
    assert_eq!(lifetime, 120);
}

#[test]
fn unreadable_key_file_names_the_path_and_os_error() {
    let dir = TempDir::new();
    let key = dir.0.join("missing.pem");
    let error = run(Command::PublicKey { key: key.clone() }).unwrap_err();
    assert!(matches!(error, CliError::ReadKey { .. }));
    let message = error.to_string();
    assert!(message.contains(&key.display().to_string()), "{message}");
    let os_error = io::Error::from(io::ErrorKind::NotFound).to_string();
    assert!(
        message.contains("No such file") || message.contains(&os_error),
        "{message}"
    );
    assert_eq!(error.exit_code(), 1);
}

#[test]
fn a_file_that_is_not_a_key_says_how_to_make_one() {
    let dir = TempDir::new();
    for (name, content) in [
        ("text.pem", &b"not a key\n"[..]),
        ("binary.pem", &[0xff, 0xfe, 0x00][..]),
    ] {
        let key = dir.0.join(name);
        std::fs::write(&key, content).unwrap();
        for command in [
            Command::PublicKey { key: key.clone() },
            Command::Token {
                key: key.clone(),
                principal: "ops".into(),
                scopes: ScopeSet::parse("*").unwrap(),
                ttl: 60,
            },
        ] {
            let error = run(command).unwrap_err();
            assert!(matches!(error, CliError::BadKey { .. }), "{error:?}");
            let message = error.to_string();
            assert!(message.contains(&AuthError::BadPrivateKey.to_string()));
            assert!(message.contains("channel-edge-admin keygen --out <path>"));
            assert!(message.contains(name));
            assert_eq!(error.exit_code(), 1);
        }
    }
}

#[test]
fn environment_failures_say_what_to_fix() {
    let error = CliError::Random(getrandom::Error::UNSUPPORTED);
    assert!(error.to_string().contains("random bytes"));
    assert_eq!(error.exit_code(), 1);

    let error = CliError::Clock;
    assert!(error.to_string().contains("fix the clock"));
    assert_eq!(error.exit_code(), 1);
}

// webhook

const APP_ID: &str = "app_0123456789abcdef0123456789abcdef";
const INS_ID: &str = "ins_0123456789abcdef0123456789abcdef";

fn parse_webhook_args(args: &[&str]) -> Result<Webhook, CliError> {
    match parse_args(&[&["webhook"][..], args].concat())? {
        Command::Webhook(webhook) => Ok(webhook),
        other => panic!("{other:?}"),
    }
}

#[test]
fn parses_a_webhook_message_with_the_defaults_left_to_run() {
    let webhook = parse_webhook_args(&["slack", "--to", APP_ID, "--text", "hi"]).unwrap();
    assert_eq!(
        webhook,
        Webhook {
            provider: Provider::Slack,
            to: APP_ID.into(),
            content: Content::Message {
                text: "hi".into(),
                from: None,
                conversation: None,
            },
            secret: Secret::Dataset("seed/dev-dataset.json".into()),
            base: None,
        }
    );
}

#[test]
fn parses_every_webhook_flag() {
    let webhook = parse_webhook_args(&[
        "telegram",
        "--text=hello there",
        "--to",
        INS_ID,
        "--from",
        "7",
        "--conversation",
        "-1009",
        "--secret",
        "tok",
        "--base",
        "https://edge.example/",
    ])
    .unwrap();
    assert_eq!(webhook.provider, Provider::Telegram);
    assert_eq!(
        webhook.content,
        Content::Message {
            text: "hello there".into(),
            from: Some("7".into()),
            conversation: Some("-1009".into()),
        }
    );
    assert_eq!(webhook.secret, Secret::Given("tok".into()));
    assert_eq!(webhook.base.as_deref(), Some("https://edge.example"));

    let args = [
        "standard",
        "--to",
        INS_ID,
        "--file",
        "p.json",
        "--dataset",
        "d.json",
    ];
    let file = parse_webhook_args(&args).unwrap();
    assert_eq!(file.content, Content::File("p.json".into()));
    assert_eq!(file.secret, Secret::Dataset("d.json".into()));
}

#[test]
fn email_is_not_a_webhook() {
    let error = parse_args(&["webhook", "email", "--to", "ins_1", "--text", "hi"]).unwrap_err();
    assert!(matches!(error, CliError::NotAWebhook), "{error}");
    assert!(error.to_string().contains("/cdn-cgi/handler/email"));
    assert!(!usage().contains("  email "));
}

#[test]
fn webhook_help_and_usage_list_the_providers() {
    for args in [&["webhook", "--help"][..], &["webhook", "slack", "-h"]] {
        assert_eq!(parse_args(args).unwrap(), Command::Help, "{args:?}");
    }
    let text = usage();
    assert!(text.contains(WEBHOOK));
    for provider in Provider::ALL.into_iter().filter(|p| p.receives_webhooks()) {
        let line = text
            .lines()
            .find(|line| line.trim_start().starts_with(provider.as_str()))
            .unwrap_or_else(|| panic!("no line for {provider:?}"));
        assert!(line.contains(provider.path_id_prefix()), "{line}");
        assert!(line.contains(webhook::default_sender(provider)), "{line}");
    }
    for needle in [
        "$EDGE",
        "http://127.0.0.1:8787",
        "seed/dev-dataset.json",
        "whsec_",
    ] {
        assert!(text.contains(needle), "usage lacks {needle}");
    }
}

#[test]
fn a_webhook_needs_a_known_provider_first() {
    for args in [&["webhook"][..], &["webhook", "--to", APP_ID, "slack"]] {
        let error = parse_args(args).unwrap_err();
        assert!(matches!(error, CliError::MissingProvider), "{error:?}");
        assert!(error.to_string().contains(&provider_names()));
        assert_eq!(error.exit_code(), 2);
    }
    let error = parse_args(&["webhook", "sms", "--to", APP_ID]).unwrap_err();
    assert!(matches!(&error, CliError::UnknownProvider { provider } if provider == "sms"));
    let message = error.to_string();
    assert!(
        message.contains("`sms`") && message.contains("slack telegram whatsapp discord standard")
    );
    assert_eq!(error.exit_code(), 2);
}

#[test]
fn a_webhook_needs_a_target_and_something_to_send() {
    let error = parse_webhook_args(&["slack", "--text", "hi"]).unwrap_err();
    assert!(
        matches!(error, CliError::MissingFlag { flag: "--to", .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains(WEBHOOK));

    let error = parse_webhook_args(&["slack", "--to", APP_ID]).unwrap_err();
    assert!(matches!(error, CliError::MissingContent), "{error:?}");
    assert!(error.to_string().contains("--text") && error.to_string().contains("--file"));
    assert_eq!(error.exit_code(), 2);
}

/// Asserts a usage error (exit code 2) whose message contains `needle`.
fn assert_usage(error: &CliError, needle: &str) {
    assert!(error.to_string().contains(needle), "{needle}: {error}");
    assert_eq!(error.exit_code(), 2, "{error}");
}

#[test]
fn a_file_is_sent_as_it_is_so_message_flags_conflict() {
    for flag in ["--text", "--from", "--conversation"] {
        let args = ["slack", "--to", APP_ID, "--file", "p.json", flag, "x"];
        let error = parse_webhook_args(&args).unwrap_err();
        assert!(matches!(error, CliError::WithFile { flag: named } if named == flag));
        assert_usage(&error, flag);
    }
}

#[test]
fn webhook_values_are_checked_while_parsing() {
    for (provider, to, extra, needle) in [
        ("slack", INS_ID, &[][..], "app profile id"),
        ("standard", APP_ID, &[], "installation id"),
        ("telegram", INS_ID, &["--from", "bob"], "whole numbers"),
        ("whatsapp", APP_ID, &["--conversation", "c"], "one to one"),
        ("discord", APP_ID, &["--secret", "k"], "64 hex digits"),
        ("slack", APP_ID, &["--base", "edge.example"], "http://"),
        ("slack", APP_ID, &["--text", "y"], "more than once"),
        ("slack", APP_ID, &["--scope", "*"], "`--scope`"),
        (
            "slack",
            APP_ID,
            &["--secret", "s", "--dataset", "d"],
            "leave out one",
        ),
    ] {
        let args = [&[provider, "--to", to, "--text", "x"][..], extra].concat();
        assert_usage(&parse_webhook_args(&args).unwrap_err(), needle);
    }
}

fn sent(status: u16, body: &str) -> Sent {
    Sent {
        summary: "sent a slack message".into(),
        answer: webhook::Answer {
            status,
            body: body.into(),
        },
    }
}

#[test]
fn an_accepted_webhook_prints_its_status_line_and_body() {
    let output = webhook_output(&sent(204, ""));
    assert_eq!(output.stdout, "204 No Content\n");
    assert!(!output.failed);
    assert_eq!(output.note.as_deref(), Some("sent a slack message"));

    let output = webhook_output(&sent(200, r#"{"type":5}"#));
    assert_eq!(output.stdout, "200 OK\n{\"type\":5}\n");
    assert!(!output.failed);
}

#[test]
fn a_refused_webhook_prints_the_answer_and_fails() {
    let body = r#"{"error":{"code":"bad_signature","message":"signature does not verify"}}"#;
    let output = webhook_output(&sent(401, body));
    assert_eq!(output.stdout, format!("401 Unauthorized\n{body}\n"));
    assert!(output.failed);
    assert!(output
        .note
        .unwrap()
        .contains("not accepted: the worker answered 401"));
    let output = webhook_output(&sent(599, "x\n"));
    assert_eq!(output.stdout, "599 \nx\n");
    assert!(output.failed);
}

#[test]
fn the_unknown_command_message_names_webhook() {
    let error = parse_args(&["trigger"]).unwrap_err();
    assert!(error.to_string().contains("webhook"));
}
