//! Roles, store scoping and the published JWK.

use axum::http::StatusCode;
use ed25519_dalek::pkcs8::EncodePublicKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;

use super::*;

#[test]
fn store_token_may_access_only_its_own_store() {
    let store = claims(Role::Store, Some("store-7"));
    assert!(store.may_access_store("store-7"));
    assert!(!store.may_access_store("store-8"));
    assert!(!claims(Role::Store, None).may_access_store("store-7"));
    assert!(claims(Role::SyncWorker, None).may_access_store("store-8"));
    assert!(claims(Role::Admin, None).may_access_store("store-8"));
}

#[test]
fn require_role_forbids_other_roles() {
    let store = claims(Role::Store, Some("store-7"));
    assert!(store.require_role(&[Role::Store, Role::Admin]).is_ok());
    let err = store
        .require_role(&[Role::Admin])
        .expect_err("store is not admin");
    assert_eq!((err.status, err.code), (StatusCode::FORBIDDEN, "forbidden"));
}

#[test]
fn roles_use_kebab_case_names_everywhere() {
    for (role, name) in [
        (Role::SyncWorker, "sync-worker"),
        (Role::Store, "store"),
        (Role::Admin, "admin"),
    ] {
        assert_eq!(role.to_string(), name);
        assert_eq!(name.parse::<Role>().ok(), Some(role));
        assert_eq!(
            serde_json::to_value(role).ok(),
            Some(serde_json::json!(name))
        );
    }
    assert!("SyncWorker".parse::<Role>().is_err());
}

#[test]
fn jwk_for_public_key_matches_the_signing_key() {
    let key = TestKey::generate("test-key");
    let pem = key
        .signing
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("encode SPKI");

    let jwk = jwk_for_public_key(&pem, "test-key").expect("derive JWK");

    assert_eq!(jwk.algorithm, key.jwk.algorithm);
    assert_eq!(jwk.common.key_id.as_deref(), Some("test-key"));
}
