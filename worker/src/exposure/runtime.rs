//! The exposure log's Workers side (wasm32 only): sending a request's
//! messages to the queue, the queue consumer that writes R2 objects, the
//! dead-letter consumer, the summary read from R2, and the per-tenant
//! counters in a Durable Object ([`ExposureCounters`]).
//!
//! Bindings (`wrangler.toml`): queue producer `EXPOSURES` (queue
//! `vane-exposures`, its dead-letter queue `vane-exposures-dlq`), R2 bucket
//! `EXPOSURE_LOG`, Durable Object namespace `EXPOSURE_COUNTERS`. Test-only:
//! with the variable `VANE_TEST_FAULTS=1`, the admin API's
//! `PUT /admin/v1/tenants/{t}/exposures/test-fault` turns on and off the
//! refusal of that tenant's R2 writes (`docs/exposures.md`, "Fault switch").

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;
use worker::{
    console_error, console_warn, durable_object, event, BatchMessageBuilder, Bucket, Context, Date,
    Delay, DurableObject, Env, HttpMetadata, MessageBatch, MessageExt, Method, QueueContentType,
    QueueRetryOptionsBuilder, RawMessageBuilder, Request, RequestInit, Response, Result, State,
};

use super::batch::{self, Message, Outgoing, PREFIX};
use super::outbox::{self, Next, Outbox, Queued};
use super::pending::Pending;
use super::summary::{summarize, Counters, Filter};
use crate::error::ApiError;
use crate::reply::Reply;

const QUEUE_BINDING: &str = "EXPOSURES";
const BUCKET_BINDING: &str = "EXPOSURE_LOG";
const COUNTERS_BINDING: &str = "EXPOSURE_COUNTERS";
/// Name of the dead-letter queue (`wrangler.toml`).
const DEAD_LETTER_QUEUE: &str = "vane-exposures-dlq";
/// R2 prefix of dead-lettered message bodies, kept for replay.
const DEAD_LETTER_PREFIX: &str = "dead-letter/exposures/v1/";
/// Longest retry delay, seconds.
const MAX_RETRY_DELAY_SECONDS: u32 = 300;

thread_local! {
    /// The producer's counts not yet in the counters objects
    /// ([`super::pending`]).
    static PENDING: RefCell<Pending> = RefCell::new(Pending::default());
    /// The producer's messages not yet sent ([`super::outbox`]).
    static OUTBOX: RefCell<Outbox> = RefCell::new(Outbox::default());
}

/// Puts the queue messages of one request of `tenant` in the isolate's
/// [`OUTBOX`]; what it returns other than [`Next::Nothing`] is work for
/// the request's `waitUntil` ([`deliver`]). Synchronous, so most requests
/// (those that neither start the timer nor fill a batch) leave no work
/// after their answer at all.
pub fn enqueue(tenant: &str, messages: Vec<Outgoing>) -> Next {
    OUTBOX.with(|o| o.borrow_mut().push(tenant, messages))
}

/// Does what [`enqueue`] asked for: sends a full batch at once, or waits
/// [`outbox::SEND_DELAY_MS`] and sends everything then. Runs in
/// `waitUntil`: it never fails, a failure is logged and counted.
pub async fn deliver(env: &Env, next: Next) {
    let batches = match next {
        Next::Send(batches) => batches,
        Next::Nothing => return,
        Next::StartTimer => {
            Delay::from(Duration::from_millis(outbox::SEND_DELAY_MS)).await;
            OUTBOX.with(|o| o.borrow_mut().due())
        }
    };
    for batch in batches {
        send_batch(env, batch).await;
    }
}

/// Sends one batch with `sendBatch` (all or nothing) and counts its events
/// accepted or dropped per tenant (through [`PENDING`]: handed to the
/// counters objects at most once per `METRICS_FLUSH_SECONDS`, at once for a
/// drop).
async fn send_batch(env: &Env, batch: Vec<Queued>) {
    let bodies = batch.iter().map(|q| {
        RawMessageBuilder::new(JsValue::from_str(&q.message.body))
            .build_with_content_type(QueueContentType::Text)
    });
    let sent = match env.queue(QUEUE_BINDING) {
        Ok(queue) => {
            queue
                .send_raw_batch(BatchMessageBuilder::new().messages(bodies).build())
                .await
        }
        Err(e) => Err(worker::Error::RustError(e.to_string())),
    };
    let mut deltas: BTreeMap<&str, Counters> = BTreeMap::new();
    for q in &batch {
        let delta = deltas.entry(q.tenant.as_str()).or_default();
        match sent {
            Ok(()) => delta.accepted += q.message.events,
            Err(_) => delta.dropped += q.message.events,
        }
    }
    if let Err(e) = &sent {
        for (tenant, delta) in &deltas {
            console_error!(
                "vane: exposures: {} events of tenant {tenant:?} dropped: the queue refused them: {e}",
                delta.dropped
            );
        }
    }
    let interval_ms = crate::runtime::settings(env).metrics_flush_ms;
    let now = Date::now().as_millis();
    let due = PENDING.with(|p| {
        let mut p = p.borrow_mut();
        let mut due = Vec::new();
        for (tenant, delta) in &deltas {
            due.extend(p.add(tenant, delta, now, interval_ms));
        }
        due
    });
    for (tenant, delta) in &due {
        add_counters(env, tenant, delta).await;
    }
}

/// The queue handler: consumes `vane-exposures` and its dead-letter queue.
#[event(queue)]
async fn queue(batch: MessageBatch<String>, env: Env, _ctx: Context) -> Result<()> {
    consume(batch, &env).await
}

/// The consumer of `vane-exposures` and of its dead-letter queue.
async fn consume(batch: MessageBatch<String>, env: &Env) -> Result<()> {
    if batch.queue() == DEAD_LETTER_QUEUE {
        return dead_letter(batch, env).await;
    }
    let messages: Vec<_> = batch.raw_iter().collect();
    let bodies: Vec<String> = messages
        .iter()
        .map(|m| m.body().as_string().unwrap_or_default())
        .collect();
    let refs: Vec<&str> = bodies.iter().map(String::as_str).collect();
    let plan = batch::plan(&refs);
    let bucket = env.bucket(BUCKET_BINDING)?;
    let mut failed = vec![false; messages.len()];
    let mut counters: BTreeMap<String, Counters> = BTreeMap::new();
    let mut tenant_failed: BTreeSet<String> = BTreeSet::new();
    for object in &plan.objects {
        match put_object(env, &bucket, object).await {
            Ok(()) => counters.entry(object.tenant.clone()).or_default().written += object.events,
            Err(e) => {
                console_error!("vane: exposures: writing {} ({} events) failed, its messages will be retried: {e}", object.key, object.events);
                tenant_failed.insert(object.tenant.clone());
                for &i in &object.messages {
                    if let Some(f) = failed.get_mut(i) {
                        *f = true;
                    }
                }
            }
        }
    }
    for (i, why) in &plan.unreadable {
        if let (Some(message), Some(f)) = (messages.get(*i), failed.get_mut(*i)) {
            console_error!(
                "vane: exposures: message {} is unreadable, retried until dead-lettered: {why}",
                message.id()
            );
            *f = true;
        }
    }
    for (tenant, n) in &plan.duplicates {
        if !tenant_failed.contains(tenant) {
            counters.entry(tenant.clone()).or_default().deduplicated += n;
        }
    }
    let now = Date::now().as_millis();
    for (message, failed) in messages.iter().zip(failed) {
        if failed {
            let options = QueueRetryOptionsBuilder::new()
                .with_delay_seconds(retry_delay_seconds(now, message.timestamp().as_millis()))
                .build();
            message.retry_with_options(&options);
        } else {
            message.ack();
        }
    }
    for (tenant, delta) in &counters {
        add_counters(env, tenant, delta).await;
    }
    Ok(())
}

/// Backoff from the message's age: it waits as long as it has existed (at
/// least 1 s, at most [`MAX_RETRY_DELAY_SECONDS`]), so the delays double
/// from one attempt to the next — the runtime does not tell a Rust consumer
/// a message's attempt count, but its send time is known.
fn retry_delay_seconds(now_ms: u64, sent_ms: u64) -> u32 {
    let age_s = now_ms.saturating_sub(sent_ms) / 1000;
    age_s.clamp(1, u64::from(MAX_RETRY_DELAY_SECONDS)) as u32
}

async fn put_object(env: &Env, bucket: &Bucket, object: &batch::Object) -> Result<()> {
    if faults_enabled(env) && fault(env, &object.tenant).await?.refuse_r2 {
        return Err(worker::Error::RustError(format!(
            "refused by the test fault switch of tenant {:?}",
            object.tenant
        )));
    }
    bucket
        .put(&object.key, object.body.clone())
        .http_metadata(HttpMetadata {
            content_type: Some("application/gzip".into()),
            ..HttpMetadata::default()
        })
        .execute()
        .await
        .map(|_| ())
}

/// True when `VANE_TEST_FAULTS` turns on the test routes
/// ([`crate::faults`]; set by `scripts/e2e.sh`, never in `wrangler.toml`).
fn faults_enabled(env: &Env) -> bool {
    crate::runtime::settings(env).faults.routes
}

/// The test fault switch of a tenant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Fault {
    /// Refuse to write the tenant's exposure objects to R2.
    refuse_r2: bool,
}

async fn fault(env: &Env, tenant: &str) -> Result<Fault> {
    let mut response = counters_stub(env, tenant)?
        .fetch_with_str("https://counters/fault")
        .await?;
    let text = response.text().await?;
    serde_json::from_str(&text)
        .map_err(|e| worker::Error::RustError(format!("fault switch of {tenant:?}: {e}")))
}

/// `PUT /admin/v1/tenants/{tenant}/exposures/test-fault?refuse_r2=B`: sets
/// the tenant's test fault switch. `None` (the route does not exist) unless
/// `VANE_TEST_FAULTS=1`.
pub async fn set_fault(env: &Env, tenant: &str, refuse_r2: bool) -> Result<Option<Reply>> {
    if !faults_enabled(env) {
        return Ok(None);
    }
    let fault = Fault { refuse_r2 };
    let init = RequestInit {
        method: Method::Put,
        body: Some(JsValue::from_str(
            &serde_json::to_string(&fault).unwrap_or_default(),
        )),
        ..RequestInit::default()
    };
    let request = Request::new_with_init("https://counters/fault", &init)?;
    counters_stub(env, tenant)?
        .fetch_with_request(request)
        .await?;
    console_warn!("vane: exposures: test fault switch of tenant {tenant:?}: {fault:?}");
    Ok(Some(Reply::json(200, &fault)))
}

/// The dead-letter consumer: keeps each message's body in R2 under
/// `dead-letter/exposures/v1/tenant=T/{message id}.json` for replay and
/// counts its events dead-lettered. A message whose body cannot be stored
/// is retried.
async fn dead_letter(batch: MessageBatch<String>, env: &Env) -> Result<()> {
    let bucket = env.bucket(BUCKET_BINDING)?;
    let now = Date::now().as_millis();
    for message in batch.raw_iter() {
        let body = message.body().as_string().unwrap_or_default();
        let parsed: Option<Message> = serde_json::from_str(&body).ok();
        let (tenant, events) = match &parsed {
            Some(m) => (m.tenant.clone(), m.events.len() as u64),
            None => ("_unreadable".to_owned(), 0),
        };
        let key = format!("{DEAD_LETTER_PREFIX}tenant={tenant}/{}.json", message.id());
        match bucket.put(&key, body.into_bytes()).execute().await {
            Ok(_) => {
                console_warn!("vane: exposures: message {} ({events} events of tenant {tenant:?}) dead-lettered, kept at {key}", message.id());
                message.ack();
                if parsed.is_some() {
                    let delta = Counters {
                        dead_lettered: events,
                        ..Counters::default()
                    };
                    add_counters(env, &tenant, &delta).await;
                }
            }
            Err(e) => {
                console_error!(
                    "vane: exposures: cannot keep dead-lettered message {}: {e}",
                    message.id()
                );
                let options = QueueRetryOptionsBuilder::new()
                    .with_delay_seconds(retry_delay_seconds(now, message.timestamp().as_millis()))
                    .build();
                message.retry_with_options(&options);
            }
        }
    }
    Ok(())
}

/// `GET /admin/v1/tenants/{tenant}/exposures`: every object of the tenant
/// in the filter's partitions, read and summarised, with the counters.
/// Errors: [`ApiError::ExposureObjectUnreadable`]; runtime failures.
pub async fn summary(
    env: &Env,
    tenant: &str,
    filter: &Filter,
) -> Result<std::result::Result<Reply, ApiError>> {
    let bucket = env.bucket(BUCKET_BINDING)?;
    let prefix = format!("{PREFIX}tenant={tenant}/");
    let mut keys = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut list = bucket.list().prefix(prefix.clone());
        if let Some(c) = cursor.take() {
            list = list.cursor(c);
        }
        let page = list.execute().await?;
        for object in page.objects() {
            let key = object.key();
            let admitted = batch::parse_key(&key)
                .is_some_and(|(_, date, hour)| filter.admits_partition(date, hour));
            if admitted {
                keys.push(key);
            }
        }
        match (page.truncated(), page.cursor()) {
            (true, Some(c)) => cursor = Some(c),
            _ => break,
        }
    }
    let mut events = Vec::new();
    let mut stored_bytes = 0;
    for key in &keys {
        let Some(object) = bucket.get(key).execute().await? else {
            continue;
        };
        let Some(body) = object.body() else {
            continue;
        };
        let bytes = body.bytes().await?;
        stored_bytes += bytes.len() as u64;
        match batch::read_object(key, &bytes) {
            Ok(mut e) => events.append(&mut e),
            Err(why) => return Ok(Err(ApiError::ExposureObjectUnreadable { why })),
        }
    }
    let due = PENDING.with(|p| p.borrow_mut().take(Date::now().as_millis()));
    for (t, delta) in &due {
        add_counters(env, t, delta).await;
    }
    let counters = read_counters(env, tenant).await?;
    let mut summary = summarize(tenant, events, filter, counters);
    summary.objects = keys.len() as u64;
    summary.stored_bytes = stored_bytes;
    Ok(Ok(Reply::json(200, &summary)))
}

/// Adds `delta` to the tenant's counters; a failure is logged (the events
/// themselves are unaffected).
async fn add_counters(env: &Env, tenant: &str, delta: &Counters) {
    if *delta == Counters::default() {
        return;
    }
    let result = async {
        let body =
            serde_json::to_string(delta).map_err(|e| worker::Error::RustError(e.to_string()))?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_body(Some(JsValue::from_str(&body)));
        let request = Request::new_with_init("https://counters/add", &init)?;
        counters_stub(env, tenant)?
            .fetch_with_request(request)
            .await
    }
    .await;
    if let Err(e) = result {
        console_error!(
            "vane: exposures: cannot add {delta:?} to the counters of tenant {tenant:?}: {e}"
        );
    }
}

async fn read_counters(env: &Env, tenant: &str) -> Result<Counters> {
    let mut response = counters_stub(env, tenant)?
        .fetch_with_str("https://counters/")
        .await?;
    let text = response.text().await?;
    serde_json::from_str(&text)
        .map_err(|e| worker::Error::RustError(format!("counters of {tenant:?}: {e}")))
}

fn counters_stub(env: &Env, tenant: &str) -> Result<worker::Stub> {
    env.durable_object(COUNTERS_BINDING)?
        .id_from_name(tenant)?
        .get_stub()
}

/// Storage keys in an [`ExposureCounters`] object.
const COUNTERS_KEY: &str = "counters";
const FAULT_KEY: &str = "fault";

/// One instance per tenant: the tenant's exposure [`Counters`] (`POST /add`
/// with a JSON delta adds it; `GET /` answers the totals) and its test
/// fault switch (`GET`/`PUT /fault`).
#[durable_object(fetch)]
pub struct ExposureCounters {
    state: State,
}

impl DurableObject for ExposureCounters {
    fn new(state: State, _env: Env) -> Self {
        ExposureCounters { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        // Bodies are read before the storage is: between a `get` and its
        // `put` below nothing but storage is awaited, so the object's input
        // gate lets no other request in and no delta is lost.
        let body = match req.method() {
            Method::Get => String::new(),
            _ => req.text().await?,
        };
        let storage = self.state.storage();
        if req.path() == "/fault" {
            if req.method() == Method::Put {
                let fault: Fault = serde_json::from_str(&body).unwrap_or_default();
                storage.put(FAULT_KEY, fault.refuse_r2).await?;
            }
            let refuse_r2 = storage.get::<bool>(FAULT_KEY).await?.unwrap_or(false);
            return Response::from_json(&Fault { refuse_r2 });
        }
        let mut totals: Counters = match storage.get::<String>(COUNTERS_KEY).await? {
            Some(json) => serde_json::from_str(&json).unwrap_or_default(),
            None => Counters::default(),
        };
        if req.method() == Method::Post {
            let delta: Counters = match serde_json::from_str(&body) {
                Ok(delta) => delta,
                Err(e) => return Response::error(format!("not a counters delta: {e}"), 400),
            };
            totals.add(&delta);
            storage
                .put(
                    COUNTERS_KEY,
                    serde_json::to_string(&totals).unwrap_or_default(),
                )
                .await?;
        }
        Response::from_json(&totals)
    }
}
