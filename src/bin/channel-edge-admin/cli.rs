//! `channel-edge-admin`: makes the keys and tokens the channel-edge admin API accepts.
//!
//! A service principal is an Ed25519 key pair: the private key stays with the operator (a PKCS#8
//! PEM file made by `keygen`), the public key is registered with `POST /v1/principals`, and every
//! admin request carries a short-lived EdDSA JWT minted from the private key by `token`. Keys and
//! tokens are made by [`channel_edge::core::auth`]; this binary only reads arguments and files,
//! the clock and the OS random number generator.
//!
//! An example session: make a key (`keygen` prints the public key as JSON), register it with a
//! token that holds `principals:write`, then mint a token for it:
//!
//! ```text
//! $ channel-edge-admin keygen --out ops.pem
//! $ curl -X POST "$EDGE/v1/principals" -H "Authorization: Bearer $ROOT_TOKEN" -d '{"name":"ops","public_key":"<base64url>","scopes":["bindings:read"]}'   # answers {"id":"prn_…",…}
//! $ TOKEN=$(channel-edge-admin token --key ops.pem --principal prn_… --scope bindings:read)
//! ```
//!
//! Exit codes: 0 on success, 2 for a usage error (bad command, flag or value), 1 for anything
//! else (a key file that cannot be read or written, a file that is not a key).

use channel_edge::core::auth::{
    generate_key_pair, mint, public_key_from_pem, AuthError, Scope, ScopeSet, MAX_LIFETIME_SECONDS,
};
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

const BIN: &str = "channel-edge-admin";
const KEYGEN: &str = "keygen --out <path> [--force]";
const PUBLIC_KEY: &str = "public-key --key <path>";
const TOKEN: &str = "token --key <path> --principal <id> --scope <scopes> [--ttl <seconds>]";
/// The token lifetime when `--ttl` is not given.
const DEFAULT_TTL_SECONDS: u64 = 900;

/// What the user asked for, parsed and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Command {
    /// Print the usage text.
    Help,
    /// Make a key pair and write the private key to `out`.
    Keygen { out: PathBuf, force: bool },
    /// Print the public key of the private key in `key`.
    PublicKey { key: PathBuf },
    /// Mint a token for `principal` signed by the private key in `key`.
    Token {
        key: PathBuf,
        principal: String,
        scopes: ScopeSet,
        ttl: u64,
    },
}

/// What a successful command prints.
#[derive(Debug)]
struct Output {
    /// For scripts: exactly what goes to stdout.
    stdout: String,
    /// For the person at the terminal: a line for stderr.
    note: Option<String>,
}

/// Why a command failed. Every message says what to fix.
#[derive(Debug, thiserror::Error)]
enum CliError {
    /// The first argument is not a command.
    #[error("unknown command `{command}`; the commands are keygen, public-key, token and help")]
    UnknownCommand {
        /// The argument as given.
        command: String,
    },
    /// A flag (or stray argument) the command does not take.
    #[error(
        "`{command}` does not take `{argument}`; usage: {BIN} {}",
        synopsis(command)
    )]
    UnknownArgument {
        /// The command being parsed.
        command: &'static str,
        /// The argument as given.
        argument: String,
    },
    /// A flag that takes a value came last, or was followed by another flag or by "".
    #[error("{flag} needs a value, e.g. `{flag} <value>`")]
    MissingValue {
        /// The flag.
        flag: &'static str,
    },
    /// A required flag was not given.
    #[error("`{command}` needs {flag}; usage: {BIN} {}", synopsis(command))]
    MissingFlag {
        /// The command being parsed.
        command: &'static str,
        /// The flag.
        flag: &'static str,
    },
    /// A flag that takes one value was given more than once.
    #[error("{flag} was given more than once; give it once")]
    RepeatedFlag {
        /// The flag.
        flag: &'static str,
    },
    /// `--ttl` is not a whole number of seconds in the allowed range.
    #[error(
        "--ttl must be a whole number of seconds from 1 to {MAX_LIFETIME_SECONDS}, not `{value}`"
    )]
    BadTtl {
        /// The value as given.
        value: String,
    },
    /// `--scope` names a scope that does not exist.
    #[error("--scope: {source}; the scopes are: {}", scope_names())]
    BadScope {
        /// The core's error, naming the scope.
        source: AuthError,
    },
    /// `--scope` names no scope at all.
    #[error("--scope names no scope; give at least one of: {}", scope_names())]
    EmptyScope,
    /// `keygen` would overwrite an existing file.
    #[error("{} already exists; choose another --out path, or pass --force to overwrite it", .path.display())]
    KeyExists {
        /// The `--out` path.
        path: PathBuf,
    },
    /// The private key file could not be written.
    #[error("cannot write {}: {source}; check that the directory exists and is writable", .path.display())]
    WriteKey {
        /// The `--out` path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The private key file could not be read.
    #[error("cannot read {}: {source}; check the --key path", .path.display())]
    ReadKey {
        /// The `--key` path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The file read is not an Ed25519 PKCS#8 PEM private key.
    #[error("{}: {source}; make one with `{BIN} keygen --out <path>`", .path.display())]
    BadKey {
        /// The `--key` path.
        path: PathBuf,
        /// The core's error.
        source: AuthError,
    },
    /// The OS random number generator failed.
    #[error("cannot get random bytes from the operating system: {0}; try again")]
    Random(getrandom::Error),
    /// The system clock reads before 1970.
    #[error("the system clock is before 1970-01-01; fix the clock and try again")]
    Clock,
}

impl CliError {
    /// True when the command line itself is wrong.
    fn is_usage(&self) -> bool {
        matches!(
            self,
            CliError::UnknownCommand { .. }
                | CliError::UnknownArgument { .. }
                | CliError::MissingValue { .. }
                | CliError::MissingFlag { .. }
                | CliError::RepeatedFlag { .. }
                | CliError::BadTtl { .. }
                | CliError::BadScope { .. }
                | CliError::EmptyScope
        )
    }

    /// 2 for usage errors, 1 for everything else.
    fn exit_code(&self) -> u8 {
        if self.is_usage() {
            2
        } else {
            1
        }
    }
}

fn synopsis(command: &str) -> &'static str {
    match command {
        "keygen" => KEYGEN,
        "public-key" => PUBLIC_KEY,
        _ => TOKEN,
    }
}

fn scope_names() -> String {
    Scope::ALL.map(Scope::as_str).join(" ")
}

fn usage() -> String {
    format!(
        "{BIN}: keys and tokens for the channel-edge admin API

Usage:
  {BIN} {KEYGEN}
      Make an Ed25519 key pair. Writes the private key (PKCS#8 PEM, mode 0600) to <path>,
      refusing to overwrite a file unless --force, and prints
      {{\"private_key_file\": <path>, \"public_key\": <base64url>}}. Register the public key
      with POST /v1/principals.
  {BIN} {PUBLIC_KEY}
      Print the base64url public key of a private key file.
  {BIN} {TOKEN}
      Print a token (JWT) for principal <id>, signed with the private key in <path>.
      <scopes> is space-separated; --scope may be repeated. --ttl is 1 to {MAX_LIFETIME_SECONDS}
      (default {DEFAULT_TTL_SECONDS}). Use it as `Authorization: Bearer <token>`.
  {BIN} help
      Print this text (also --help, -h).

Scopes: {scopes}

Exit codes: 0 success, 1 failure, 2 usage error.
",
        scopes = scope_names()
    )
}

/// Parses the arguments after the program name.
fn parse(args: &[String]) -> Result<Command, CliError> {
    let Some((command, rest)) = args.split_first() else {
        return Ok(Command::Help);
    };
    match command.as_str() {
        "help" | "--help" | "-h" => Ok(Command::Help),
        "keygen" => {
            let Some(flags) = Flags::read("keygen", rest, &["--out"], &["--force"])? else {
                return Ok(Command::Help);
            };
            Ok(Command::Keygen {
                out: flags.required("--out")?.into(),
                force: flags.has("--force"),
            })
        }
        "public-key" => {
            let Some(flags) = Flags::read("public-key", rest, &["--key"], &[])? else {
                return Ok(Command::Help);
            };
            Ok(Command::PublicKey {
                key: flags.required("--key")?.into(),
            })
        }
        "token" => {
            let values = ["--key", "--principal", "--scope", "--ttl"];
            let Some(flags) = Flags::read("token", rest, &values, &[])? else {
                return Ok(Command::Help);
            };
            let key = flags.required("--key")?.into();
            let principal = flags.required("--principal")?.to_owned();
            let scopes = parse_scopes(&flags.repeated("--scope")?.join(" "))?;
            let ttl = match flags.single("--ttl")? {
                Some(value) => parse_ttl(value)?,
                None => DEFAULT_TTL_SECONDS,
            };
            Ok(Command::Token {
                key,
                principal,
                scopes,
                ttl,
            })
        }
        other => Err(CliError::UnknownCommand {
            command: other.to_owned(),
        }),
    }
}

fn parse_ttl(value: &str) -> Result<u64, CliError> {
    match value.parse::<u64>() {
        Ok(ttl) if (1..=MAX_LIFETIME_SECONDS).contains(&ttl) => Ok(ttl),
        _ => Err(CliError::BadTtl {
            value: value.to_owned(),
        }),
    }
}

fn parse_scopes(text: &str) -> Result<ScopeSet, CliError> {
    let scopes = ScopeSet::parse(text).map_err(|source| CliError::BadScope { source })?;
    if scopes.is_empty() {
        return Err(CliError::EmptyScope);
    }
    Ok(scopes)
}

/// One command's flags as given, in order (switches with an empty value).
struct Flags {
    command: &'static str,
    given: Vec<(&'static str, String)>,
}

impl Flags {
    /// Reads `args` against the flags that take a value (`--flag v` or `--flag=v`) and the
    /// switches. `None` when `--help` or `-h` is among them.
    fn read(
        command: &'static str,
        args: &[String],
        takes_value: &[&'static str],
        switches: &[&'static str],
    ) -> Result<Option<Flags>, CliError> {
        let mut given = Vec::new();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            if arg == "--help" || arg == "-h" {
                return Ok(None);
            }
            if let Some(switch) = switches.iter().find(|switch| **switch == arg) {
                given.push((*switch, String::new()));
                continue;
            }
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (arg.as_str(), None),
            };
            let Some(flag) = takes_value.iter().find(|flag| **flag == name) else {
                return Err(CliError::UnknownArgument {
                    command,
                    argument: arg.clone(),
                });
            };
            let value = inline.or_else(|| args.next().map(String::as_str));
            match value {
                Some(value) if !value.is_empty() && !value.starts_with("--") => {
                    given.push((*flag, value.to_owned()));
                }
                _ => return Err(CliError::MissingValue { flag }),
            }
        }
        Ok(Some(Flags { command, given }))
    }

    fn all(&self, flag: &str) -> Vec<&str> {
        self.given
            .iter()
            .filter(|(name, _)| *name == flag)
            .map(|(_, value)| value.as_str())
            .collect()
    }

    fn has(&self, flag: &str) -> bool {
        self.given.iter().any(|(name, _)| *name == flag)
    }

    /// The value of a flag given at most once.
    fn single(&self, flag: &'static str) -> Result<Option<&str>, CliError> {
        match self.all(flag)[..] {
            [] => Ok(None),
            [value] => Ok(Some(value)),
            _ => Err(CliError::RepeatedFlag { flag }),
        }
    }

    /// The value of a flag that must be given exactly once.
    fn required(&self, flag: &'static str) -> Result<&str, CliError> {
        self.single(flag)?.ok_or(CliError::MissingFlag {
            command: self.command,
            flag,
        })
    }

    /// The values of a flag that must be given at least once.
    fn repeated(&self, flag: &'static str) -> Result<Vec<&str>, CliError> {
        let values = self.all(flag);
        if values.is_empty() {
            return Err(CliError::MissingFlag {
                command: self.command,
                flag,
            });
        }
        Ok(values)
    }
}

/// Runs a parsed command.
fn run(command: Command) -> Result<Output, CliError> {
    match command {
        Command::Help => Ok(Output {
            stdout: usage(),
            note: None,
        }),
        Command::Keygen { out, force } => keygen(&out, force),
        Command::PublicKey { key } => {
            let pem = read_key(&key)?;
            let public_key = public_key_from_pem(&pem)
                .map_err(|source| CliError::BadKey { path: key, source })?;
            Ok(Output {
                stdout: format!("{public_key}\n"),
                note: None,
            })
        }
        Command::Token {
            key,
            principal,
            scopes,
            ttl,
        } => {
            let pem = read_key(&key)?;
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_err(|_| CliError::Clock)?
                .as_secs();
            let token = mint(&pem, &principal, &scopes, now, ttl)
                .map_err(|source| CliError::BadKey { path: key, source })?;
            Ok(Output {
                stdout: format!("{token}\n"),
                note: None,
            })
        }
    }
}

fn keygen(out: &Path, force: bool) -> Result<Output, CliError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(CliError::Random)?;
    let (pem, public_key) = generate_key_pair(seed);
    write_private_key(out, &pem, force)?;
    let json = serde_json::json!({
        "private_key_file": out.display().to_string(),
        "public_key": public_key,
    });
    Ok(Output {
        stdout: format!("{json}\n"),
        note: Some(format!(
            "next: register the public key with `POST /v1/principals` (needs a token with \
             principals:write), then mint tokens with `{BIN} token --key {} --principal <id> \
             --scope <scopes>`",
            out.display()
        )),
    })
}

/// Writes `pem` to `path`, readable by its owner only (on unix).
fn write_private_key(path: &Path, pem: &str, force: bool) -> Result<(), CliError> {
    let write_error = |source| CliError::WriteKey {
        path: path.to_owned(),
        source,
    };
    let mut options = OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|source| {
        if source.kind() == io::ErrorKind::AlreadyExists {
            CliError::KeyExists {
                path: path.to_owned(),
            }
        } else {
            write_error(source)
        }
    })?;
    // `mode` applies only when the file is created; an overwritten file keeps its old mode.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(write_error)?;
    }
    file.write_all(pem.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(write_error)
}

/// Reads a private key file; a file that is not text is not a key.
fn read_key(path: &Path) -> Result<String, CliError> {
    let bytes = std::fs::read(path).map_err(|source| CliError::ReadKey {
        path: path.to_owned(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|_| CliError::BadKey {
        path: path.to_owned(),
        source: AuthError::BadPrivateKey,
    })
}

/// Runs the command line and returns the process exit code.
pub fn main() -> std::process::ExitCode {
    use std::process::ExitCode;

    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse(&args).and_then(run) {
        Ok(output) => {
            let mut stdout = io::stdout().lock();
            if let Err(error) = stdout
                .write_all(output.stdout.as_bytes())
                .and_then(|()| stdout.flush())
            {
                eprintln!("{BIN}: cannot write to stdout: {error}");
                return ExitCode::from(1);
            }
            if let Some(note) = output.note {
                eprintln!("{note}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{BIN}: {error}");
            if error.is_usage() {
                eprintln!("run `{BIN} --help` for usage");
            }
            ExitCode::from(error.exit_code())
        }
    }
}

#[cfg(test)]
mod tests {
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
}
