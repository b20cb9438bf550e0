use super::*;
use crate::core::ingress::ConversationType;
use serde_json::{json, Map};

fn routing() -> Routing {
    Routing {
        org_id: "org_1".into(),
        app_profile_id: "app_1".into(),
        installation_id: "ins_1".into(),
        binding_id: "bnd_1".into(),
        agent_id: "agent_support".into(),
    }
}

fn event(thread: Option<&str>) -> Event {
    Event {
        provider_event_id: "Ev0PV52K25".into(),
        semantic_key: Some("T1:C1:1700000000.000100".into()),
        app_id: Some("A1".into()),
        tenant_keys: vec!["T1".into()],
        team_id: Some("T1".into()),
        kind: ingress::Kind::Message,
        occurred_at: Some(1_700_000_000),
        sender: Some(Sender {
            id: "U1".into(),
            display_name: None,
            is_bot: false,
        }),
        conversation: Some(Conversation {
            id: "C1".into(),
            kind: ConversationType::Channel,
            thread_id: thread.map(str::to_owned),
        }),
        text: Some("hello".into()),
        message_id: Some("1700000000.000100".into()),
        reply_context: Map::new(),
        raw: json!({"event": {"text": "hello"}}),
    }
}

fn validator() -> jsonschema::Validator {
    let schema: Value =
        serde_json::from_str(include_str!("../../schema/inbound-envelope.v2.json")).unwrap();
    jsonschema::validator_for(&schema).expect("the schema compiles")
}

fn assert_valid(json: &str) {
    let instance: Value = serde_json::from_str(json).unwrap();
    let errors: Vec<String> = validator()
        .iter_errors(&instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:?}\n{json}");
}

#[test]
fn a_built_envelope_matches_the_schema() {
    let envelope = build(Provider::Slack, &routing(), &event(None), 1_700_000_005);
    assert_valid(&envelope.to_queue_json().unwrap());
    assert_eq!(envelope.route.channel, "slack");
    assert_eq!(envelope.route.peer.as_deref(), Some("U1"));
    assert_eq!(envelope.kind, Kind::Event(ingress::Kind::Message));
}

#[test]
fn an_envelope_without_sender_or_conversation_matches_the_schema() {
    let mut bare = event(None);
    bare.sender = None;
    bare.conversation = None;
    bare.text = None;
    bare.occurred_at = None;
    let envelope = build(Provider::Standard, &routing(), &bare, 1);
    assert_valid(&envelope.to_queue_json().unwrap());
    assert_eq!(
        envelope.session_key,
        "standard:ins_1:agent_support:event:Ev0PV52K25"
    );
}

#[test]
fn the_id_is_deterministic_per_provider_installation_and_event() {
    let a = envelope_id(Provider::Slack, "ins_1", "Ev1");
    assert_eq!(a, envelope_id(Provider::Slack, "ins_1", "Ev1"));
    assert!(a.starts_with("env_") && a.len() == 36);
    assert_ne!(a, envelope_id(Provider::Slack, "ins_2", "Ev1"));
    assert_ne!(a, envelope_id(Provider::Discord, "ins_1", "Ev1"));
    assert_ne!(a, envelope_id(Provider::Slack, "ins_1", "Ev2"));
    // Length-prefixing: moving a boundary changes the id.
    assert_ne!(
        envelope_id(Provider::Slack, "ins_1", "2"),
        envelope_id(Provider::Slack, "ins_12", "")
    );
}

#[test]
fn sessions_are_per_conversation_and_per_thread() {
    let plain = session_key(Provider::Slack, &routing(), &event(None));
    let thread = session_key(
        Provider::Slack,
        &routing(),
        &event(Some("1700000000.000100")),
    );
    assert_eq!(plain, "slack:ins_1:agent_support:C1");
    assert_eq!(thread, "slack:ins_1:agent_support:C1:1700000000.000100");
    let mut other_agent = routing();
    other_agent.agent_id = "agent_sales".into();
    assert_ne!(
        session_key(Provider::Slack, &other_agent, &event(None)),
        plain
    );
}

#[test]
fn a_dm_without_conversation_keys_the_session_by_peer() {
    let mut dm = event(None);
    dm.conversation = None;
    assert_eq!(
        session_key(Provider::Whatsapp, &routing(), &dm),
        "whatsapp:ins_1:agent_support:peer:U1"
    );
}

#[test]
fn an_oversized_payload_is_left_out_and_flagged() {
    let mut big = event(None);
    big.raw = json!({"blob": "x".repeat(MAX_QUEUE_BYTES)});
    let json = build(Provider::Slack, &routing(), &big, 1)
        .to_queue_json()
        .unwrap();
    assert!(json.len() <= MAX_QUEUE_BYTES);
    assert_valid(&json);
    let parsed: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed["raw"], Value::Null);
    assert_eq!(parsed["raw_omitted"], true);
    let small = build(Provider::Slack, &routing(), &event(None), 1)
        .to_queue_json()
        .unwrap();
    let parsed: Value = serde_json::from_str(&small).unwrap();
    assert_eq!(parsed["raw_omitted"], false);
    assert_eq!(parsed["raw"]["event"]["text"], "hello");
}

#[test]
fn oversized_text_is_cut_at_a_character_boundary_and_flagged() {
    // Multi-byte characters and characters JSON escapes, so neither bytes nor escapes line up.
    for unit in ["é", "\"", "\u{1F600}", "\u{0001}"] {
        let mut big = event(None);
        big.text = Some(unit.repeat(MAX_QUEUE_BYTES));
        big.raw = json!({"text": big.text});
        let json = build(Provider::Standard, &routing(), &big, 1)
            .to_queue_json()
            .unwrap();
        assert!(
            json.len() <= MAX_QUEUE_BYTES,
            "{unit:?}: {} bytes",
            json.len()
        );
        assert_valid(&json);
        let parsed: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed["raw_omitted"], true);
        assert_eq!(parsed["text_truncated"], true);
        let text = parsed["text"].as_str().unwrap();
        assert!(big.text.as_deref().unwrap().starts_with(text));
        assert!(
            text.len() > MAX_QUEUE_BYTES / 8,
            "{unit:?}: kept {} bytes",
            text.len()
        );
    }
}

#[test]
fn text_is_kept_whole_when_dropping_raw_is_enough() {
    let mut big = event(None);
    big.raw = json!({"blob": "x".repeat(MAX_QUEUE_BYTES)});
    let parsed: Value = serde_json::from_str(
        &build(Provider::Slack, &routing(), &big, 1)
            .to_queue_json()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(parsed["text_truncated"], false);
    assert_eq!(parsed["text"], "hello");
}

#[test]
fn install_envelopes_carry_the_outcome_but_not_the_token() {
    use crate::core::install_token::Refusal;
    let mut claim = event(None);
    claim.text = Some("install:SECRET-TOKEN".into());
    claim.raw = json!({"text": "install:SECRET-TOKEN"});
    let claimed = build_install(
        Provider::Telegram,
        &routing(),
        &claim,
        1,
        Install::claimed("ist_1", "user-1"),
    );
    let rejected = build_install(
        Provider::Telegram,
        &routing(),
        &claim,
        1,
        Install::rejected(None, Refusal::Used),
    );
    for (envelope, kind) in [
        (&claimed, "install_claimed"),
        (&rejected, "install_rejected"),
    ] {
        let json = envelope.to_queue_json().unwrap();
        assert_valid(&json);
        assert!(!json.contains("SECRET-TOKEN"), "{json}");
        let parsed: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed["kind"], kind);
        assert_eq!(parsed["text"], Value::Null);
        assert_eq!(
            parsed["id"],
            build(Provider::Telegram, &routing(), &claim, 1).id
        );
    }
    let claimed: Value = serde_json::from_str(&claimed.to_queue_json().unwrap()).unwrap();
    assert_eq!(
        claimed["install"],
        json!({"grant_id": "ist_1", "subject": "user-1", "reason": null})
    );
    let rejected: Value = serde_json::from_str(&rejected.to_queue_json().unwrap()).unwrap();
    assert_eq!(
        rejected["install"],
        json!({"grant_id": null, "subject": null, "reason": "used"})
    );
}

#[test]
fn the_schema_refuses_an_install_kind_without_its_outcome() {
    let envelope = build(Provider::Telegram, &routing(), &event(None), 1);
    let mut json: Value = serde_json::from_str(&envelope.to_queue_json().unwrap()).unwrap();
    json["kind"] = json!("install_claimed");
    assert!(!validator().is_valid(&json));
    json["kind"] = json!("message");
    json["install"] = json!({"grant_id": null, "subject": null, "reason": "used"});
    assert!(!validator().is_valid(&json));
}

#[test]
fn an_envelope_with_its_sealed_reply_capability_matches_the_schema() {
    use crate::core::reply;
    use crate::core::seal::KeyRing;
    use crate::core::webhook::Delivery;
    let ring = KeyRing::parse("k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap();
    let mut event = event(Some("1700000000.000100"));
    event
        .reply_context
        .insert("response_url".into(), json!("https://hooks.slack.com/x"));
    let envelope = build(Provider::Slack, &routing(), &event, 1_700_000_005);
    let mut delivery = Delivery::of(envelope, &routing(), &event, 1_700_000_005);
    delivery.seal_reply(&ring, [3; 12]);
    let json = delivery.envelope.to_queue_json().unwrap();
    assert_valid(&json);
    assert!(!json.contains("hooks.slack.com"), "the handle is sealed");
    let reply = delivery.envelope.reply.as_ref().unwrap();
    let opened = reply::open(&ring, &reply.capability, 1_700_000_005).unwrap();
    assert_eq!(opened.agent_id, "agent_support");
    assert_eq!(opened.thread_id.as_deref(), Some("1700000000.000100"));
    assert_eq!(opened.handles["response_url"], "https://hooks.slack.com/x");
    assert_eq!(reply.expires_at, opened.expires_at);
}

#[test]
fn the_queue_message_carries_the_envelope_beside_its_dedupe_keys() {
    use crate::core::queue_message::{
        again_message, envelope_message, read, Again, Dedupe, Incoming,
    };
    let envelope = build(Provider::Slack, &routing(), &event(None), 1_700_000_005);
    let dedupe = Dedupe {
        owner: "qm_0123456789abcdef0123456789abcdef".into(),
        keys: dedupe_keys(&envelope, Some("T1:C1:1.0")),
        window_seconds: 93600,
    };
    let text = envelope_message(&envelope, &dedupe, 1_700_000_005_123).unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    let Incoming::Envelope(queued) = read(&body) else {
        panic!("an envelope: {body}")
    };
    assert_valid(&queued.envelope.to_string());
    assert_eq!(queued.envelope["id"], envelope.id.as_str());
    assert_eq!(queued.dedupe, Some(dedupe));
    assert_eq!(queued.accepted_ms, Some(1_700_000_005_123));
    let errors = queue_message_errors(&body);
    assert!(errors.is_empty(), "{errors:?}\n{body}");
    let again: Value = serde_json::from_str(&again_message(
        &envelope.to_queue_json().unwrap(),
        Again::Redrive,
    ))
    .unwrap();
    let errors = queue_message_errors(&again);
    assert!(errors.is_empty(), "{errors:?}\n{again}");
    let probe = json!({"health_probe": 1_700_000_000_000_u64});
    assert!(queue_message_errors(&probe).is_empty());
    let bare = serde_json::from_str(&envelope.to_queue_json().unwrap()).unwrap();
    assert!(
        !queue_message_errors(&bare).is_empty(),
        "keys travel with the envelope"
    );
}

/// What `schema/agent-inbound-message.json` finds wrong with `message`, the envelope schema
/// put where the message schema refers to it.
fn queue_message_errors(message: &Value) -> Vec<String> {
    let mut schema: Value =
        serde_json::from_str(include_str!("../../schema/agent-inbound-message.json")).unwrap();
    let mut envelope: Value =
        serde_json::from_str(include_str!("../../schema/inbound-envelope.v2.json")).unwrap();
    envelope.as_object_mut().unwrap().remove("$schema");
    envelope.as_object_mut().unwrap().remove("$id");
    for shape in ["/oneOf/0", "/oneOf/1"] {
        let pointer = format!("{shape}/properties/envelope");
        let reference = schema.pointer_mut(&pointer).unwrap();
        assert_eq!(reference["$ref"], "inbound-envelope.v2.json");
        *reference = envelope.clone();
    }
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    validator
        .iter_errors(message)
        .map(|e| e.to_string())
        .collect()
}
