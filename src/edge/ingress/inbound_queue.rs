//! The `INBOUND` queue producer (`agent-inbound`): each envelope travels with its dedupe keys
//! ([`crate::core::queue_message::envelope_message`]), which the consumer claims. The consumer
//! (holding a paused delivery) and the admin API (re-drive, replay) send through it too.

use crate::core::envelope::Envelope;
use crate::core::queue_message::{envelope_message, Dedupe};
use worker::{Env, Queue, QueueContentType, RawMessageBuilder};

/// The `INBOUND` queue producer (`agent-inbound`), or why there is none.
pub struct InboundQueue(Result<Queue, String>);

impl InboundQueue {
    /// The producer bound as `INBOUND`.
    pub fn new(env: &Env) -> Self {
        InboundQueue(env.queue("INBOUND").map_err(|e| e.to_string()))
    }

    /// Queues one envelope with its dedupe keys, accepted at `accepted_ms`; `Err` says why it
    /// could not.
    pub async fn send(
        &self,
        envelope: &Envelope,
        dedupe: &Dedupe,
        accepted_ms: u64,
    ) -> Result<(), String> {
        let json = envelope_message(envelope, dedupe, accepted_ms)
            .map_err(|e| format!("envelope {} does not serialise: {e}", envelope.id))?;
        self.send_json(&json, 0).await
    }

    /// Queues one message body (JSON text), visible to the consumer after `delay_seconds`.
    pub async fn send_json(&self, json: &str, delay_seconds: u32) -> Result<(), String> {
        let queue = self
            .0
            .as_ref()
            .map_err(|e| format!("agent-inbound unavailable: {e}"))?;
        // Parsed by JSON.parse so the queue carries a plain JSON object (serde_wasm_bindgen would
        // turn maps into JS Maps, which a consumer reads back as empty objects).
        let object = worker::js_sys::JSON::parse(json)
            .map_err(|_| "a queue message that is not JSON".to_owned())?;
        let mut message = RawMessageBuilder::new(object);
        if delay_seconds > 0 {
            message = message.delay_seconds(delay_seconds);
        }
        queue
            .send_raw(message.build_with_content_type(QueueContentType::Json))
            .await
            .map_err(|e| format!("send to agent-inbound failed: {e}"))
    }
}
