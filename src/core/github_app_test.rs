//! Tests for [`super`], with a test-only RSA key made for this repository
//! (`tests/fixtures/github/test_app_private_key.pem`, as GitHub hands keys out: PKCS#1; its
//! PKCS#8 form made by `openssl pkcs8 -topk8 -nocrypt`; its public half). `jsonwebtoken` plays
//! WebCrypto: it signs with the converted key, and verifies the JWT as GitHub would.

use super::*;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};

const PKCS1: &str = include_str!("../../tests/fixtures/github/test_app_private_key.pem");
const PKCS8: &str = include_str!("../../tests/fixtures/github/test_app_private_key.pkcs8.pem");
const PUBLIC: &str = include_str!("../../tests/fixtures/github/test_app_public_key.pem");
const NOW: u64 = 1_764_400_000;

#[test]
fn a_pkcs1_key_wraps_into_the_pkcs8_openssl_makes() {
    let wrapped = pkcs8_der(PKCS1).unwrap();
    assert_eq!(wrapped, pkcs8_der(PKCS8).unwrap());
    assert_eq!(wrapped[0], 0x30);
}

#[test]
fn what_is_not_a_pem_rsa_key_is_refused() {
    for pem in [
        "",
        "not a key",
        "-----BEGIN RSA PRIVATE KEY-----\n!!!\n-----END RSA PRIVATE KEY-----",
        "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
        "-----BEGIN RSA PRIVATE KEY-----\n\n-----END RSA PRIVATE KEY-----",
    ] {
        assert_eq!(pkcs8_der(pem), Err(AppError::BadPrivateKey), "{pem:?}");
    }
}

#[test]
fn der_lengths_use_the_short_and_long_forms() {
    assert_eq!(der_length(5), [5]);
    assert_eq!(der_length(127), [127]);
    assert_eq!(der_length(128), [0x81, 0x80]);
    assert_eq!(der_length(1190), [0x82, 0x04, 0xa6]);
    assert_eq!(der_length(70_000), [0x83, 0x01, 0x11, 0x70]);
}

#[test]
fn the_jwt_signed_with_the_converted_key_verifies_as_github_checks_it() {
    let der = pkcs8_der(PKCS1).unwrap();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(&der)
    );
    let key = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
    let input = jwt_signing_input("37120", NOW);
    let signature = jsonwebtoken::crypto::sign(input.as_bytes(), &key, Algorithm::RS256).unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let token = jwt(&input, &signature);

    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&["37120"]);
    validation.set_required_spec_claims(&["exp", "iat", "iss"]);
    validation.validate_exp = false;
    let decoded = jsonwebtoken::decode::<Value>(
        &token,
        &DecodingKey::from_rsa_pem(PUBLIC.as_bytes()).unwrap(),
        &validation,
    )
    .unwrap();
    assert_eq!(decoded.header.alg, Algorithm::RS256);
    let claims = decoded.claims;
    assert_eq!(claims["iat"], NOW - 60, "a minute back, for clock drift");
    assert_eq!(claims["exp"], NOW + 540, "within GitHub's ten minutes");
}

#[test]
fn the_token_path_takes_only_a_numeric_installation_id() {
    assert_eq!(
        token_request_path("41000001").as_deref(),
        Some("app/installations/41000001/access_tokens")
    );
    for bad in ["", "1/../../user", "abc", "12 3"] {
        assert_eq!(token_request_path(bad), None, "{bad:?}");
    }
}

#[test]
fn a_token_is_used_until_five_minutes_before_it_expires() {
    let answer = json!({"token": "ghs_16C7e42F292c6912E7710c838347Ae178B4a", "expires_at": "2016-07-11T22:14:10Z"});
    assert_eq!(
        read_token(&answer, NOW),
        Ok((
            "ghs_16C7e42F292c6912E7710c838347Ae178B4a".to_owned(),
            1_468_275_250 - 300
        ))
    );
    let undated = json!({"token": "ghs_x"});
    assert_eq!(
        read_token(&undated, NOW),
        Ok(("ghs_x".to_owned(), NOW + 3600 - 300))
    );
    for answer in [
        json!({}),
        json!({"token": ""}),
        json!({"message": "Bad credentials"}),
    ] {
        assert_eq!(read_token(&answer, NOW), Err(AppError::NoToken), "{answer}");
    }
}
