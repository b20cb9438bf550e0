//! [`crate::core::dedupe`]'s outbox: the `INBOUND` queue producer (`agent-inbound`).

use crate::core::dedupe::{Outbox, StoreError};
use crate::core::envelope::Envelope;
use worker::{Env, Queue, QueueContentType, RawMessageBuilder};

/// The `INBOUND` queue producer (`agent-inbound`), or why there is none.
pub struct InboundQueue(Result<Queue, String>);

impl InboundQueue {
    /// The producer bound as `INBOUND`.
    pub fn new(env: &Env) -> Self {
        InboundQueue(env.queue("INBOUND").map_err(|e| e.to_string()))
    }
}

impl Outbox<&Envelope> for InboundQueue {
    async fn send(&self, envelope: &&Envelope) -> Result<(), StoreError> {
        let queue = self
            .0
            .as_ref()
            .map_err(|e| StoreError(format!("agent-inbound unavailable: {e}")))?;
        // Parsed by JSON.parse so the queue carries a plain JSON object (serde_wasm_bindgen would
        // turn maps into JS Maps, which a consumer reads back as empty objects).
        let json = envelope
            .to_queue_json()
            .map_err(|e| StoreError(format!("envelope {} does not serialise: {e}", envelope.id)))?;
        let object = worker::js_sys::JSON::parse(&json)
            .map_err(|_| StoreError(format!("envelope {} is not JSON", envelope.id)))?;
        let message =
            RawMessageBuilder::new(object).build_with_content_type(QueueContentType::Json);
        queue
            .send_raw(message)
            .await
            .map_err(|e| StoreError(format!("send of {} failed: {e}", envelope.id)))
    }
}
