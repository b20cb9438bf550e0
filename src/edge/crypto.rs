//! Public-key cryptography with WebCrypto (`crypto.subtle`), so the Wasm carries no curve or
//! RSA arithmetic: Ed25519 checks the core describes ([`crate::core::ed25519::Check`]), RS256
//! signatures of the platforms' bearer JWTs with their published keys ([`crate::core::jwt`]),
//! and the RS256 signature of the JWTs that obtain app tokens ([`crate::core::github_app`]).

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

    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = importKey, catch)]
    fn import_jwk(
        format: &str,
        key: &Object,
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

/// Whether the RS256 signature of a bearer JWT verifies with the RSA public key `key` (a key
/// set's JWK, imported as it is published). A key WebCrypto will not import is `false`.
pub async fn rs256_verify(key: &crate::core::jwt::Jwk, message: &[u8], signature: &[u8]) -> bool {
    rs256_check(key, message, signature).await.unwrap_or(false)
}

async fn rs256_check(
    key: &crate::core::jwt::Jwk,
    message: &[u8],
    signature: &[u8],
) -> Result<bool, JsValue> {
    let jwk = Object::new();
    for (name, value) in [
        ("kty", "RSA"),
        ("n", key.n.as_str()),
        ("e", key.e.as_str()),
        ("alg", "RS256"),
    ] {
        Reflect::set(&jwk, &name.into(), &value.into())?;
    }
    let algorithm = rs256_algorithm()?;
    let usages = Array::of1(&"verify".into());
    let imported = import_jwk("jwk", &jwk, &algorithm, false, &usages)?;
    let key = wasm_bindgen_futures::JsFuture::from(imported).await?;
    let verified = subtle_verify(
        &algorithm,
        &key,
        &Uint8Array::from(signature),
        &Uint8Array::from(message),
    )?;
    Ok(wasm_bindgen_futures::JsFuture::from(verified)
        .await?
        .is_truthy())
}

/// `RSASSA-PKCS1-v1_5` with SHA-256, as WebCrypto names RS256.
fn rs256_algorithm() -> Result<Object, JsValue> {
    let algorithm = Object::new();
    Reflect::set(&algorithm, &"name".into(), &"RSASSA-PKCS1-v1_5".into())?;
    Reflect::set(&algorithm, &"hash".into(), &"SHA-256".into())?;
    Ok(algorithm)
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

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = sign, catch)]
    fn subtle_sign(
        algorithm: &JsValue,
        key: &JsValue,
        data: &Uint8Array,
    ) -> Result<Promise, JsValue>;
}

/// The RS256 (`RSASSA-PKCS1-v1_5` with SHA-256) signature of `message` by the PKCS#8 DER key
/// `pkcs8`; `None` when WebCrypto refuses the key.
pub async fn rs256_sign(pkcs8: &[u8], message: &[u8]) -> Option<Vec<u8>> {
    rs256(pkcs8, message).await.ok()
}

async fn rs256(pkcs8: &[u8], message: &[u8]) -> Result<Vec<u8>, JsValue> {
    let algorithm = rs256_algorithm()?;
    let usages = Array::of1(&"sign".into());
    let imported = import_key(
        "pkcs8",
        &Uint8Array::from(pkcs8),
        &algorithm,
        false,
        &usages,
    )?;
    let key = wasm_bindgen_futures::JsFuture::from(imported).await?;
    let signed = subtle_sign(&algorithm, &key, &Uint8Array::from(message))?;
    let signature = wasm_bindgen_futures::JsFuture::from(signed).await?;
    Ok(Uint8Array::new(&signature).to_vec())
}
