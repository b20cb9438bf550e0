use super::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

const NOW: u64 = 1_700_000_000;

fn ring(text: &str) -> KeyRing {
    KeyRing::parse(text).unwrap()
}

fn k1() -> KeyRing {
    ring("k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
}

fn k2_then_k1() -> KeyRing {
    ring(
        "k2:HyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4=,\
         k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    )
}

fn minted() -> Minted {
    mint(&k1(), [7; TOKEN_ID_LEN], NOW + 900).unwrap()
}

#[test]
fn a_minted_token_verifies_and_names_its_grant() {
    let minted = minted();
    assert_eq!(minted.key_id, "k1");
    assert_eq!(minted.grant_id, format!("ist_{}", "07".repeat(16)));
    assert_eq!(
        verify(&k1(), &minted.token, NOW),
        Ok(Verified {
            grant_id: minted.grant_id,
            expires_at: NOW + 900
        })
    );
}

#[test]
fn tokens_are_55_url_safe_characters_even_for_the_largest_fields() {
    for (id, expires_at) in [([0u8; 16], 0), ([0xff; 16], u64::from(u32::MAX))] {
        let token = mint(&k1(), id, expires_at).unwrap().token;
        assert_eq!(token.len(), TOKEN_CHARS);
        const { assert!(TOKEN_CHARS <= MAX_TOKEN_CHARS) };
        assert!(token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }
}

#[test]
fn an_expiry_past_2106_cannot_be_minted() {
    let too_late = u64::from(u32::MAX) + 1;
    assert_eq!(
        mint(&k1(), [1; 16], too_late),
        Err(TokenError::ExpiryOutOfRange(too_late))
    );
}

#[test]
fn every_single_bit_flip_is_refused() {
    let bytes = URL_SAFE_NO_PAD.decode(minted().token).unwrap();
    for bit in 0..bytes.len() * 8 {
        let mut tampered = bytes.clone();
        tampered[bit / 8] ^= 1 << (bit % 8);
        let result = verify(&k1(), &URL_SAFE_NO_PAD.encode(&tampered), NOW);
        let expected = match bit / 8 {
            0 => TokenError::UnknownVersion(tampered[0]),
            1..=4 => TokenError::UnknownKey,
            _ => TokenError::BadMac,
        };
        assert_eq!(result, Err(expected), "bit {bit}");
    }
}

#[test]
fn a_token_is_valid_until_the_second_it_expires() {
    let token = minted().token;
    assert!(verify(&k1(), &token, NOW + 899).is_ok());
    assert_eq!(verify(&k1(), &token, NOW + 900), Err(TokenError::Expired));
    assert_eq!(verify(&k1(), &token, u64::MAX), Err(TokenError::Expired));
}

#[test]
fn malformed_tokens_are_refused_before_any_mac() {
    let token = minted().token;
    assert_eq!(verify(&k1(), "", NOW), Err(TokenError::Empty));
    assert_eq!(
        verify(&k1(), &"A".repeat(MAX_TOKEN_CHARS + 1), NOW),
        Err(TokenError::TooLong)
    );
    let mut plus = token.clone();
    plus.replace_range(0..1, "+");
    assert_eq!(verify(&k1(), &plus, NOW), Err(TokenError::BadAlphabet));
    assert_eq!(
        verify(&k1(), &format!("{}=", &token[..54]), NOW),
        Err(TokenError::BadAlphabet)
    );
    assert_eq!(
        verify(&k1(), &token[..TOKEN_CHARS - 1], NOW),
        Err(TokenError::WrongLength)
    );
    assert_eq!(
        verify(&k1(), &format!("{token}AA"), NOW),
        Err(TokenError::WrongLength)
    );
}

#[test]
fn a_token_of_another_version_is_refused() {
    let mut bytes = URL_SAFE_NO_PAD.decode(minted().token).unwrap();
    bytes[0] = 2;
    assert_eq!(
        verify(&k1(), &URL_SAFE_NO_PAD.encode(&bytes), NOW),
        Err(TokenError::UnknownVersion(2))
    );
}

#[test]
fn tokens_of_the_previous_key_stay_valid_until_it_leaves_the_ring() {
    let old = minted().token;
    assert!(verify(&k2_then_k1(), &old, NOW).is_ok());
    let new = mint(&k2_then_k1(), [9; 16], NOW + 60).unwrap();
    assert_eq!(new.key_id, "k2");
    assert!(verify(&k2_then_k1(), &new.token, NOW).is_ok());
    let k2_only = ring("k2:HyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4=");
    assert_eq!(verify(&k2_only, &old, NOW), Err(TokenError::UnknownKey));
    assert_eq!(verify(&k1(), &new.token, NOW), Err(TokenError::UnknownKey));
}

#[test]
fn a_key_with_the_same_id_but_other_bytes_does_not_verify() {
    let impostor = ring("k1:HyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4=");
    assert_eq!(
        verify(&impostor, &minted().token, NOW),
        Err(TokenError::BadMac)
    );
}

#[test]
fn a_mac_under_another_label_is_refused() {
    // The same bytes authenticated with the seal's sub-key instead of the token's.
    let mut bytes = URL_SAFE_NO_PAD.decode(minted().token).unwrap();
    let key = k1().derive("k1", crate::core::seal::SEAL_KEY_INFO).unwrap();
    let tag = mac(&key, &bytes[..SIGNED_LEN]).finalize().into_bytes();
    bytes[SIGNED_LEN..].copy_from_slice(&tag[..MAC_LEN]);
    assert_eq!(
        verify(&k1(), &URL_SAFE_NO_PAD.encode(&bytes), NOW),
        Err(TokenError::BadMac)
    );
}

#[test]
fn errors_map_to_refusals_and_name_no_key_material() {
    let all = [
        TokenError::Empty,
        TokenError::TooLong,
        TokenError::BadAlphabet,
        TokenError::WrongLength,
        TokenError::UnknownVersion(9),
        TokenError::UnknownKey,
        TokenError::BadMac,
        TokenError::Expired,
        TokenError::ExpiryOutOfRange(1),
    ];
    for error in &all {
        let expected = if *error == TokenError::Expired {
            Refusal::Expired
        } else {
            Refusal::Invalid
        };
        assert_eq!(error.reason(), expected);
        let message = error.to_string();
        assert!(message.contains("install token") || message.contains("expiry"));
        assert!(!message.contains("k1"));
    }
}

#[test]
fn claim_texts_are_recognised() {
    assert_eq!(claimed_token("install:abc"), Some("abc"));
    assert_eq!(claimed_token("  install: abc \n"), Some("abc"));
    assert_eq!(claimed_token("install:"), Some(""));
    assert_eq!(claimed_token("/start abc"), Some("abc"));
    assert_eq!(claimed_token("/start@acme_bot  abc"), Some("abc"));
    assert_eq!(claimed_token("/start"), None);
    assert_eq!(claimed_token("/start   "), None);
    assert_eq!(claimed_token("/start@ abc"), None);
    assert_eq!(claimed_token("/starting abc"), None);
    assert_eq!(claimed_token("please install:abc"), None);
    assert_eq!(claimed_token("hello"), None);
}

fn grant() -> Grant {
    Grant {
        created_by: "prn_admin".into(),
        org_id: "org_a".into(),
        agent_id: "agent_x".into(),
        subject: "user-1".into(),
        provider: Some("telegram".into()),
        expires_at: NOW + 10,
        claim_event: None,
        binding_session_id: None,
    }
}

fn token() -> Verified {
    Verified {
        grant_id: "ist_1".into(),
        expires_at: NOW + 10,
    }
}

const CLAIMANT: Claimant<'static> = Claimant {
    org_id: "org_a",
    provider: "telegram",
    event: "ins_1:42",
};

#[test]
fn an_unclaimed_grant_is_claimed() {
    assert_eq!(
        decide(&token(), Some(&grant()), &CLAIMANT, NOW),
        Ok(Decision::Claim)
    );
    let any_provider = Grant {
        provider: None,
        ..grant()
    };
    let whatsapp = Claimant {
        provider: "whatsapp",
        ..CLAIMANT
    };
    assert_eq!(
        decide(&token(), Some(&any_provider), &whatsapp, NOW),
        Ok(Decision::Claim)
    );
}

#[test]
fn claims_are_refused_for_each_reason() {
    assert_eq!(
        decide(&token(), None, &CLAIMANT, NOW),
        Err(Refusal::Invalid)
    );
    assert_eq!(
        decide(&token(), None, &CLAIMANT, NOW + 10),
        Err(Refusal::Expired),
        "a grant deleted after expiry"
    );
    let used = Grant {
        claim_event: Some("ins_1:41".into()),
        ..grant()
    };
    assert_eq!(
        decide(&token(), Some(&used), &CLAIMANT, NOW),
        Err(Refusal::Used)
    );
    let other_org = Claimant {
        org_id: "org_b",
        ..CLAIMANT
    };
    assert_eq!(
        decide(&token(), Some(&grant()), &other_org, NOW),
        Err(Refusal::WrongOrg)
    );
    let whatsapp = Claimant {
        provider: "whatsapp",
        ..CLAIMANT
    };
    assert_eq!(
        decide(&token(), Some(&grant()), &whatsapp, NOW),
        Err(Refusal::WrongProvider)
    );
    assert_eq!(
        decide(&token(), Some(&grant()), &CLAIMANT, NOW + 10),
        Err(Refusal::Expired)
    );
    let names: Vec<&str> = [
        Refusal::Invalid,
        Refusal::Expired,
        Refusal::Used,
        Refusal::WrongOrg,
        Refusal::WrongProvider,
    ]
    .iter()
    .map(|r| r.as_str())
    .collect();
    assert_eq!(
        names,
        ["invalid", "expired", "used", "wrong_org", "wrong_provider"]
    );
    assert_eq!(Refusal::WrongOrg.audit_reason(), "install_token_wrong_org");
}

#[test]
fn the_claiming_message_itself_may_repeat_the_claim() {
    let ours = Grant {
        claim_event: Some("ins_1:42".into()),
        ..grant()
    };
    // Even after expiry: the claim happened in time, only its completion is repeated.
    assert_eq!(
        decide(&token(), Some(&ours), &CLAIMANT, NOW + 1000),
        Ok(Decision::Repeat)
    );
}

#[test]
fn an_expired_token_still_authenticates() {
    let minted = minted();
    let verified = authenticate(&k1(), &minted.token).unwrap();
    assert_eq!(verified.expires_at, NOW + 900);
    assert_eq!(verified.grant_id, minted.grant_id);
    assert_eq!(
        verify(&k1(), &minted.token, NOW + 901),
        Err(TokenError::Expired)
    );
    assert_eq!(
        claim_binding_id(&minted.grant_id),
        format!("bnd_{}", "07".repeat(16))
    );
}

#[test]
fn deep_links_carry_the_claim() {
    let token = minted().token;
    let wa = whatsapp_link("+1 (555) 000-1111", &token);
    assert_eq!(
        wa,
        format!("https://wa.me/15550001111?text=install:{token}")
    );
    let tg = telegram_link("@acme_dev_bot", &token);
    assert_eq!(tg, format!("https://t.me/acme_dev_bot?start={token}"));
    let line = line_link("@acmedev", &token);
    assert_eq!(
        line,
        format!("https://line.me/R/oaMessage/%40acmedev/?install%3A{token}")
    );
    // LINE types the decoded text in: the claim itself.
    let typed: String = form_urlencoded::parse(line.split_once('?').unwrap().1.as_bytes())
        .map(|(key, _)| key.into_owned())
        .collect();
    assert_eq!(claimed_token(&typed), Some(token.as_str()));
    // What each app then sends is recognised as a claim of this very token.
    assert_eq!(
        claimed_token(&format!("install:{token}")),
        Some(token.as_str())
    );
    assert_eq!(
        claimed_token(&format!("/start {token}")),
        Some(token.as_str())
    );
}

#[test]
fn deep_links_come_from_installation_metadata() {
    use crate::core::tenancy::Provider;
    let metadata = serde_json::json!({"bot_username": "b", "display_phone_number": "+1 2"});
    assert_eq!(
        deep_link(Provider::Telegram, &metadata, "T").as_deref(),
        Some("https://t.me/b?start=T")
    );
    assert_eq!(
        deep_link(Provider::Whatsapp, &metadata, "T").as_deref(),
        Some("https://wa.me/12?text=install:T")
    );
    assert_eq!(deep_link(Provider::Slack, &metadata, "T"), None);
    assert_eq!(
        deep_link(Provider::Telegram, &serde_json::json!({}), "T"),
        None
    );
}
