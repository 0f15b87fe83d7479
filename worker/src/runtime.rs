//! The Workers runtime adapter (wasm32 only): the fetch handler, the
//! per-tenant Durable Object that serialises admin writes, and the KV and
//! Durable Object storage behind [`crate::store`]'s interfaces. Decisions
//! are made by the plain modules; this file moves bytes between them and
//! the runtime, and turns every failure into a JSON reply.
//!
//! Bindings (see `wrangler.toml`): KV namespace `SNAPSHOTS`, Durable Object
//! namespace `PUBLISHER` (class [`TenantPublisher`]), variable
//! `SNAPSHOT_TTL_SECONDS`, secret `ADMIN_TOKEN`.

use std::rc::Rc;

use worker::{
    console_error, console_warn, durable_object, event, Context, Date, DurableObject, Env, Headers,
    KvStore, Request, Response, Result, State, Storage,
};

use crate::admin;
use crate::auth;
use crate::cache::Cache;
use crate::cors::RequestCors;
use crate::limits::{snapshot_ttl_ms, MAX_REQUEST_BYTES, MAX_SNAPSHOT_BYTES};
use crate::ofrep;
use crate::reply::Reply;
use crate::route::{query_of, route, Route};
use crate::store::{
    key_index_key, pointer_key, snapshot_key, AdminStore, Pointer, SnapshotSource, StoreError,
};

const KV_BINDING: &str = "SNAPSHOTS";
const PUBLISHER_BINDING: &str = "PUBLISHER";
/// Durable Object storage key of the tenant's authoritative pointer (JSON).
const DO_POINTER_KEY: &str = "pointer";

thread_local! {
    static CACHE: Rc<Cache> = Rc::new(Cache::new());
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    // The CORS context outlives `handle`, so that a failure anywhere in it
    // is answered with the same CORS headers as any other answer.
    let origin = req.headers().get("origin").ok().flatten();
    let mut cors = RequestCors::new(&req.path(), origin);
    match handle(req, &env, &mut cors).await {
        Ok(response) => Ok(response),
        Err(e) => {
            console_error!("vane: internal error: {e}");
            into_response(cors.finish(Reply::internal(e)))
        }
    }
}

/// Answers a request; every [`Reply`] passes through `cors` on its way out,
/// and `cors` learns the tenant's origins as soon as they are known.
async fn handle(req: Request, env: &Env, cors: &mut RequestCors) -> Result<Response> {
    let path = req.path();
    let url = req.inner().url();
    let route = match route(req.method().as_ref(), &path, query_of(&url)) {
        Ok(route) => route,
        Err(reply) => return into_response(cors.finish(reply)),
    };
    match route {
        Route::Preflight => into_response(cors.preflight()),
        Route::EvaluateFlag { .. } | Route::EvaluateAll { .. } => {
            let reply = evaluate(req, env, &route, cors).await?;
            into_response(cors.finish(reply))
        }
        Route::Publish { ref tenant }
        | Route::Rollback { ref tenant, .. }
        | Route::Status { ref tenant } => {
            if let Some(refusal) = admin_refusal(&req, env)? {
                return into_response(cors.finish(refusal));
            }
            let stub = env
                .durable_object(PUBLISHER_BINDING)?
                .id_from_name(tenant)?
                .get_stub()?;
            stub.fetch_with_request(req).await
        }
    }
}

/// An OFREP request: size, client key, tenant, snapshot, evaluation. The
/// reply has no CORS headers yet; `cors` is told the tenant's origins once
/// the key is known to be the tenant's.
async fn evaluate(
    mut req: Request,
    env: &Env,
    route: &Route,
    cors: &mut RequestCors,
) -> Result<Reply> {
    let headers = req.headers().clone();
    if content_length(&headers)? > MAX_REQUEST_BYTES {
        return Ok(too_large(MAX_REQUEST_BYTES));
    }
    let authorization = headers.get("authorization")?;
    let api_key = headers.get("x-api-key")?;
    let Some(key) = auth::client_key(authorization.as_deref(), api_key.as_deref()) else {
        return Ok(Reply::error(
            401,
            "UNAUTHORIZED",
            "no client key: send Authorization: Bearer <key> or X-API-Key: <key>",
        ));
    };
    let digest = auth::key_digest(key);
    let unknown_key = || Reply::error(401, "UNAUTHORIZED", "the client key is not valid");
    let source = KvSource {
        kv: env.kv(KV_BINDING)?,
    };
    let cache = CACHE.with(Rc::clone);
    let now_ms = Date::now().as_millis();
    let ttl_ms = ttl_ms(env);
    let tenant = match cache.key_owner(&source, &digest, now_ms, ttl_ms).await {
        Ok(Some(tenant)) if route.scope_admits(&tenant) => tenant,
        Ok(_) => return Ok(unknown_key()),
        Err(e) => {
            console_error!("vane: key index unavailable: {e}");
            return Ok(Reply::error(
                503,
                "STORE_UNAVAILABLE",
                "the key index cannot be read; retry later",
            ));
        }
    };
    let lookup = cache.snapshot(&source, &tenant, now_ms, ttl_ms).await;
    if let Some(warning) = &lookup.warning {
        console_warn!("vane: {warning}");
    }
    let Some(snapshot) = lookup.snapshot else {
        return Ok(Reply::error(
            503,
            "SNAPSHOT_UNAVAILABLE",
            format!("tenant {tenant:?} has no snapshot to serve; publish one with `vane publish`"),
        ));
    };
    if !auth::tenant_admits(&snapshot.body, &digest) {
        return Ok(unknown_key());
    }
    cors.tenant_known(&snapshot.body.cors_origins);
    let body = req.bytes().await?;
    if body.len() > MAX_REQUEST_BYTES {
        return Ok(too_large(MAX_REQUEST_BYTES)
            .with_header("x-vane-snapshot", ofrep::snapshot_header(&snapshot.info)));
    }
    let now = (now_ms / 1000) as i64;
    let reply = match route {
        Route::EvaluateFlag { key, .. } => ofrep::evaluate_one(&snapshot, key, &body, now),
        _ => {
            let if_none_match = headers.get("if-none-match")?;
            ofrep::evaluate_all(&snapshot, &body, if_none_match.as_deref(), now)
        }
    };
    Ok(reply)
}

/// Checks the admin token and the declared body size; `Some` is the reply
/// that refuses the request.
fn admin_refusal(req: &Request, env: &Env) -> Result<Option<Reply>> {
    let token = env
        .secret("ADMIN_TOKEN")
        .map(|s| s.to_string())
        .unwrap_or_default();
    if token.is_empty() {
        return Ok(Some(Reply::error(
            503,
            "ADMIN_DISABLED",
            "ADMIN_TOKEN is not configured: `wrangler secret put ADMIN_TOKEN` (locally: .dev.vars)",
        )));
    }
    let headers = req.headers();
    if !auth::admin_authorized(headers.get("authorization")?.as_deref(), &token) {
        return Ok(Some(Reply::error(
            401,
            "UNAUTHORIZED",
            "admin requests need Authorization: Bearer <ADMIN_TOKEN>",
        )));
    }
    if content_length(headers)? > MAX_SNAPSHOT_BYTES {
        return Ok(Some(too_large(MAX_SNAPSHOT_BYTES)));
    }
    Ok(None)
}

fn too_large(limit: usize) -> Reply {
    Reply::error(
        413,
        "PAYLOAD_TOO_LARGE",
        format!("request body is larger than {limit} bytes"),
    )
}

/// The declared `Content-Length` (0 when absent or unparsable: the body is
/// then measured after reading).
fn content_length(headers: &Headers) -> Result<usize> {
    Ok(headers
        .get("content-length")?
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0))
}

fn ttl_ms(env: &Env) -> u64 {
    let var = env.var("SNAPSHOT_TTL_SECONDS").ok().map(|v| v.to_string());
    snapshot_ttl_ms(var.as_deref()).unwrap_or_else(|message| {
        console_warn!("vane: {message}");
        snapshot_ttl_ms(None).unwrap_or_default()
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

/// Read access to the KV namespace.
struct KvSource {
    kv: KvStore,
}

impl KvSource {
    async fn get(&self, key: &str) -> std::result::Result<Option<Vec<u8>>, StoreError> {
        self.kv
            .get(key)
            .bytes()
            .await
            .map_err(|e| kv_error("get", key, e))
    }

    async fn put(&self, key: &str, value: &[u8]) -> std::result::Result<(), StoreError> {
        self.kv
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

    async fn key_owner(&self, digest: &str) -> std::result::Result<Option<String>, StoreError> {
        let key = key_index_key(digest);
        Ok(self
            .get(&key)
            .await?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }
}

/// The admin store of one tenant's Durable Object: KV for what the edge
/// reads, plus the object's own strongly consistent storage as the
/// authoritative copy of the pointer (KV reads may lag behind writes).
struct PublisherStore {
    kv: KvSource,
    storage: Storage,
}

impl SnapshotSource for PublisherStore {
    async fn pointer(&self, tenant: &str) -> std::result::Result<Option<Pointer>, StoreError> {
        let own: Option<String> =
            self.storage.get(DO_POINTER_KEY).await.map_err(|e| {
                StoreError(format!("Durable Object storage get {DO_POINTER_KEY}: {e}"))
            })?;
        match own {
            Some(json) => Pointer::from_json(tenant, json.as_bytes()).map(Some),
            None => self.kv.pointer(tenant).await,
        }
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
}

impl AdminStore for PublisherStore {
    async fn put_snapshot(
        &self,
        tenant: &str,
        digest: &str,
        bytes: &[u8],
    ) -> std::result::Result<(), StoreError> {
        self.kv.put(&snapshot_key(tenant, digest), bytes).await
    }

    async fn put_key_owner(
        &self,
        digest: &str,
        tenant: &str,
    ) -> std::result::Result<(), StoreError> {
        self.kv.put(&key_index_key(digest), tenant.as_bytes()).await
    }

    async fn put_pointer(&self, pointer: &Pointer) -> std::result::Result<(), StoreError> {
        let json = pointer.to_json();
        self.kv.put(&pointer_key(&pointer.tenant), &json).await?;
        let text = String::from_utf8_lossy(&json).into_owned();
        self.storage
            .put(DO_POINTER_KEY, text)
            .await
            .map_err(|e| StoreError(format!("Durable Object storage put {DO_POINTER_KEY}: {e}")))
    }
}

/// One instance per tenant (addressed by tenant name): runs that tenant's
/// admin requests one at a time. The admin token was checked by the fetch
/// handler before the request was forwarded here.
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
        let reply = match self.serialised(req).await {
            Ok(reply) => reply,
            Err(e) => {
                console_error!("vane: publisher error: {e}");
                Reply::internal(e)
            }
        };
        into_response(reply)
    }
}

impl TenantPublisher {
    /// Runs the admin request with every other event of this object held back
    /// until it is done (`blockConcurrencyWhile`), so reads and writes of
    /// concurrent publishes never interleave. The body is read inside too.
    /// The work never fails (failures are replies): a failing future would
    /// reset the object.
    async fn serialised(&self, mut req: Request) -> Result<Reply> {
        let url = req.inner().url();
        let route = match route(req.method().as_ref(), &req.path(), query_of(&url)) {
            Ok(route) if route.is_admin() => route,
            Ok(_) => return Ok(Reply::error(404, "NOT_FOUND", "not an admin route")),
            Err(reply) => return Ok(reply),
        };
        let store = PublisherStore {
            kv: KvSource {
                kv: self.env.kv(KV_BINDING)?,
            },
            storage: self.state.storage(),
        };
        let work = async move {
            let now = Date::now().as_millis() / 1000;
            Ok(match route {
                Route::Publish { tenant } => match req.bytes().await {
                    Ok(bytes) => admin::publish(&store, &tenant, &bytes, now).await,
                    Err(e) => {
                        Reply::error(400, "UNREADABLE_BODY", format!("cannot read the body: {e}"))
                    }
                },
                Route::Rollback { tenant, to } => {
                    admin::rollback(&store, &tenant, to.as_deref(), now).await
                }
                Route::Status { tenant } => admin::status(&store, &tenant).await,
                // Only admin routes get here (checked above).
                _ => Reply::error(404, "NOT_FOUND", "not an admin route"),
            })
        };
        self.state.block_concurrency_while(work).await
    }
}
