//! The AJP endpoints of one generation: one per ajp13 worker (standalone or lb member), with
//! its host resolved once at startup (jk_ajp_client::worker).

use std::sync::Arc;

use jk_ajp_client::worker::endpoint_config;
use jk_ajp_client::Endpoint;
use jk_config::{WorkerKind, WorkersConfig};

/// Endpoints for every ajp worker of the configuration and every growth slot, and startup
/// warnings.
pub fn build(workers: &WorkersConfig) -> (crate::ByName<Arc<Endpoint>>, Vec<String>) {
    let mut map = crate::ByName::default();
    let mut warnings = Vec::new();
    for w in workers.all_workers() {
        if let WorkerKind::Ajp(a) = &w.kind {
            let (cfg, problem) = endpoint_config(&w.name, a);
            warnings.extend(problem);
            map.insert(w.name.clone(), Arc::new(Endpoint::new(cfg)));
        }
    }
    (map, warnings)
}
