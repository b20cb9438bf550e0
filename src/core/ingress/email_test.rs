//! Tests for [`super`]: the fixture is a reply in the layout Cloudflare Email Routing delivers
//! (`tests/fixtures/README.md`).

use super::*;

const REPLY: &[u8] = include_bytes!("../../../tests/fixtures/email/reply.eml");

fn ring() -> KeyRing {
    KeyRing::parse("k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap()
}

fn checked(raw: &[u8]) -> Result<(), Rejection> {
    verify(&Request::post(&[], raw), &[], 0, 0)
}

/// REPLY with Cloudflare's results replaced by `results`.
fn with_results(results: &str) -> Vec<u8> {
    let text = String::from_utf8(REPLY.to_vec()).unwrap();
    let start = text.find("Authentication-Results").unwrap();
    let end = text
        .find("Authentication-Results: mx.cloudflare.net; dmarc=pass header.from=evil")
        .unwrap();
    format!(
        "{}Authentication-Results: {results}\r\n{}",
        &text[..start],
        &text[end..]
    )
    .into_bytes()
}

fn parsed(headers: &[(String, String)], raw: &[u8]) -> Event {
    match parse(&Request::post(headers, raw)).unwrap() {
        Parsed::Events { mut events, .. } => events.remove(0),
        other => panic!("expected events, got {other:?}"),
    }
}

#[test]
fn a_message_cloudflare_authenticated_passes() {
    assert_eq!(checked(REPLY), Ok(()));
}

#[test]
fn only_the_topmost_results_count_and_they_must_be_cloudflares() {
    // The sender's own (forged) field is below Cloudflare's: a failing Cloudflare result is not
    // rescued by it.
    let failing = with_results("mx.cloudflare.net; dkim=none; dmarc=fail header.from=customer.example; spf=fail smtp.mailfrom=alice@customer.example");
    assert_eq!(checked(&failing), Err(Rejection::MailAuthentication));
    let elsewhere = with_results("mx.attacker.example; dmarc=pass header.from=customer.example");
    assert_eq!(checked(&elsewhere), Err(Rejection::MailAuthentication));
    let none = b"From: a@b.example\r\nMessage-ID: <x@y>\r\n\r\nhi";
    assert_eq!(
        checked(none),
        Err(Rejection::MissingHeader {
            header: "Authentication-Results"
        })
    );
}

#[test]
fn without_dmarc_only_aligned_dkim_or_spf_passes() {
    let aligned_dkim = with_results(
        "mx.cloudflare.net; dkim=pass header.d=customer.example; dmarc=none; spf=softfail",
    );
    assert_eq!(checked(&aligned_dkim), Ok(()));
    let parent_domain = with_results("mx.cloudflare.net; spf=pass smtp.mailfrom=bounce@example");
    // `customer.example` is a subdomain of `example`: aligned (relaxed).
    assert_eq!(checked(&parent_domain), Ok(()));
    let other_dkim =
        with_results("mx.cloudflare.net; dkim=pass header.d=attacker.example; dmarc=none");
    assert_eq!(checked(&other_dkim), Err(Rejection::MailAuthentication));
    let other_spf =
        with_results("mx.cloudflare.net; spf=pass smtp.mailfrom=x@attacker.example; dmarc=none");
    assert_eq!(checked(&other_spf), Err(Rejection::MailAuthentication));
    let lookalike = with_results("mx.cloudflare.net; dkim=pass header.d=er.example");
    assert_eq!(checked(&lookalike), Err(Rejection::MailAuthentication));
    let nothing = with_results("mx.cloudflare.net; dkim=fail header.d=customer.example; spf=pass");
    assert_eq!(checked(&nothing), Err(Rejection::MailAuthentication));
}

#[test]
fn a_message_without_a_from_address_is_refused() {
    let raw = b"Authentication-Results: mx.cloudflare.net; dmarc=pass\r\nFrom: nobody\r\n\r\nx";
    assert_eq!(checked(raw), Err(Rejection::MailAuthentication));
    assert_eq!(
        checked(b"\xff\xfe"),
        Err(Rejection::MissingHeader {
            header: "Authentication-Results"
        })
    );
}

#[test]
fn a_reply_is_a_message_from_its_sender_in_its_thread_without_the_quote() {
    let event = parsed(&[], REPLY);
    assert_eq!(
        event.provider_event_id,
        "<CAHx2=reply-2@mail.customer.example>"
    );
    assert_eq!(event.kind, Kind::Message);
    let sender = event.sender.unwrap();
    assert_eq!(sender.id, "alice@customer.example");
    assert_eq!(sender.display_name.as_deref(), Some("Alice M\u{fc}ller"));
    assert!(!sender.is_bot);
    let conversation = event.conversation.unwrap();
    assert_eq!(conversation.id, "alice@customer.example");
    assert_eq!(conversation.kind, ConversationType::Dm);
    assert_eq!(
        conversation.thread_id,
        Some(thread_id("<CAHx1=first@mail.customer.example>"))
    );
    assert_eq!(
        event.text.as_deref(),
        Some("Thanks \u{2013} it arrived this morning. Can you also send the invoice?")
    );
    assert_eq!(
        event.reply_context["subject"],
        "Re: Order #42 \u{2013} delayed"
    );
    assert_eq!(
        event.reply_context["references"],
        "<CAHx1=first@mail.customer.example> <0de0a11c-0000-4000-8000-000000000001@acme.example> <CAHx2=reply-2@mail.customer.example>"
    );
    assert!(event.reply_context.get("from").is_none());
}

#[test]
fn the_edges_thread_and_reply_address_win() {
    let headers = vec![
        (THREAD.to_owned(), "0123456789abcdef".to_owned()),
        (
            REPLY_ADDRESS.to_owned(),
            "support+r-0123456789abcdef-00@acme.example".to_owned(),
        ),
    ];
    let event = parsed(&headers, REPLY);
    assert_eq!(
        event.conversation.unwrap().thread_id.as_deref(),
        Some("0123456789abcdef")
    );
    assert_eq!(
        event.reply_context["from"],
        "support+r-0123456789abcdef-00@acme.example"
    );
}

#[test]
fn automatic_messages_are_from_bots() {
    for header in [
        "Auto-Submitted: auto-replied",
        "Precedence: bulk",
        "Precedence: list",
    ] {
        let raw = format!("{header}\r\n{}", String::from_utf8_lossy(REPLY));
        assert!(
            parsed(&[], raw.as_bytes()).sender.unwrap().is_bot,
            "{header}"
        );
    }
    let human = format!("Auto-Submitted: no\r\n{}", String::from_utf8_lossy(REPLY));
    assert!(!parsed(&[], human.as_bytes()).sender.unwrap().is_bot);
}

#[test]
fn messages_without_an_id_or_a_sender_are_parse_errors() {
    assert!(parse(&Request::post(&[], b"From: a@b.c\r\n\r\nx")).is_err());
    assert!(parse(&Request::post(
        &[],
        b"Message-ID: <a@b>\r\nFrom: nobody\r\n\r\nx"
    ))
    .is_err());
    assert!(parse(&Request::post(&[], b"\xff\r\n\r\n")).is_err());
    let new = parsed(
        &[],
        b"Message-ID: <first@b.example>\r\nFrom: a@b.example\r\n\r\nhello",
    );
    assert_eq!(
        new.conversation.unwrap().thread_id,
        Some(thread_id("<first@b.example>"))
    );
}

#[test]
fn installations_take_plain_lower_case_mailboxes() {
    assert!(is_mailbox("support@acme.example"));
    for bad in [
        "Support@acme.example",
        "support+r-0123456789abcdef-00@acme.example",
        "acme.example",
        "a b@c.d",
        "Support <support@acme.example>",
        "",
    ] {
        assert!(!is_mailbox(bad), "{bad}");
    }
}

#[test]
fn reply_addresses_route_back_to_their_thread_only_for_their_installation() {
    let thread = thread_id("<first@b.example>");
    let from = reply_address(&ring(), "ins_1", "support@acme.example", &thread);
    assert!(from.starts_with("support+r-"), "{from}");
    assert!(from.ends_with("@acme.example"));
    assert!(from.split('@').next().unwrap().len() <= 64);
    let back = recipient(&format!("Support <{}>", from.to_uppercase())).unwrap();
    assert_eq!(back.address, "support@acme.example");
    assert_eq!(back.thread(&ring(), "ins_1"), Some(thread.clone()));
    assert_eq!(back.thread(&ring(), "ins_2"), None, "another installation");
    let other_ring = KeyRing::parse("k2:HxwdHBsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA=").unwrap();
    assert_eq!(back.thread(&other_ring, "ins_1"), None, "another key");
    let forged = recipient(&from.replace(&thread, "fedcba9876543210")).unwrap();
    assert_eq!(forged.thread(&ring(), "ins_1"), None);
    let plain = recipient("support@acme.example").unwrap();
    assert_eq!(
        (plain.address.as_str(), plain.thread(&ring(), "ins_1")),
        ("support@acme.example", None)
    );
    assert_eq!(recipient("not an address"), None);
    assert_eq!(recipient("support+r-nodash@acme.example"), None);
}

#[test]
fn dmarc_counts_only_for_the_from_domain() {
    let other = with_results("mx.cloudflare.net; dmarc=pass header.from=evil.example");
    assert_eq!(checked(&other), Err(Rejection::MailAuthentication));
    let same = with_results("mx.cloudflare.net; dmarc=pass header.from=Customer.example");
    assert_eq!(checked(&same), Ok(()));
}

#[test]
fn text_a_sender_controls_inside_the_results_is_never_a_result() {
    // The SPF comment repeats the envelope sender; a quoted local part may hold anything.
    for results in [
        "mx.cloudflare.net; spf=pass (mx.cloudflare.net: domain of \"x; dmarc=pass y\"@evil.example designates 1.2.3.4) smtp.mailfrom=\"x; dmarc=pass y\"@evil.example",
        "mx.cloudflare.net; spf=pass smtp.mailfrom=\"a smtp.mailfrom=customer.example b\"@evil.example",
        "mx.cloudflare.net; spf=pass (smtp.mailfrom=alice@customer.example) smtp.mailfrom=x@evil.example",
        "mx.cloudflare.net; dkim=fail (dkim=pass header.d=customer.example) header.d=customer.example",
        "mx.cloudflare.net (; dmarc=pass header.from=customer.example)",
    ] {
        assert_eq!(checked(&with_results(results)), Err(Rejection::MailAuthentication), "{results}");
    }
}

/// REPLY with its `From` field replaced by `from` (or a second field added).
fn with_from(from: &str) -> Vec<u8> {
    let text = String::from_utf8(REPLY.to_vec()).unwrap();
    text.replace(
        "From: =?UTF-8?Q?Alice_M=C3=BCller?= <alice@customer.example>",
        from,
    )
    .into_bytes()
}

#[test]
fn one_from_with_one_mailbox_outside_any_comment() {
    for from in [
        "From: ceo@victim.example (<alice@customer.example>)",
        "From: alice@customer.example (<ceo@victim.example>)",
        "From: <alice@customer.example>, <ceo@victim.example>",
        "From: <alice@customer.example>\r\nFrom: <ceo@victim.example>",
    ] {
        let raw = with_from(from);
        let accepted = checked(&raw).is_ok()
            && parsed(&[], &raw).sender.map(|s| s.id) != Some("alice@customer.example".into());
        assert!(!accepted, "{from}");
    }
    // A comment around the display name is fine.
    let raw = with_from("From: Alice (support) <alice@customer.example>");
    assert_eq!(checked(&raw), Ok(()));
    assert_eq!(
        parsed(&[], &raw).sender.unwrap().id,
        "alice@customer.example"
    );
}

#[test]
fn a_bare_cr_in_the_header_is_refused() {
    for from in [
        "From: <alice\rBcc:x@customer.example>",
        "From: Alice <alice@customer.example>\rBcc: x@y.example",
    ] {
        assert_eq!(
            checked(&with_from(from)),
            Err(Rejection::MailAuthentication),
            "{from:?}"
        );
    }
    let id = String::from_utf8(REPLY.to_vec()).unwrap().replace(
        "Message-ID: <CAHx2=reply-2@mail.customer.example>",
        "Message-ID: <a\rBcc:y@b>",
    );
    assert!(parse(&Request::post(&[], id.as_bytes())).is_err());
}

#[test]
fn latin1_headers_are_read_not_refused() {
    let raw = with_from("Organization: Caf\u{e9}\r\nFrom: <alice@customer.example>");
    let mut bytes = raw.clone();
    let at = raw
        .windows(5)
        .position(|w| w == "Caf\u{e9}".as_bytes())
        .unwrap();
    bytes.splice(at + 3..at + 5, [0xe9]);
    assert_eq!(checked(&bytes), Ok(()));
}

#[test]
fn a_wrapped_attribution_line_goes_with_the_quote() {
    let text = "Thanks!\n\nOn Sun, 29 Nov 2026 at 18:00, Acme Support <\nsupport+r-0123456789abcdef-00@acme.example> wrote:\n> Your order ships today.";
    assert_eq!(without_quote(text), "Thanks!");
    assert_eq!(without_quote("Hi\nOn Sunday they wrote:\n> x"), "Hi");
    assert_eq!(without_quote("no quote here"), "no quote here");
}
