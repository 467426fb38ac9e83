//! The NID registry over HTTP (`app::nid::NidRegistry`): `POST {url}/v1/verify`
//! with the shared key in `X-Api-Key`, within a timeout. Anything but a
//! judged answer (no connection, a timeout, a 5xx, our key refused, a body we
//! cannot read) is "unavailable": registration then fails with 503 and
//! creates nothing, never lets an unverified NID through.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::app::nid::{NidClaim, NidRegistry, NidVerdict, RegistryUnavailable};
use crate::outside::Embedded;
use crate::outside::nid::{API_KEY_HEADER, MockNidRegistry};
use crate::wire::nid::{VerifyRequest, VerifyResponse};

/// How long a verification may take before the registry counts as down.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

/// How long the embedded mock's slow NIDs (`222…`) take: past any timeout.
const MOCK_SLOW: Duration = Duration::from_secs(10);

pub struct HttpNidRegistry {
    client: reqwest::Client,
    verify_url: String,
    key: String,
    /// The embedded mock this client talks to, kept running as long as the client.
    _embedded: Option<Arc<Embedded>>,
}

impl std::fmt::Debug for HttpNidRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpNidRegistry")
            .field("verify_url", &self.verify_url)
            .finish_non_exhaustive()
    }
}

impl HttpNidRegistry {
    /// A client of the registry at `base_url` (e.g. `http://127.0.0.1:7070`).
    pub fn new(base_url: &str, key: &str, timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()?;
        Ok(HttpNidRegistry {
            client,
            verify_url: format!("{}/v1/verify", base_url.trim_end_matches('/')),
            key: key.to_owned(),
            _embedded: None,
        })
    }

    /// Starts the mock registry on a loopback port of its own, with a fresh
    /// random key, and a client of it (for `serve` without a registry URL,
    /// the CLI and tests).
    pub async fn embedded(timeout: Duration) -> std::io::Result<Self> {
        let key = hex::encode(rand::random::<[u8; 16]>());
        let mock = crate::outside::nid::router(MockNidRegistry::new(&key, MOCK_SLOW));
        let embedded = crate::outside::serve_embedded(mock).await?;
        let mut client =
            Self::new(&embedded.url(), &key, timeout).map_err(std::io::Error::other)?;
        client._embedded = Some(Arc::new(embedded));
        Ok(client)
    }
}

#[async_trait]
impl NidRegistry for HttpNidRegistry {
    async fn verify(&self, claim: &NidClaim) -> Result<NidVerdict, RegistryUnavailable> {
        let body = VerifyRequest {
            nid: claim.nid.as_str().to_owned(),
            dob: claim.date_of_birth.to_string(),
            name: claim.name.clone(),
        };
        let down = |what: String| RegistryUnavailable(what);
        let resp = self
            .client
            .post(&self.verify_url)
            .header(API_KEY_HEADER, &self.key)
            .json(&body)
            .send()
            .await
            // reqwest's error names the URL, never the body.
            .map_err(|e| down(e.to_string()))?;
        let status = resp.status();
        if status != reqwest::StatusCode::OK {
            return Err(down(format!("the registry answered {status}")));
        }
        let answer: VerifyResponse = resp
            .json()
            .await
            .map_err(|e| down(format!("unreadable answer: {e}")))?;
        let verdict = NidVerdict::from_reason(&answer.reason)
            .ok_or_else(|| down(format!("unknown reason {:?}", answer.reason)))?;
        if answer.verified != (verdict == NidVerdict::Verified) {
            return Err(down(format!("contradictory answer {answer:?}")));
        }
        Ok(verdict)
    }
}
