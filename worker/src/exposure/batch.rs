//! Between the worker and R2: queue message bodies on the way in
//! ([`messages`]), and the consumer's plan for one batch of them on the way
//! out ([`plan`]): deduplicated by `event_id`, grouped by tenant and hour,
//! each group one gzipped NDJSON object at
//! `exposures/v1/tenant=T/date=YYYY-MM-DD/hour=HH/{batch id}.ndjson.gz`
//! (Hive partitioning, which DuckDB, Spark and BigQuery external tables read
//! as columns).

use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::event::Event;

/// Largest queue message body this module writes, in bytes. Cloudflare
/// Queues accept messages up to 128 KB ("Queues limits"); the margin covers
/// the runtime's own framing.
pub const MAX_MESSAGE_BYTES: usize = 120 * 1024;

/// R2 key prefix of schema-1 objects.
pub const PREFIX: &str = "exposures/v1/";

/// One queue message: some or all events of one request, one tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Tenant of every event (counted from here if the events cannot be read).
    pub tenant: String,
    /// The events.
    pub events: Vec<Event>,
}

/// A queue message to send: its JSON body and how many events it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The [`Message`] as JSON.
    pub body: String,
    /// Number of events in it.
    pub events: u64,
}

/// The queue messages carrying `events` of `tenant`: one message, unless
/// the events exceed [`MAX_MESSAGE_BYTES`] together; then as few as fit (an
/// event is never split). No events, no message.
pub fn messages(tenant: &str, events: Vec<Event>) -> Vec<Outgoing> {
    // Each event is written to JSON once; a body is `Message`'s JSON put
    // together from them (the test checks it against serde's).
    let head = format!(
        "{{\"tenant\":{},\"events\":[",
        serde_json::to_string(tenant).unwrap_or_default()
    );
    let mut bodies = Vec::new();
    let mut current = head.clone();
    let mut count = 0;
    for event in events {
        let json = serde_json::to_string(&event).unwrap_or_default();
        if count > 0 && current.len() + 1 + json.len() + 2 > MAX_MESSAGE_BYTES {
            bodies.push(finish(std::mem::replace(&mut current, head.clone()), count));
            count = 0;
        }
        if count > 0 {
            current.push(',');
        }
        current.push_str(&json);
        count += 1;
    }
    if count > 0 {
        bodies.push(finish(current, count));
    }
    bodies
}

fn finish(mut body: String, events: u64) -> Outgoing {
    body.push_str("]}");
    Outgoing { body, events }
}

/// One R2 object the consumer writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// The R2 key ([`object_key`]).
    pub key: String,
    /// Tenant of its events.
    pub tenant: String,
    /// Gzipped NDJSON: one event per line, in arrival order.
    pub body: Vec<u8>,
    /// Number of events (lines).
    pub events: u64,
    /// Indices (into the batch) of the messages whose kept events are in
    /// it: each is acknowledged once all its objects are written. A message
    /// in no object (every event a duplicate of one kept from another
    /// message) is acknowledged at once: its events travel with that one.
    pub messages: Vec<usize>,
}

/// What the consumer does with one batch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Objects to write, in key order.
    pub objects: Vec<Object>,
    /// Per tenant: copies of events dropped as duplicates of an event
    /// earlier in the batch.
    pub duplicates: BTreeMap<String, u64>,
    /// Messages whose body is not a [`Message`]: index and why. They are
    /// retried like failed writes, and so end in the dead-letter queue.
    pub unreadable: Vec<(usize, String)>,
}

/// Plans a batch of message bodies: events deduplicated by `event_id`
/// across the whole batch (the first copy is kept), grouped by tenant and
/// the date and hour of `exposed_at`.
pub fn plan(bodies: &[&str]) -> Plan {
    let mut seen: HashSet<String> = HashSet::new();
    // (tenant, date, hour) → (lines, event ids, messages)
    type Group = (Vec<u8>, Vec<String>, Vec<usize>);
    let mut groups: BTreeMap<(String, String, String), Group> = BTreeMap::new();
    let mut duplicates: BTreeMap<String, u64> = BTreeMap::new();
    let mut unreadable = Vec::new();
    for (index, text) in bodies.iter().enumerate() {
        let message: Message = match serde_json::from_str(text) {
            Ok(m) => m,
            Err(e) => {
                unreadable.push((index, format!("not an exposure message: {e}")));
                continue;
            }
        };
        for event in message.events {
            if !seen.insert(event.event_id.clone()) {
                *duplicates.entry(event.tenant).or_default() += 1;
                continue;
            }
            let (date, hour) = partition(&event.exposed_at);
            let group = groups
                .entry((event.tenant.clone(), date, hour))
                .or_default();
            if group.2.last() != Some(&index) {
                group.2.push(index);
            }
            // Serialising an Event (strings, numbers, a map of JSON values)
            // cannot fail.
            if serde_json::to_writer(&mut group.0, &event).is_ok() {
                group.0.push(b'\n');
                group.1.push(event.event_id);
            }
        }
    }
    let objects = groups
        .into_iter()
        .map(|((tenant, date, hour), (lines, mut ids, messages))| {
            let events = ids.len() as u64;
            ids.sort_unstable();
            Object {
                key: object_key(&tenant, &date, &hour, &batch_id(&ids)),
                tenant,
                body: gzip(&lines),
                events,
                messages,
            }
        })
        .collect();
    Plan {
        objects,
        duplicates,
        unreadable,
    }
}

/// `exposures/v1/tenant=T/date=YYYY-MM-DD/hour=HH/{batch}.ndjson.gz`.
pub fn object_key(tenant: &str, date: &str, hour: &str, batch: &str) -> String {
    format!("{PREFIX}tenant={tenant}/date={date}/hour={hour}/{batch}.ndjson.gz")
}

/// The batch id of an object: the first 16 bytes (hex) of the sha256 of its
/// sorted event ids, so a batch written again after a retry replaces its
/// object with the same bytes instead of adding a copy.
fn batch_id(sorted_ids: &[String]) -> String {
    let mut hasher = Sha256::new();
    for id in sorted_ids {
        hasher.update(id.as_bytes());
        hasher.update(b"\n");
    }
    let hash = hasher.finalize();
    vane_resolver::snapshot::hex(hash.get(..16).unwrap_or_default())
}

/// Date and hour partition values of an RFC 3339 UTC time
/// (`2026-12-01T09:30:00.123Z` → `2026-12-01`, `09`).
fn partition(rfc3339: &str) -> (String, String) {
    let date = rfc3339.get(..10).unwrap_or("1970-01-01");
    let hour = rfc3339.get(11..13).unwrap_or("00");
    (date.to_owned(), hour.to_owned())
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// The events of one object (gzipped NDJSON).
///
/// Errors: `key: not gzip` or `key:LINE: …` for the first line that is not a
/// schema-1 event.
pub fn read_object(key: &str, gz: &[u8]) -> Result<Vec<Event>, String> {
    let mut text = String::new();
    GzDecoder::new(gz)
        .read_to_string(&mut text)
        .map_err(|e| format!("{key}: not gzipped UTF-8 text: {e}"))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line)
                .map_err(|e| format!("{key}:{}: not an exposure event: {e}", i + 1))
        })
        .collect()
}

/// The tenant, date and hour partition values of an object key, if it is a
/// schema-1 object key.
pub fn parse_key(key: &str) -> Option<(&str, &str, &str)> {
    let rest = key.strip_prefix(PREFIX)?;
    let mut parts = rest.split('/');
    let tenant = parts.next()?.strip_prefix("tenant=")?;
    let date = parts.next()?.strip_prefix("date=")?;
    let hour = parts.next()?.strip_prefix("hour=")?;
    let file = parts.next()?;
    (file.ends_with(".ndjson.gz") && parts.next().is_none()).then_some((tenant, date, hour))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposure::event::events;
    use crate::exposure::event::tests::{meta, served};

    fn event(unit: &str, resolve: &str, exposed_at_ms: u64) -> Event {
        let mut s = served(unit, "classic");
        s.exposed_at_ms = exposed_at_ms;
        events(&meta(resolve), [s]).remove(0)
    }

    const T0: u64 = 1_796_117_400_123; // 2026-12-01T09:30:00.123Z

    #[test]
    fn one_message_per_request_unless_too_large() {
        let few: Vec<Event> = (0..3).map(|i| event(&format!("u{i}"), "r", T0)).collect();
        let bodies = messages("shop", few.clone());
        assert_eq!(bodies.len(), 1);
        assert_eq!(bodies[0].events, 3);
        let m: Message = serde_json::from_str(&bodies[0].body).unwrap();
        assert_eq!(m.events, few);
        // Byte for byte serde's JSON of the message, a tenant needing
        // escapes included.
        let odd = "sh\"op\\";
        let message = Message {
            tenant: odd.into(),
            events: few.clone(),
        };
        assert_eq!(
            messages(odd, few.clone())[0].body,
            serde_json::to_string(&message).unwrap()
        );
        let many: Vec<Event> = (0..2_000)
            .map(|i| event(&format!("u{i}"), "r", T0))
            .collect();
        let bodies = messages("shop", many.clone());
        assert!(bodies.len() > 1);
        assert!(bodies.iter().all(|b| b.body.len() <= MAX_MESSAGE_BYTES));
        let back: Vec<Event> = bodies
            .iter()
            .flat_map(|b| serde_json::from_str::<Message>(&b.body).unwrap().events)
            .collect();
        assert_eq!(back, many);
        assert!(messages("shop", vec![]).is_empty());
    }

    #[test]
    fn a_batch_is_deduplicated_and_partitioned_by_hour() {
        let a = event("u1", "r1", T0);
        let b = event("u2", "r2", T0 + 1_000);
        let next_hour = event("u3", "r3", T0 + 3_600_000);
        let first = messages("shop", vec![a.clone(), b.clone()]).remove(0).body;
        // The same request delivered twice, and a later one.
        let again = first.clone();
        let later = messages("shop", vec![next_hour.clone(), a.clone()])
            .remove(0)
            .body;
        let plan = plan(&[&first, &again, &later, "{\"oops\":1}"]);
        assert_eq!(plan.unreadable.len(), 1);
        assert_eq!(plan.unreadable[0].0, 3);
        assert_eq!(plan.objects.len(), 2);
        let nine = &plan.objects[0];
        assert!(
            nine.key
                .starts_with("exposures/v1/tenant=shop/date=2026-12-01/hour=09/"),
            "{}",
            nine.key
        );
        assert_eq!(nine.events, 2);
        assert_eq!(plan.duplicates, BTreeMap::from([("shop".to_owned(), 3)]));
        // Message 1 only repeats message 0, and message 2's copy of `a` is
        // dropped: only message 0 waits for this object.
        assert_eq!(nine.messages, vec![0]);
        assert_eq!(read_object(&nine.key, &nine.body).unwrap(), vec![a, b]);
        let ten = &plan.objects[1];
        assert!(ten.key.contains("/hour=10/"));
        assert_eq!(ten.messages, vec![2]);
        assert_eq!(read_object(&ten.key, &ten.body).unwrap(), vec![next_hour]);
        assert_eq!(parse_key(&ten.key), Some(("shop", "2026-12-01", "10")));
        let name = ten.key.rsplit('/').next().unwrap();
        assert_eq!(name.len(), 32 + ".ndjson.gz".len());
    }

    #[test]
    fn a_retried_batch_rewrites_the_same_object() {
        let a = messages("shop", vec![event("u1", "r1", T0)]).remove(0).body;
        let b = messages("shop", vec![event("u2", "r2", T0)]).remove(0).body;
        let first = plan(&[&a, &b]);
        let retried = plan(&[&b, &a]);
        assert_eq!(first.objects[0].key, retried.objects[0].key);
        let other = plan(&[&a]);
        assert_ne!(first.objects[0].key, other.objects[0].key);
    }

    #[test]
    fn unreadable_objects_are_located() {
        assert!(read_object("k", b"plain")
            .unwrap_err()
            .starts_with("k: not gzipped"));
        let gz = gzip(b"{\"schema\":1}\n");
        assert!(read_object("k", &gz)
            .unwrap_err()
            .starts_with("k:1: not an exposure event"));
        assert_eq!(
            parse_key("exposures/v1/tenant=a/date=d/hour=h/x.json"),
            None
        );
        assert_eq!(parse_key("other/tenant=a/date=d/hour=h/x.ndjson.gz"), None);
    }
}
