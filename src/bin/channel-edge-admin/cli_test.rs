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
        out: out.clone(),
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
            out: "a.pem".into(),
            force: false
        }
    );
    assert_eq!(
        parse_args(&["keygen", "--force", "--out=b.pem"]).unwrap(),
        Command::Keygen {
            out: "b.pem".into(),
            force: true
        }
    );
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
        (&["keygen", "--force"][..], "--out"),
        (&["public-key"], "--key"),
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
        out: out.clone(),
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
        out: out.clone(),
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
fn keygen_into_a_missing_directory_names_the_path() {
    let dir = TempDir::new();
    let out = dir.0.join("no-such-dir").join("key.pem");
    let error = run(Command::Keygen {
        out: out.clone(),
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
