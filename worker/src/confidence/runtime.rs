//! The sticky-assignment store on the Workers runtime (wasm32 only): the
//! Durable Object class [`StickyAssignments`], one instance per unit range
//! of a tenant (binding `STICKY`, see `wrangler.toml`), and
//! [`DurableStickyStore`], the [`StickyStore`] the pipelines call through
//! object stubs. Layout and consistency: [`super::sticky`].
//!
//! Object protocol (JSON bodies, internal to the worker):
//!
//! | request | body | answer |
//! |---|---|---|
//! | `POST /read` | [`ReadRequest`] | [`Materializations`] of those units |
//! | `POST /write` | [`WriteRequest`] | `{"changed": units changed}` |
//! | `PUT /units` | [`Materializations`] | `{"replaced": units}`: each unit's records replaced (empty: deleted) |

use worker::{
    durable_object, wasm_bindgen::JsValue, DurableObject, Env, Method, Request, RequestInit,
    Response, Result, State, Storage,
};

use super::sticky::{
    merge, storage_key, Materializations, ReadRequest, StickyStore, UnitRecords, Write,
    WriteRequest,
};

/// Durable Object namespace binding of the sticky store.
pub const STICKY_BINDING: &str = "STICKY";

/// One range of one tenant's units (named by
/// [`super::sticky::object_name`]). Requests run one at a time over the
/// object's storage (its input gate holds other events while a storage
/// call is pending), so a read-merge-write of a unit is never interleaved.
#[durable_object(fetch)]
pub struct StickyAssignments {
    state: State,
}

impl DurableObject for StickyAssignments {
    fn new(state: State, _env: Env) -> Self {
        StickyAssignments { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let storage = self.state.storage();
        let body = req.bytes().await?;
        let bad = |e: serde_json::Error| Response::error(format!("bad sticky request: {e}"), 400);
        match (req.method(), req.path().as_str()) {
            (Method::Post, "/read") => {
                let request: ReadRequest = match serde_json::from_slice(&body) {
                    Ok(r) => r,
                    Err(e) => return bad(e),
                };
                let mut found = Materializations::default();
                for unit in request.units {
                    if let Some(records) = load(&storage, &unit).await? {
                        found.0.insert(unit, records);
                    }
                }
                Response::from_json(&found)
            }
            (Method::Post, "/write") => {
                let request: WriteRequest = match serde_json::from_slice(&body) {
                    Ok(r) => r,
                    Err(e) => return bad(e),
                };
                let mut units: Vec<&str> = request.writes.iter().map(|w| w.unit.as_str()).collect();
                units.sort_unstable();
                units.dedup();
                let mut changed = 0;
                for unit in units {
                    let mut records = load(&storage, unit).await?.unwrap_or_default();
                    let writes: Vec<&Write> =
                        request.writes.iter().filter(|w| w.unit == unit).collect();
                    if merge(&mut records, &writes) {
                        store(&storage, unit, &records).await?;
                        changed += 1;
                    }
                }
                Response::from_json(&serde_json::json!({ "changed": changed }))
            }
            (Method::Put, "/units") => {
                let units: Materializations = match serde_json::from_slice(&body) {
                    Ok(r) => r,
                    Err(e) => return bad(e),
                };
                let replaced = units.0.len();
                for (unit, records) in units.0 {
                    if records.is_empty() {
                        storage.delete(&storage_key(&unit)).await?;
                    } else {
                        store(&storage, &unit, &records).await?;
                    }
                }
                Response::from_json(&serde_json::json!({ "replaced": replaced }))
            }
            _ => Response::error("no such sticky store request", 404),
        }
    }
}

async fn load(storage: &Storage, unit: &str) -> Result<Option<UnitRecords>> {
    let text: Option<String> = storage.get(&storage_key(unit)).await?;
    match text {
        None => Ok(None),
        Some(json) => serde_json::from_str(&json)
            .map(Some)
            .map_err(|e| worker::Error::RustError(format!("stored records of a unit: {e}"))),
    }
}

async fn store(storage: &Storage, unit: &str, records: &UnitRecords) -> Result<()> {
    let json =
        serde_json::to_string(records).map_err(|e| worker::Error::RustError(e.to_string()))?;
    storage.put(&storage_key(unit), json).await
}

/// The sticky store reached through stubs of [`StickyAssignments`].
pub struct DurableStickyStore {
    /// The worker's environment (for the `STICKY` binding).
    pub env: Env,
}

impl DurableStickyStore {
    /// Sends one request to the object named `object`; its answer's body.
    pub async fn call(
        &self,
        object: &str,
        method: Method,
        path: &str,
        body: String,
    ) -> Result<Vec<u8>> {
        let stub = self
            .env
            .durable_object(STICKY_BINDING)?
            .id_from_name(object)?
            .get_stub()?;
        let mut init = RequestInit::new();
        init.with_method(method)
            .with_body(Some(JsValue::from_str(&body)));
        let req = Request::new_with_init(&format!("https://sticky{path}"), &init)?;
        let mut answer = stub.fetch_with_request(req).await?;
        let bytes = answer.bytes().await?;
        if answer.status_code() != 200 {
            return Err(worker::Error::RustError(format!(
                "{path} answered {}: {}",
                answer.status_code(),
                String::from_utf8_lossy(&bytes)
            )));
        }
        Ok(bytes)
    }
}

impl StickyStore for DurableStickyStore {
    async fn read(
        &self,
        object: &str,
        units: &[String],
    ) -> std::result::Result<Materializations, String> {
        let body = serde_json::to_string(&ReadRequest {
            units: units.to_vec(),
        })
        .map_err(|e| e.to_string())?;
        let bytes = self
            .call(object, Method::Post, "/read", body)
            .await
            .map_err(|e| e.to_string())?;
        serde_json::from_slice(&bytes).map_err(|e| format!("unreadable answer: {e}"))
    }

    async fn write(&self, object: &str, writes: &[Write]) -> std::result::Result<(), String> {
        let body = serde_json::to_string(&WriteRequest {
            writes: writes.to_vec(),
        })
        .map_err(|e| e.to_string())?;
        self.call(object, Method::Post, "/write", body)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    async fn replace(
        &self,
        object: &str,
        units: &Materializations,
    ) -> std::result::Result<(), String> {
        let body = serde_json::to_string(units).map_err(|e| e.to_string())?;
        self.call(object, Method::Put, "/units", body)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }
}
