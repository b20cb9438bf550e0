use super::*;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use hkdf::Hkdf;
use sha2::Sha256;

const NEW: [u8; 32] = [0xA7; 32];
const OLD: [u8; 32] = [0x5C; 32];
const NONCE_A: [u8; 12] = [1; 12];
const NONCE_B: [u8; 12] = [2; 12];
const SECRET: &[u8] = b"xoxb-super-secret-token";

fn entry(id: &str, key: &[u8]) -> String {
    format!("{id}:{}", STANDARD.encode(key))
}

fn ring_of(keys: &[(&str, [u8; 32])]) -> KeyRing {
    let text: Vec<String> = keys.iter().map(|(id, key)| entry(id, key)).collect();
    KeyRing::parse(&text.join(",")).unwrap()
}

fn rotated() -> KeyRing {
    ring_of(&[("new", NEW), ("old", OLD)])
}

fn context<'a>(table: &'a str, row_id: &'a str, purpose: &'a str) -> SealContext<'a> {
    SealContext {
        table,
        row_id,
        purpose,
    }
}

fn ctx() -> SealContext<'static> {
    context("secrets", "sec_1", "app_profiles/ap_1/bot_token")
}

fn payload_of(sealed: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(sealed.rsplit('.').next().unwrap())
        .unwrap()
}

fn with_payload(sealed: &str, payload: &[u8]) -> String {
    let (head, _) = sealed.rsplit_once('.').unwrap();
    format!("{head}.{}", URL_SAFE_NO_PAD.encode(payload))
}

// --- parsing ---

#[test]
fn parses_keys_current_first_with_any_base64_and_whitespace() {
    let text = format!(
        "  k2:{} ,\n k1 : {}\t, k0:{}",
        URL_SAFE_NO_PAD.encode([0xFB; 32]),
        URL_SAFE.encode([0xFF; 32]),
        STANDARD.encode([0xFE; 32]).trim_end_matches('='),
    );
    let ring = KeyRing::parse(&text).unwrap();
    assert_eq!(ring.ids().collect::<Vec<_>>(), ["k2", "k1", "k0"]);
    assert_eq!(ring.current().id, "k2");
    assert_eq!(ring.current().key, [0xFB; 32]);
    assert_eq!(ring.keys().nth(1).unwrap().key, [0xFF; 32]);
    assert_eq!(ring.keys().nth(2).unwrap().key, [0xFE; 32]);
}

#[test]
fn accepts_ids_of_every_allowed_character_up_to_16() {
    let ring = ring_of(&[("Az09_-", NEW), ("abcdefghijklmnop", OLD)]);
    assert_eq!(ring.ids().count(), 2);
}

#[test]
fn rejects_empty_text() {
    assert_eq!(KeyRing::parse("").unwrap_err(), SealError::NoKeys);
    assert_eq!(KeyRing::parse(" \n ").unwrap_err(), SealError::NoKeys);
}

#[test]
fn rejects_empty_entry_with_its_position() {
    let text = format!("{},,{}", entry("a", &NEW), entry("b", &OLD));
    assert_eq!(
        KeyRing::parse(&text).unwrap_err(),
        SealError::EmptyEntry { position: 2 }
    );
    let trailing = format!("{},", entry("a", &NEW));
    assert_eq!(
        KeyRing::parse(&trailing).unwrap_err(),
        SealError::EmptyEntry { position: 2 }
    );
}

#[test]
fn rejects_missing_colon_without_echoing_the_entry() {
    let key = STANDARD.encode(NEW);
    let error = KeyRing::parse(&key).unwrap_err();
    assert_eq!(error, SealError::MissingColon { position: 1 });
    assert!(!error.to_string().contains(&key));
}

#[test]
fn rejects_bad_key_ids_by_position() {
    let key = STANDARD.encode(NEW);
    for id in ["", "has space", "dot.ted", "seventeen-chars-x", "ünï"] {
        let text = format!("{},{id}:{key}", entry("ok", &OLD));
        assert_eq!(
            KeyRing::parse(&text).unwrap_err(),
            SealError::BadKeyId { position: 2 },
            "{id:?}"
        );
    }
}

#[test]
fn rejects_bad_base64_naming_the_id() {
    for key in ["not base64!", "AAAA====AAAA", "+/-_AAAA"] {
        let error = KeyRing::parse(&format!("k1:{key}")).unwrap_err();
        assert_eq!(error, SealError::BadKeyBase64 { id: "k1".into() }, "{key}");
        assert!(!error.to_string().contains(key));
    }
}

#[test]
fn rejects_wrong_key_lengths_naming_the_id() {
    for len in [0, 16, 31, 33, 64] {
        let error = KeyRing::parse(&entry("k1", &vec![7u8; len])).unwrap_err();
        assert_eq!(
            error,
            SealError::WrongKeyLength {
                id: "k1".into(),
                len
            }
        );
    }
}

#[test]
fn rejects_duplicate_ids() {
    let text = format!("{},{}", entry("k1", &NEW), entry("k1", &OLD));
    assert_eq!(
        KeyRing::parse(&text).unwrap_err(),
        SealError::DuplicateKeyId { id: "k1".into() }
    );
}

// --- sealing and opening ---

#[test]
fn round_trips_under_the_current_key() {
    let ring = rotated();
    let sealed = ring.seal(SECRET, &ctx(), NONCE_A).unwrap();
    assert!(sealed.starts_with("v1.new."), "{sealed}");
    assert!(!sealed.contains("super-secret"));
    assert!(!sealed.contains(&URL_SAFE_NO_PAD.encode(SECRET)));
    let opened = ring.open(&sealed, &ctx()).unwrap();
    assert_eq!(opened.as_bytes(), SECRET);
    assert_eq!(opened.key_id, "new");
    assert!(!opened.needs_reseal);
    assert_eq!(opened.into_string().unwrap(), "xoxb-super-secret-token");
}

#[test]
fn round_trips_an_empty_value() {
    let ring = rotated();
    let sealed = ring.seal(b"", &ctx(), NONCE_A).unwrap();
    assert_eq!(payload_of(&sealed).len(), NONCE_LEN + TAG_LEN);
    assert!(ring.open(&sealed, &ctx()).unwrap().into_bytes().is_empty());
}

#[test]
fn different_nonces_give_different_texts() {
    let ring = rotated();
    let a = ring.seal(SECRET, &ctx(), NONCE_A).unwrap();
    let b = ring.seal(SECRET, &ctx(), NONCE_B).unwrap();
    assert_ne!(a, b);
    assert_eq!(ring.open(&b, &ctx()).unwrap().as_bytes(), SECRET);
}

#[test]
fn another_table_row_or_purpose_does_not_open() {
    let ring = rotated();
    let sealed = ring.seal(SECRET, &ctx(), NONCE_A).unwrap();
    let others = [
        context("installations", "sec_1", "app_profiles/ap_1/bot_token"),
        context("secrets", "sec_2", "app_profiles/ap_1/bot_token"),
        context("secrets", "sec_1", "app_profiles/ap_1/signing_secret"),
    ];
    for other in others {
        let error = ring.open(&sealed, &other).unwrap_err();
        assert_eq!(error, SealError::Unauthentic, "{other:?}");
    }
}

#[test]
fn a_value_copied_to_another_row_does_not_open() {
    let ring = rotated();
    let row_a = context("secrets", "sec_a", "installations/in_1/token");
    let row_b = context("secrets", "sec_b", "installations/in_2/token");
    let sealed_a = ring.seal(SECRET, &row_a, NONCE_A).unwrap();
    let sealed_b = ring.seal(b"other", &row_b, NONCE_B).unwrap();
    assert_eq!(ring.open(&sealed_b, &row_b).unwrap().as_bytes(), b"other");
    assert_eq!(
        ring.open(&sealed_a, &row_b).unwrap_err(),
        SealError::Unauthentic
    );
}

#[test]
fn fields_are_length_prefixed() {
    assert_ne!(
        context("ab", "c", "p").aad("k"),
        context("a", "bc", "p").aad("k")
    );
    let ring = rotated();
    let sealed = ring
        .seal(SECRET, &context("ab", "c", "p"), NONCE_A)
        .unwrap();
    assert_eq!(
        ring.open(&sealed, &context("a", "bc", "p")).unwrap_err(),
        SealError::Unauthentic
    );
}

#[test]
fn aad_layout_is_prefix_then_length_prefixed_fields() {
    let mut expected = b"channel-edge/seal/v1".to_vec();
    for field in ["t", "row", "", "v1", "k1"] {
        expected.extend_from_slice(&(field.len() as u32).to_be_bytes());
        expected.extend_from_slice(field.as_bytes());
    }
    assert_eq!(context("t", "row", "").aad("k1"), Ok(expected));
}

#[test]
fn flipping_any_bit_of_the_payload_fails() {
    let ring = rotated();
    let sealed = ring.seal(SECRET, &ctx(), NONCE_A).unwrap();
    let payload = payload_of(&sealed);
    for index in 0..payload.len() {
        for bit in 0..8 {
            let mut tampered = payload.clone();
            tampered[index] ^= 1 << bit;
            let error = ring
                .open(&with_payload(&sealed, &tampered), &ctx())
                .unwrap_err();
            assert_eq!(error, SealError::Unauthentic, "byte {index} bit {bit}");
        }
    }
}

#[test]
fn relabelling_to_another_key_id_fails() {
    let ring = rotated();
    let sealed = ring.seal(SECRET, &ctx(), NONCE_A).unwrap();
    let relabelled = sealed.replacen("v1.new.", "v1.old.", 1);
    assert_eq!(
        ring.open(&relabelled, &ctx()).unwrap_err(),
        SealError::Unauthentic
    );
    // Same key bytes under two ids: only the id in the associated data stops it.
    let twins = ring_of(&[("a", NEW), ("b", NEW)]);
    let sealed = twins.seal(SECRET, &ctx(), NONCE_A).unwrap();
    let relabelled = sealed.replacen("v1.a.", "v1.b.", 1);
    assert_eq!(
        twins.open(&relabelled, &ctx()).unwrap_err(),
        SealError::Unauthentic
    );
}

#[test]
fn a_different_key_with_the_same_id_fails() {
    let sealed = ring_of(&[("k", NEW)])
        .seal(SECRET, &ctx(), NONCE_A)
        .unwrap();
    assert_eq!(
        ring_of(&[("k", OLD)]).open(&sealed, &ctx()).unwrap_err(),
        SealError::Unauthentic
    );
}

// --- rotation ---

#[test]
fn rotation_opens_old_values_and_reseals_them_under_the_new_key() {
    let old_only = ring_of(&[("old", OLD)]);
    let sealed = old_only.seal(SECRET, &ctx(), NONCE_A).unwrap();
    let rotated = rotated();
    let opened = rotated.open(&sealed, &ctx()).unwrap();
    assert_eq!(opened.as_bytes(), SECRET);
    assert_eq!(opened.key_id, "old");
    assert!(opened.needs_reseal);

    let resealed = rotated.reseal(&sealed, &ctx(), NONCE_B).unwrap().unwrap();
    assert!(resealed.starts_with("v1.new."));
    let new_only = ring_of(&[("new", NEW)]);
    let opened = new_only.open(&resealed, &ctx()).unwrap();
    assert_eq!(opened.as_bytes(), SECRET);
    assert!(!opened.needs_reseal);
    assert_eq!(rotated.reseal(&resealed, &ctx(), NONCE_A).unwrap(), None);

    assert_eq!(
        new_only.open(&sealed, &ctx()).unwrap_err(),
        SealError::UnknownKey { id: "old".into() }
    );
}

#[test]
fn reseal_checks_the_context() {
    let sealed = ring_of(&[("old", OLD)])
        .seal(SECRET, &ctx(), NONCE_A)
        .unwrap();
    let other = context("secrets", "sec_2", "app_profiles/ap_1/bot_token");
    assert_eq!(
        rotated().reseal(&sealed, &other, NONCE_B).unwrap_err(),
        SealError::Unauthentic
    );
}

// --- malformed values ---

#[test]
fn rejects_wrong_number_of_parts() {
    let ring = rotated();
    let sealed = ring.seal(SECRET, &ctx(), NONCE_A).unwrap();
    let extra = format!("{sealed}.extra");
    for text in ["", "plaintext", "v1.new", "a.b.c.d", extra.as_str()] {
        let error = ring.open(text, &ctx()).unwrap_err();
        assert_eq!(error, SealError::MalformedParts, "{text:?}");
    }
}

#[test]
fn rejects_unknown_versions() {
    let ring = rotated();
    let sealed = ring.seal(SECRET, &ctx(), NONCE_A).unwrap();
    for version in ["v2", "V1", "", "v1 "] {
        let text = sealed.replacen("v1.", &format!("{version}."), 1);
        let error = ring.open(&text, &ctx()).unwrap_err();
        assert_eq!(error, SealError::UnknownVersion, "{version:?}");
    }
}

#[test]
fn rejects_invalid_key_ids_in_values() {
    let ring = rotated();
    let sealed = ring.seal(SECRET, &ctx(), NONCE_A).unwrap();
    for id in ["", "n w", "seventeen-chars-x", "k:1"] {
        let text = sealed.replacen(".new.", &format!(".{id}."), 1);
        let error = ring.open(&text, &ctx()).unwrap_err();
        assert_eq!(error, SealError::MalformedKeyId, "{id:?}");
    }
}

#[test]
fn rejects_bad_base64_payloads() {
    let ring = rotated();
    let sealed = ring.seal(SECRET, &ctx(), NONCE_A).unwrap();
    let padded = format!("{sealed}=");
    for text in [padded.as_str(), "v1.new.ab+/cd", "v1.new.not base64!"] {
        let error = ring.open(text, &ctx()).unwrap_err();
        assert_eq!(error, SealError::MalformedBase64, "{text:?}");
    }
}

#[test]
fn rejects_payloads_too_short_for_nonce_and_tag() {
    let ring = rotated();
    for len in [0, NONCE_LEN, NONCE_LEN + TAG_LEN - 1] {
        let text = format!("v1.new.{}", URL_SAFE_NO_PAD.encode(vec![0u8; len]));
        assert_eq!(ring.open(&text, &ctx()).unwrap_err(), SealError::TooShort);
    }
}

#[test]
fn rejects_unknown_key_ids_naming_the_id() {
    let ring = rotated();
    let sealed = ring.seal(SECRET, &ctx(), NONCE_A).unwrap();
    let text = sealed.replacen("v1.new.", "v1.gone.", 1);
    let error = ring.open(&text, &ctx()).unwrap_err();
    assert_eq!(error, SealError::UnknownKey { id: "gone".into() });
    assert!(error.to_string().contains("`gone`"));
}

#[test]
fn into_string_rejects_non_utf8() {
    let ring = rotated();
    let sealed = ring.seal(&[0xFF, 0xFE], &ctx(), NONCE_A).unwrap();
    let opened = ring.open(&sealed, &ctx()).unwrap();
    assert_eq!(opened.into_string().unwrap_err(), SealError::NotUtf8);
}

// --- derivation ---

fn hkdf(key: &[u8], info: &[u8]) -> [u8; 32] {
    let mut okm = [0u8; 32];
    Hkdf::<Sha256>::new(None, key)
        .expand(info, &mut okm)
        .unwrap();
    okm
}

#[test]
fn derive_is_hkdf_sha256_without_salt() {
    let ring = rotated();
    let info = b"channel-edge/install-token/v1";
    assert_eq!(ring.derive("new", info).unwrap(), hkdf(&NEW, info));
    assert_eq!(ring.derive("old", info).unwrap(), hkdf(&OLD, info));
    assert_eq!(ring.derive_current(info), ("new", hkdf(&NEW, info)));
}

#[test]
fn derive_is_deterministic_and_separated_by_label_and_key() {
    let ring = rotated();
    let a = ring.derive("new", b"label-a").unwrap();
    assert_eq!(a, ring.derive("new", b"label-a").unwrap());
    assert_ne!(a, ring.derive("new", b"label-b").unwrap());
    assert_ne!(a, ring.derive("old", b"label-a").unwrap());
    assert_ne!(a, NEW);
}

#[test]
fn sealing_key_is_the_seal_label_sub_key() {
    let ring = rotated();
    let sealed = ring.seal(SECRET, &ctx(), NONCE_A).unwrap();
    let payload = payload_of(&sealed);
    let cipher = Aes256Gcm::new(&hkdf(&NEW, SEAL_KEY_INFO).into());
    let aad = ctx().aad("new").unwrap();
    let plaintext = cipher
        .decrypt(
            &Nonce::from(*payload.first_chunk::<NONCE_LEN>().unwrap()),
            Payload {
                msg: &payload[NONCE_LEN..],
                aad: &aad,
            },
        )
        .unwrap();
    assert_eq!(plaintext, SECRET);
}

#[test]
fn derive_with_an_unknown_id_fails() {
    assert_eq!(
        rotated().derive("gone", b"x").unwrap_err(),
        SealError::UnknownKey { id: "gone".into() }
    );
}

#[test]
fn hkdf_matches_rfc_5869_test_case_3() {
    let mut okm = [0u8; 42];
    Hkdf::<Sha256>::new(None, &[0x0b; 22])
        .expand(&[], &mut okm)
        .unwrap();
    let hex: String = okm.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        hex,
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d\
         9d201395faa4b61a96c8"
    );
}

// --- redaction ---

fn assert_no_key(text: &str, key: &[u8; 32]) {
    assert!(!text.contains(&format!("{}", key[0])), "{text}");
    assert!(!text.contains(&format!("{:x}", key[0])), "{text}");
    assert!(!text.contains(&STANDARD.encode(key)), "{text}");
}

#[test]
fn debug_never_prints_keys_or_plaintext() {
    let ring = rotated();
    let key = format!("{:?}", ring.current());
    assert!(key.contains("new"), "{key}");
    assert_no_key(&key, &NEW);
    let ring_text = format!("{ring:?} {ring:#?}");
    assert!(ring_text.contains("old"), "{ring_text}");
    assert_no_key(&ring_text, &NEW);
    assert_no_key(&ring_text, &OLD);

    let opened = ring
        .open(&ring.seal(SECRET, &ctx(), NONCE_A).unwrap(), &ctx())
        .unwrap();
    let opened_text = format!("{opened:?} {opened:#?}");
    assert!(opened_text.contains("redacted"), "{opened_text}");
    assert!(!opened_text.contains("secret"), "{opened_text}");
    assert!(
        !opened_text.contains(&format!("{}", SECRET[0])),
        "{opened_text}"
    );
}

#[test]
fn error_messages_name_no_key_material() {
    let key = STANDARD.encode(NEW);
    let errors = [
        KeyRing::parse(&format!("{key}:{key}")).unwrap_err(),
        KeyRing::parse(&format!("k1:{key}x")).unwrap_err(),
        KeyRing::parse(&format!("k1:{}", &key[..20])).unwrap_err(),
    ];
    for error in errors {
        let text = error.to_string();
        assert!(!text.contains(&key[..8]), "{text}");
    }
}
