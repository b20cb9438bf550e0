//! Tests for [`super`]: each signer against its provider's published vector where there is one
//! (the same vectors the provider tests pin: Slack's documented example, the Standard Webhooks
//! spec vector, the WhatsApp signature computed with Python and OpenSSL, RFC 8032's first
//! Ed25519 key), then every signed request through its provider's own verifier.

use super::*;
use crate::core::ingress::discord::Discord;
use crate::core::ingress::line::Line;
use crate::core::ingress::linear::Linear;
use crate::core::ingress::meta;
use crate::core::ingress::slack::Slack;
use crate::core::ingress::standard::Standard;
use crate::core::ingress::telegram::Telegram;
use crate::core::ingress::twilio::Twilio;
use crate::core::ingress::{Rejection, Request};

const NOW: u64 = 1_700_000_000;
/// Where the requests go (Twilio signs it).
const URL: &str = "https://edge.example.com/webhooks/any/ins_1";
const WINDOW: u64 = 300;
/// Linear's signed `webhookTimestamp` is in the body: `NOW` in ms.
const BODY: &[u8] = br#"{"type":"message","text":"caf\u00e9","webhookTimestamp":1700000000000}"#;

/// Slack's documented example ("Verifying requests from Slack").
const SLACK_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const SLACK_BODY: &[u8] = include_bytes!("../../../tests/fixtures/slack/slash_command.form");
const SLACK_SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

/// `whatsapp_test.rs`'s pinned vector (made-up secret, signature computed outside this crate).
const WHATSAPP_SECRET: &str = "8a1d3c5e7f9b0d2e4f6a8c0e2d4b6f81";
const WHATSAPP_BODY: &[u8] = include_bytes!("../../../tests/fixtures/whatsapp/text_non_ascii.json");
const WHATSAPP_SIGNATURE: &str =
    "sha256=2dbb6991a5450408e3871274083170de1ab5d07b17d06e91f5b5333283d0c4cd";

/// The Standard Webhooks reference libraries' vector.
const STANDARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const STANDARD_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const STANDARD_BODY: &[u8] = include_bytes!("../../../tests/fixtures/standard/spec_vector.json");
const STANDARD_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

/// RFC 8032 section 7.1, TEST 1: secret key (the seed) and public key.
const RFC8032_SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const RFC8032_PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

type Verify = fn(&Request<'_>, &[String], u64, u64) -> Result<(), Rejection>;

/// One provider: its verifier, a secret it signs with, the secret that verifies it (for
/// Discord the seed's public key) and a wrong signing secret of the right form.
struct Case {
    provider: Provider,
    verify: Verify,
    secret: &'static str,
    verifying: &'static str,
    wrong: &'static str,
}

const CASES: [Case; 11] = [
    Case {
        provider: Provider::Slack,
        verify: Slack::verify,
        secret: SLACK_SECRET,
        verifying: SLACK_SECRET,
        wrong: "another-signing-secret",
    },
    Case {
        provider: Provider::Telegram,
        verify: Telegram::verify,
        secret: "dev-telegram-secret-token",
        verifying: "dev-telegram-secret-token",
        wrong: "another-secret-token",
    },
    Case {
        provider: Provider::Whatsapp,
        verify: meta::verify,
        secret: WHATSAPP_SECRET,
        verifying: WHATSAPP_SECRET,
        wrong: "another-app-secret",
    },
    Case {
        provider: Provider::Discord,
        verify: Discord::verify,
        secret: RFC8032_SEED,
        verifying: RFC8032_PUBLIC,
        wrong: "0707070707070707070707070707070707070707070707070707070707070707",
    },
    Case {
        provider: Provider::Standard,
        verify: Standard::verify,
        secret: STANDARD_SECRET,
        verifying: STANDARD_SECRET,
        wrong: "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24=",
    },
    Case {
        provider: Provider::Line,
        verify: Line::verify,
        secret: "dev-line-channel-secret",
        verifying: "dev-line-channel-secret",
        wrong: "another-channel-secret",
    },
    Case {
        provider: Provider::Messenger,
        verify: meta::verify,
        secret: "dev-messenger-app-secret",
        verifying: "dev-messenger-app-secret",
        wrong: "another-app-secret",
    },
    Case {
        provider: Provider::Instagram,
        verify: meta::verify,
        secret: "dev-instagram-app-secret",
        verifying: "dev-instagram-app-secret",
        wrong: "another-app-secret",
    },
    Case {
        provider: Provider::Linear,
        verify: Linear::verify,
        secret: "dev-linear-webhook-secret",
        verifying: "dev-linear-webhook-secret",
        wrong: "another-webhook-secret",
    },
    Case {
        provider: Provider::Github,
        verify: meta::verify,
        secret: "dev-github-webhook-secret",
        verifying: "dev-github-webhook-secret",
        wrong: "another-webhook-secret",
    },
    Case {
        provider: Provider::Twilio,
        verify: Twilio::verify,
        secret: "dev-twilio-auth-token",
        verifying: "dev-twilio-auth-token",
        wrong: "another-auth-token",
    },
];

/// `case`'s verifier on `body` sent with the headers `headers` signs `signed` with.
fn verify_signed(case: &Case, secret: &str, signed: &[u8], body: &[u8]) -> Result<(), Rejection> {
    let stamp = Stamp {
        timestamp: NOW,
        message_id: "msg_sign_test",
        url: URL,
    };
    let headers = headers(case.provider, secret, stamp, signed).unwrap();
    let secrets = [case.verifying.to_owned()];
    let request = Request {
        url: URL,
        ..Request::post(&headers, body)
    };
    (case.verify)(&request, &secrets, NOW, WINDOW)
}

#[test]
fn slack_signs_the_documented_example_as_documented() {
    assert_eq!(
        slack(SLACK_SECRET, 1_531_420_618, SLACK_BODY),
        SLACK_SIGNATURE
    );
}

#[test]
fn whatsapp_signs_the_pinned_vector() {
    assert_eq!(whatsapp(WHATSAPP_SECRET, WHATSAPP_BODY), WHATSAPP_SIGNATURE);
}

#[test]
fn standard_signs_the_spec_vector() {
    assert_eq!(
        standard(STANDARD_SECRET, STANDARD_ID, 1_614_265_330, STANDARD_BODY),
        Ok(STANDARD_SIGNATURE.to_owned())
    );
}

#[test]
fn a_discord_seed_gives_the_rfc_8032_public_key() {
    assert_eq!(
        discord_public_key(RFC8032_SEED),
        Ok(RFC8032_PUBLIC.to_owned())
    );
    let upper = RFC8032_SEED.to_uppercase();
    assert_eq!(discord_public_key(&upper), Ok(RFC8032_PUBLIC.to_owned()));
}

#[test]
fn the_dev_datasets_discord_seed_signs_for_its_public_key() {
    let dataset: serde_json::Value =
        serde_json::from_str(include_str!("../../../seed/dev-dataset.json")).unwrap();
    let profile = dataset["app_profiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|profile| profile["provider"] == "discord")
        .unwrap();
    let seed = profile["_signing_key_seed_hex"].as_str().unwrap();
    assert_eq!(
        discord_public_key(seed).unwrap(),
        profile["secrets"]["public_key"].as_str().unwrap()
    );
}

#[test]
fn every_provider_verifies_what_it_signs() {
    for case in &CASES {
        assert_eq!(
            verify_signed(case, case.secret, BODY, BODY),
            Ok(()),
            "{:?}",
            case.provider
        );
    }
}

#[test]
fn every_provider_refuses_another_secret() {
    for case in &CASES {
        assert_eq!(
            verify_signed(case, case.wrong, BODY, BODY),
            Err(Rejection::BadSignature),
            "{:?}",
            case.provider
        );
    }
}

#[test]
fn what_is_signed_is_the_body_as_sent() {
    // Telegram signs nothing; every other provider's signature covers the exact bytes.
    for case in &CASES {
        let expected = match case.provider {
            Provider::Telegram => Ok(()),
            _ => Err(Rejection::BadSignature),
        };
        let altered = br#"{"type":"message","text":"cafe","webhookTimestamp":1700000000000}"#;
        assert_eq!(
            verify_signed(case, case.secret, BODY, altered),
            expected,
            "{:?}",
            case.provider
        );
    }
}

#[test]
fn the_other_headers_are_the_stamp_or_the_token() {
    let stamp = Stamp {
        timestamp: NOW,
        message_id: "msg_2",
        url: "",
    };
    let now = NOW.to_string();
    let expected: [&[(&str, &str)]; 11] = [
        &[("X-Slack-Request-Timestamp", &now)],
        &[(
            "X-Telegram-Bot-Api-Secret-Token",
            "dev-telegram-secret-token",
        )],
        &[],
        &[("X-Signature-Timestamp", &now)],
        &[("webhook-id", "msg_2"), ("webhook-timestamp", &now)],
        &[],
        &[],
        &[],
        &[("Linear-Delivery", "msg_2")],
        &[
            ("X-GitHub-Event", "issue_comment"),
            ("X-GitHub-Hook-ID", "109948940"),
            ("X-GitHub-Delivery", "msg_2"),
        ],
        &[],
    ];
    for (case, expected) in CASES.iter().zip(expected) {
        let unsigned: Vec<(String, String)> = headers(case.provider, case.secret, stamp, BODY)
            .unwrap()
            .into_iter()
            .filter(|(name, _)| !is_signature(name))
            .collect();
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        assert_eq!(unsigned, expected, "{:?}", case.provider);
    }
}

fn is_signature(name: &str) -> bool {
    let signatures = [
        "x-slack-signature",
        "x-hub-signature-256",
        "x-signature-ed25519",
        "webhook-signature",
        "x-line-signature",
        "linear-signature",
        "x-twilio-signature",
    ];
    signatures.contains(&name.to_ascii_lowercase().as_str())
}

#[test]
fn a_discord_seed_that_is_not_32_bytes_of_hex_is_refused() {
    for seed in [
        "",
        "abc",
        &"0".repeat(62),
        &"0".repeat(66),
        &"zz".repeat(32),
    ] {
        assert_eq!(
            discord(seed, NOW, BODY),
            Err(SignError::DiscordSeed),
            "{seed}"
        );
        let stamp = Stamp {
            timestamp: NOW,
            message_id: "",
            url: "",
        };
        assert_eq!(
            headers(Provider::Discord, seed, stamp, BODY),
            Err(SignError::DiscordSeed)
        );
    }
    assert!(SignError::DiscordSeed.to_string().contains("64 hex digits"));
}

#[test]
fn a_standard_secret_that_is_no_key_is_refused() {
    for secret in ["whsec_", "whsec_!!!", ""] {
        assert_eq!(
            standard(secret, "msg_1", NOW, BODY),
            Err(SignError::StandardSecret),
            "{secret}"
        );
    }
    assert!(SignError::StandardSecret.to_string().contains("whsec_"));
}
