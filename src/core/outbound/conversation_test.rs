use super::*;
use crate::core::tenancy::Provider;

const T0: u64 = 1_800_000_000_000;
const TELEGRAM: Behaviour = Behaviour {
    edits: true,
    typing: true,
    marks_read: false,
};
const WHATSAPP: Behaviour = Behaviour {
    edits: false,
    typing: true,
    marks_read: true,
};
const INTERVAL: u64 = 1000;

/// Splits a text into parts of at most 10 characters (the way a provider's limit would).
fn render(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(10)
        .map(|chunk| chunk.iter().collect())
        .filter(|part: &String| !part.trim().is_empty())
        .collect()
}

fn target() -> Target {
    Target {
        provider: Provider::Telegram,
        org_id: "org_1".into(),
        installation_id: "ins_1".into(),
        binding_id: "bnd_1".into(),
        agent_id: "agent_a".into(),
        conversation_id: "42".into(),
        thread_id: None,
        message_id: None,
        reply_to: None,
        thread: None,
    }
}

fn new(id: &str, text: &str, is_final: bool) -> NewQueued {
    NewQueued {
        id: id.into(),
        target: target(),
        text: text.into(),
        is_final,
    }
}

/// A provider stand-in: answers every call with `answer` and numbers new messages.
struct Run {
    conversation: Conversation,
    now: u64,
    calls: Vec<Call>,
    sent: u32,
}

impl Run {
    fn new() -> Self {
        Run {
            conversation: Conversation::default(),
            now: T0,
            calls: Vec::new(),
            sent: 0,
        }
    }

    /// Makes the next call if one is due now; returns whether one was made.
    fn step(&mut self, answer: impl Fn(&Op) -> Outcome) -> bool {
        match self.conversation.next(self.now, &render, TELEGRAM) {
            Next::Call(call) => {
                let call = *call;
                self.conversation.begin(call.clone());
                let mut outcome = answer(&call.op);
                if let (Op::Send { .. }, Outcome::Done { provider_id: None }) = (&call.op, &outcome)
                {
                    self.sent += 1;
                    outcome = Outcome::Done {
                        provider_id: Some(self.sent.to_string()),
                    };
                }
                self.calls.push(call);
                self.conversation.finish(outcome, self.now, INTERVAL);
                true
            }
            Next::At(_) | Next::Idle => false,
        }
    }

    /// Advances time in 100 ms ticks for `ms`, making every call that falls due.
    fn run_for(&mut self, ms: u64, answer: impl Fn(&Op) -> Outcome + Copy) {
        let end = self.now + ms;
        while self.now <= end {
            while self.step(answer) {}
            self.now += 100;
        }
    }

    fn ops(&self) -> Vec<(String, Op)> {
        self.calls
            .iter()
            .map(|call| (call.message_id.clone(), call.op.clone()))
            .collect()
    }
}

fn ok(_: &Op) -> Outcome {
    Outcome::Done { provider_id: None }
}

fn send(part: usize, text: &str) -> Op {
    Op::Send {
        part,
        text: text.into(),
    }
}

#[test]
fn messages_are_sent_in_the_order_they_were_accepted_one_interval_apart() {
    let mut run = Run::new();
    for i in 0..5 {
        run.conversation
            .enqueue(new(&format!("m{i}"), &format!("hello {i}"), true), T0)
            .unwrap();
    }
    run.run_for(10_000, ok);
    let sent: Vec<(String, Op)> = (0..5)
        .map(|i| (format!("m{i}"), send(0, &format!("hello {i}"))))
        .collect();
    assert_eq!(run.ops(), sent);
    assert!(run
        .conversation
        .messages
        .iter()
        .all(|m| m.status == Status::Sent && m.parts.len() == 1));
}

#[test]
fn a_call_waits_for_the_interval() {
    let mut run = Run::new();
    run.conversation.enqueue(new("a", "one", true), T0).unwrap();
    run.conversation.enqueue(new("b", "two", true), T0).unwrap();
    assert!(run.step(ok));
    assert_eq!(
        run.conversation.next(T0 + 10, &render, TELEGRAM),
        Next::At(T0 + INTERVAL)
    );
    assert!(!run.step(ok));
    run.now = T0 + INTERVAL;
    assert!(run.step(ok));
}

#[test]
fn fifty_edits_in_two_seconds_reach_the_provider_as_a_few_and_end_on_the_final_text() {
    let mut run = Run::new();
    run.conversation.enqueue(new("s", "", false), T0).unwrap();
    let mut text = String::new();
    for i in 0..50 {
        text.push(char::from(b'a' + (i % 26) as u8));
        let is_final = i == 49;
        run.conversation
            .edit("s", text.chars().take(9).collect(), is_final, run.now)
            .unwrap();
        while run.step(ok) {}
        run.now += 40;
    }
    run.run_for(5_000, ok);
    let provider_calls: Vec<&Op> = run
        .calls
        .iter()
        .map(|c| &c.op)
        .filter(|op| **op != Op::Typing)
        .collect();
    assert!(
        provider_calls.len() <= 4,
        "{} calls: {provider_calls:?}",
        provider_calls.len()
    );
    let message = run.conversation.message("s").unwrap();
    assert_eq!(message.parts[0].text, "abcdefghi");
    assert!(message.is_final);
}

#[test]
fn an_open_stream_shows_typing_until_it_has_text_and_holds_later_messages() {
    let mut run = Run::new();
    run.conversation.enqueue(new("s", "", false), T0).unwrap();
    run.conversation
        .enqueue(new("after", "later", true), T0)
        .unwrap();
    run.run_for(9_000, ok);
    assert!(run.ops().iter().all(|(_, op)| *op == Op::Typing));
    assert_eq!(run.ops().len(), 3, "typing every 4 s: at 0, 4 and 8 s");
    run.conversation
        .edit("s", "part one is long".into(), false, run.now)
        .unwrap();
    run.run_for(5_000, ok);
    assert_eq!(
        run.conversation.message("after").unwrap().status,
        Status::Queued,
        "held back by the open stream"
    );
    run.conversation
        .edit("s", "part one is long and done".into(), true, run.now)
        .unwrap();
    run.run_for(10_000, ok);
    let tail: Vec<(String, Op)> = run.ops().into_iter().skip(3).collect();
    assert_eq!(
        tail,
        vec![
            ("s".into(), send(0, "part one i")),
            ("s".into(), send(1, "s long")),
            (
                "s".into(),
                Op::Edit {
                    part: 1,
                    provider_id: "2".into(),
                    text: "s long and".into()
                }
            ),
            ("s".into(), send(2, " done")),
            ("after".into(), send(0, "later")),
        ]
    );
}

#[test]
fn a_stream_left_open_is_taken_as_final_after_a_while() {
    let mut conversation = Conversation::default();
    conversation.enqueue(new("s", "so far", false), T0).unwrap();
    conversation.tidy(T0 + STREAM_IDLE_MS - 1);
    assert!(!conversation.message("s").unwrap().is_final);
    conversation.tidy(T0 + STREAM_IDLE_MS);
    assert!(conversation.message("s").unwrap().is_final);
    let mut empty = Conversation::default();
    empty.enqueue(new("e", "", false), T0).unwrap();
    empty.tidy(T0 + STREAM_IDLE_MS);
    assert_eq!(empty.message("e").unwrap().status, Status::Failed);
}

#[test]
fn a_rate_limit_waits_its_retry_after_without_counting_as_a_failure() {
    let mut run = Run::new();
    run.conversation.enqueue(new("a", "hi", true), T0).unwrap();
    assert!(run.step(|_| Outcome::RateLimited { after_ms: 2000 }));
    assert_eq!(
        run.conversation.next(T0 + 1500, &render, TELEGRAM),
        Next::At(T0 + 2000)
    );
    run.now = T0 + 2000;
    assert!(run.step(ok));
    let message = run.conversation.message("a").unwrap();
    assert_eq!((message.status, message.failures), (Status::Sent, 0));
}

#[test]
fn a_provider_error_is_retried_with_backoff_then_dead_lettered() {
    let mut run = Run::new();
    run.conversation.enqueue(new("a", "hi", true), T0).unwrap();
    run.conversation
        .enqueue(new("b", "next", true), T0)
        .unwrap();
    let failing = |op: &Op| match op {
        Op::Send { text, .. } if text == "hi" => Outcome::Retry {
            reason: "Telegram answered HTTP 502".into(),
        },
        _ => Outcome::Done { provider_id: None },
    };
    run.run_for(200_000, failing);
    let a = run.conversation.message("a").unwrap();
    assert_eq!(a.status, Status::DeadLettered);
    assert_eq!(a.attempts, MAX_ATTEMPTS);
    assert_eq!(a.failure.as_ref().unwrap().code, "provider_unavailable");
    assert_eq!(
        run.conversation.message("b").unwrap().status,
        Status::Sent,
        "the next message goes once the first has ended"
    );
    let waits: Vec<u64> = (1..=5).map(backoff_ms).collect();
    assert_eq!(waits, vec![1000, 2000, 4000, 8000, 16000]);
    assert_eq!(backoff_ms(30), 60_000);
}

#[test]
fn a_retry_that_succeeds_sends_once() {
    let mut run = Run::new();
    run.conversation.enqueue(new("a", "hi", true), T0).unwrap();
    assert!(run.step(|_| Outcome::Retry {
        reason: "HTTP 500".into()
    }));
    let waiting = run.conversation.message("a").unwrap();
    assert_eq!(waiting.status, Status::Queued);
    assert_eq!(
        waiting.failure,
        Some(Failure {
            code: "retrying".into(),
            reason: "HTTP 500".into()
        }),
        "why it has not arrived yet"
    );
    run.run_for(5_000, ok);
    assert_eq!(run.ops().len(), 2);
    let message = run.conversation.message("a").unwrap();
    assert_eq!((message.status, message.attempts), (Status::Sent, 2));
    assert_eq!(message.failure, None);
}

#[test]
fn a_send_that_timed_out_is_unknown_and_never_sent_again() {
    let mut run = Run::new();
    run.conversation.enqueue(new("a", "hi", true), T0).unwrap();
    run.conversation
        .enqueue(new("b", "next", true), T0)
        .unwrap();
    assert!(run.step(|_| Outcome::TimedOut {
        reason: "no answer within 10 s".into()
    }));
    run.run_for(10_000, ok);
    assert_eq!(
        run.conversation.message("a").unwrap().status,
        Status::Unknown
    );
    let sends_of_a = run.calls.iter().filter(|c| c.message_id == "a").count();
    assert_eq!(sends_of_a, 1);
    assert_eq!(run.conversation.message("b").unwrap().status, Status::Sent);
}

#[test]
fn an_edit_that_timed_out_is_tried_again() {
    let mut run = Run::new();
    run.conversation.enqueue(new("a", "hi", true), T0).unwrap();
    run.run_for(1_000, ok);
    run.conversation
        .edit("a", "hello".into(), true, run.now)
        .unwrap();
    assert!(run.step(|_| Outcome::TimedOut {
        reason: "slow".into()
    }));
    run.run_for(5_000, ok);
    let message = run.conversation.message("a").unwrap();
    assert_eq!(
        (message.status, message.parts[0].text.as_str()),
        (Status::Sent, "hello")
    );
}

#[test]
fn a_call_cut_short_by_an_eviction_is_not_repeated_blindly() {
    let mut conversation = Conversation::default();
    conversation.enqueue(new("a", "hi", true), T0).unwrap();
    let Next::Call(call) = conversation.next(T0, &render, TELEGRAM) else {
        panic!("a call is due");
    };
    conversation.begin(*call);
    // The object is evicted here; a new instance loads what was stored.
    let stored = serde_json::to_string(&conversation).unwrap();
    let mut reloaded: Conversation = serde_json::from_str(&stored).unwrap();
    let changed = reloaded.recover(T0 + 5000);
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].status, Status::Unknown);
    assert_eq!(reloaded.next(T0 + 5000, &render, TELEGRAM), Next::Idle);
}

#[test]
fn a_refusal_fails_the_message_with_its_reason() {
    let mut run = Run::new();
    run.conversation.enqueue(new("a", "hi", true), T0).unwrap();
    let refused = Failure {
        code: "blocked".into(),
        reason: "Telegram refused: Forbidden: bot was blocked by the user".into(),
    };
    let answer = refused.clone();
    assert!(run.step(move |_| Outcome::Failed(answer.clone())));
    let message = run.conversation.message("a").unwrap();
    assert_eq!(message.status, Status::Failed);
    assert_eq!(message.failure, Some(refused));
    assert_eq!(
        run.conversation.edit("a", "x".into(), true, T0),
        Err(CommandError::Ended(Status::Failed))
    );
}

#[test]
fn deleting_a_sent_message_deletes_each_part_and_an_unsent_one_at_once() {
    let mut run = Run::new();
    run.conversation
        .enqueue(new("a", "0123456789abc", true), T0)
        .unwrap();
    run.run_for(3_000, ok);
    assert_eq!(run.conversation.message("a").unwrap().parts.len(), 2);
    run.conversation.delete("a", run.now).unwrap();
    run.run_for(3_000, ok);
    let deletes: Vec<Op> = run
        .calls
        .iter()
        .filter(|c| matches!(c.op, Op::Delete { .. }))
        .map(|c| c.op.clone())
        .collect();
    assert_eq!(
        deletes,
        vec![
            Op::Delete {
                part: 1,
                provider_id: "2".into()
            },
            Op::Delete {
                part: 0,
                provider_id: "1".into()
            }
        ]
    );
    assert_eq!(
        run.conversation.message("a").unwrap().status,
        Status::Deleted
    );
    let mut unsent = Conversation::default();
    unsent.enqueue(new("b", "hi", true), T0).unwrap();
    assert_eq!(unsent.delete("b", T0).unwrap().status, Status::Deleted);
    assert_eq!(unsent.next(T0, &render, TELEGRAM), Next::Idle);
}

#[test]
fn an_accepted_message_is_accepted_once() {
    let mut conversation = Conversation::default();
    conversation.enqueue(new("a", "hi", true), T0).unwrap();
    let again = conversation
        .enqueue(new("a", "other text", true), T0)
        .unwrap();
    assert_eq!(again.id, "a");
    assert_eq!(conversation.messages.len(), 1);
    assert_eq!(conversation.message("a").unwrap().text, "hi");
}

#[test]
fn a_full_conversation_refuses_more() {
    let mut conversation = Conversation::default();
    for i in 0..MAX_PENDING {
        conversation
            .enqueue(new(&format!("m{i}"), "x", true), T0)
            .unwrap();
    }
    assert_eq!(
        conversation.enqueue(new("one-more", "x", true), T0),
        Err(CommandError::Full)
    );
}

#[test]
fn revocation_drops_everything_not_yet_delivered() {
    let mut run = Run::new();
    run.conversation.enqueue(new("a", "hi", true), T0).unwrap();
    run.run_for(500, ok);
    run.conversation
        .enqueue(new("b", "queued", true), T0)
        .unwrap();
    run.conversation.enqueue(new("c", "", false), T0).unwrap();
    let dropped = run
        .conversation
        .drop_all("revoked", "the installation was revoked", run.now);
    let ids: Vec<&str> = dropped.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, vec!["b", "c"], "a delivered message stays delivered");
    assert!(dropped
        .iter()
        .all(|r| r.status == Status::Failed && r.failure.as_ref().unwrap().code == "revoked"));
    assert_eq!(
        run.conversation.next(run.now + 5000, &render, TELEGRAM),
        Next::Idle
    );
}

#[test]
fn ended_messages_are_forgotten_after_a_day() {
    let mut run = Run::new();
    run.conversation.enqueue(new("a", "hi", true), T0).unwrap();
    run.run_for(500, ok);
    run.conversation.tidy(T0 + KEEP_MS - 1000);
    assert!(run.conversation.message("a").is_some());
    run.conversation.tidy(T0 + KEEP_MS + 1000);
    assert!(run.conversation.message("a").is_none());
    assert_eq!(
        run.conversation.edit("a", "x".into(), true, T0),
        Err(CommandError::Gone)
    );
}

#[test]
fn command_errors_say_what_to_do() {
    assert!(CommandError::Full.to_string().contains("retry"));
    assert!(CommandError::Gone.to_string().contains("no longer"));
    assert!(CommandError::Ended(Status::Unknown)
        .to_string()
        .contains("unknown"));
}

#[test]
fn a_provider_that_cannot_edit_gets_a_stream_once_when_final() {
    let mut conversation = Conversation::default();
    conversation.enqueue(new("s", "so", false), T0).unwrap();
    conversation
        .enqueue(new("after", "next", true), T0)
        .unwrap();
    conversation.edit("s", "so far".into(), false, T0).unwrap();
    // Nothing but a typing indicator (which needs an answered message) while it streams.
    assert_eq!(
        conversation.next(T0, &render, WHATSAPP),
        Next::At(T0 + STREAM_IDLE_MS)
    );
    conversation
        .edit("s", "so far, done".into(), true, T0)
        .unwrap();
    let Next::Call(call) = conversation.next(T0, &render, WHATSAPP) else {
        panic!("the final text is due");
    };
    assert_eq!(call.op, send(0, "so far, do"));
}

#[test]
fn the_answered_message_is_marked_read_once_when_the_reply_is_sent() {
    let mut conversation = Conversation::default();
    let mut message = new("a", "hello there friend", true);
    message.target.message_id = Some("wamid.IN".into());
    conversation.enqueue(message, T0).unwrap();
    let mut ops = Vec::new();
    let mut now = T0;
    for _ in 0..10 {
        if let Next::Call(call) = conversation.next(now, &render, WHATSAPP) {
            ops.push(call.op.clone());
            conversation.begin(*call);
            conversation.finish(
                Outcome::Done {
                    provider_id: Some(format!("wamid.{}", ops.len())),
                },
                now,
                INTERVAL,
            );
        }
        now += INTERVAL;
    }
    assert_eq!(
        ops,
        vec![send(0, "hello ther"), send(1, "e friend"), Op::MarkRead]
    );
    assert!(conversation.message("a").unwrap().read);
    // A second reply to the same message does not mark it again.
    let mut again = new("b", "more", true);
    again.target.message_id = Some("wamid.IN".into());
    conversation.enqueue(again, now).unwrap();
    let mut more = Vec::new();
    for _ in 0..5 {
        if let Next::Call(call) = conversation.next(now, &render, WHATSAPP) {
            more.push(call.op.clone());
            conversation.begin(*call);
            conversation.finish(Outcome::Done { provider_id: None }, now, INTERVAL);
        }
        now += INTERVAL;
    }
    assert_eq!(more, vec![send(0, "more")]);
    // Without an answered message there is nothing to mark.
    let mut started = Conversation::default();
    started.enqueue(new("b", "hi", true), T0).unwrap();
    let Next::Call(call) = started.next(T0, &render, WHATSAPP) else {
        panic!("a send is due");
    };
    started.begin(*call);
    started.finish(Outcome::Done { provider_id: None }, T0, INTERVAL);
    assert_eq!(started.next(T0 + INTERVAL, &render, WHATSAPP), Next::Idle);
}

#[test]
fn a_failed_read_receipt_or_typing_indicator_is_not_retried_and_keeps_the_stream_clock() {
    let mut conversation = Conversation::default();
    let mut message = new("s", "", false);
    message.target.message_id = Some("wamid.IN".into());
    conversation.enqueue(message, T0).unwrap();
    let Next::Call(call) = conversation.next(T0, &render, WHATSAPP) else {
        panic!("typing is due");
    };
    assert_eq!(call.op, Op::Typing);
    conversation.begin(*call);
    let changed = conversation.finish(
        Outcome::Retry {
            reason: "HTTP 500".into(),
        },
        T0 + 5000,
        INTERVAL,
    );
    assert!(changed.is_empty());
    let message = conversation.message("s").unwrap();
    assert_eq!(
        (message.updated_at, message.failures, message.read),
        (T0, 0, false)
    );
}

#[test]
fn a_message_counts_as_sent_once_and_as_failed_when_it_ends_badly() {
    let receipt = |status, parts: usize| Receipt {
        id: "msg_1".into(),
        status,
        is_final: true,
        provider_ids: (0..parts).map(|i| i.to_string()).collect(),
        attempts: 1,
        failure: None,
    };
    let first = send(0, "hello");
    let second = send(1, "again");
    assert_eq!(
        metric_outcomes(Some(&first), &[receipt(Status::Sent, 1)]),
        ["sent"]
    );
    assert!(metric_outcomes(Some(&second), &[receipt(Status::Sent, 2)]).is_empty());
    let edit = Op::Edit {
        part: 0,
        provider_id: "0".into(),
        text: "edited".into(),
    };
    assert!(metric_outcomes(Some(&edit), &[receipt(Status::Sent, 1)]).is_empty());
    for ended in [Status::Failed, Status::Unknown, Status::DeadLettered] {
        assert_eq!(
            metric_outcomes(Some(&first), &[receipt(ended, 0)]),
            ["failed"]
        );
    }
    assert_eq!(
        metric_outcomes(
            None,
            &[receipt(Status::Failed, 0), receipt(Status::Queued, 0)]
        ),
        ["failed"]
    );
}

#[test]
fn the_attempt_log_names_the_calls_that_change_a_message_and_their_outcomes() {
    assert_eq!(send(0, "hi").logged_name(), Some("send"));
    let edit = Op::Edit {
        part: 0,
        provider_id: "1".into(),
        text: "x".into(),
    };
    assert_eq!(edit.logged_name(), Some("edit"));
    let delete = Op::Delete {
        part: 0,
        provider_id: "1".into(),
    };
    assert_eq!(delete.logged_name(), Some("delete"));
    assert_eq!(Op::Typing.logged_name(), None);
    assert_eq!(Op::MarkRead.logged_name(), None);
    let failure = Failure {
        code: "blocked".into(),
        reason: "the user blocked the bot".into(),
    };
    for (outcome, code) in [
        (Outcome::Done { provider_id: None }, "done"),
        (Outcome::RateLimited { after_ms: 1 }, "rate_limited"),
        (
            Outcome::Retry {
                reason: "500".into(),
            },
            "retry",
        ),
        (
            Outcome::TimedOut {
                reason: "10 s".into(),
            },
            "timed_out",
        ),
        (Outcome::Failed(failure), "blocked"),
    ] {
        assert_eq!(outcome.code(), code);
    }
}

#[test]
fn calls_are_read_in_the_stored_form_and_in_the_internally_tagged_one_before_it() {
    let stored_target = serde_json::to_value(target()).unwrap();
    for op in [
        send(1, "hi"),
        Op::Edit {
            part: 0,
            provider_id: "p".into(),
            text: "t".into(),
        },
        Op::Delete {
            part: 2,
            provider_id: "p".into(),
        },
        Op::Typing,
        Op::MarkRead,
    ] {
        let call = Call {
            message_id: "msg_1".into(),
            target: target(),
            op: op.clone(),
        };
        let stored = serde_json::to_value(&call).unwrap();
        assert_eq!(serde_json::from_value::<Call>(stored).unwrap(), call);
        // The form stored before: `{"op": "<name>", ...fields}`.
        let mut old = match serde_json::to_value(&op).unwrap() {
            serde_json::Value::String(name) => serde_json::json!({"op": name}),
            serde_json::Value::Object(map) => {
                let (name, fields) = map.into_iter().next().unwrap();
                let mut fields = fields;
                fields["op"] = name.into();
                fields
            }
            other => panic!("unexpected form {other}"),
        };
        let old_call =
            serde_json::json!({"message_id": "msg_1", "target": stored_target, "op": old.take()});
        assert_eq!(serde_json::from_value::<Call>(old_call).unwrap(), call);
    }
    let unknown =
        serde_json::json!({"message_id": "m", "target": stored_target, "op": {"op": "fly"}});
    assert!(serde_json::from_value::<Call>(unknown).is_err());
}
