//! The runtime of one configuration generation of mod_jk-rs, without httpd: from a parsed
//! workers.properties and the shared region to the objects requests use (one AJP endpoint per
//! ajp13 worker, one balancer per lb worker, the runtime-editable ajp settings in shared
//! memory), and the status worker's side of them (the model jk-status renders, and the
//! changes it accepts applied to balancers and shared settings, each logged).
//!
//! The httpd glue maps the region, supplies the clock, the MPM's thread count and the request
//! facts (server name, time), and writes the log lines this crate produces.
#![forbid(unsafe_code)]

pub mod ajp;
pub mod background;
pub mod discovery;
mod endpoints;
pub mod failover;
pub mod failure;
pub mod maps;
pub mod membership;
pub mod probe;
pub mod registry;
pub mod request;
pub mod reresolve;
pub mod status;

use std::sync::Arc;

use jk_ajp_client::Endpoint;
use jk_config::{PropertyMap, WorkerKind, WorkersConfig};
use jk_lb::Balancer;
use jk_shm::Region;
use jk_urimap::UriMap;

pub use ajp::{AjpShared, ChildCell, Served, Tracked};

/// A map by worker or member name. The request path looks names up several times per
/// request; FxHash costs a fraction of SipHash for these short keys (callgrind, issue 17),
/// and the keys come from the configuration, not from clients.
pub type ByName<V> = std::collections::HashMap<String, V, rustc_hash::FxBuildHasher>;

/// The objects of one generation built from its configuration.
pub struct Built {
    /// One endpoint per ajp13 worker (standalone or lb member).
    pub endpoints: crate::ByName<Arc<Endpoint>>,
    /// Runtime-editable settings and statistics of every ajp13 worker in the shared region.
    pub ajp: crate::ByName<AjpShared>,
    /// One balancer per lb worker.
    pub balancers: crate::ByName<Arc<Balancer>>,
    /// Startup warnings (an unresolvable host: contact disabled).
    pub warnings: Vec<String>,
    /// This process's entry in the shared child table, set by the glue in each httpd child:
    /// the endpoints count their open connections on that child's line of their slot.
    pub child: Arc<ChildCell>,
}

/// Builds endpoints, shared ajp settings and balancers for `workers` over `region`.
/// `threads_per_child` is httpd's worker threads per child (the default `hold_max` is half).
/// Err names the worker that could not be set up.
pub fn build(
    workers: &WorkersConfig,
    region: Region<'static>,
    clock: Arc<dyn jk_lb::Clock>,
    threads_per_child: u32,
) -> Result<Built, String> {
    let (endpoints, warnings) = endpoints::build(workers);
    let ajp = ajp::open(region, workers, &endpoints, clock.now())?;
    let child = Arc::new(ChildCell::default());
    ajp::count_connections(&endpoints, &ajp, &child);
    let mut balancers = ByName::default();
    for w in &workers.workers {
        let WorkerKind::Lb(lb) = &w.kind else {
            continue;
        };
        // The configured members, then the growth slots (runtime membership).
        let members: Vec<(String, &jk_config::AjpWorker)> = lb
            .member_table()
            .filter_map(|m| match &workers.worker(m)?.kind {
                WorkerKind::Ajp(a) => Some((m.clone(), a)),
                _ => None,
            })
            .collect();
        let b = Balancer::new(&w.name, lb, &members, region, clock.clone())
            .map_err(|e| format!("lb worker {}: {e}", w.name))?
            .with_maintain_interval(workers.maintain_secs)
            .with_rolling(jk_lb::RollingSettings::from_config(
                lb,
                &members,
                threads_per_child,
            ));
        // BUSY members return to OK once their pool has a free connection.
        let eps: Vec<Option<Arc<Endpoint>>> = members
            .iter()
            .map(|(m, _)| endpoints.get(m).cloned())
            .collect();
        b.set_endpoint_check(Arc::new(move |i| {
            eps.get(i)
                .and_then(|e| e.as_ref())
                .is_none_or(|e| e.has_free_connection())
        }));
        balancers.insert(w.name.clone(), Arc::new(b));
    }
    Ok(Built {
        endpoints,
        ajp,
        balancers,
        warnings,
        child,
    })
}

/// What the status worker reads and changes: one generation's configuration and runtime.
#[derive(Clone, Copy)]
pub struct View<'a> {
    pub props: &'a PropertyMap,
    pub workers: &'a WorkersConfig,
    pub endpoints: &'a crate::ByName<Arc<Endpoint>>,
    pub balancers: &'a crate::ByName<Arc<Balancer>>,
    pub ajp: &'a crate::ByName<AjpShared>,
    /// Every server's URI map with the server's label (main server first).
    pub maps: &'a [(String, Arc<UriMap>)],
    /// `worker.maintain` in seconds.
    pub maintain_secs: u64,
}

impl View<'_> {
    fn ajp_worker(&self, name: &str) -> Option<&jk_config::AjpWorker> {
        match &self.workers.worker(name)?.kind {
            WorkerKind::Ajp(a) => Some(a),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
