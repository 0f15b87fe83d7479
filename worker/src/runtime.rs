//! The Workers runtime adapter (wasm32 only): converts `worker::Request`
//! into a [`RequestHead`] and a body stream, runs the pipelines of
//! [`crate::pipeline`], writes their log line, runs their effects in
//! `waitUntil` and converts their replies back. It also holds the KV and
//! Durable Object storage behind [`crate::store`]'s traits and the
//! per-tenant Durable Object that runs admin requests one at a time. No
//! status or message is decided here; a failure of the runtime itself is a
//! 500 `INTERNAL` whose cause goes only to the log.
//!
//! Bindings (see `wrangler.toml`): KV namespace `SNAPSHOTS`, Durable Object
//! namespaces `PUBLISHER` (class [`TenantPublisher`], one per tenant),
//! `KEYS` (class [`KeyRegistry`], one instance) and `STICKY` (class
//! `StickyAssignments`, [`crate::confidence`]), variables
//! `SNAPSHOT_TTL_SECONDS` and `METRICS_FLUSH_SECONDS`, secrets
//! `ADMIN_TOKEN` and `RESOLVE_TOKEN_KEY`.

use std::cell::RefCell;
use std::rc::Rc;

use futures_util::StreamExt;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use worker::{
    console_log, console_warn, durable_object, event, ByteStream, Context, Date, DurableObject,
    Env, Headers, KvStore, Method, Request, RequestInit, Response, Result, State, Storage,
};

use crate::cache::Cache;
use crate::confidence::runtime::DurableStickyStore;
use crate::confidence::serve::ConfidenceEdge;
use crate::confidence::sticky::write_units;
use crate::confidence::token::TokenKey;
use crate::error::ApiError;
use crate::exposure;
use crate::exposure::outbox::Next;
use crate::faults::{self, Faults, Op};
use crate::limits::MAX_REQUEST_BYTES;
use crate::limits::{metrics_flush_ms, snapshot_ttl_ms, BadSeconds};
use crate::metrics::{Metrics, TenantCounters};
use crate::pipeline::admin::{admin_gate, serve_admin};
use crate::pipeline::confidence::{serve_confidence, serve_materializations};
use crate::pipeline::ofrep::{serve_ofrep, serve_ofrep_cached, Edge};
use crate::pipeline::{refused, BodyStream, Clock, Effect, Outcome, RequestHead, RequestLog};
use crate::reply::Reply;
use crate::route::{path_of, query_of, route, AdminRoute, ConfidenceRoute, Route};
use crate::signing::TRUSTED_PUBLISHER_KEYS;
use crate::store::{
    key_index_key, pointer_key, snapshot_key, AdminStore, Claim, Pointer, SnapshotSource,
    StoreError,
};

const KV_BINDING: &str = "SNAPSHOTS";
const PUBLISHER_BINDING: &str = "PUBLISHER";
/// Durable Object storage key of the tenant's authoritative pointer (JSON).
const DO_POINTER_KEY: &str = "pointer";
/// Durable Object storage key of the tenant's counters (JSON).
const DO_METRICS_KEY: &str = "metrics";
/// Header carrying the request id from the fetch handler to the object.
const REQUEST_ID_HEADER: &str = "x-request-id";
/// Binding and instance name of the key registry object.
const REGISTRY_BINDING: &str = "KEYS";
const REGISTRY_NAME: &str = "registry";
/// Path of the registry's claim endpoint.
const CLAIM_PATH: &str = "/internal/claim";
/// Path of the object's internal counters endpoint (not routable from
/// outside: the fetch handler forwards only admin routes).
const METRICS_PATH: &str = "/internal/metrics";

thread_local! {
    static CACHE: Rc<Cache> = Rc::new(Cache::new());
    static METRICS: Rc<Metrics> = Rc::new(Metrics::default());
    static SETTINGS: std::cell::OnceCell<Rc<Settings>> = const { std::cell::OnceCell::new() };
}

struct DateClock;

impl Clock for DateClock {
    fn now_ms(&self) -> f64 {
        Date::now().as_millis() as f64
    }
}

/// The variables the request paths read, read once per isolate: an
/// isolate runs one version of the worker, and its variables and secrets
/// are that version's (changing one deploys a new version, in new
/// isolates). Reading them per request cost a few percent of a single-flag
/// answer on workerd (`docs/benchmarks.md`, HTTP per core).
pub(crate) struct Settings {
    /// `SNAPSHOT_TTL_SECONDS` in milliseconds.
    pub(crate) ttl_ms: u64,
    /// `METRICS_FLUSH_SECONDS` in milliseconds.
    pub(crate) metrics_flush_ms: u64,
    /// `VANE_TEST_FAULTS` ([`test_faults`]).
    pub(crate) faults: Faults,
    /// `TRUSTED_PUBLISHER_KEYS` (a var or a secret), if set.
    trusted_publisher_keys: Option<String>,
    /// Bad values met (each then has its default), for every request's log
    /// line.
    warnings: Vec<String>,
}

impl Settings {
    fn read(env: &Env) -> Settings {
        let mut warnings = Vec::new();
        Settings {
            ttl_ms: seconds_var(env, "SNAPSHOT_TTL_SECONDS", snapshot_ttl_ms, &mut warnings),
            metrics_flush_ms: seconds_var(
                env,
                "METRICS_FLUSH_SECONDS",
                metrics_flush_ms,
                &mut warnings,
            ),
            faults: test_faults(env),
            trusted_publisher_keys: env
                .var(TRUSTED_PUBLISHER_KEYS)
                .or_else(|_| env.secret(TRUSTED_PUBLISHER_KEYS))
                .ok()
                .map(|v| v.to_string()),
            warnings,
        }
    }
}

/// This isolate's [`Settings`], read from `env` on first use.
pub(crate) fn settings(env: &Env) -> Rc<Settings> {
    SETTINGS.with(|s| Rc::clone(s.get_or_init(|| Rc::new(Settings::read(env)))))
}

/// A random request id: 16 lowercase hex digits.
fn new_request_id() -> String {
    let word = || (js_sys::Math::random() * 4_294_967_296.0) as u32;
    format!("{:08x}{:08x}", word(), word())
}

/// The body of a `worker::Request` as a [`BodyStream`], opened only when
/// the first chunk is asked for: a request answered without reading its
/// body leaves it to the runtime, which then keeps the connection usable.
/// A body of declared `Content-Length` (which the pipelines have checked
/// against their limit before asking) is read in one `arrayBuffer()`: the
/// declared length is the message framing (HTTP/1.1 reads exactly that
/// many bytes, HTTP/2 and HTTP/3 refuse a body that disagrees with it), so
/// the runtime delivers no more, and a stream reader's promise per chunk
/// and its lock would cost more than the evaluation. A body without one
/// (chunked) is streamed, so [`crate::request::read_body`] can stop past
/// the limit.
struct WorkerBody<'r> {
    req: &'r mut Request,
    stream: Option<ByteStream>,
    /// Read whole already (a declared length).
    done: bool,
}

impl WorkerBody<'_> {
    fn of(req: &mut Request) -> WorkerBody<'_> {
        WorkerBody {
            req,
            stream: None,
            done: false,
        }
    }
}

impl BodyStream for WorkerBody<'_> {
    async fn chunk(&mut self) -> std::result::Result<Option<Vec<u8>>, String> {
        if self.done {
            return Ok(None);
        }
        if self.stream.is_none() {
            if self.req.inner().body().is_none() {
                return Ok(None);
            }
            if self.req.headers().has("content-length").unwrap_or(false) {
                self.done = true;
                return self.req.bytes().await.map(Some).map_err(|e| e.to_string());
            }
            self.stream = Some(self.req.stream().map_err(|e| e.to_string())?);
        }
        match &mut self.stream {
            None => Ok(None),
            Some(stream) => stream.next().await.transpose().map_err(|e| e.to_string()),
        }
    }
}

fn head_of(req: &Request) -> RequestHead {
    let url = req.inner().url();
    RequestHead {
        method: req.method().to_string(),
        path: path_of(&url).to_owned(),
        query: query_of(&url).map(str::to_owned),
        headers: req.headers().entries().collect(),
    }
}

thread_local! {
    /// Work [`ofrep_cached`] answers left for after their responses, until
    /// the entry hands it to `waitUntil` through [`ofrep_after`].
    static LATER: RefCell<Vec<Later>> = const { RefCell::new(Vec::new()) };
}

/// The synchronous OFREP entry, called by `worker/entry.mjs` (the module
/// `wrangler.toml` names) for every `POST` and `OPTIONS` with a body of
/// declared length within [`ofrep_body_limit`] (or none): the method, the
/// URL, the request headers the OFREP pipeline reads and the body bytes.
/// Answers an OFREP request from the isolate's cache
/// ([`serve_ofrep_cached`]: the same pipeline, the same answer, log line and
/// effects) as `[status, pending, body or null, headers]`, where `headers`
/// is `name\nvalue\nname\nvalue…` and `pending` says [`ofrep_after`] has
/// work for `waitUntil`.
/// Anything else (another route, a tenant not cached or due for its check
/// against KV) is `undefined`: the entry then passes the request to the
/// asynchronous `fetch`, which answers it as if this had not run.
#[wasm_bindgen(js_name = ofrepCached)]
#[allow(clippy::too_many_arguments)]
pub fn ofrep_cached(
    env: Env,
    method: String,
    url: String,
    authorization: Option<String>,
    x_api_key: Option<String>,
    origin: Option<String>,
    user_agent: Option<String>,
    if_none_match: Option<String>,
    content_length: Option<String>,
    body: &[u8],
) -> JsValue {
    let Ok(Route::Ofrep(route)) = route(&method, path_of(&url), query_of(&url)) else {
        return JsValue::UNDEFINED;
    };
    let headers = [
        ("authorization", authorization),
        ("x-api-key", x_api_key),
        ("origin", origin),
        ("user-agent", user_agent),
        ("if-none-match", if_none_match),
        ("content-length", content_length),
    ];
    let head = RequestHead {
        method,
        path: path_of(&url).to_owned(),
        query: query_of(&url).map(str::to_owned),
        headers: headers
            .into_iter()
            .filter_map(|(name, value)| Some((name.to_owned(), value?)))
            .collect(),
    };
    let request_id = new_request_id();
    let isolate = OfrepIsolate::of(&env);
    let now_s = (Date::now().as_millis() / 1000) as i64;
    let edge = isolate.edge();
    let Some(outcome) = serve_ofrep_cached(&edge, &route, &head, body, now_s, &request_id) else {
        return JsValue::UNDEFINED;
    };
    let (reply, later) = settle(isolate.warned(outcome), &request_id);
    let pending = !later.is_empty();
    LATER.with(|l| l.borrow_mut().extend(later));
    // The headers as one text, `name\nvalue\n…` (a header value has no
    // line break): one string for JavaScript instead of two per header.
    let mut header_text = String::new();
    for (name, value) in &reply.headers {
        header_text.push_str(name);
        header_text.push('\n');
        header_text.push_str(value);
        header_text.push('\n');
    }
    header_text.pop();
    let body = match &reply.body {
        Some(body) => js_sys::Uint8Array::from(body.as_slice()).into(),
        None => JsValue::NULL,
    };
    js_sys::Array::of4(
        &JsValue::from(reply.status),
        &JsValue::from(pending),
        &body,
        &JsValue::from_str(&header_text),
    )
    .into()
}

/// Runs, for `waitUntil`, the work [`ofrep_cached`] answers left
/// (exposure batches, counters).
#[wasm_bindgen(js_name = ofrepAfter)]
pub fn ofrep_after(env: Env) -> js_sys::Promise {
    let later = LATER.with(|l| std::mem::take(&mut *l.borrow_mut()));
    let work: Vec<_> = later
        .into_iter()
        .map(|l| run_later(env.clone(), l))
        .collect();
    worker::wasm_bindgen_futures::future_to_promise(async move {
        futures_util::future::join_all(work).await;
        Ok(JsValue::UNDEFINED)
    })
}

/// The largest body [`ofrep_cached`] takes, bytes: the OFREP limit.
#[wasm_bindgen(js_name = ofrepBodyLimit)]
pub fn ofrep_body_limit() -> usize {
    MAX_REQUEST_BYTES
}

#[event(fetch)]
async fn fetch(mut req: Request, env: Env, ctx: Context) -> Result<Response> {
    let request_id = new_request_id();
    let head = head_of(&req);
    let outcome = match route(&head.method, &head.path, head.query.as_deref()) {
        Err(e) => refused(&head, &e, "unrouted", &request_id),
        Ok(Route::Ofrep(r)) => match ofrep(&mut req, &env, &head, &r, &request_id).await {
            Ok(outcome) => outcome,
            Err(cause) => internal(&head, r.name(), cause, &request_id),
        },
        Ok(Route::Confidence(r)) => match confidence(&mut req, &env, &head, r, &request_id).await {
            Ok(outcome) => outcome,
            Err(cause) => internal(&head, r.name(), cause, &request_id),
        },
        Ok(Route::Admin(r)) => {
            let token = env.secret("ADMIN_TOKEN").ok().map(|s| s.to_string());
            let mut log = RequestLog {
                route: r.name(),
                ..RequestLog::default()
            };
            let mut body = WorkerBody::of(&mut req);
            match admin_gate(token.as_deref(), &head, &r, &mut body, &mut log).await {
                Err(e) => {
                    let mut outcome = refused(&head, &e, r.name(), &request_id);
                    outcome.log.tenant = Some(r.tenant().to_owned());
                    outcome.log.warnings = log.warnings;
                    outcome
                }
                // The sticky store's objects hold the materializations.
                Ok(bytes)
                    if matches!(
                        r,
                        AdminRoute::Materializations { .. } | AdminRoute::MaterializationsOf { .. }
                    ) =>
                {
                    let sticky = DurableStickyStore { env: env.clone() };
                    serve_materializations(&sticky, &r, &bytes, &request_id).await
                }
                Ok(_) if matches!(r, AdminRoute::TestTrap { .. }) => {
                    if !settings(&env).faults.routes {
                        let e = ApiError::NotFound {
                            method: head.method.clone(),
                            path: head.path.clone(),
                        };
                        refused(&head, &e, r.name(), &request_id)
                    } else {
                        console_warn!("vane: test trap: aborting the wasm instance");
                        // A wasm `unreachable`: the trap a panic ends in.
                        std::process::abort()
                    }
                }
                Ok(bytes) => match &r {
                    AdminRoute::Exposures { .. } | AdminRoute::ExposureFault { .. } => {
                        match exposures(&env, &r).await {
                            Ok(Some(Ok(reply))) => Outcome::new(reply, log, &request_id),
                            Ok(Some(Err(e))) => Outcome::error(&e, log, &request_id),
                            Ok(None) => {
                                let e = ApiError::NotFound {
                                    method: head.method.clone(),
                                    path: head.path.clone(),
                                };
                                refused(&head, &e, r.name(), &request_id)
                            }
                            Err(cause) => internal(&head, r.name(), cause, &request_id),
                        }
                    }
                    // The object logs the request and answers it.
                    _ => match forward(&req, bytes, &env, &r, &request_id).await {
                        Ok(response) => return Ok(response),
                        Err(cause) => internal(&head, r.name(), cause, &request_id),
                    },
                },
            }
        }
    };
    finish(outcome, &env, &ctx, &request_id)
}

/// The exposure log's admin routes, answered here rather than in the
/// tenant's object (reading R2 would hold up its publishes). `None`: the
/// route is off (the test fault switch without `VANE_TEST_FAULTS=1`).
async fn exposures(
    env: &Env,
    route: &AdminRoute,
) -> Result<Option<std::result::Result<Reply, ApiError>>> {
    match route {
        AdminRoute::Exposures { tenant, filter } => exposure::runtime::summary(env, tenant, filter)
            .await
            .map(Some),
        AdminRoute::ExposureFault { tenant, refuse_r2 } => {
            Ok(exposure::runtime::set_fault(env, tenant, *refuse_r2)
                .await?
                .map(Ok))
        }
        _ => Ok(None),
    }
}

/// Logs the outcome, starts its effects and answers.
fn finish(outcome: Outcome, env: &Env, ctx: &Context, request_id: &str) -> Result<Response> {
    let (reply, later) = settle(outcome, request_id);
    for work in later {
        ctx.wait_until(run_later(env.clone(), work));
    }
    into_response(reply)
}

/// Work an answered request leaves for `waitUntil` ([`run_later`]).
enum Later {
    /// Hand these counts to the tenants' objects.
    FlushMetrics {
        counts: std::collections::BTreeMap<String, TenantCounters>,
        request_id: String,
    },
    /// What the exposure outbox asked for.
    Deliver(Next),
    /// Store a tenant's new sticky assignments.
    StickyWrites {
        tenant: String,
        writes: Vec<crate::confidence::sticky::Write>,
    },
}

/// Writes the outcome's log line and takes its effects as far as they go
/// without I/O (exposure messages into the isolate's outbox); returns the
/// reply and what is left for `waitUntil`.
fn settle(outcome: Outcome, request_id: &str) -> (Reply, Vec<Later>) {
    console_log!("{}", outcome.log.to_json(request_id));
    let mut later = Vec::new();
    for effect in outcome.effects {
        match effect {
            Effect::FlushMetrics(counts) => later.push(Later::FlushMetrics {
                counts,
                request_id: request_id.to_owned(),
            }),
            Effect::SendExposures { tenant, messages } => {
                match exposure::runtime::enqueue(&tenant, messages) {
                    Next::Nothing => {}
                    next => later.push(Later::Deliver(next)),
                }
            }
            Effect::StickyWrites { tenant, writes } => {
                later.push(Later::StickyWrites { tenant, writes })
            }
        }
    }
    (outcome.reply, later)
}

/// Does one piece of [`Later`] work; failures are logged, never answered.
async fn run_later(env: Env, work: Later) {
    match work {
        Later::FlushMetrics { counts, request_id } => {
            if let Err(e) = flush_metrics(&env, counts).await {
                let line = serde_json::json!({
                    "requestId": request_id,
                    "effect": "flushMetrics",
                    "warnings": [format!("counters not handed over: {e}")],
                });
                console_warn!("{line}");
            }
        }
        Later::Deliver(next) => exposure::runtime::deliver(&env, next).await,
        Later::StickyWrites { tenant, writes } => {
            let store = DurableStickyStore { env };
            for problem in write_units(&store, &tenant, writes).await {
                console_warn!("vane: tenant {tenant:?}: {problem}");
            }
        }
    }
}

/// A runtime failure: 500 with the request's CORS headers, the cause in
/// the request's log line only.
fn internal(
    head: &RequestHead,
    route: &'static str,
    cause: worker::Error,
    request_id: &str,
) -> Outcome {
    let mut outcome = refused(head, &ApiError::Internal, route, request_id);
    outcome
        .log
        .warnings
        .push(format!("internal error: {cause}"));
    outcome
}

/// Runs the Confidence pipeline with the runtime's stores, clock, secret
/// and random bytes.
async fn confidence(
    req: &mut Request,
    env: &Env,
    head: &RequestHead,
    route: ConfidenceRoute,
    request_id: &str,
) -> Result<Outcome> {
    let store = KvSource::new(env);
    let cache = CACHE.with(Rc::clone);
    let secret = env
        .secret("RESOLVE_TOKEN_KEY")
        .map(|s| s.to_string())
        .unwrap_or_default();
    let token_key = TokenKey::from_secret(secret.trim());
    let edge = ConfidenceEdge {
        store: &store,
        cache: &cache,
        token_key: &token_key,
        ttl_ms: settings(env).ttl_ms,
    };
    let sticky = DurableStickyStore { env: env.clone() };
    let mut random = [0u8; 40];
    getrandom::getrandom(&mut random)
        .map_err(|e| worker::Error::RustError(format!("no random bytes: {e}")))?;
    let mut body = WorkerBody::of(req);
    let now_ms = Date::now().as_millis();
    Ok(serve_confidence(
        &edge, &sticky, route, head, &mut body, now_ms, &random, request_id,
    )
    .await)
}

async fn ofrep(
    req: &mut Request,
    env: &Env,
    head: &RequestHead,
    route: &crate::route::OfrepRoute,
    request_id: &str,
) -> Result<Outcome> {
    let isolate = OfrepIsolate::of(env);
    let mut body = WorkerBody::of(req);
    let now_s = (Date::now().as_millis() / 1000) as i64;
    let outcome = serve_ofrep(&isolate.edge(), route, head, &mut body, now_s, request_id).await;
    Ok(isolate.warned(outcome))
}

/// What the OFREP pipeline reads in this isolate: KV, the cache, the
/// counters, the settings.
struct OfrepIsolate {
    store: KvSource,
    cache: Rc<Cache>,
    metrics: Rc<Metrics>,
}

impl OfrepIsolate {
    fn of(env: &Env) -> OfrepIsolate {
        OfrepIsolate {
            store: KvSource::new(env),
            cache: CACHE.with(Rc::clone),
            metrics: METRICS.with(Rc::clone),
        }
    }

    fn edge(&self) -> Edge<'_, KvSource> {
        Edge {
            store: &self.store,
            cache: &self.cache,
            metrics: &self.metrics,
            clock: &DateClock,
            ttl_ms: self.store.settings.ttl_ms,
            metrics_flush_ms: self.store.settings.metrics_flush_ms,
        }
    }

    /// `outcome` with the settings' warnings in its log line.
    fn warned(&self, mut outcome: Outcome) -> Outcome {
        let warnings = &self.store.settings.warnings;
        outcome.log.warnings.extend_from_slice(warnings);
        outcome
    }
}

/// Sends an admitted admin request, with the body the gate read, to its
/// tenant's object.
async fn forward(
    req: &Request,
    body: Vec<u8>,
    env: &Env,
    route: &AdminRoute,
    request_id: &str,
) -> Result<Response> {
    let headers = Headers::new();
    for (name, value) in req.headers().entries() {
        headers.set(&name, &value)?;
    }
    headers.set(REQUEST_ID_HEADER, request_id)?;
    let init = RequestInit {
        method: req.method(),
        headers,
        body: (!body.is_empty()).then(|| js_sys::Uint8Array::from(body.as_slice()).into()),
        ..RequestInit::default()
    };
    let forwarded = Request::new_with_init(&req.inner().url(), &init)?;
    publisher(env, route.tenant())?
        .fetch_with_request(forwarded)
        .await
}

fn publisher(env: &Env, tenant: &str) -> Result<worker::Stub> {
    env.durable_object(PUBLISHER_BINDING)?
        .id_from_name(tenant)?
        .get_stub()
}

/// Hands an isolate's counts to each tenant's object.
async fn flush_metrics(
    env: &Env,
    counts: std::collections::BTreeMap<String, TenantCounters>,
) -> Result<()> {
    for (tenant, counters) in counts {
        let init = RequestInit {
            method: Method::Post,
            body: Some(serde_json::to_string(&counters)?.into()),
            ..RequestInit::default()
        };
        let req = Request::new_with_init(&format!("https://vane.internal{METRICS_PATH}"), &init)?;
        publisher(env, &tenant)?.fetch_with_request(req).await?;
    }
    Ok(())
}

/// A variable of whole seconds as milliseconds, by `parse`; a bad value
/// gives the default and a warning for the request's log line.
pub(crate) fn seconds_var(
    env: &Env,
    name: &str,
    parse: fn(Option<&str>) -> std::result::Result<u64, BadSeconds>,
    warnings: &mut Vec<String>,
) -> u64 {
    let var = env.var(name).ok().map(|v| v.to_string());
    parse(var.as_deref()).unwrap_or_else(|bad| {
        warnings.push(bad.message);
        bad.default_ms
    })
}

fn into_response(reply: Reply) -> Result<Response> {
    let headers = Headers::new();
    for (name, value) in &reply.headers {
        headers.set(name, value)?;
    }
    let response = match reply.body {
        Some(body) => Response::from_bytes(body)?,
        None => Response::empty()?,
    };
    Ok(response.with_status(reply.status).with_headers(headers))
}

fn kv_error(what: &str, key: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("KV {what} {key}: {e}"))
}

/// The test fault switch of this deployment (`VANE_TEST_FAULTS`,
/// [`crate::faults`]): all off when unset, and when invalid (logged).
pub(crate) fn test_faults(env: &Env) -> Faults {
    let value = env.var(faults::VARIABLE).ok().map(|v| v.to_string());
    Faults::parse(value.as_deref()).unwrap_or_else(|e| {
        console_warn!("vane: {e}; test faults off");
        Faults::default()
    })
}

/// Logs an injected failure (the hardening test counts these lines) and
/// passes it on.
fn logged(result: std::result::Result<(), StoreError>) -> std::result::Result<(), StoreError> {
    if let Err(e) = &result {
        console_warn!("{}", e.0);
    }
    result
}

/// Read access to the KV namespace. The binding is looked up when a read
/// or write needs it, not per request: a request answered from the
/// isolate's cache touches no KV (and the lookup is six property reads).
struct KvSource {
    env: Env,
    /// The isolate's settings: test faults injected into reads and writes
    /// (off in a deploy), the trusted publisher keys.
    settings: Rc<Settings>,
}

impl KvSource {
    fn new(env: &Env) -> KvSource {
        KvSource {
            env: env.clone(),
            settings: settings(env),
        }
    }

    fn kv(&self) -> std::result::Result<KvStore, StoreError> {
        self.env
            .kv(KV_BINDING)
            .map_err(|e| kv_error("binding", KV_BINDING, e))
    }

    async fn get(&self, key: &str) -> std::result::Result<Option<Vec<u8>>, StoreError> {
        logged(self.settings.faults.check(Op::KvRead, key))?;
        self.kv()?
            .get(key)
            .bytes()
            .await
            .map_err(|e| kv_error("get", key, e))
    }

    async fn put(&self, key: &str, value: &[u8]) -> std::result::Result<(), StoreError> {
        logged(self.settings.faults.check(Op::KvWrite, key))?;
        self.kv()?
            .put_bytes(key, value)
            .map_err(|e| kv_error("put", key, &e))?
            .execute()
            .await
            .map_err(|e| kv_error("put", key, e))
    }
}

impl SnapshotSource for KvSource {
    async fn pointer(&self, tenant: &str) -> std::result::Result<Option<Pointer>, StoreError> {
        match self.get(&pointer_key(tenant)).await? {
            Some(bytes) => Pointer::from_json(tenant, &bytes).map(Some),
            None => Ok(None),
        }
    }

    async fn snapshot(
        &self,
        tenant: &str,
        digest: &str,
    ) -> std::result::Result<Option<Vec<u8>>, StoreError> {
        self.get(&snapshot_key(tenant, digest)).await
    }

    fn trusted_publisher_keys(&self) -> Option<&str> {
        self.settings.trusted_publisher_keys.as_deref()
    }

    async fn key_owner(&self, digest: &str) -> std::result::Result<Option<String>, StoreError> {
        let key = key_index_key(digest);
        Ok(self
            .get(&key)
            .await?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }
}

/// The admin store of one tenant's Durable Object: KV as the edge's copy
/// (its [`SnapshotSource`] reads are the edge's), the object's own strongly
/// consistent storage for the authoritative pointer, and the key registry
/// object for key claims.
struct PublisherStore {
    kv: KvSource,
    storage: Storage,
    env: Env,
}

impl SnapshotSource for PublisherStore {
    async fn pointer(&self, tenant: &str) -> std::result::Result<Option<Pointer>, StoreError> {
        self.kv.pointer(tenant).await
    }

    async fn snapshot(
        &self,
        tenant: &str,
        digest: &str,
    ) -> std::result::Result<Option<Vec<u8>>, StoreError> {
        self.kv.snapshot(tenant, digest).await
    }

    async fn key_owner(&self, digest: &str) -> std::result::Result<Option<String>, StoreError> {
        self.kv.key_owner(digest).await
    }

    fn trusted_publisher_keys(&self) -> Option<&str> {
        self.kv.trusted_publisher_keys()
    }
}

fn do_error(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("Durable Object {what}: {e}"))
}

impl AdminStore for PublisherStore {
    async fn current(&self, tenant: &str) -> std::result::Result<Option<Pointer>, StoreError> {
        logged(self.kv.settings.faults.check(Op::DoStorage, DO_POINTER_KEY))?;
        let own: Option<String> = self
            .storage
            .get(DO_POINTER_KEY)
            .await
            .map_err(|e| do_error("storage get pointer", e))?;
        match own {
            Some(json) => Pointer::from_json(tenant, json.as_bytes()).map(Some),
            // A tenant published before the object kept its pointer: KV's.
            None => self.kv.pointer(tenant).await,
        }
    }

    async fn put_snapshot(
        &self,
        tenant: &str,
        digest: &str,
        bytes: &[u8],
    ) -> std::result::Result<(), StoreError> {
        self.kv.put(&snapshot_key(tenant, digest), bytes).await
    }

    async fn claim_keys(
        &self,
        tenant: &str,
        digests: &[String],
    ) -> std::result::Result<Claim, StoreError> {
        let claim = || -> Result<Request> {
            let body = serde_json::json!({"tenant": tenant, "digests": digests}).to_string();
            let init = RequestInit {
                method: Method::Post,
                body: Some(body.into()),
                ..RequestInit::default()
            };
            Request::new_with_init(&format!("https://vane.internal{CLAIM_PATH}"), &init)
        };
        let registry = || -> Result<worker::Stub> {
            self.env
                .durable_object(REGISTRY_BINDING)?
                .id_from_name(REGISTRY_NAME)?
                .get_stub()
        };
        logged(
            self.kv
                .settings
                .faults
                .check(Op::DoStorage, "key registry claim"),
        )?;
        let req = claim().map_err(|e| do_error("key registry request", e))?;
        let mut response = registry()
            .map_err(|e| do_error("key registry", e))?
            .fetch_with_request(req)
            .await
            .map_err(|e| do_error("key registry claim", e))?;
        let answer: ClaimAnswer = response
            .json()
            .await
            .map_err(|e| do_error("key registry answer", e))?;
        Ok(match answer.conflict {
            None => Claim::Granted,
            Some((digest, owner)) => Claim::Conflict { digest, owner },
        })
    }

    async fn put_pointer(&self, pointer: &Pointer) -> std::result::Result<(), StoreError> {
        logged(self.kv.settings.faults.check(Op::DoStorage, DO_POINTER_KEY))?;
        let text = String::from_utf8_lossy(&pointer.to_json()).into_owned();
        self.storage
            .put(DO_POINTER_KEY, text)
            .await
            .map_err(|e| do_error("storage put pointer", e))
    }

    async fn put_edge_copy(
        &self,
        pointer: &Pointer,
        digests: &[String],
    ) -> std::result::Result<(), StoreError> {
        for digest in digests {
            self.kv
                .put(&key_index_key(digest), pointer.tenant.as_bytes())
                .await?;
        }
        self.kv
            .put(&pointer_key(&pointer.tenant), &pointer.to_json())
            .await
    }
}

/// The registry's answer to a claim: the first digest another tenant owns,
/// with that tenant, if any.
#[derive(serde::Serialize, serde::Deserialize)]
struct ClaimAnswer {
    conflict: Option<(String, String)>,
}

/// A claim sent to the registry.
#[derive(serde::Deserialize)]
struct ClaimRequest {
    tenant: String,
    digests: Vec<String>,
}

/// The one owner of every client key digest (a single instance, named
/// [`REGISTRY_NAME`]): `key/{digest}` → tenant in its storage. A claim runs
/// with every other event of the object held back, so claims of one digest
/// by two tenants are ordered and only the first is granted. Digests it has
/// never seen are looked up in KV's key index too, which tenants published
/// before the registry existed filled.
#[durable_object(fetch)]
pub struct KeyRegistry {
    state: State,
    env: Env,
}

impl DurableObject for KeyRegistry {
    fn new(state: State, env: Env) -> Self {
        KeyRegistry { state, env }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        if req.path() != CLAIM_PATH {
            return Response::error("not found", 404);
        }
        let claim: ClaimRequest = req.json().await?;
        let storage = self.state.storage();
        let kv = KvSource::new(&self.env);
        let work = async move {
            for digest in &claim.digests {
                let key = key_index_key(digest);
                let mut owner: Option<String> = storage.get(&key).await?;
                if owner.is_none() {
                    owner = kv
                        .key_owner(digest)
                        .await
                        .map_err(|e| worker::Error::RustError(e.0))?;
                }
                if let Some(owner) = owner.filter(|o| *o != claim.tenant) {
                    return Ok(ClaimAnswer {
                        conflict: Some((digest.clone(), owner)),
                    });
                }
            }
            for digest in &claim.digests {
                storage.put(&key_index_key(digest), &claim.tenant).await?;
            }
            Ok(ClaimAnswer { conflict: None })
        };
        let answer = self.state.block_concurrency_while(work).await?;
        Response::from_json(&answer)
    }
}

/// One instance per tenant (addressed by tenant name): runs that tenant's
/// admin requests one at a time and keeps its counters. The admin token was
/// checked by the fetch handler before the request was forwarded here.
#[durable_object(fetch)]
pub struct TenantPublisher {
    state: State,
    env: Env,
}

impl DurableObject for TenantPublisher {
    fn new(state: State, env: Env) -> Self {
        TenantPublisher { state, env }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        if req.path() == METRICS_PATH {
            return self.add_counts(req).await;
        }
        let request_id = req
            .headers()
            .get(REQUEST_ID_HEADER)
            .ok()
            .flatten()
            .unwrap_or_else(new_request_id);
        let head = head_of(&req);
        let outcome = match self.serialised(req, head.clone(), request_id.clone()).await {
            Ok(outcome) => outcome,
            Err(cause) => internal(&head, "admin", cause, &request_id),
        };
        console_log!("{}", outcome.log.to_json(&request_id));
        into_response(outcome.reply)
    }
}

impl TenantPublisher {
    /// Runs the admin request with every other event of this object held back
    /// until it is done (`blockConcurrencyWhile`), so reads and writes of
    /// concurrent publishes never interleave. The body is read inside too.
    /// The work never fails (failures are outcomes): a failing future would
    /// reset the object.
    async fn serialised(
        &self,
        mut req: Request,
        head: RequestHead,
        request_id: String,
    ) -> Result<Outcome> {
        let route = match route(&head.method, &head.path, head.query.as_deref()) {
            Ok(Route::Admin(route)) => route,
            Ok(other) => {
                let e = ApiError::NotFound {
                    method: head.method.clone(),
                    path: head.path.clone(),
                };
                let name = match other {
                    Route::Ofrep(r) => r.name(),
                    Route::Confidence(r) => r.name(),
                    Route::Admin(r) => r.name(),
                };
                return Ok(refused(&head, &e, name, &request_id));
            }
            Err(e) => return Ok(refused(&head, &e, "unrouted", &request_id)),
        };
        let store = PublisherStore {
            kv: KvSource::new(&self.env),
            storage: self.state.storage(),
            env: self.env.clone(),
        };
        let work = async move {
            let counters = stored_counters(&store.storage).await;
            let body = match req.bytes().await {
                Ok(body) => body,
                Err(cause) => return Ok(internal(&head, route.name(), cause, &request_id)),
            };
            let now = Date::now().as_millis() / 1000;
            Ok(serve_admin(&store, &route, &body, &counters, now, &request_id).await)
        };
        self.state.block_concurrency_while(work).await
    }

    /// Adds an isolate's counts (JSON [`TenantCounters`]) to the stored ones.
    async fn add_counts(&self, mut req: Request) -> Result<Response> {
        let delta: TenantCounters = req.json().await?;
        let storage = self.state.storage();
        let mut total = stored_counters(&storage).await;
        total.merge(&delta);
        storage
            .put(DO_METRICS_KEY, serde_json::to_string(&total)?)
            .await?;
        Response::empty()
    }
}

/// The tenant's stored counters; none yet (or unreadable) is all zeros.
async fn stored_counters(storage: &Storage) -> TenantCounters {
    let json: Option<String> = storage.get(DO_METRICS_KEY).await.ok().flatten();
    json.and_then(|j| serde_json::from_str(&j).ok())
        .unwrap_or_default()
}
