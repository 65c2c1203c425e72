//! Host names resolved for event endpoints, at registration (the domain's
//! [`HostResolver`]) and again at every connection a delivery opens
//! ([`CheckedResolver`], reqwest's resolver): a name that resolved to a
//! public address when it was registered can resolve to 127.0.0.1 later
//! (DNS rebinding), and only the check of the address actually dialled
//! stops that.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use adapters_http::RefusedDestination;
use adapters_http::dns::{Addrs, Name, Resolve, Resolving};
use async_trait::async_trait;
use domain::destinations::Destinations;
use domain::ports::{HostResolver, Unresolved};

/// Longest wait for a name to resolve: a registration waits on it, and a
/// resolver that hangs must not hold an admin's request or a delivery.
pub const RESOLVE_TIMEOUT_MS: u64 = 5_000;

/// The operating system's resolver (`getaddrinfo`, as the HTTP client's
/// default), with [`RESOLVE_TIMEOUT_MS`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

#[async_trait]
impl HostResolver for SystemResolver {
    async fn resolve(&self, host: &str) -> Result<Vec<IpAddr>, Unresolved> {
        lookup(host).await
    }
}

/// Every address `host` resolves to, without repeats; at least one.
async fn lookup(host: &str) -> Result<Vec<IpAddr>, Unresolved> {
    let resolving = tokio::net::lookup_host((host, 0));
    let Ok(Ok(found)) = tokio::time::timeout(Duration::from_millis(RESOLVE_TIMEOUT_MS), resolving).await else {
        return Err(Unresolved);
    };
    let mut addresses: Vec<IpAddr> = Vec::new();
    for address in found.map(|socket| socket.ip()) {
        if !addresses.contains(&address) {
            addresses.push(address);
        }
    }
    if addresses.is_empty() { Err(Unresolved) } else { Ok(addresses) }
}

/// The delivery client's resolver: resolves as [`SystemResolver`] does and
/// refuses the name ([`RefusedDestination`]) when any of its addresses is
/// one `destinations` does not admit, as registration does; the client
/// then dials only addresses checked here.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CheckedResolver {
    pub(crate) destinations: Destinations,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let (host, destinations) = (name.as_str().to_owned(), self.destinations);
        Box::pin(async move {
            let addresses = lookup(&host).await?;
            if !addresses.iter().all(|address| destinations.admits(*address)) {
                return Err(RefusedDestination.into());
            }
            // Port 0: the client puts the URL's port in.
            Ok(Box::new(addresses.into_iter().map(|address| SocketAddr::new(address, 0))) as Addrs)
        })
    }
}
