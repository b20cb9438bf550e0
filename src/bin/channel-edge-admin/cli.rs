//! `channel-edge-admin`: makes the keys and tokens the channel-edge admin API accepts.
//!
//! A service principal is an Ed25519 key pair: the private key stays with the operator (a PKCS#8
//! PEM file made by `keygen`), the public key is registered with `POST /v1/principals`, and every
//! admin request carries a short-lived EdDSA JWT minted from the private key by `token`. Keys and
//! tokens are made by [`channel_edge::core::auth`]; this binary only reads arguments and files,
//! the clock and the OS random number generator.
//!
//! `webhook` plays a chat provider instead: it sends a running worker a signed test webhook (see
//! `webhook.rs`), as `stripe trigger` does for Stripe:
//!
//! ```text
//! $ channel-edge-admin webhook slack --to app_… --text "hi"
//! 200 OK
//! ```
//!
//! An example session: make a key (`keygen` prints the public key as JSON), register it with a
//! token that holds `principals:write`, then mint a token for it:
//!
//! ```text
//! $ channel-edge-admin keygen --out ~/.config/channel-edge/keys/ops.pem
//! $ curl -X POST "$EDGE/v1/principals" -H "Authorization: Bearer $ROOT_TOKEN" -d '{"name":"ops","public_key":"<base64url>","scopes":["bindings:read"]}'   # answers {"id":"prn_…",…}
//! $ TOKEN=$(channel-edge-admin token --key ~/.config/channel-edge/keys/ops.pem --principal prn_… --scope bindings:read)
//! ```
//!
//! Exit codes: 0 on success, 2 for a usage error (bad command, flag or value), 1 for anything
//! else (a key file that cannot be read or written, a file that is not a key, a webhook the
//! worker did not answer with a 2xx).

use crate::webhook::{self, Content, Secret, Sent, Webhook, WebhookError};
use channel_edge::core::auth::{
    generate_key_pair, mint, public_key_from_pem, AuthError, Scope, ScopeSet, MAX_LIFETIME_SECONDS,
};
use channel_edge::core::tenancy::Provider;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

const BIN: &str = "channel-edge-admin";
const KEYGEN: &str = "keygen [--out <path>] [--force]";
const PUBLIC_KEY: &str = "public-key --key <path>";
const TOKEN: &str = "token --key <path> --principal <id> --scope <scopes> [--ttl <seconds>]";
const WEBHOOK: &str = "webhook <provider> --to <id> (--text <text> [--from <id>] \
[--conversation <id>] | --file <path>) [--secret <value> | --dataset <path>] [--base <url>]";
/// The flags of `webhook` that take a value.
const WEBHOOK_FLAGS: [&str; 8] = [
    "--to",
    "--text",
    "--from",
    "--conversation",
    "--file",
    "--secret",
    "--base",
    "--dataset",
];
/// The token lifetime when `--ttl` is not given.
const DEFAULT_TTL_SECONDS: u64 = 900;

/// What the user asked for, parsed and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Command {
    /// Print the usage text.
    Help,
    /// Make a key pair and write the private key to `out` ([`default_key_path`] when `None`).
    Keygen { out: Option<PathBuf>, force: bool },
    /// Print the public key of the private key in `key`.
    PublicKey { key: PathBuf },
    /// Mint a token for `principal` signed by the private key in `key`.
    Token {
        key: PathBuf,
        principal: String,
        scopes: ScopeSet,
        ttl: u64,
    },
    /// Send a signed test webhook to a worker.
    Webhook(Webhook),
}

/// What a successful command prints.
#[derive(Debug)]
struct Output {
    /// For scripts: exactly what goes to stdout.
    stdout: String,
    /// For the person at the terminal: a line for stderr.
    note: Option<String>,
    /// True when the command ran but what it reports is a failure (a webhook the worker did
    /// not accept): exit code 1.
    failed: bool,
}

impl Output {
    /// Success that prints `stdout` and no note.
    fn text(stdout: String) -> Output {
        Output {
            stdout,
            note: None,
            failed: false,
        }
    }
}

/// Why a command failed. Every message says what to fix.
#[derive(Debug, thiserror::Error)]
enum CliError {
    /// The first argument is not a command.
    #[error(
        "unknown command `{command}`; the commands are keygen, public-key, token, webhook and help"
    )]
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
    /// `keygen` without `--out` has nowhere outside the repository to put the key.
    #[error("neither XDG_CONFIG_HOME nor HOME is set, so keygen has no default key path; pass --out <path> (outside any repository)")]
    NoKeyDirectory,
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
    /// `webhook` without a provider before its flags.
    #[error(
        "`webhook` needs a provider first, one of: {}; usage: {BIN} {WEBHOOK}",
        provider_names()
    )]
    MissingProvider,
    /// `webhook` for a provider that does not exist.
    #[error(
        "unknown provider `{provider}`; the providers are: {}",
        provider_names()
    )]
    UnknownProvider {
        /// The argument as given.
        provider: String,
    },
    /// `webhook email`: email is handed to the email handler, not posted.
    #[error("email is not a webhook: hand a message to the Worker's email handler (wrangler dev: POST /cdn-cgi/handler/email?from=…&to=…; README, \"Email\")")]
    NotAWebhook,
    /// `webhook` with neither `--text` nor `--file`.
    #[error("`webhook` needs --text <text> (a message built for the provider) or --file <path> (a body sent as it is)")]
    MissingContent,
    /// A flag that shapes a built message, given with `--file`.
    #[error("--file sends the file as it is, so {flag} cannot change it; leave out one of them")]
    WithFile {
        /// The flag.
        flag: &'static str,
    },
    /// `--secret` and `--dataset` together.
    #[error("--secret gives the secret, so --dataset would not be read; leave out one of them")]
    SecretAndDataset,
    /// Everything else about a webhook.
    #[error(transparent)]
    Webhook(#[from] WebhookError),
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
                | CliError::MissingProvider
                | CliError::UnknownProvider { .. }
                | CliError::NotAWebhook
                | CliError::MissingContent
                | CliError::WithFile { .. }
                | CliError::SecretAndDataset
        ) || matches!(self, CliError::Webhook(error) if error.is_usage())
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
        "webhook" => WEBHOOK,
        _ => TOKEN,
    }
}

fn scope_names() -> String {
    Scope::ALL.map(Scope::as_str).join(" ")
}

/// The providers `webhook` plays (email arrives through the email handler, not a webhook).
fn webhook_providers() -> impl Iterator<Item = Provider> {
    Provider::ALL.into_iter().filter(|p| p.receives_webhooks())
}

fn provider_names() -> String {
    webhook_providers()
        .map(Provider::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

/// One line per provider: what `--to` names, and the message it sends by default.
fn provider_table() -> String {
    webhook_providers()
        .map(|provider| {
            let to = format!(
                "{} ({}_…)",
                webhook::path_id_kind(provider),
                provider.path_id_prefix()
            );
            let name = provider.as_str();
            format!("  {name:<11} {to:<21} {}\n", webhook::defaults(provider))
        })
        .collect()
}

fn usage() -> String {
    format!(
        "{BIN}: keys and tokens for the channel-edge admin API, and test webhooks

Usage:
  {BIN} {KEYGEN}
      Make an Ed25519 key pair. Writes the private key (PKCS#8 PEM, mode 0600) to <path>
      (default: $XDG_CONFIG_HOME/channel-edge/keys/principal.pem, or under ~/.config: never
      inside the repository; a missing directory is made, owner only), refusing to overwrite
      a file unless --force, and prints
      {{\"private_key_file\": <path>, \"public_key\": <base64url>}}. Register the public key
      with POST /v1/principals.
  {BIN} {PUBLIC_KEY}
      Print the base64url public key of a private key file.
  {BIN} {TOKEN}
      Print a token (JWT) for principal <id>, signed with the private key in <path>.
      <scopes> is space-separated; --scope may be repeated. --ttl is 1 to {MAX_LIFETIME_SECONDS}
      (default {DEFAULT_TTL_SECONDS}). Use it as `Authorization: Bearer <token>`.
  {BIN} {WEBHOOK}
      Send a worker a signed test webhook as <provider> would: a text message from --from
      in --conversation, or the bytes of --file as they are. POSTs to
      <url>/webhooks/<provider>/<id>, <url> being --base, else ${base_variable}, else
      {default_base}; prints the answer's status and body, and exits 1 unless it is 2xx.
      Signs with --secret, else with the provider's secret in the dev dataset
      ({default_dataset} under the current directory, or --dataset): Slack's
      signing_secret, Telegram's secret_token, WhatsApp's app_secret, Discord's Ed25519
      seed (64 hex digits, also what --secret takes), Standard Webhooks' webhook_secret
      (whsec_…).
  {BIN} help
      Print this text (also --help, -h).

Scopes: {scopes}

Webhook providers, what --to names, and the message by default (the dev dataset's):
{providers}
Exit codes: 0 success, 1 failure, 2 usage error.
",
        scopes = scope_names(),
        providers = provider_table(),
        base_variable = webhook::BASE_VARIABLE,
        default_base = webhook::DEFAULT_BASE,
        default_dataset = webhook::DEFAULT_DATASET,
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
                out: flags.single("--out")?.map(PathBuf::from),
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
        "webhook" => parse_webhook(rest),
        other => Err(CliError::UnknownCommand {
            command: other.to_owned(),
        }),
    }
}

/// Parses `webhook <provider> <flags>`.
fn parse_webhook(args: &[String]) -> Result<Command, CliError> {
    let provider = match args.first().map(String::as_str) {
        Some("--help" | "-h") => return Ok(Command::Help),
        Some(name) if !name.starts_with('-') => parse_provider(name)?,
        _ => return Err(CliError::MissingProvider),
    };
    let rest = args.get(1..).unwrap_or_default();
    let Some(flags) = Flags::read("webhook", rest, &WEBHOOK_FLAGS, &[])? else {
        return Ok(Command::Help);
    };
    let to = flags.required("--to")?.to_owned();
    webhook::check_target(provider, &to)?;
    let content = webhook_content(provider, &flags)?;
    let secret = webhook_secret(provider, &flags)?;
    let base = match flags.single("--base")? {
        Some(base) => Some(webhook::check_base("--base", base)?),
        None => None,
    };
    Ok(Command::Webhook(Webhook {
        provider,
        to,
        content,
        secret,
        base,
    }))
}

/// `--secret`, checked against the provider's form, or the dev dataset at `--dataset` or its
/// default path.
fn webhook_secret(provider: Provider, flags: &Flags) -> Result<Secret, CliError> {
    match (flags.single("--secret")?, flags.single("--dataset")?) {
        (Some(_), Some(_)) => Err(CliError::SecretAndDataset),
        (Some(secret), None) => {
            webhook::check_secret(provider, secret)?;
            Ok(Secret::Given(secret.to_owned()))
        }
        (None, dataset) => Ok(Secret::Dataset(
            dataset.unwrap_or(webhook::DEFAULT_DATASET).into(),
        )),
    }
}

fn parse_provider(name: &str) -> Result<Provider, CliError> {
    let provider = Provider::parse(name).map_err(|_| CliError::UnknownProvider {
        provider: name.to_owned(),
    })?;
    if !provider.receives_webhooks() {
        return Err(CliError::NotAWebhook);
    }
    Ok(provider)
}

/// A message from `--text`, `--from` and `--conversation`, or `--file` alone.
fn webhook_content(provider: Provider, flags: &Flags) -> Result<Content, CliError> {
    let text = flags.single("--text")?;
    let from = flags.single("--from")?;
    let conversation = flags.single("--conversation")?;
    let Some(path) = flags.single("--file")? else {
        let text = text.ok_or(CliError::MissingContent)?;
        webhook::check_ids(provider, from, conversation)?;
        return Ok(Content::Message {
            text: text.to_owned(),
            from: from.map(str::to_owned),
            conversation: conversation.map(str::to_owned),
        });
    };
    let shaping = [
        ("--text", text),
        ("--from", from),
        ("--conversation", conversation),
    ];
    match shaping.into_iter().find(|(_, value)| value.is_some()) {
        Some((flag, _)) => Err(CliError::WithFile { flag }),
        None => Ok(Content::File(path.into())),
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
        Command::Help => Ok(Output::text(usage())),
        Command::Keygen { out, force } => {
            let out = match out {
                Some(out) => out,
                None => default_key_path(
                    std::env::var_os("XDG_CONFIG_HOME"),
                    std::env::var_os("HOME"),
                )?,
            };
            let out = key_directory(out)?;
            keygen(&out, force)
        }
        Command::PublicKey { key } => {
            let pem = read_key(&key)?;
            let public_key = public_key_from_pem(&pem)
                .map_err(|source| CliError::BadKey { path: key, source })?;
            Ok(Output::text(format!("{public_key}\n")))
        }
        Command::Token {
            key,
            principal,
            scopes,
            ttl,
        } => {
            let pem = read_key(&key)?;
            let token = mint(&pem, &principal, &scopes, unix_now()?, ttl)
                .map_err(|source| CliError::BadKey { path: key, source })?;
            Ok(Output::text(format!("{token}\n")))
        }
        Command::Webhook(webhook) => send_webhook(&webhook),
    }
}

fn unix_now() -> Result<u64, CliError> {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .map_err(|_| CliError::Clock)
}

/// Sends `webhook` to `--base`, `$EDGE` or the default, now, with fresh ids.
fn send_webhook(webhook: &Webhook) -> Result<Output, CliError> {
    let env = std::env::var(webhook::BASE_VARIABLE).ok();
    let base = webhook::base(webhook.base.as_deref(), env.as_deref())?;
    let nonce = getrandom::u64().map_err(CliError::Random)?;
    let sent = webhook::run(webhook, &base, unix_now()?, nonce)?;
    Ok(webhook_output(&sent))
}

/// The answer's status line and body on stdout; what was sent (and a refusal) on stderr.
fn webhook_output(sent: &Sent) -> Output {
    let answer = &sent.answer;
    let reason = ureq::http::StatusCode::from_u16(answer.status)
        .ok()
        .and_then(|status| status.canonical_reason())
        .unwrap_or_default();
    let mut stdout = format!("{} {reason}\n", answer.status);
    if !answer.body.is_empty() {
        stdout.push_str(&answer.body);
        if !answer.body.ends_with('\n') {
            stdout.push('\n');
        }
    }
    let mut note = sent.summary.clone();
    if !answer.accepted() {
        note.push_str(&format!(
            "\nnot accepted: the worker answered {} (its answer is above)",
            answer.status
        ));
    }
    Output {
        stdout,
        note: Some(note),
        failed: !answer.accepted(),
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
        failed: false,
        stdout: format!("{json}\n"),
        note: Some(format!(
            "next: register the public key with `POST /v1/principals` (needs a token with \
             principals:write), then mint tokens with `{BIN} token --key {} --principal <id> \
             --scope <scopes>`",
            out.display()
        )),
    })
}

/// Where `keygen` puts a key without `--out`: `<config>/channel-edge/keys/principal.pem`, where
/// `<config>` is `config_home` (`$XDG_CONFIG_HOME`) or `<home>/.config`; outside the repository,
/// so a key is never committed by accident.
fn default_key_path(
    config_home: Option<std::ffi::OsString>,
    home: Option<std::ffi::OsString>,
) -> Result<PathBuf, CliError> {
    let config = match (config_home, home) {
        (Some(config), _) if !config.is_empty() => PathBuf::from(config),
        (_, Some(home)) if !home.is_empty() => PathBuf::from(home).join(".config"),
        _ => return Err(CliError::NoKeyDirectory),
    };
    Ok(config.join("channel-edge/keys/principal.pem"))
}

/// Makes the directory of the key `path` when it is missing (owner only, on unix; an existing
/// one is left as it is), and returns `path`.
fn key_directory(path: PathBuf) -> Result<PathBuf, CliError> {
    let directory = path.parent().unwrap_or(Path::new("."));
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(directory)
        .map_err(|source| CliError::WriteKey {
            path: path.clone(),
            source,
        })?;
    Ok(path)
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
            if output.failed {
                return ExitCode::from(1);
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
#[path = "cli_test.rs"]
mod tests;
