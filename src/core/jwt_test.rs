//! Tests for [`super`]: tokens are signed with the dev key set's key (`rsa`, through
//! [`crate::core::ingress::sign::rs256_jwt`]) and, for an independent check, with `jsonwebtoken`.

use super::*;
use crate::core::ingress::sample::dev::{JWT_KEY_ID, JWT_SIGNING_KEY_PEM};
use crate::core::ingress::sign::rs256_jwt;
use serde_json::json;

const NOW: u64 = 1_800_000_000;

fn signed(claims: &Value) -> String {
    rs256_jwt(JWT_SIGNING_KEY_PEM, JWT_KEY_ID, claims).unwrap()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn claims() -> Value {
    json!({"iss": "issuer", "aud": "app", "exp": NOW + 600, "nbf": NOW - 60})
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn check_of(token: &str) -> Check {
    Token::from_bearer(Some(&bearer(token)))
        .unwrap()
        .check(KeySet::BotFramework, None)
}

#[test]
fn a_token_signed_by_the_dev_key_verifies_against_the_dev_key_set() {
    let check = check_of(&signed(&claims()));
    assert_eq!(check.kid, JWT_KEY_ID);
    assert_eq!(verify_natively(&check, &dev_key_set()), Ok(()));
}

#[test]
fn a_token_signed_by_jsonwebtoken_verifies_too() {
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(JWT_SIGNING_KEY_PEM.as_bytes()).unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(JWT_KEY_ID.to_owned());
    let token = jsonwebtoken::encode(&header, &claims(), &key).unwrap();
    assert_eq!(verify_natively(&check_of(&token), &dev_key_set()), Ok(()));
}

#[test]
fn a_changed_claim_or_signature_does_not_verify() {
    let token = signed(&claims());
    let mut parts: Vec<&str> = token.split('.').collect();
    let other = b64(&json!({"iss": "issuer", "aud": "other", "exp": NOW + 600}));
    parts[1] = &other;
    let forged = parts.join(".");
    assert_eq!(
        verify_natively(&check_of(&forged), &dev_key_set()),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn a_key_id_the_set_lacks_or_a_key_not_endorsed_is_an_unknown_key() {
    let mut check = check_of(&signed(&claims()));
    check.kid = "rotated-away".into();
    assert_eq!(
        verify_natively(&check, &dev_key_set()),
        Err(Rejection::UnknownKey)
    );
    let mut check = check_of(&signed(&claims()));
    check.endorsement = Some("webchat".into());
    assert_eq!(
        verify_natively(&check, &dev_key_set()),
        Err(Rejection::UnknownKey)
    );
    check.endorsement = Some("msteams".into());
    assert_eq!(verify_natively(&check, &dev_key_set()), Ok(()));
}

#[test]
fn only_rs256_is_accepted_whatever_else_the_header_says() {
    for alg in ["none", "HS256", "RS384", "ES256", "PS256", "rs256"] {
        let header = b64(&json!({"alg": alg, "kid": JWT_KEY_ID}));
        let token = format!("{header}.{}.c2ln", b64(&claims()));
        assert_eq!(
            Token::from_bearer(Some(&bearer(&token))),
            Err(Rejection::TokenAlgorithm),
            "{alg}"
        );
    }
    // `none` with an empty signature, the classic forgery.
    let header = b64(&json!({"alg": "none"}));
    let token = format!("{header}.{}.", b64(&claims()));
    assert_eq!(
        Token::from_bearer(Some(&bearer(&token))),
        Err(Rejection::TokenAlgorithm)
    );
}

#[test]
fn malformed_headers_and_tokens_are_refused() {
    assert_eq!(
        Token::from_bearer(None),
        Err(Rejection::MissingHeader {
            header: AUTHORIZATION
        })
    );
    let token = signed(&claims());
    let no_kid = format!("{}.{}.c2ln", b64(&json!({"alg": "RS256"})), b64(&claims()));
    let crit = format!(
        "{}.{}.c2ln",
        b64(&json!({"alg": "RS256", "kid": "k", "crit": ["exp"]})),
        b64(&claims())
    );
    let long = format!("Bearer {}", "a".repeat(MAX_TOKEN_LEN + 1));
    for header in [
        token.clone(),
        format!("Basic {token}"),
        "Bearer".into(),
        "Bearer a.b".into(),
        "Bearer a.b.c.d".into(),
        format!(
            "Bearer {}.{}.!!",
            b64(&json!({"alg": "RS256", "kid": "k"})),
            b64(&claims())
        ),
        format!(
            "Bearer {}.W10.c2ln",
            b64(&json!({"alg": "RS256", "kid": "k"}))
        ),
        bearer(&no_kid),
        bearer(&crit),
        long,
    ] {
        assert_eq!(
            Token::from_bearer(Some(&header)),
            Err(Rejection::MalformedToken),
            "{header:.60}"
        );
    }
    assert!(Token::from_bearer(Some(&format!("bearer {token}"))).is_ok());
}

#[test]
fn time_claims_allow_five_minutes_of_skew() {
    let at = |claims: Value, now: u64| {
        Token::from_bearer(Some(&bearer(&signed(&claims))))
            .unwrap()
            .check_time(now)
    };
    let exp = json!({"exp": NOW});
    assert_eq!(at(exp.clone(), NOW + CLOCK_SKEW_SECONDS), Ok(()));
    assert_eq!(
        at(exp, NOW + CLOCK_SKEW_SECONDS + 1),
        Err(Rejection::ExpiredToken)
    );
    assert_eq!(at(json!({"nbf": NOW}), NOW), Err(Rejection::ExpiredToken));
    let nbf = json!({"exp": NOW + 3600, "nbf": NOW + CLOCK_SKEW_SECONDS + 1});
    assert_eq!(at(nbf, NOW), Err(Rejection::FutureTimestamp));
    let nbf = json!({"exp": NOW + 3600, "nbf": NOW + CLOCK_SKEW_SECONDS});
    assert_eq!(at(nbf, NOW), Ok(()));
}

#[test]
fn issuer_and_audience_must_match() {
    let token = |claims: Value| Token::from_bearer(Some(&bearer(&signed(&claims)))).unwrap();
    let good = token(claims());
    assert_eq!(good.check_issuer(&["other", "issuer"]), Ok(()));
    assert_eq!(good.check_issuer(&["other"]), Err(Rejection::WrongIssuer));
    assert_eq!(
        token(json!({})).check_issuer(&["issuer"]),
        Err(Rejection::WrongIssuer)
    );
    assert_eq!(good.check_audience("app"), Ok(()));
    assert_eq!(good.check_audience("App"), Err(Rejection::WrongAudience));
    assert_eq!(good.check_audience(""), Err(Rejection::WrongAudience));
    let many = token(json!({"aud": ["x", "app"]}));
    assert_eq!(many.check_audience("app"), Ok(()));
    assert_eq!(
        token(json!({"aud": 5})).check_audience("5"),
        Err(Rejection::WrongAudience)
    );
    assert_eq!(
        token(json!({"aud": ""})).check_audience(""),
        Err(Rejection::WrongAudience)
    );
}

#[test]
fn key_sets_keep_only_rsa_signing_keys() {
    let body = json!({"keys": [
        {"kty": "RSA", "kid": "a", "n": "AQ", "e": "AQAB", "endorsements": ["msteams", 3]},
        {"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQ", "e": "AQAB"},
        {"kty": "RSA", "kid": "ps", "alg": "PS256", "n": "AQ", "e": "AQAB"},
        {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AQ", "y": "AQ"},
        {"kty": "RSA", "n": "AQ", "e": "AQAB"},
        {"kty": "RSA", "kid": "b", "use": "sig", "alg": "RS256", "n": "Ag", "e": "AQAB"}
    ]})
    .to_string();
    let keys = parse_key_set(&body).unwrap();
    let kids: Vec<&str> = keys.iter().map(|k| k.kid.as_str()).collect();
    assert_eq!(kids, ["a", "b"]);
    assert_eq!(keys[0].endorsements, ["msteams"]);
    assert_eq!(parse_key_set("[]"), None);
    assert_eq!(parse_key_set("not json"), None);
    assert_eq!(parse_key_set(r#"{"keys": {}}"#), None);
}

#[test]
fn key_sets_are_kept_as_cache_control_says_within_bounds() {
    assert_eq!(
        cache_seconds(Some("public, max-age=19766, must-revalidate")),
        19766
    );
    assert_eq!(cache_seconds(Some("max-age=5")), MIN_CACHE_SECONDS);
    assert_eq!(cache_seconds(Some("max-age=9999999")), MAX_CACHE_SECONDS);
    assert_eq!(cache_seconds(Some("no-cache")), DEFAULT_CACHE_SECONDS);
    assert_eq!(cache_seconds(Some("max-age=x")), DEFAULT_CACHE_SECONDS);
    assert_eq!(cache_seconds(None), DEFAULT_CACHE_SECONDS);
}

#[test]
fn key_set_urls_are_the_documented_ones() {
    assert_eq!(
        KeySet::BotFramework.default_url(),
        "https://login.botframework.com/v1/.well-known/keys"
    );
    assert!(KeySet::GoogleChat
        .default_url()
        .ends_with("/metadata/jwk/chat@system.gserviceaccount.com"));
    assert_eq!(
        KeySet::Google.default_url(),
        "https://www.googleapis.com/oauth2/v3/certs"
    );
    let names: std::collections::HashSet<_> =
        [KeySet::BotFramework, KeySet::GoogleChat, KeySet::Google]
            .iter()
            .map(|set| (set.name(), set.url_var()))
            .collect();
    assert_eq!(names.len(), 3);
}
