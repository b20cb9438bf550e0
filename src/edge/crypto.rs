//! Ed25519 checks with WebCrypto (`crypto.subtle`), so the Wasm carries no curve arithmetic:
//! the core says what to check ([`crate::core::ed25519::Check`]), this module asks the runtime.

use crate::core::ed25519::Check;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use worker::js_sys::{Array, Object, Promise, Reflect, Uint8Array};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = importKey, catch)]
    fn import_key(
        format: &str,
        key: &Uint8Array,
        algorithm: &JsValue,
        extractable: bool,
        usages: &Array,
    ) -> Result<Promise, JsValue>;

    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = verify, catch)]
    fn subtle_verify(
        algorithm: &JsValue,
        key: &JsValue,
        signature: &Uint8Array,
        data: &Uint8Array,
    ) -> Result<Promise, JsValue>;
}

/// Whether `check` verifies. A key WebCrypto will not import (not a point on the curve) or any
/// other failure is `false`.
pub async fn ed25519_verify(check: &Check) -> bool {
    verify(check).await.unwrap_or(false)
}

async fn verify(check: &Check) -> Result<bool, JsValue> {
    let algorithm = Object::new();
    Reflect::set(&algorithm, &"name".into(), &"Ed25519".into())?;
    let usages = Array::of1(&"verify".into());
    let key = Uint8Array::from(&check.key[..]);
    let imported = import_key("raw", &key, &algorithm, false, &usages)?;
    let key = wasm_bindgen_futures::JsFuture::from(imported).await?;
    let signature = Uint8Array::from(&check.signature[..]);
    let message = Uint8Array::from(check.message.as_slice());
    let verified = subtle_verify(&algorithm, &key, &signature, &message)?;
    Ok(wasm_bindgen_futures::JsFuture::from(verified)
        .await?
        .is_truthy())
}

/// Whether any of `checks` verifies. Every check is made, whatever an earlier one found, so the
/// time taken says nothing about which key matched.
pub async fn any_verifies(checks: &[Check]) -> bool {
    let mut verified = false;
    for check in checks {
        verified |= ed25519_verify(check).await;
    }
    verified
}
