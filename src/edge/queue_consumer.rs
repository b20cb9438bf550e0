//! The consumer of `agent-inbound`, declared in this same worker.
//!
//! It acknowledges the health probes that `/healthz` sends. Anything else is retried, so no
//! message is dropped by a consumer that does not yet understand it.

use crate::core::queue_message::HealthProbe;
use worker::{event, Context, Env, MessageBatch, MessageExt, Result};

#[event(queue)]
async fn consume(batch: MessageBatch<serde_json::Value>, _env: Env, _ctx: Context) -> Result<()> {
    for message in batch.messages()? {
        if serde_json::from_value::<HealthProbe>(message.body().clone()).is_ok() {
            message.ack();
        } else {
            worker::console_error!(
                "agent-inbound: message {} not understood; retrying",
                message.id()
            );
            message.retry();
        }
    }
    Ok(())
}
