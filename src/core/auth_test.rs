use super::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::SigningKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};

const NOW: u64 = 1_800_000_000;

fn seed(byte: u8) -> [u8; 32] {
    [byte; 32]
}

fn principal(seed_byte: u8, scopes: &str) -> (String, Principal) {
    let (pem, public_key) = generate_key_pair(seed(seed_byte));
    let principal = Principal {
        id: "prn_test".into(),
        public_key,
        scopes: ScopeSet::parse(scopes).unwrap(),
        active: true,
        expires_at: None,
        restriction: Default::default(),
    };
    (pem, principal)
}

/// Signs arbitrary claims with an Ed25519 PEM key and a chosen header.
fn sign(pem: &str, header: &Header, claims: &serde_json::Value) -> String {
    let der = SigningKey::from_pkcs8_pem(pem)
        .unwrap()
        .to_pkcs8_der()
        .unwrap();
    jsonwebtoken::encode(header, claims, &EncodingKey::from_ed_der(der.as_bytes())).unwrap()
}

/// A token for `prn_test` with `scope`, issued at `iat`, living `lifetime` seconds.
fn token(pem: &str, scope: &str, iat: u64, lifetime: u64) -> String {
    mint(
        pem,
        "prn_test",
        &ScopeSet::parse(scope).unwrap(),
        iat,
        lifetime,
    )
    .unwrap()
}

fn eddsa_header(kid: &str) -> Header {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.into());
    header
}

fn claims(iat: u64, exp: u64, scope: &str) -> serde_json::Value {
    serde_json::json!({"iss": "prn_test", "aud": AUDIENCE, "iat": iat, "exp": exp, "scope": scope})
}

#[test]
fn a_minted_token_verifies_with_its_scopes() {
    let (pem, principal) = principal(1, "bindings:read audit:read");
    let scopes = ScopeSet::parse("audit:read").unwrap();
    let token = mint(&pem, "prn_test", &scopes, NOW, 600).unwrap();
    let caller = verify(&token, &principal, NOW).unwrap();
    assert_eq!(caller.principal_id, "prn_test");
    assert_eq!(caller.scopes, scopes);
    assert_eq!(caller.require(Scope::AuditRead), Ok(()));
    assert_eq!(
        caller.require(Scope::BindingsRead),
        Err(AuthError::MissingScope {
            scope: Scope::BindingsRead
        })
    );
    assert_eq!(
        AuthError::MissingScope {
            scope: Scope::BindingsRead
        }
        .status(),
        403
    );
}

#[test]
fn root_allows_every_scope() {
    let root = ScopeSet::parse("*").unwrap();
    for scope in Scope::ALL {
        assert!(root.allows(scope), "{scope}");
    }
}

#[test]
fn a_write_scope_includes_its_read_scope_and_nothing_else() {
    let pairs = [
        (Scope::ProfilesWrite, Scope::ProfilesRead),
        (Scope::InstallationsWrite, Scope::InstallationsRead),
        (Scope::BindingsWrite, Scope::BindingsRead),
        (Scope::DeliveriesWrite, Scope::DeliveriesRead),
    ];
    for held in Scope::ALL {
        for wanted in Scope::ALL {
            let expected = held == wanted || held == Scope::All || pairs.contains(&(held, wanted));
            assert_eq!(held.includes(wanted), expected, "{held} includes {wanted}?");
        }
    }
    let writer = ScopeSet::parse("bindings:write").unwrap();
    assert!(writer.allows(Scope::BindingsRead));
    assert!(!ScopeSet::parse("bindings:read")
        .unwrap()
        .allows(Scope::BindingsWrite));
}

#[test]
fn the_scopes_the_coming_endpoints_need_are_defined() {
    for name in [
        "profiles:read",
        "installations:read",
        "messages:send",
        "deliveries:read",
        "deliveries:write",
        "metrics:read",
    ] {
        assert_eq!(Scope::parse(name).map(Scope::as_str), Ok(name));
    }
}

#[test]
fn a_caller_carries_its_principals_restriction_and_expiry() {
    let (pem, mut principal) = principal(1, "*");
    principal.expires_at = Some(NOW + 100);
    principal.restriction = crate::core::authority::Restriction::from_columns(
        Some(r#"["org_a"]"#),
        Some(r#"["agent_a"]"#),
    );
    let caller = verify(&token(&pem, "*", NOW, 60), &principal, NOW).unwrap();
    assert_eq!(caller.restriction, principal.restriction);
    assert_eq!(caller.expires_at, Some(NOW + 100));
}

#[test]
fn a_grant_never_exceeds_the_grantor() {
    let grantor = ScopeSet::parse("bindings:read bindings:write").unwrap();
    let asked = ScopeSet::parse("bindings:read principals:write *").unwrap();
    assert_eq!(
        grantor.missing_from(&asked),
        vec![Scope::PrincipalsWrite, Scope::All]
    );
    assert!(grantor
        .missing_from(&ScopeSet::parse("bindings:write").unwrap())
        .is_empty());
}

#[test]
fn scope_names_round_trip_and_unknown_ones_are_refused() {
    for scope in Scope::ALL {
        assert_eq!(Scope::parse(scope.as_str()), Ok(scope));
    }
    assert_eq!(
        ScopeSet::parse("audit:read admin"),
        Err(AuthError::UnknownScope {
            scope: "admin".into()
        })
    );
}

#[test]
fn bearer_header_parsing() {
    assert_eq!(bearer_token(Some("Bearer abc")), Ok("abc"));
    assert_eq!(bearer_token(Some("bearer abc")), Ok("abc"));
    assert_eq!(bearer_token(None), Err(AuthError::MissingToken));
    assert_eq!(bearer_token(Some("Basic abc")), Err(AuthError::NotBearer));
    assert_eq!(bearer_token(Some("Bearer")), Err(AuthError::NotBearer));
    assert_eq!(bearer_token(Some("Bearer ")), Err(AuthError::NotBearer));
}

#[test]
fn garbage_is_malformed() {
    let (_, principal) = principal(1, "*");
    for token in ["", "abc", "a.b.c", "..."] {
        assert_eq!(
            verify(token, &principal, NOW),
            Err(AuthError::Malformed),
            "{token:?}"
        );
    }
}

#[test]
fn only_eddsa_is_accepted() {
    let (_, principal) = principal(1, "*");
    // HS256 keyed with the principal's public key: the classic algorithm-confusion attack.
    // Built by hand: the EdDSA-only provider cannot even produce one.
    use hmac::{Hmac, Mac};
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT","kid":"prn_test"}"#),
        URL_SAFE_NO_PAD.encode(claims(NOW, NOW + 60, "*").to_string())
    );
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(principal.public_key.as_bytes()).unwrap();
    mac.update(signing_input.as_bytes());
    let token = format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    );
    assert_eq!(
        verify(&token, &principal, NOW),
        Err(AuthError::AlgorithmNotAllowed)
    );
    // alg "none", with no signature at all.
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"prn_test"}"#),
        URL_SAFE_NO_PAD.encode(claims(NOW, NOW + 60, "*").to_string())
    );
    assert_eq!(
        verify(&none, &principal, NOW),
        Err(AuthError::AlgorithmNotAllowed)
    );
}

#[test]
fn tokens_made_by_another_jwt_implementation_verify() {
    let (pem, principal) = principal(1, "audit:read");
    let token = sign(
        &pem,
        &eddsa_header("prn_test"),
        &claims(NOW, NOW + 60, "audit:read"),
    );
    assert_eq!(
        verify(&token, &principal, NOW).map(|caller| caller.scopes),
        Ok(ScopeSet::parse("audit:read").unwrap())
    );
    // And the other way round: jsonwebtoken accepts what `mint` makes.
    let minted = mint(&pem, "prn_test", &ScopeSet::parse("*").unwrap(), NOW, 60).unwrap();
    let public = decode_public_key(&principal.public_key).unwrap();
    let mut validation = jsonwebtoken::Validation::new(Algorithm::EdDSA);
    validation.set_audience(&[AUDIENCE]);
    validation.validate_exp = false;
    let decoded = jsonwebtoken::decode::<Claims>(
        &minted,
        &jsonwebtoken::DecodingKey::from_ed_der(&public),
        &validation,
    )
    .unwrap();
    assert_eq!(decoded.header.kid.as_deref(), Some("prn_test"));
    assert_eq!(decoded.claims.scope, "*");
}

#[test]
fn padded_or_extra_segments_are_malformed() {
    let (pem, principal) = principal(1, "*");
    let token = token(&pem, "*", NOW, 60);
    for bad in [
        format!("{token}="),
        format!("{token}.x"),
        format!("x.{token}"),
        token.replacen('.', "..", 1),
    ] {
        assert!(
            matches!(
                verify(&bad, &principal, NOW),
                Err(AuthError::Malformed | AuthError::BadSignature)
            ),
            "{bad}"
        );
    }
}

#[test]
fn a_token_without_kid_is_refused() {
    let (pem, principal) = principal(1, "*");
    let token = sign(
        &pem,
        &Header::new(Algorithm::EdDSA),
        &claims(NOW, NOW + 60, "*"),
    );
    assert_eq!(key_id(&token), Err(AuthError::MissingKeyId));
    assert_eq!(
        verify(&token, &principal, NOW),
        Err(AuthError::MissingKeyId)
    );
}

#[test]
fn another_key_or_another_kid_is_a_bad_signature() {
    let (_, principal) = principal(1, "*");
    let (other_pem, _) = super::tests::principal(2, "*");
    let forged = token(&other_pem, "*", NOW, 60);
    assert_eq!(
        verify(&forged, &principal, NOW),
        Err(AuthError::BadSignature)
    );
    let (pem, _) = super::tests::principal(1, "*");
    let other_kid = mint(&pem, "prn_other", &ScopeSet::parse("*").unwrap(), NOW, 60).unwrap();
    assert_eq!(
        verify(&other_kid, &principal, NOW),
        Err(AuthError::BadSignature)
    );
}

#[test]
fn a_tampered_payload_is_a_bad_signature() {
    let (pem, principal) = principal(1, "audit:read");
    let token = token(&pem, "audit:read", NOW, 60);
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(claims(NOW, NOW + 60, "*").to_string());
    assert_eq!(
        verify(&parts.join("."), &principal, NOW),
        Err(AuthError::BadSignature)
    );
}

#[test]
fn revoked_and_expired_principals_are_refused() {
    let (pem, mut principal) = principal(1, "*");
    let token = token(&pem, "*", NOW, 60);
    principal.expires_at = Some(NOW);
    assert_eq!(
        verify(&token, &principal, NOW),
        Err(AuthError::PrincipalExpired)
    );
    principal.expires_at = Some(NOW + 1);
    assert!(verify(&token, &principal, NOW).is_ok());
    principal.active = false;
    assert_eq!(
        verify(&token, &principal, NOW),
        Err(AuthError::PrincipalRevoked)
    );
}

#[test]
fn issuer_and_audience_must_match() {
    let (pem, principal) = principal(1, "*");
    let mut wrong_iss = claims(NOW, NOW + 60, "*");
    wrong_iss["iss"] = "prn_other".into();
    assert!(matches!(
        verify(
            &sign(&pem, &eddsa_header("prn_test"), &wrong_iss),
            &principal,
            NOW
        ),
        Err(AuthError::BadClaim { claim: "iss", .. })
    ));
    let mut wrong_aud = claims(NOW, NOW + 60, "*");
    wrong_aud["aud"] = "someone-else".into();
    assert!(matches!(
        verify(
            &sign(&pem, &eddsa_header("prn_test"), &wrong_aud),
            &principal,
            NOW
        ),
        Err(AuthError::BadClaim { claim: "aud", .. })
    ));
    let mut no_exp = claims(NOW, NOW + 60, "*");
    no_exp.as_object_mut().unwrap().remove("exp");
    assert_eq!(
        verify(
            &sign(&pem, &eddsa_header("prn_test"), &no_exp),
            &principal,
            NOW
        ),
        Err(AuthError::Malformed)
    );
}

#[test]
fn lifetime_is_at_most_one_hour() {
    let (pem, principal) = principal(1, "*");
    let scopes = ScopeSet::parse("*").unwrap();
    assert!(verify(
        &mint(&pem, "prn_test", &scopes, NOW, 3600).unwrap(),
        &principal,
        NOW
    )
    .is_ok());
    assert!(matches!(
        verify(
            &mint(&pem, "prn_test", &scopes, NOW, 3601).unwrap(),
            &principal,
            NOW
        ),
        Err(AuthError::BadClaim { claim: "exp", .. })
    ));
    let backwards = claims(NOW, NOW - 1, "*");
    assert!(matches!(
        verify(
            &sign(&pem, &eddsa_header("prn_test"), &backwards),
            &principal,
            NOW
        ),
        Err(AuthError::BadClaim { claim: "exp", .. })
    ));
}

#[test]
fn expiry_has_sixty_seconds_of_leeway() {
    let (pem, principal) = principal(1, "*");
    let token = token(&pem, "*", NOW, 60);
    let exp = NOW + 60;
    assert!(verify(&token, &principal, exp + LEEWAY_SECONDS).is_ok());
    assert_eq!(
        verify(&token, &principal, exp + LEEWAY_SECONDS + 1),
        Err(AuthError::Expired)
    );
}

#[test]
fn not_before_and_issued_at_have_sixty_seconds_of_leeway() {
    let (pem, principal) = principal(1, "*");
    let future_iat = token(&pem, "*", NOW + 61, 60);
    assert_eq!(
        verify(&future_iat, &principal, NOW),
        Err(AuthError::NotYetValid)
    );
    let mut nbf = claims(NOW, NOW + 600, "*");
    nbf["nbf"] = (NOW + 60).into();
    let token = sign(&pem, &eddsa_header("prn_test"), &nbf);
    assert!(verify(&token, &principal, NOW).is_ok());
    assert_eq!(
        verify(&token, &principal, NOW - 1),
        Err(AuthError::NotYetValid)
    );
}

#[test]
fn a_token_cannot_ask_for_more_than_the_grant() {
    let (pem, principal) = principal(1, "audit:read");
    let token = token(&pem, "audit:read rollout:write", NOW, 60);
    assert_eq!(
        verify(&token, &principal, NOW),
        Err(AuthError::ScopesNotGranted {
            scopes: "rollout:write".into()
        })
    );
    let unknown = sign(
        &pem,
        &eddsa_header("prn_test"),
        &claims(NOW, NOW + 60, "audit:read nope"),
    );
    assert_eq!(
        verify(&unknown, &principal, NOW),
        Err(AuthError::UnknownScope {
            scope: "nope".into()
        })
    );
}

#[test]
fn public_keys_must_be_32_byte_ed25519_keys() {
    let (_, principal) = principal(1, "*");
    assert!(decode_public_key(&principal.public_key).is_ok());
    for bad in ["", "abc", &URL_SAFE_NO_PAD.encode([1u8; 31]), "!!!!"] {
        assert_eq!(
            decode_public_key(bad).err(),
            Some(AuthError::BadPublicKey),
            "{bad:?}"
        );
    }
    // A short key must be refused before it reaches the verifier (which slices 32 bytes).
    let short = Principal {
        public_key: URL_SAFE_NO_PAD.encode([1u8; 8]),
        ..principal.clone()
    };
    let (pem, _) = super::tests::principal(1, "*");
    let token = token(&pem, "*", NOW, 60);
    assert_eq!(verify(&token, &short, NOW), Err(AuthError::BadPublicKey));
}

#[test]
fn key_pairs_round_trip_through_pem() {
    let (pem, public_key) = generate_key_pair(seed(7));
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert_eq!(public_key_from_pem(&pem), Ok(public_key));
    assert_eq!(
        public_key_from_pem(&format!("A header a person reads.\n\n{pem}")),
        Ok(generate_key_pair(seed(7)).1),
        "text above the PEM block is ignored"
    );
    assert_eq!(
        public_key_from_pem("not a key"),
        Err(AuthError::BadPrivateKey)
    );
    assert_eq!(
        mint("not a key", "p", &ScopeSet::default(), NOW, 60),
        Err(AuthError::BadPrivateKey)
    );
}

#[test]
fn generated_keys_are_plain_pkcs8_v1() {
    use base64::engine::general_purpose::STANDARD;
    let (pem, _) = generate_key_pair(seed(7));
    let body: String = pem
        .strip_prefix("-----BEGIN PRIVATE KEY-----\n")
        .and_then(|rest| rest.strip_suffix("-----END PRIVATE KEY-----\n"))
        .expect("one PRIVATE KEY block and nothing around it")
        .lines()
        .collect();
    let der = STANDARD.decode(body).unwrap();
    // RFC 8410 section 7: SEQUENCE { version 0, AlgorithmIdentifier { 1.3.101.112 },
    // OCTET STRING { OCTET STRING seed } }: 48 bytes, no public key.
    let prefix = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    assert_eq!(der.len(), 48);
    assert_eq!(der[..16], prefix);
    assert_eq!(der[16..], seed(7));
}

#[test]
fn v2_keys_with_the_public_key_still_read() {
    let v2 = SigningKey::from_bytes(&seed(7))
        .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .unwrap();
    assert_eq!(public_key_from_pem(&v2), Ok(generate_key_pair(seed(7)).1));
}

#[test]
fn error_messages_carry_no_token_material() {
    let (pem, principal) = principal(1, "audit:read");
    let token = token(&pem, "audit:read", NOW, 60);
    let signature = token.rsplit('.').next().unwrap();
    let (_, other) = super::tests::principal(2, "*");
    let error = verify(
        &token,
        &Principal {
            id: "prn_test".into(),
            ..other
        },
        NOW,
    )
    .unwrap_err();
    let message = error.to_string();
    assert!(!message.contains(signature));
    assert!(!message.contains(&principal.public_key));
}
