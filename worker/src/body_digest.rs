//! sha256 of a snapshot body with the fastest SHA-256 at hand: in the
//! Workers runtime the host's WebCrypto (`crypto.subtle.digest`, native
//! code with the CPU's SHA extensions) instead of the resolver's wasm
//! build of the sha2 crate, which is the larger part of a cold isolate's
//! first answer for a large tenant (`docs/benchmarks.md`, "Cold start");
//! natively (tests) the resolver's own.

/// sha256 of `bytes`. Errors: the runtime refused the digest (its message).
#[cfg(target_arch = "wasm32")]
pub async fn sha256(bytes: &[u8]) -> Result<[u8; 32], String> {
    use worker::js_sys::{Function, Promise, Reflect, Uint8Array};
    use worker::wasm_bindgen::{JsCast, JsValue};
    use worker::wasm_bindgen_futures::JsFuture;

    let js = |e: JsValue| format!("crypto.subtle.digest failed: {e:?}");
    let crypto = Reflect::get(&worker::js_sys::global(), &"crypto".into()).map_err(js)?;
    let subtle = Reflect::get(&crypto, &"subtle".into()).map_err(js)?;
    let digest: Function = Reflect::get(&subtle, &"digest".into())
        .map_err(js)?
        .dyn_into()
        .map_err(js)?;
    // A copy in JavaScript memory: WebCrypto reads its input when called.
    let data = Uint8Array::from(bytes);
    let promise: Promise = digest
        .call2(&subtle, &"SHA-256".into(), &data)
        .map_err(js)?
        .dyn_into()
        .map_err(js)?;
    let out = Uint8Array::new(&JsFuture::from(promise).await.map_err(js)?).to_vec();
    out.try_into()
        .map_err(|v: Vec<u8>| format!("crypto.subtle.digest gave {} bytes, not 32", v.len()))
}

/// sha256 of `bytes` (never fails natively).
#[cfg(not(target_arch = "wasm32"))]
pub async fn sha256(bytes: &[u8]) -> Result<[u8; 32], String> {
    Ok(vane_resolver::snapshot::sha256(bytes))
}
