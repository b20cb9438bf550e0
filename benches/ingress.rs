//! What a webhook costs the core, per provider, next to the cryptographic primitive it cannot
//! avoid.
//!
//! For each provider one realistic fixture from `tests/fixtures/` is signed here, the way the
//! native tests sign it, and two things are timed over the same bytes:
//!
//! - **full**: the spec's `verify` (header parsing, replay window, signature) + its `parse` +
//!   `envelope::build` + `Envelope::to_queue_json` for every event: the core's share of one
//!   request at the edge (no D1, queue or HTTP);
//! - **primitive**: the bare operation verification is built on: HMAC-SHA256 of the signed
//!   content (Slack, WhatsApp, Standard Webhooks, LINE, Messenger, Instagram, Linear, GitHub),
//!   HMAC-SHA1 of URL and form (Twilio; close to its signed text), Ed25519 `verify_strict` with a
//!   ready `VerifyingKey` (Discord, natively: the Worker asks WebCrypto), the constant-time
//!   compare of the secret token (Telegram). The newer providers are signed by the crate's own
//!   signer (`core::ingress::sign`).
//!
//! `now` is fixed at the fixture's own timestamp, so signed timestamps are inside the 300 s
//! window. Each measurement warms up, sizes its batches from that, and runs [`BATCHES`] batches
//! of at least [`BATCH_TARGET`] (so at least 350 ms), reporting the median batch's ns/op. Inputs
//! and results go through `std::hint::black_box`. Setup checks that every request verifies and
//! yields events, so a broken signature fails loudly instead of timing a rejection.
//!
//! Run: `cargo bench -p channel-edge --bench ingress` (the `bench` profile inherits `release`:
//! `opt-level = "s"`, LTO, one codegen unit, as the Wasm is built; natively, so absolute numbers
//! are not workerd's). Without `--bench` (e.g. `cargo test --benches`) each case runs once as a
//! smoke check.

use channel_edge::core::envelope::{self, Routing};
use channel_edge::core::ingress::{Parsed, Request};
use channel_edge::core::tenancy::Provider;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::hint::black_box;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

const SLACK: &[u8] = include_bytes!("../tests/fixtures/slack/message_channels.json");
const TELEGRAM: &[u8] = include_bytes!("../tests/fixtures/telegram/private_text.json");
const WHATSAPP: &[u8] = include_bytes!("../tests/fixtures/whatsapp/text.json");
const DISCORD: &[u8] = include_bytes!("../tests/fixtures/discord/slash_command_guild.json");
const STANDARD: &[u8] = include_bytes!("../tests/fixtures/standard/message.json");
const LINE: &[u8] = include_bytes!("../tests/fixtures/line/text_group.json");
const MESSENGER: &[u8] = include_bytes!("../tests/fixtures/messenger/text.json");
const INSTAGRAM: &[u8] = include_bytes!("../tests/fixtures/instagram/text_and_echo.json");
const LINEAR: &[u8] = include_bytes!("../tests/fixtures/linear/comment_create.json");
const GITHUB: &[u8] = include_bytes!("../tests/fixtures/github/issue_comment_created.json");
const TWILIO: &[u8] = include_bytes!("../tests/fixtures/twilio/sms.form");
/// Where the Twilio request is sent (its signature covers the URL).
const TWILIO_URL: &str = "https://edge.example.com/webhooks/twilio/ins_01bench";

/// The edge's default `REPLAY_WINDOW_SECONDS`.
const WINDOW: u64 = 300;
/// Batches per measurement; the median is reported.
const BATCHES: usize = 7;
/// Least duration of one batch.
const BATCH_TARGET: Duration = Duration::from_millis(50);
/// Least warm-up before sizing batches.
const WARM_UP: Duration = Duration::from_millis(100);

/// One signed request, with what verifies it.
struct Signed {
    provider: Provider,
    headers: Vec<(String, String)>,
    body: &'static [u8],
    secrets: Vec<String>,
    now: u64,
}

impl Signed {
    fn new(provider: Provider, body: &'static [u8], secret: &str, now: u64) -> Self {
        Signed {
            provider,
            headers: Vec::new(),
            body,
            secrets: vec![secret.to_owned()],
            now,
        }
    }

    fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    fn request(&self) -> Request<'_> {
        Request {
            method: "POST",
            headers: &self.headers,
            query: &[],
            url: TWILIO_URL,
            body: self.body,
        }
    }
}

/// One table row.
struct Row {
    provider: &'static str,
    primitive: &'static str,
    full_ns: f64,
    primitive_ns: f64,
}

/// Verify, parse, build and encode every event, through the provider's spec as the edge does;
/// the total length of the queue JSON.
fn pipeline(signed: &Signed, routing: &Routing) -> usize {
    let request = signed.request();
    let spec = signed.provider.spec();
    spec.verify
        .natively(&request, &signed.secrets, signed.now, WINDOW)
        .expect("the bench request verifies");
    let Ok(Parsed::Events { events, .. }) = (spec.parse)(&request) else {
        panic!("the bench fixture parses into events");
    };
    assert!(!events.is_empty(), "the bench fixture has an event");
    events
        .iter()
        .map(|event| {
            envelope::build(signed.provider, routing, event, signed.now)
                .to_queue_json()
                .unwrap()
                .len()
        })
        .sum()
}

fn routing() -> Routing {
    Routing {
        org_id: "org_01bench".to_owned(),
        app_profile_id: "app_01bench".to_owned(),
        installation_id: "ins_01bench".to_owned(),
        binding_id: "bnd_01bench".to_owned(),
        agent_id: "agent_support".to_owned(),
    }
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Times `full` and `primitive` (or runs each once in smoke mode).
fn row<A, B>(
    provider: &'static str,
    primitive: &'static str,
    full: impl FnMut() -> A,
    bare: impl FnMut() -> B,
) -> Row {
    Row {
        provider,
        primitive,
        full_ns: measure(full),
        primitive_ns: measure(bare),
    }
}

/// Slack `event_callback` (`message.channels` docs example), signed over `v0:{ts}:{body}`.
fn slack(routing: &Routing) -> Row {
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const NOW: u64 = 1_355_517_523; // event_time
    let timestamp = NOW.to_string();
    let prefix = format!("v0:{timestamp}:");
    let parts: [&[u8]; 2] = [prefix.as_bytes(), SLACK];
    let signature = format!("v0={}", hex(&hmac_sha256(SECRET.as_bytes(), &parts)));
    let signed = Signed::new(Provider::Slack, SLACK, SECRET, NOW)
        .header("X-Slack-Signature", signature)
        .header("X-Slack-Request-Timestamp", timestamp);
    row(
        "Slack",
        "HMAC-SHA256",
        || pipeline(black_box(&signed), routing),
        || hmac_sha256(black_box(SECRET.as_bytes()), black_box(&parts)),
    )
}

/// Telegram private text message; the secret token compared in constant time.
fn telegram(routing: &Routing) -> Row {
    const TOKEN: &str = "s3cr3t_T0ken-for-webhook";
    const NOW: u64 = 1_718_000_000; // message.date
    let signed = Signed::new(Provider::Telegram, TELEGRAM, TOKEN, NOW)
        .header("X-Telegram-Bot-Api-Secret-Token", TOKEN);
    let given = signed.headers[0].1.clone();
    row(
        "Telegram",
        "token ct_eq",
        || pipeline(black_box(&signed), routing),
        || bool::from(black_box(TOKEN.as_bytes()).ct_eq(black_box(given.as_bytes()))),
    )
}

/// WhatsApp incoming text message (Meta's docs example), HMAC-SHA256 over the body.
fn whatsapp(routing: &Routing) -> Row {
    const SECRET: &str = "8a1d3c5e7f9b0d2e4f6a8c0e2d4b6f81";
    const NOW: u64 = 1_749_416_383; // messages[0].timestamp
    let signature = format!(
        "sha256={}",
        hex(&hmac_sha256(SECRET.as_bytes(), &[WHATSAPP]))
    );
    let signed = Signed::new(Provider::Whatsapp, WHATSAPP, SECRET, NOW)
        .header("X-Hub-Signature-256", signature);
    row(
        "WhatsApp",
        "HMAC-SHA256",
        || pipeline(black_box(&signed), routing),
        || hmac_sha256(black_box(SECRET.as_bytes()), black_box(&[WHATSAPP])),
    )
}

/// Discord guild slash command (docs sample), Ed25519 over `{timestamp}{body}`.
fn discord(routing: &Routing) -> Row {
    const NOW: u64 = 1_607_469_484; // the interaction id's snowflake time
    let key = SigningKey::from_bytes(&[7; 32]);
    let timestamp = NOW.to_string();
    let message = [timestamp.as_bytes(), DISCORD].concat();
    let signature = key.sign(&message);
    let public = hex(key.verifying_key().as_bytes());
    let signed = Signed::new(Provider::Discord, DISCORD, &public, NOW)
        .header("X-Signature-Ed25519", hex(&signature.to_bytes()))
        .header("X-Signature-Timestamp", timestamp);
    let verifying: VerifyingKey = key.verifying_key();
    let signature = Signature::from_bytes(&signature.to_bytes());
    row(
        "Discord",
        "Ed25519 verify_strict",
        || pipeline(black_box(&signed), routing),
        || {
            black_box(&verifying)
                .verify_strict(black_box(&message), black_box(&signature))
                .is_ok()
        },
    )
}

/// Standard Webhooks chat message, HMAC-SHA256 over `{id}.{timestamp}.{body}`.
fn standard(routing: &Routing) -> Row {
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const KEY_BASE64: &str = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_2hTYoT6Bq1mXkPq3bench";
    const NOW: u64 = 1_718_000_000; // "timestamp": "2024-06-10T06:13:20Z"
    use base64::{engine::general_purpose::STANDARD as B64, Engine};
    let key = B64.decode(KEY_BASE64).expect("the spec secret is base64");
    let prefix = format!("{ID}.{NOW}.");
    let parts: [&[u8]; 2] = [prefix.as_bytes(), STANDARD];
    let signature = format!("v1,{}", B64.encode(hmac_sha256(&key, &parts)));
    let signed = Signed::new(Provider::Standard, STANDARD, SECRET, NOW)
        .header("webhook-id", ID)
        .header("webhook-timestamp", NOW.to_string())
        .header("webhook-signature", signature);
    row(
        "Standard Webhooks",
        "HMAC-SHA256",
        || pipeline(black_box(&signed), routing),
        || hmac_sha256(black_box(&key), black_box(&parts)),
    )
}

/// A provider signed by `channel_edge::core::ingress::sign` (as the CLI and the end-to-end
/// suite sign), beside HMAC-SHA256 of the body (SHA-1 of Twilio's signed text).
fn signed_by_the_signer(
    name: &'static str,
    provider: Provider,
    body: &'static [u8],
    secret: &str,
    now: u64,
    routing: &Routing,
) -> Row {
    use channel_edge::core::ingress::sign::{self, Stamp};
    let stamp = Stamp {
        timestamp: now,
        message_id: "109948940:72d3162e-cc78-11e3-81ab-4c9367dc0958",
        url: TWILIO_URL,
    };
    let mut signed = Signed::new(provider, body, secret, now);
    signed.headers = sign::headers(provider, secret, stamp, body).expect("a signing secret");
    let twilio = provider == Provider::Twilio;
    row(
        name,
        if twilio { "HMAC-SHA1" } else { "HMAC-SHA256" },
        || pipeline(black_box(&signed), routing),
        || {
            if twilio {
                let mut mac = channel_edge::core::mac::hmac_sha1(black_box(secret.as_bytes()));
                mac.update(black_box(TWILIO_URL.as_bytes()));
                mac.update(black_box(body));
                mac.finalize().into_bytes().to_vec()
            } else {
                hmac_sha256(black_box(secret.as_bytes()), black_box(&[body])).to_vec()
            }
        },
    )
}

fn line(routing: &Routing) -> Row {
    let now = 1_462_629_479; // the event's timestamp, in seconds
    signed_by_the_signer(
        "LINE",
        Provider::Line,
        LINE,
        "5f6b0d7c8e9a1b2c3d4e5f60718293a4",
        now,
        routing,
    )
}

fn messenger(routing: &Routing) -> Row {
    let now = 1_458_692_752; // messaging[0].timestamp, in seconds
    signed_by_the_signer(
        "Messenger",
        Provider::Messenger,
        MESSENGER,
        "messenger-app-secret",
        now,
        routing,
    )
}

fn instagram(routing: &Routing) -> Row {
    let now = 1_569_262_485;
    signed_by_the_signer(
        "Instagram",
        Provider::Instagram,
        INSTAGRAM,
        "instagram-app-secret",
        now,
        routing,
    )
}

fn linear(routing: &Routing) -> Row {
    let now = 1_579_784_000; // webhookTimestamp, in seconds
    signed_by_the_signer(
        "Linear",
        Provider::Linear,
        LINEAR,
        "lin_wh_bench",
        now,
        routing,
    )
}

fn github(routing: &Routing) -> Row {
    signed_by_the_signer(
        "GitHub",
        Provider::Github,
        GITHUB,
        "github-webhook-secret",
        1_557_933_621,
        routing,
    )
}

fn twilio(routing: &Routing) -> Row {
    signed_by_the_signer(
        "Twilio",
        Provider::Twilio,
        TWILIO,
        "twilio-auth-token",
        1_718_000_000,
        routing,
    )
}

/// Whether cargo asked for a benchmark run (`cargo bench` passes `--bench`).
fn benchmarking() -> bool {
    std::env::args().any(|arg| arg == "--bench")
}

/// The median ns/op of [`BATCHES`] batches, after a warm-up; in smoke mode one call, 0 ns.
fn measure<R>(mut f: impl FnMut() -> R) -> f64 {
    if !benchmarking() {
        black_box(f());
        return 0.0;
    }
    let iterations = calibrate(&mut f);
    let mut samples: Vec<f64> = (0..BATCHES)
        .map(|_| time(&mut f, iterations).as_nanos() as f64 / iterations as f64)
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[BATCHES / 2]
}

/// Runs doubling batches for at least [`WARM_UP`], then sizes one batch to [`BATCH_TARGET`].
fn calibrate<R>(f: &mut impl FnMut() -> R) -> u64 {
    let started = Instant::now();
    let mut iterations = 1u64;
    loop {
        let elapsed = time(f, iterations);
        if started.elapsed() >= WARM_UP && elapsed >= Duration::from_millis(5) {
            let per_op = elapsed.as_secs_f64() / iterations as f64;
            return (BATCH_TARGET.as_secs_f64() / per_op).ceil().max(1.0) as u64;
        }
        iterations = iterations.saturating_mul(2);
    }
}

fn time<R>(f: &mut impl FnMut() -> R, iterations: u64) -> Duration {
    let started = Instant::now();
    for _ in 0..iterations {
        black_box(f());
    }
    started.elapsed()
}

fn print(rows: &[Row]) {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("channel-edge ingress bench ({cores} cores; median of {BATCHES} batches)\n");
    println!("| provider | full ns/op | primitive | primitive ns/op | full / primitive |");
    println!("|---|---:|---|---:|---:|");
    for row in rows {
        println!(
            "| {} | {:.0} | {} | {:.0} | {:.1}× |",
            row.provider,
            row.full_ns,
            row.primitive,
            row.primitive_ns,
            row.full_ns / row.primitive_ns
        );
    }
}

fn main() {
    let routing = routing();
    let cases: [fn(&Routing) -> Row; 11] = [
        slack, telegram, whatsapp, discord, standard, line, messenger, instagram, linear, github,
        twilio,
    ];
    let rows: Vec<Row> = cases.iter().map(|case| case(&routing)).collect();
    if benchmarking() {
        print(&rows);
    } else {
        println!("ingress bench: {} cases ran once (smoke mode)", rows.len());
    }
}
