//! The producer's outbox: the exposure messages of an isolate's requests
//! wait here for up to [`SEND_DELAY_MS`] and leave together, in one queue
//! `sendBatch` of at most [`MAX_BATCH_MESSAGES`] messages and
//! [`MAX_BATCH_BYTES`] bytes, instead of one `send` per exposing request (on
//! workerd each send is a subrequest; the HTTP benchmark measured a split's
//! single-flag answers at about two thirds of the rate without any).
//!
//! The first request that finds the outbox empty starts the timer (in its
//! own `waitUntil`, which the runtime keeps alive past its response); a
//! request that fills a batch sends it at once. Every message leaves in
//! one of the two, and a refused batch counts all its events `dropped`
//! (`super::runtime`), so nothing leaves the outbox uncounted; what
//! an isolate that crashes holds here is lost as a message in flight would
//! be (`docs/exposures.md`, "Sending").

use super::batch::{Outgoing, MAX_MESSAGE_BYTES};

/// Longest a message waits for others, milliseconds.
pub const SEND_DELAY_MS: u64 = 100;

/// Most messages in one `sendBatch` (Cloudflare Queues' limit, "Queues
/// limits").
pub const MAX_BATCH_MESSAGES: usize = 100;

/// Most message body bytes in one `sendBatch`: Queues accept 256 KB per
/// batch; the margin covers the runtime's framing of each message. A batch
/// holds at least one message (each is at most [`MAX_MESSAGE_BYTES`]).
pub const MAX_BATCH_BYTES: usize = 192 * 1024;

const _: () = assert!(MAX_MESSAGE_BYTES <= MAX_BATCH_BYTES);

/// A message waiting, with its tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    /// Tenant of its events.
    pub tenant: String,
    /// The message.
    pub message: Outgoing,
}

/// What the request that added messages must do next.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Send these batches now: the outbox held a full batch.
    Send(Vec<Vec<Queued>>),
    /// Start the timer: after [`SEND_DELAY_MS`], send [`Outbox::due`].
    StartTimer,
    /// Nothing: a timer already runs and will take the messages.
    Nothing,
}

/// Messages not yet sent, and whether a timer will send them.
#[derive(Debug, Default)]
pub struct Outbox {
    queued: Vec<Queued>,
    bytes: usize,
    timer: bool,
}

impl Outbox {
    /// Adds `messages` of `tenant`; says what the caller must start.
    pub fn push(&mut self, tenant: &str, messages: Vec<Outgoing>) -> Next {
        for message in messages {
            self.bytes += message.body.len();
            self.queued.push(Queued {
                tenant: tenant.to_owned(),
                message,
            });
        }
        if self.queued.len() >= MAX_BATCH_MESSAGES || self.bytes >= MAX_BATCH_BYTES {
            Next::Send(self.take())
        } else if self.queued.is_empty() || self.timer {
            Next::Nothing
        } else {
            self.timer = true;
            Next::StartTimer
        }
    }

    /// Everything waiting, in batches, when the timer fires (which ends it:
    /// the next message starts another).
    pub fn due(&mut self) -> Vec<Vec<Queued>> {
        self.timer = false;
        self.take()
    }

    /// Empties the outbox into batches within both limits, in order.
    fn take(&mut self) -> Vec<Vec<Queued>> {
        self.bytes = 0;
        let mut batches: Vec<Vec<Queued>> = Vec::new();
        let mut size = 0;
        for q in std::mem::take(&mut self.queued) {
            let len = q.message.body.len();
            match batches.last_mut() {
                Some(batch)
                    if batch.len() < MAX_BATCH_MESSAGES && size + len <= MAX_BATCH_BYTES =>
                {
                    size += len;
                    batch.push(q);
                }
                _ => {
                    size = len;
                    batches.push(vec![q]);
                }
            }
        }
        batches
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(bytes: usize, events: u64) -> Outgoing {
        Outgoing {
            body: "x".repeat(bytes),
            events,
        }
    }

    fn events(batches: &[Vec<Queued>]) -> Vec<u64> {
        batches
            .iter()
            .map(|b| b.iter().map(|q| q.message.events).sum())
            .collect()
    }

    #[test]
    fn the_first_message_starts_the_timer_which_takes_everything() {
        let mut o = Outbox::default();
        assert_eq!(o.push("shop", vec![message(10, 1)]), Next::StartTimer);
        assert_eq!(o.push("media", vec![message(10, 2)]), Next::Nothing);
        assert_eq!(o.push("shop", vec![message(10, 3)]), Next::Nothing);
        let due = o.due();
        assert_eq!(events(&due), vec![6]);
        let tenants: Vec<&str> = due[0].iter().map(|q| q.tenant.as_str()).collect();
        assert_eq!(tenants, ["shop", "media", "shop"]);
        assert!(o.due().is_empty(), "taken messages are gone");
        assert_eq!(
            o.push("shop", vec![message(10, 1)]),
            Next::StartTimer,
            "a fired timer is over: the next message starts another"
        );
    }

    #[test]
    fn a_full_batch_leaves_at_once_and_the_timer_takes_the_rest() {
        let mut o = Outbox::default();
        assert_eq!(o.push("shop", vec![message(10, 1)]), Next::StartTimer);
        for _ in 1..MAX_BATCH_MESSAGES - 1 {
            assert_eq!(o.push("shop", vec![message(10, 1)]), Next::Nothing);
        }
        let Next::Send(batches) = o.push("shop", vec![message(10, 1)]) else {
            panic!("the 100th message fills the batch")
        };
        assert_eq!(events(&batches), vec![100]);
        assert_eq!(
            o.push("shop", vec![message(10, 4)]),
            Next::Nothing,
            "timer still runs"
        );
        assert_eq!(events(&o.due()), vec![4]);
    }

    #[test]
    fn batches_stay_within_the_byte_limit() {
        let mut o = Outbox::default();
        let big = MAX_MESSAGE_BYTES;
        assert_eq!(o.push("shop", vec![message(big, 1)]), Next::StartTimer);
        let Next::Send(batches) = o.push("shop", vec![message(big, 2), message(big, 3)]) else {
            panic!("three messages of 120 KiB exceed one batch")
        };
        assert_eq!(events(&batches), vec![1, 2, 3]);
        for batch in &batches {
            let bytes: usize = batch.iter().map(|q| q.message.body.len()).sum();
            assert!(bytes <= MAX_BATCH_BYTES);
        }
        assert!(o.due().is_empty());
    }

    #[test]
    fn no_messages_start_nothing() {
        let mut o = Outbox::default();
        assert_eq!(o.push("shop", Vec::new()), Next::Nothing);
        assert!(o.due().is_empty());
    }
}
