//! Tests for `webhook.rs`: every built message is signed with the dev dataset's secret, checked
//! by its provider's own verifier (`Slack::verify`, …) and read back by its parser; the
//! defaults are checked against what the dev dataset routes and allows; the HTTP exchange runs
//! against a one-request loopback server.

use super::*;
use channel_edge::core::ingress::discord::Discord;
use channel_edge::core::ingress::line::Line;
use channel_edge::core::ingress::linear::Linear;
use channel_edge::core::ingress::meta;
use channel_edge::core::ingress::sample::DISCORD_EPOCH_MS;
use channel_edge::core::ingress::slack::Slack;
use channel_edge::core::ingress::standard::Standard;
use channel_edge::core::ingress::telegram::Telegram;
use channel_edge::core::ingress::twilio::Twilio;
use channel_edge::core::ingress::{ConversationType, Event, Kind, Parsed, Rejection, Request};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread::JoinHandle;

const DATASET: &str = include_str!("../../../seed/dev-dataset.json");
const NOW: u64 = 1_700_000_000;
const NONCE: u64 = 0x0123_4567_89AB_CDEF;

type Verify = fn(&Request<'_>, &[String], u64, u64) -> Result<(), Rejection>;

/// Each provider with its own verifier.
const VERIFIERS: [(Provider, Verify); 11] = [
    (Provider::Slack, Slack::verify),
    (Provider::Telegram, Telegram::verify),
    (Provider::Whatsapp, meta::verify),
    (Provider::Discord, Discord::verify),
    (Provider::Standard, Standard::verify),
    (Provider::Line, Line::verify),
    (Provider::Messenger, meta::verify),
    (Provider::Instagram, meta::verify),
    (Provider::Linear, Linear::verify),
    (Provider::Github, meta::verify),
    (Provider::Twilio, Twilio::verify),
];

fn dataset() -> Value {
    serde_json::from_str(DATASET).unwrap()
}

/// The dataset item of `section` whose `ref` is `reference`.
fn item(section: &str, reference: &str) -> Value {
    dataset()[section]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["ref"] == reference)
        .unwrap_or_else(|| panic!("no {reference} in {section}"))
        .clone()
}

/// The secret the worker verifies `provider` with, for the holder of its signing secret: the
/// signing secret itself, or for Discord the app profile's public key.
fn verifying_secret(provider: Provider, signing: &DatasetSecret) -> String {
    match provider {
        Provider::Discord => item("app_profiles", &signing.holder)["secrets"]["public_key"]
            .as_str()
            .unwrap()
            .to_owned(),
        _ => signing.value.clone(),
    }
}

/// `provider`'s message from `from` in `conversation`, signed with the dataset's secret,
/// verified by `verify` and parsed by the provider's parser into its one event.
fn sent_and_read(provider: Provider, verify: Verify, message: &Message<'_>) -> Event {
    let payload = payload(provider, message);
    let signing = dataset_secret(&dataset(), provider).unwrap();
    let url = "http://127.0.0.1:8787/webhooks/any/ins_1";
    let stamp = Stamp {
        timestamp: message.now,
        message_id: &payload.event_id,
        url,
    };
    let headers = sign::headers(provider, &signing.value, stamp, &payload.body).unwrap();
    let request = Request {
        url,
        ..Request::post(&headers, &payload.body)
    };
    let verifying = verifying_secret(provider, &signing);
    assert_eq!(
        verify(&request, &[verifying], message.now, 300),
        Ok(()),
        "{provider:?}"
    );
    match (provider.spec().parse)(&request).unwrap() {
        Parsed::Events { mut events, .. } if events.len() == 1 => {
            let event = events.remove(0);
            assert_eq!(event.provider_event_id, payload.event_id, "{provider:?}");
            event
        }
        other => panic!("{provider:?}: expected one event, got {other:?}"),
    }
}

fn message<'a>(text: &'a str, from: &'a str, conversation: &'a str) -> Message<'a> {
    Message {
        text,
        from,
        conversation,
        now: NOW,
        nonce: NONCE,
    }
}

/// The default message of `provider` saying `text`.
fn default_message(provider: Provider, text: &str, read: impl FnOnce(&Message<'_>)) {
    let from = default_sender(provider);
    let conversation = conversation_of(provider, from, None);
    read(&message(text, from, &conversation));
}

#[test]
fn every_providers_message_verifies_and_reads_back_as_sent() {
    let text = "He said \"hi\" — café ✓\nsecond line";
    for (provider, verify) in VERIFIERS {
        default_message(provider, text, |message| {
            let event = sent_and_read(provider, verify, message);
            let expected_text = match provider {
                Provider::Discord => format!("/ask text:{text}"),
                _ => text.to_owned(),
            };
            assert_eq!(event.text.as_deref(), Some(expected_text.as_str()));
            let expected_kind = match provider {
                Provider::Discord => Kind::Command,
                _ => Kind::Message,
            };
            assert_eq!(event.kind, expected_kind, "{provider:?}");
            let sender = event.sender.unwrap();
            assert_eq!((sender.id.as_str(), sender.is_bot), (message.from, false));
            assert_eq!(event.conversation.unwrap().id, message.conversation);
            // Twilio's messages carry no time.
            let dated = (provider != Provider::Twilio).then_some(true);
            assert_eq!(event.occurred_at.map(|at| at.abs_diff(NOW) <= 1), dated);
        });
    }
}

#[test]
fn the_defaults_are_routed_and_allowed_by_the_dev_dataset() {
    for (provider, verify) in VERIFIERS {
        default_message(provider, "hi", |message| {
            let event = sent_and_read(provider, verify, message);
            let holder = dataset_secret(&dataset(), provider).unwrap().holder;
            let installation = installation_for(provider, &holder, &event);
            let binding = binding_of(&installation);
            let allowed = binding["sender_policy"] == "open"
                || binding["allowlist"]
                    .as_array()
                    .unwrap()
                    .contains(&Value::from(message.from));
            assert!(allowed, "{provider:?}: {} is not allowed", message.from);
        });
    }
}

/// The dataset installation the worker would route `event` to: the path's installation, or
/// the one of the path's app profile whose tenant key the event names (its app id checked).
fn installation_for(provider: Provider, holder: &str, event: &Event) -> Value {
    if provider.spec().path_id == PathId::Installation {
        return item("installations", holder);
    }
    let profile = item("app_profiles", holder);
    if let Some(app_id) = &event.app_id {
        assert_eq!(profile["provider_app_id"], app_id.as_str(), "{provider:?}");
    }
    dataset()["installations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|installation| {
            installation["app_profile"] == holder
                && event
                    .tenant_keys
                    .iter()
                    .any(|key| installation["tenant_key"] == key.as_str())
        })
        .unwrap_or_else(|| panic!("{provider:?}: no installation for {:?}", event.tenant_keys))
        .clone()
}

fn binding_of(installation: &Value) -> Value {
    dataset()["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|binding| binding["installation"] == installation["ref"])
        .unwrap()
        .clone()
}

#[test]
fn a_given_sender_and_conversation_are_carried_and_typed() {
    let cases = [
        (Provider::Slack, "U0DEVBOB", "D0DEVDM", ConversationType::Dm),
        (
            Provider::Slack,
            "U0DEVBOB",
            "C0DEVOTHER",
            ConversationType::Channel,
        ),
        (
            Provider::Telegram,
            "777",
            "-1001234567890",
            ConversationType::Channel,
        ),
        (Provider::Telegram, "777", "555", ConversationType::Group),
        (Provider::Telegram, "777", "777", ConversationType::Dm),
        (
            Provider::Whatsapp,
            "15550009999",
            "15550009999",
            ConversationType::Dm,
        ),
        (Provider::Discord, "42", "43", ConversationType::Channel),
        (
            Provider::Standard,
            "ci-bot",
            "deploys",
            ConversationType::Channel,
        ),
    ];
    for (provider, from, conversation, kind) in cases {
        let verify = VERIFIERS.iter().find(|(p, _)| *p == provider).unwrap().1;
        let event = sent_and_read(provider, verify, &message("x", from, conversation));
        assert_eq!(event.sender.unwrap().id, from, "{provider:?}");
        let read = event.conversation.unwrap();
        assert_eq!(
            (read.id.as_str(), read.kind),
            (conversation, kind),
            "{provider:?}"
        );
    }
}

#[test]
fn the_conversation_defaults_to_the_datasets_or_the_senders_own() {
    assert_eq!(conversation_of(Provider::Slack, "U1", None), "C0DEVGENERAL");
    assert_eq!(conversation_of(Provider::Telegram, "777", None), "777");
    assert_eq!(conversation_of(Provider::Whatsapp, "1555", None), "1555");
    assert_eq!(conversation_of(Provider::Discord, "1", Some("9")), "9");
    assert_eq!(
        conversation_of(Provider::Standard, "x", None),
        "dev-conversation"
    );
}

#[test]
fn another_nonce_makes_other_event_ids_and_dedupe_keys() {
    for provider in Provider::ALL {
        let from = default_sender(provider);
        let conversation = conversation_of(provider, from, None);
        let first = payload(provider, &message("hi", from, &conversation));
        let second = payload(
            provider,
            &Message {
                nonce: NONCE + 0x1_0000_0001,
                ..message("hi", from, &conversation)
            },
        );
        assert_ne!(first.event_id, second.event_id, "{provider:?}");
        // A Standard Webhooks body carries no id: `webhook-id` is a header.
        if provider != Provider::Standard {
            assert_ne!(first.body, second.body, "{provider:?}");
        }
    }
}

#[test]
fn a_discord_interaction_id_is_a_snowflake_of_now() {
    let from = default_sender(Provider::Discord);
    let payload = payload(Provider::Discord, &message("hi", from, "1"));
    let id: u64 = payload.event_id.parse().unwrap();
    assert_eq!(((id >> 22) + DISCORD_EPOCH_MS) / 1000, NOW);
}

#[test]
fn the_dataset_secret_of_each_provider() {
    let found = |provider| {
        let secret = dataset_secret(&dataset(), provider).unwrap();
        (secret.holder, secret.name, secret.value)
    };
    let expected = [
        (
            Provider::Slack,
            "slack_platform",
            "signing_secret",
            "dev-slack-platform-signing-secret",
        ),
        (
            Provider::Telegram,
            "acme_telegram",
            "secret_token",
            "dev-telegram-secret-token",
        ),
        (
            Provider::Whatsapp,
            "whatsapp",
            "app_secret",
            "dev-whatsapp-app-secret",
        ),
        (
            Provider::Discord,
            "discord",
            "_signing_key_seed_hex",
            "5bc5ea32307323c8db20414454ae053fcfe922b52246b15f020b2c67d7b88c5b",
        ),
        (
            Provider::Standard,
            "acme_standard",
            "webhook_secret",
            "whsec_fXUFF33cOyJ1hPHKqqpydK9Yy0XFTqay",
        ),
    ];
    for (provider, holder, name, value) in expected {
        assert_eq!(
            found(provider),
            (holder.to_owned(), name, value.to_owned()),
            "{provider:?}"
        );
    }
}

/// A file in a fresh temporary directory, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, content: &str) -> TempFile {
        let dir = std::env::temp_dir().join(format!(
            "channel-edge-webhook-test-{}-{name}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

#[test]
fn a_dataset_without_the_secret_says_which_and_where() {
    let empty = TempFile::new("empty.json", r#"{"app_profiles": [], "installations": []}"#);
    let error = secret_from_dataset(&empty.0, Provider::Slack).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("no slack app profile with `signing_secret`"),
        "{message}"
    );
    assert!(message.contains("--secret") && message.contains("empty.json"));
    let error = secret_from_dataset(&empty.0, Provider::Telegram).unwrap_err();
    assert!(error
        .to_string()
        .contains("no telegram installation with `secret_token`"));
    assert!(!error.is_usage());
}

#[test]
fn a_missing_or_broken_dataset_says_how_to_go_on() {
    let missing = PathBuf::from("no/such/dev-dataset.json");
    let message = secret_from_dataset(&missing, Provider::Slack)
        .unwrap_err()
        .to_string();
    for needle in ["no/such/dev-dataset.json", "--dataset", "--secret", "root"] {
        assert!(message.contains(needle), "{needle}: {message}");
    }
    let broken = TempFile::new("broken.json", "{not json");
    let error = secret_from_dataset(&broken.0, Provider::Slack).unwrap_err();
    assert!(
        matches!(error, WebhookError::BadDataset { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("is not JSON"));
}

#[test]
fn targets_must_be_ids_of_the_kind_the_provider_names() {
    let app = format!("app_{}", "0a".repeat(16));
    let ins = format!("ins_{}", "0a".repeat(16));
    for provider in Provider::ALL {
        let (right, wrong) = match provider.spec().path_id {
            PathId::AppProfile => (&app, &ins),
            PathId::Installation => (&ins, &app),
        };
        assert!(check_target(provider, right).is_ok(), "{provider:?}");
        let error = check_target(provider, wrong).unwrap_err();
        let message = error.to_string();
        assert!(message.contains(path_id_kind(provider)), "{message}");
        assert!(message.contains(wrong.as_str()), "{message}");
        assert!(error.is_usage());
    }
    assert!(check_target(Provider::Slack, "slack_platform").is_err());
    assert!(check_target(Provider::Slack, &app.to_uppercase()).is_err());
}

#[test]
fn telegram_ids_must_be_integers_and_whatsapp_has_no_conversation() {
    assert!(check_ids(Provider::Telegram, Some("424242"), Some("-100123")).is_ok());
    for (from, conversation, flag) in [
        (Some("alice"), None, "--from"),
        (None, Some("general"), "--conversation"),
        (Some("1.5"), None, "--from"),
    ] {
        let error = check_ids(Provider::Telegram, from, conversation).unwrap_err();
        assert!(
            matches!(error, WebhookError::NotAnInteger { flag: named, .. } if named == flag),
            "{error:?}"
        );
        assert!(error.to_string().contains("whole numbers"));
        assert!(error.is_usage());
    }
    let error = check_ids(Provider::Whatsapp, None, Some("x")).unwrap_err();
    assert!(matches!(error, WebhookError::NoConversation));
    assert!(error.to_string().contains("--from"));
    assert!(check_ids(Provider::Whatsapp, Some("15550002222"), None).is_ok());
    for provider in [Provider::Slack, Provider::Discord, Provider::Standard] {
        assert!(check_ids(provider, Some("any"), Some("thing")).is_ok());
    }
}

#[test]
fn secrets_must_have_the_providers_form() {
    assert!(check_secret(Provider::Slack, "anything").is_ok());
    assert!(check_secret(Provider::Discord, &"ab".repeat(32)).is_ok());
    assert!(check_secret(Provider::Standard, "whsec_c2VjcmV0").is_ok());
    for (provider, secret, needle) in [
        (Provider::Discord, "not-hex", "64 hex digits"),
        (Provider::Discord, "abcd", "64 hex digits"),
        (Provider::Standard, "whsec_", "whsec_"),
        (Provider::Standard, "whsec_***", "whsec_"),
    ] {
        let error = check_secret(provider, secret).unwrap_err();
        assert!(error.to_string().contains(needle), "{error}");
        assert!(error.is_usage());
    }
}

#[test]
fn the_base_is_the_flag_then_the_environment_then_the_default() {
    assert_eq!(
        base(Some("https://edge.example/"), Some("http://x")).unwrap(),
        "https://edge.example"
    );
    assert_eq!(
        base(None, Some("http://127.0.0.1:9000")).unwrap(),
        "http://127.0.0.1:9000"
    );
    assert_eq!(base(None, Some("")).unwrap(), DEFAULT_BASE);
    assert_eq!(base(None, None).unwrap(), DEFAULT_BASE);
    let error = base(None, Some("127.0.0.1:8787")).unwrap_err();
    assert!(error.to_string().contains("$EDGE"), "{error}");
    for bad in ["localhost:8787", "ftp://x", "http://", "http:///path", ""] {
        let error = check_base("--base", bad).unwrap_err();
        assert!(error.to_string().contains("--base must be an http://"));
        assert!(error.is_usage());
    }
}

#[test]
fn the_request_goes_to_the_providers_path_with_the_bodys_type() {
    let webhook = webhook_to(Provider::Slack, Content::File(PathBuf::new()));
    let stamp = Stamp {
        timestamp: NOW,
        message_id: "",
        url: "",
    };
    let signed = request(&webhook, DEFAULT_BASE, "s", stamp, b" {}".to_vec()).unwrap();
    assert_eq!(
        signed.url,
        format!("http://127.0.0.1:8787/webhooks/slack/{}", webhook.to)
    );
    let json = Request::post(&signed.headers, &signed.body);
    assert_eq!(json.header("content-type"), Some("application/json"));
    let form = request(&webhook, DEFAULT_BASE, "s", stamp, b"a=b".to_vec()).unwrap();
    let form = Request::post(&form.headers, &form.body);
    assert_eq!(
        form.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
}

fn webhook_to(provider: Provider, content: Content) -> Webhook {
    let prefix = provider.path_id_prefix();
    Webhook {
        provider,
        to: format!("{prefix}_{}", "1f".repeat(16)),
        content,
        secret: Secret::Dataset(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/seed/dev-dataset.json"
        ))),
        base: None,
    }
}

/// A loopback server that reads one request and answers it with `status` and `body`; joining
/// it gives the request's head (request line and headers) and body.
fn serve_once(status: &'static str, body: &'static str) -> (String, JoinHandle<(String, Vec<u8>)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let (head, received) = read_request(&mut stream);
        let answer = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(answer.as_bytes()).unwrap();
        (head, received)
    });
    (base, server)
}

fn read_request(stream: &mut std::net::TcpStream) -> (String, Vec<u8>) {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let read = stream.read(&mut chunk).unwrap();
        bytes.extend_from_slice(&chunk[..read]);
        let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8(bytes[..end].to_vec()).unwrap();
        let length: usize = head
            .lines()
            .find_map(|line| {
                line.to_ascii_lowercase()
                    .strip_prefix("content-length: ")?
                    .parse()
                    .ok()
            })
            .unwrap_or(0);
        while bytes.len() < end + 4 + length {
            let read = stream.read(&mut chunk).unwrap();
            bytes.extend_from_slice(&chunk[..read]);
        }
        return (head, bytes[end + 4..end + 4 + length].to_vec());
    }
}

/// The request's headers, lower-cased names.
fn header_pairs(head: &str) -> Vec<(String, String)> {
    head.lines()
        .skip(1)
        .filter_map(|line| line.split_once(": "))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned()))
        .collect()
}

#[test]
fn run_posts_a_signed_message_and_returns_a_refusal_as_an_answer() {
    let (base, server) = serve_once("401 Unauthorized", r#"{"error":{"code":"bad_signature"}}"#);
    let content = Content::Message {
        text: "hi".into(),
        from: None,
        conversation: None,
    };
    let webhook = webhook_to(Provider::Slack, content);
    let sent = run(&webhook, &base, NOW, NONCE).unwrap();
    assert_eq!(sent.answer.status, 401);
    assert_eq!(sent.answer.body, r#"{"error":{"code":"bad_signature"}}"#);
    assert!(!sent.answer.accepted());
    for needle in [
        "a message as slack",
        "from U0DEVALICE in C0DEVGENERAL",
        "signing_secret of slack_platform",
    ] {
        assert!(sent.summary.contains(needle), "{needle}: {}", sent.summary);
    }

    let (head, body) = server.join().unwrap();
    assert!(
        head.starts_with(&format!("POST /webhooks/slack/{} HTTP/1.1", webhook.to)),
        "{head}"
    );
    let headers = header_pairs(&head);
    let request = Request::post(&headers, &body);
    let secret = "dev-slack-platform-signing-secret".to_owned();
    assert_eq!(Slack::verify(&request, &[secret], NOW, 300), Ok(()));
    assert_eq!(request.header("content-type"), Some("application/json"));
}

#[test]
fn run_sends_a_file_as_it_is_with_a_fresh_standard_webhook_id() {
    let file = TempFile::new(
        "payload.json",
        r#"{"type":"message","sender":"ci-bot","text":"x"}"#,
    );
    let (base, server) = serve_once("204 No Content", "");
    let mut webhook = webhook_to(Provider::Standard, Content::File(file.0.clone()));
    webhook.secret = Secret::Given("whsec_c2VjcmV0".into());
    let sent = run(&webhook, &base, NOW, NONCE).unwrap();
    assert!(sent.answer.accepted());
    assert_eq!(sent.answer.body, "");
    assert!(
        sent.summary.contains("payload.json (47 bytes)"),
        "{}",
        sent.summary
    );
    assert!(sent.summary.contains("signed with --secret"));

    let (head, body) = server.join().unwrap();
    assert_eq!(body, std::fs::read(&file.0).unwrap());
    let headers = header_pairs(&head);
    let request = Request::post(&headers, &body);
    assert_eq!(request.header("webhook-id"), Some("msg_0123456789abcdef"));
    let secrets = ["whsec_c2VjcmV0".to_owned()];
    assert_eq!(Standard::verify(&request, &secrets, NOW, 300), Ok(()));
}

#[test]
fn an_unreachable_worker_names_the_url_and_what_to_check() {
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let webhook = webhook_to(
        Provider::Telegram,
        Content::Message {
            text: "hi".into(),
            from: None,
            conversation: None,
        },
    );
    let base = format!("http://127.0.0.1:{port}");
    let error = run(&webhook, &base, NOW, NONCE).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains(&format!("{base}/webhooks/telegram/")),
        "{message}"
    );
    assert!(message.contains("scripts/run.sh") && message.contains("--base"));
    assert!(!error.is_usage());
}

#[test]
fn an_unreadable_file_names_its_path() {
    let webhook = webhook_to(
        Provider::Slack,
        Content::File("no/such/payload.json".into()),
    );
    let error = run(&webhook, DEFAULT_BASE, NOW, NONCE).unwrap_err();
    assert!(matches!(error, WebhookError::ReadFile { .. }), "{error:?}");
    assert!(error.to_string().contains("no/such/payload.json"));
    assert!(error.to_string().contains("--file"));
}
